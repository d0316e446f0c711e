"""The archive as a station command sees it: open with the station's settings, index what just ended.

`index_new_file` is what record, screen and the dashboard call when a recording ends. It never raises:
an archive that cannot be reached costs nothing but a one-line note (the file is on disk, and
`hinge-station archive scan FOLDER` picks it up later).
"""

from __future__ import annotations

from pathlib import Path

from station.archive.index import Indexer
from station.archive.location import archive_url, data_root, hide_password, station_id
from station.archive.store import Archive, open_archive
from station.config import StationConfig
from station.errors import StationError


def open_station_archive(db: str | None, config: StationConfig, *, write: bool = True) -> Archive:
    return open_archive(archive_url(db, config), write=write)


def indexer_for(archive: Archive, config: StationConfig) -> Indexer:
    return Indexer(archive, data_root(config), station_id(config))


def index_new_file(path: str | Path, config: StationConfig, db: str | None = None) -> str:
    """Index a trial (.h5) or session (.session.json) just written; returns the line to print."""
    p = Path(path)
    url = archive_url(db, config)
    try:
        archive = open_archive(url)
    except StationError as exc:
        return f"not indexed: {exc}; `hinge-station archive scan {p.parent}` will add it later"
    try:
        indexer = indexer_for(archive, config)
        if p.name.endswith(".session.json"):
            outcome = indexer.index_session_file(p)
        else:
            outcome = indexer.index_trial_file(p)
        return f"archive {hide_password(url)}: {p.name} {'indexed' if outcome == 'added' else outcome}"
    except StationError as exc:
        return f"not indexed in {hide_password(url)}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a database hiccup must never cost the recorded file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return (f"not indexed in {hide_password(url)} ({type(exc).__name__}: {first}); "
                f"`hinge-station archive scan {p.parent}` will add it later")
    finally:
        archive.dispose()
