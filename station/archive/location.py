"""Which archive, which data root, which station: resolved the same way by every command.

URL: `--db URL`, else `$HINGE_ARCHIVE_URL`, else `[archive] url` in the station TOML, else SQLite in
`hinge-archive.sqlite` inside the data root (beside the `recordings` folder).
Data root: `$HINGE_DATA_ROOT`, else `[archive] data_root`, else the current folder. Trial and session
paths are stored relative to it, so an archive on a shared folder is valid from any station.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from station.config import StationConfig

DEFAULT_SQLITE_NAME = "hinge-archive.sqlite"


def data_root(config: StationConfig) -> Path:
    """Absolute folder that stored paths are relative to."""
    root = os.environ.get("HINGE_DATA_ROOT") or config.archive.data_root or "."
    return Path(root).expanduser().resolve()


def archive_url(cli_url: str | None, config: StationConfig) -> str:
    """`--db`, `$HINGE_ARCHIVE_URL`, `[archive] url`, else the embedded SQLite file in the data root."""
    url = cli_url or os.environ.get("HINGE_ARCHIVE_URL") or config.archive.url
    if url:
        return url if "://" in url else f"sqlite:///{Path(url).expanduser().resolve()}"
    return f"sqlite:///{data_root(config) / DEFAULT_SQLITE_NAME}"


def station_id(config: StationConfig) -> str:
    """The id written on every row this station adds (TOML `[archive] station_id`, else the host name)."""
    return os.environ.get("HINGE_STATION_ID") or config.archive.station_id or socket.gethostname()


def hide_password(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db (for messages)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, at, host = rest.rpartition("@")
    user, colon, _password = creds.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}{at}{host}"


def stored_path(path: Path, root: Path) -> str:
    """POSIX path relative to the data root when inside it, else absolute (valid on this station only)."""
    path = path.resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def resolve_stored(stored: str, root: Path) -> Path:
    p = Path(stored)
    return p if p.is_absolute() else root / p
