"""Row builders and file rules shared by the trial writer and the exporters (no HDF5 state here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from station.errors import StationError
from station.recording.format import REP_JSON_BYTES
from station.results import RepResult
from station.streams import MARKER_NAMES


def check_output_path(path: str | os.PathLike, force: bool) -> Path:
    """The one rule for every file the station writes: never overwrite without force, folder must exist."""
    out = Path(path)
    if out.exists() and not force:
        raise StationError(f"{out}: already exists (use --force to overwrite)")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise StationError(f"{out}: output folder {parent} does not exist or is not a folder")
    if not os.access(parent, os.W_OK):
        raise StationError(f"{out}: output folder {parent} is not writable")
    return out


def _json_default(obj: object) -> object:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return str(obj)


def to_json(value: object) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


def _quiet_hdf5_unraisable(previous: object) -> object:
    def hook(info: object) -> None:
        text = " ".join(str(getattr(info, k, "")) for k in ("object", "err_msg", "exc_value"))
        if "h5py" not in text and "id ref count" not in text:
            previous(info)

    return hook


def _rep_row(rep: RepResult) -> np.ndarray:
    text = json.dumps(rep.to_json(), default=_json_default).encode()
    if len(text) > REP_JSON_BYTES:  # notes are the only unbounded part: drop them rather than the rep
        data = rep.to_json()
        data.pop("notes", None)
        text = json.dumps(data, default=_json_default).encode()
    return np.array([text], dtype=f"S{REP_JSON_BYTES}")


def _stack_markers(values: dict | np.ndarray | None, m: int, width: int | None, fill: object) -> np.ndarray:
    """name -> (M, width) dict (or a stacked array) -> (M, n_markers[, width]) in MARKER_NAMES order."""
    shape = (m, len(MARKER_NAMES)) + ((width,) if width else ())
    if values is None:
        return np.full(shape, fill)
    if not isinstance(values, dict):
        return np.asarray(values).reshape(shape)
    out = np.full(shape, fill)
    for i, name in enumerate(MARKER_NAMES):
        if name in values:
            out[:, i] = np.asarray(values[name]).reshape(shape[:1] + shape[2:])
    return out
