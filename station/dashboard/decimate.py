"""Cheap curves for the live plots: peak (min/max) decimation of the force and thinning of the hip path.

pyqtgraph's own auto-downsampling re-derives its factor and the data bounds from all ~10,000 points on every
setData; decimating here first hands it ~2 points per pixel column, and binning on the trial clock (not on
the buffer index) keeps a bin's min/max still while the window scrolls (no shimmer on the peaks).
"""

from __future__ import annotations

import numpy as np


def peak_decimate(t_s: np.ndarray, y: np.ndarray, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(t, y) -> each `bin_s` bin of the clock as its min then its max (at the bin's first time).

    t_s must be non-decreasing; NaN samples are ignored inside a bin and an all-NaN bin stays NaN (a gap for
    connect="finite"). The newest sample is appended as is so the curve ends at "now". Returns the input
    unchanged when binning would not shrink it.
    """
    n = len(t_s)
    if n < 4 or not bin_s > 0 or not np.isfinite(t_s[0]) or not np.isfinite(t_s[-1]):
        return t_s, y
    if (t_s[-1] - t_s[0]) / bin_s * 2 >= n:
        return t_s, y
    bin_id = np.floor(t_s / bin_s).astype(np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bin_id)) + 1))
    lo = np.fmin.reduceat(y, starts)
    hi = np.fmax.reduceat(y, starts)
    t_out = np.empty(2 * len(starts) + 1)
    y_out = np.empty(2 * len(starts) + 1)
    t_out[:-1] = np.repeat(t_s[starts], 2)
    y_out[0:-1:2], y_out[1:-1:2] = lo, hi
    t_out[-1], y_out[-1] = t_s[-1], y[-1]
    return t_out, y_out


def thin_path(n: int, max_points: int, finite: np.ndarray) -> np.ndarray:
    """Indices keeping every k-th of n path points (k so that at most ~max_points remain), counted back
    from the newest so it is always kept, plus every non-finite point so the path's gaps stay gaps."""
    step = max(1, -(-n // max(1, max_points)))
    idx = np.arange(n)
    return np.flatnonzero(((n - 1 - idx) % step == 0) | ~finite)
