"""The worker's side of `reanalyze` (station/archive/reanalysis.py): one trial file in, plain reps out.

A worker (a spawned local process or a Dask worker) runs `reanalyse_file(path, config)`: it reads only the
streams the core eats (force, markers, the virtual dowel series; no raw counts, camera index or stills)
and returns the reps as plain JSON. Dask pickles the task by this module's path, so a worker imports this
module and what it needs, not the parent's planning and storing.

Each result carries `CODE` (`code_fingerprint`): the parent refuses results from a worker that loaded other
analysis code (another install, or a long-running worker that imported the core before it was edited).

`WARM_MODULES` is what the task imports, this module and the ones it and the core import on first use: the
local pool's fork server imports them once, and every worker forked from it starts warm.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

import h5py
import numpy as np

from station import __version__
from station.analysis.analyze import analyze_blocks
from station.archive.rows import config_dict_from_json
from station.config import config_from_dict
from station.core.target import with_recorded_wall
from station.errors import StationError

NOT_CONFIG_KEYS = ("source_path",)  # StationConfig.to_dict() keys config_from_dict() does not take
# the code a rep's numbers come from, besides station/core/: a worker that loaded other code (an older
# install, or a long-running worker that imported these files before they were edited) is refused
_CODE_FILES = ("station/__init__.py", "station/config.py", "station/streams.py", "station/results.py",
               "station/analysis/analyze.py", "station/recording/format.py", "station/recording/reader.py",
               "station/recording/rows.py", "station/archive/rerun_worker.py")
_CODE_LIBRARIES = ("numpy", "scipy", "h5py")


def code_fingerprint() -> str:
    """12 hex digits over the analysis code as this process loaded it, and the numeric libraries."""
    base = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for path in sorted([*(base / "station" / "core").glob("*.py"), *(base / f for f in _CODE_FILES)]):
        h.update(path.relative_to(base).as_posix().encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"?")
    for lib in _CODE_LIBRARIES:
        try:
            h.update(f"{lib}={importlib.metadata.version(lib)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{lib}=?".encode())
    return h.hexdigest()[:12]


CODE = code_fingerprint()  # taken when the core is imported (above), so it describes the code in memory
# imported on a task's first run otherwise: scipy.signal (the core's filter, ~1 s) and the trial readers
WARM_MODULES = ("station.archive.rerun_worker", "station.recording.reader", "station.recording.rows",
                "station.streams", "scipy.signal")


def _open_trial(path: Path) -> h5py.File:
    from station.recording.reader import check_trial_file

    if not path.is_file():
        raise StationError(f"{path}: no such trial file")
    try:
        f = h5py.File(path, "r")
    except (OSError, RuntimeError) as exc:
        raise StationError(f"{path}: not a readable HDF5 trial file ({exc})") from None
    try:
        check_trial_file(f, path)
    except BaseException:
        f.close()
        raise
    return f


def _attr(f: h5py.File, key: str) -> object:
    value = f.attrs.get(key)
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value


def _rows(f: h5py.File, group: str) -> int:
    """Rows every column of a group holds (a kill between two column writes leaves them unequal)."""
    from station.recording.format import DATASETS

    return min(f[d.path].shape[0] for d in DATASETS if d.path.rsplit("/", 1)[0] == group)


def load_streams(path: str | os.PathLike) -> tuple:
    """(ForceBlock | None, MarkerBlock | None, DowelBlock | None, body_mass_kg) of a trial file.

    The same blocks `analyze` (station.analysis.h5_input.load_h5) builds from the stored calibrated
    streams, reading nothing else: the core's input at a fraction of read_trial's cost.
    """
    return _read(Path(path))[:4]


def _read(p: Path) -> tuple:
    """load_streams' blocks and the root attribute wall_mm (NaN: recorded without a wall; None: a file from
    before it), from one opening of the file (a second open and schema check was ~6% of a task)."""
    from station.recording.format import DOWEL_DATASETS
    from station.recording.rows import dowel_block_from_rows
    from station.streams import MARKER_NAMES, ForceBlock, MarkerBlock

    with _open_trial(p) as f:
        n = _rows(f, "force")
        force = ForceBlock(t_s=f["force/t_s"][:n], cells_n=f["force/cells_n"][:n])
        m = _rows(f, "markers")
        names = json.loads(_attr(f["markers"], "names") or json.dumps(MARKER_NAMES))
        pos, bridged = f["markers/positions_m"][:m], f["markers/bridged"][:m]
        markers = MarkerBlock(t_s=f["markers/t_s"][:m],
                              positions={nm: pos[:, i] for i, nm in enumerate(names)},
                              bridged={nm: bridged[:, i] for i, nm in enumerate(names)})
        dowel = None
        if all(d.path in f for d in DOWEL_DATASETS):
            k = min(f[d.path].shape[0] for d in DOWEL_DATASETS)
            if k:
                dowel = dowel_block_from_rows({key: f[f"dowel/{key}"][:k]
                                               for key in ("t_s", "worst_gap_mm", "worst_region")})
        wall_mm = _attr(f, "wall_mm")
        meta = {k: _attr(f, k) for k in f.attrs if not k.endswith("_json")}
        meta.update(config_dict_from_json(_attr(f, "metadata_json") or ""))
    body_mass = meta.get("body_mass_kg")
    return (force if len(force) else None, markers if len(markers) else None, dowel,
            body_mass if body_mass not in (None, "") else None, wall_mm)


def _config(config: dict, where: str):  # -> StationConfig
    data = {k: v for k, v in config.items() if k not in NOT_CONFIG_KEYS}
    return config_from_dict(data, where=where)


def reanalyse_file(path: str, config: dict) -> dict:
    """The task a worker runs: the core over one trial file with `config` (a StationConfig.to_dict()).

    Returns plain JSON-able data, never raises for a bad file:
    {"reps": [rep JSON as `analyze --json` gives it], "duration_s", "software", "code"} or {"error": "..."}.
    """
    try:
        cfg = _config(config, f"{path}: config")
        force, markers, dowel, body_mass, wall_mm = _read(Path(path))
        cfg = with_recorded_wall(cfg, wall_mm)  # the wall drill as recorded (core.target)
        result = analyze_blocks(force, markers, cfg, source=str(path), dowel=dowel, body_mass_kg=body_mass,
                                t_origin_s=0.0)
        out = {"reps": [r.to_json() for r in result.reps], "duration_s": result.summary.get("duration_s"),
               "software": __version__, "code": CODE}
        return json.loads(json.dumps(out, default=_plain))  # plain data, the same from any executor
    except StationError as exc:
        return {"error": str(exc)}
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, IndexError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return {"error": f"{path}: unreadable ({type(exc).__name__}: {first})"}


def _plain(obj: object) -> object:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def stored_config(path: Path) -> dict:
    """The config a trial was recorded with (its station_config_json), as a dict ({} for none)."""
    with _open_trial(path) as f:
        return config_dict_from_json(_attr(f, "station_config_json") or "")
