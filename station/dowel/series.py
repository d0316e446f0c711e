"""Virtual-dowel frames -> what the core and the reports consume: the per-frame DowelBlock, per-rep held
gaps and the back faults (metrics.md: a gap over `dowel_gap_max_mm` held for `dowel_hold_frames` frames).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from station.config import Thresholds
from station.dowel.frame import DowelFrame
from station.streams import DOWEL_REGIONS, DowelBlock

# region whose gap means which fault (metrics.md); a head gap alone is reported, not judged
FAULT_OF_REGION = {"sacrum": "back_rounding", "upper_back": "back_arching"}


def dowel_block(frames: Sequence[DowelFrame]) -> DowelBlock:
    """Per frame: the fault-relevant gap (mm, NaN = not measured) and its region (index into
    station.streams.DOWEL_REGIONS), in frame order: feed it to StationCore.push_dowel / analyze_blocks."""
    t = np.array([f.t_s for f in frames], dtype=float)
    gap = np.array([np.nan if f.worst_gap_mm is None else f.worst_gap_mm for f in frames], dtype=float)
    region = np.array([DOWEL_REGIONS.index(f.worst_region) if f.worst_region in DOWEL_REGIONS else 0
                       for f in frames], dtype=np.int64)
    return DowelBlock(t, gap, region)


def held_max(values: np.ndarray, hold: int) -> float | None:
    """Largest value sustained over `hold` consecutive frames (max over windows of the window's min); a
    window with an unmeasured (NaN) frame does not count. None when no window is complete."""
    v = np.asarray(values, dtype=float)
    hold = max(int(hold), 1)
    if v.size < hold:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(v, hold)
    ok = np.all(np.isfinite(windows), axis=1)
    if not ok.any():
        return None
    return float(windows[ok].min(axis=1).max())


def rep_dowel_gaps(frames: Sequence[DowelFrame], t_start_s: float, t_end_s: float, hold_frames: int
                   ) -> dict[str, float | None]:
    """Per region, the largest gap (mm) held for `hold_frames` frames between t_start_s and t_end_s."""
    inside = [f for f in frames if t_start_s <= f.t_s <= t_end_s]
    out: dict[str, float | None] = {}
    for region in DOWEL_REGIONS:
        series = np.array([np.nan if f.gap_mm is None else f.gap_mm[region] for f in inside], dtype=float)
        out[region] = held_max(series, hold_frames)
    return out


def dowel_faults(gaps_mm: dict[str, float | None], thresholds: Thresholds) -> list[str]:
    """back_rounding / back_arching from held per-region gaps; an unmeasured region raises nothing."""
    return [fault for region, fault in FAULT_OF_REGION.items()
            if gaps_mm.get(region) is not None and gaps_mm[region] > thresholds.dowel_gap_max_mm]


def unmeasured_reasons(frames: Sequence[DowelFrame]) -> dict[str, int]:
    """How many frames were not measured, by reason (for the report: 'says so instead of guessing')."""
    counts: dict[str, int] = {}
    for f in frames:
        if f.gap_mm is None and f.reason:
            counts[f.reason] = counts.get(f.reason, 0) + 1
    return counts
