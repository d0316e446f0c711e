"""Row builders and file rules shared by the trial writer, the reader and the exporters (no HDF5 state)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from station.documents import DocumentValue
from station.dowel.frame import DowelFrame
from station.errors import StationError
from station.recording.format import DOWEL_REASON_BYTES, REP_JSON_BYTES, WORST_REGION_CODES
from station.results import RepResult
from station.streams import DOWEL_REGIONS, MARKER_NAMES, DowelBlock

UnraisableHook = Callable[["sys.UnraisableHookArgs"], object]  # a type only in typeshed


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


def _json_default(obj: Any) -> Any:  # json's `default` hook
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return str(obj)


def to_json(value: DocumentValue) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


def quiet_hdf5_unraisable(previous: UnraisableHook) -> UnraisableHook:
    def hook(info: sys.UnraisableHookArgs) -> None:
        text = " ".join(str(getattr(info, k, "")) for k in ("object", "err_msg", "exc_value"))
        if "h5py" not in text and "id ref count" not in text:
            previous(info)

    return hook


def rep_row(rep: RepResult) -> np.ndarray:
    text = json.dumps(rep.to_json(), default=_json_default).encode()
    if len(text) > REP_JSON_BYTES:  # notes are the only unbounded part: drop them rather than the rep
        data = rep.to_json()
        data.pop("notes", None)
        text = json.dumps(data, default=_json_default).encode()
    return np.array([text], dtype=f"S{REP_JSON_BYTES}")


def stack_markers(values: dict | np.ndarray | None, m: int, width: int | None,
                  fill: float | bool) -> np.ndarray:
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


def dowel_row(frame: DowelFrame) -> dict[str, np.ndarray]:
    """The /dowel row of one frame (format.DOWEL_DATASETS): gap columns in DOWEL_REGIONS order."""
    gaps = [np.nan if frame.gap_mm is None else frame.gap_mm[r] for r in DOWEL_REGIONS]
    code = WORST_REGION_CODES.index(frame.worst_region) if frame.worst_region in WORST_REGION_CODES else -1
    reason = (frame.reason or "").encode()[:DOWEL_REASON_BYTES]
    return {"t_s": np.array([frame.t_s]), "gap_mm": np.array([gaps], float),
            "worst_gap_mm": np.array([np.nan if frame.worst_gap_mm is None else frame.worst_gap_mm]),
            "worst_region": np.array([code], np.int8),
            "lumbar_curve_mm": np.array([np.nan if frame.lumbar_curve_mm is None else frame.lumbar_curve_mm]),
            "reason": np.array([reason], f"S{DOWEL_REASON_BYTES}")}


def _region_index(codes: np.ndarray) -> np.ndarray:
    """File codes (WORST_REGION_CODES, -1 none) -> DOWEL_REGIONS indices (-1 none)."""
    to_station = np.array([DOWEL_REGIONS.index(r) for r in WORST_REGION_CODES], np.int64)
    codes = np.asarray(codes, np.int64)
    return np.where(codes < 0, -1, to_station[np.clip(codes, 0, None)])


def dowel_block_from_rows(rows: dict[str, np.ndarray]) -> DowelBlock:
    """The stored /dowel series -> the core's DowelBlock (unmeasured rows NaN, region 0 when none)."""
    region = _region_index(rows["worst_region"])
    return DowelBlock(np.asarray(rows["t_s"], float), np.asarray(rows["worst_gap_mm"], float),
                      np.where(region < 0, 0, region))


def dowel_frames_from_rows(rows: dict[str, np.ndarray]) -> list[DowelFrame]:
    """The stored series back as DowelFrames (gaps, worst, curve, reason; no pixels)."""
    out = []
    regions = _region_index(rows["worst_region"])
    for i, t in enumerate(rows["t_s"]):
        g = rows["gap_mm"][i]
        k = int(regions[i])
        reason = rows["reason"][i].rstrip(b"\0").decode(errors="replace") or None
        measured = np.all(np.isfinite(g))
        gaps = {r: float(v) for r, v in zip(DOWEL_REGIONS, g, strict=True)} if measured else None
        curve = float(rows["lumbar_curve_mm"][i])
        out.append(DowelFrame(float(t), gaps, reason, DOWEL_REGIONS[k] if k >= 0 else None,
                              float(rows["worst_gap_mm"][i]) if gaps else None,
                              curve if np.isfinite(curve) else None))
    return out
