"""Gaps in time: a stream that stopped (a camera unplugged, a plate's port gone) leaves no NaN rows, only a
jump in its sample times. Reps across such a jump are `incomplete_tracking`, as across a NaN gap."""

from __future__ import annotations

import numpy as np


def time_gap_spans(t_s: np.ndarray, max_gap_s: float, t_from: float = -np.inf,
                   t_to: float = np.inf) -> list[tuple[float, float]]:
    """(t_before, t_after) of every step between consecutive samples longer than max_gap_s that overlaps
    [t_from, t_to]; the edges count too: no sample within max_gap_s of t_from or t_to."""
    t = np.asarray(t_s, float)
    if t.size == 0:
        return [(float(t_from), float(t_to))] if np.isfinite(t_from) and np.isfinite(t_to) else []
    spans = []
    idx = np.flatnonzero(np.diff(t) > max_gap_s)
    for i in idx:
        if t[i + 1] >= t_from and t[i] <= t_to:
            spans.append((float(t[i]), float(t[i + 1])))
    if np.isfinite(t_from) and t[0] - t_from > max_gap_s:
        spans.insert(0, (float(t_from), float(t[0])))
    if np.isfinite(t_to) and t_to - t[-1] > max_gap_s:
        spans.append((float(t[-1]), float(t_to)))
    return spans
