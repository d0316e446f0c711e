"""Device clock -> host monotonic clock: ``t_host = t_device + offset + drift * (t_device - t_ref)``.

USB arrival jitter only ever makes a sample arrive LATE, so the host-minus-device difference
``d = t_host - t_device`` is the true mapping plus a non-negative delay. The mapping is therefore the
lower envelope of d, not its mean (the approach of LSL's clock estimation and of the linear-programming
skew estimators, Moon et al. 1999):

1. per window of `window_s` device seconds keep only the minimum d (the least-delayed sample);
2. fit the line under those minima that touches them from below and has the least total gap to
   them: it lies on an edge of their lower convex hull, the one spanning the minima's mean time.

Minima older than `history_s` are forgotten, so a drift that changes with temperature is tracked.
Device counters that wrap (u32 microseconds: 4294.967296 s) are unwrapped here when
`wrap_period_s` is given; drivers that already unwrap pass None.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class ClockMapper:
    """Running robust fit of one stream's device clock onto the host clock (both in seconds)."""

    def __init__(self, *, window_s: float = 0.5, history_s: float = 60.0,
                 wrap_period_s: float | None = None) -> None:
        self.window_s = float(window_s)
        self.history_s = float(history_s)
        self.wrap_period_s = wrap_period_s
        self._minima: deque[tuple[float, float]] = deque()  # (t_device_s, d_s), closed windows
        self._win_index: int | None = None
        self._win_best: tuple[float, float] | None = None  # the open window's minimum so far
        self._t_ref: float | None = None
        self._last_raw: float | None = None
        self._wraps = 0
        self._n = 0
        self._fit: tuple[float, float] | None = None  # (offset at t_ref, drift)
        self._dirty = True
        self._resid_sum = 0.0
        self._resid_n = 0

    # --- input --------------------------------------------------------------------------------
    def unwrap(self, t_device_s: np.ndarray) -> np.ndarray:
        """Device times made monotonic across counter wraps (identity when wrap_period_s is None)."""
        t = np.asarray(t_device_s, dtype=float)
        if self.wrap_period_s is None or t.size == 0:
            return t
        P = self.wrap_period_s
        first = t[0] if self._last_raw is None else self._last_raw
        steps = np.cumsum(np.diff(np.concatenate([[first], t])) < -P / 2)  # large backward jumps = wraps
        self._last_raw = float(t[-1])
        out = t + (self._wraps + steps) * P
        self._wraps += int(steps[-1])
        return out

    def update(self, t_device_s: np.ndarray, t_host_ns: np.ndarray) -> None:
        """Add samples: device times (s, raw or unwrapped) and host arrival times (monotonic ns)."""
        t_dev = self.unwrap(np.atleast_1d(t_device_s))
        t_host = np.atleast_1d(np.asarray(t_host_ns)).astype(np.int64)
        if t_dev.size == 0:
            return
        if self._t_ref is None:
            self._t_ref = float(t_dev[0])
            self._host_ref_ns = int(t_host[0])
        # d relative to the first sample's host time keeps float64 precision at ns level
        d = (t_host - self._host_ref_ns) * 1e-9 - (t_dev - self._t_ref)
        self._n += t_dev.size
        if self._fit is None and (self._minima or self._win_best is not None):
            self._refit()
        if self._fit is not None:  # how far arrivals sit above the current envelope (jitter)
            r = d - self._line(t_dev)
            self._resid_sum += float(r.sum())
            self._resid_n += r.size
        win = np.floor((t_dev - self._t_ref) / self.window_s).astype(np.int64)
        for w in np.unique(win):
            sel = win == w
            k = int(np.argmin(d[sel]))
            cand = (float(t_dev[sel][k]), float(d[sel][k]))
            if self._win_index is not None and w != self._win_index:
                if w > self._win_index and self._win_best is not None:
                    self._minima.append(self._win_best)
                self._win_best = None
            if self._win_best is None or cand[1] < self._win_best[1]:
                self._win_best = cand
                self._dirty = True  # the envelope only moves when a window's minimum does
            self._win_index = int(w)
        latest = float(t_dev[-1])
        while self._minima and self._minima[0][0] < latest - self.history_s:
            self._minima.popleft()

    # --- output -------------------------------------------------------------------------------
    def _points(self) -> np.ndarray:
        pts = list(self._minima)
        if self._win_best is not None:
            pts.append(self._win_best)
        return np.asarray(pts, dtype=float).reshape(-1, 2)

    def _refit(self) -> None:
        pts = self._points()
        if pts.shape[0] == 0:
            self._fit = None
        elif pts.shape[0] == 1 or np.ptp(pts[:, 0]) < 1e-9:
            self._fit = (float(pts[:, 1].min()), 0.0)
        else:
            slope, icpt = lower_envelope_line(pts[:, 0] - self._t_ref, pts[:, 1])
            self._fit = (icpt, slope)
        self._dirty = False

    def _line(self, t_dev: np.ndarray) -> np.ndarray:
        offset, drift = self._fit
        return offset + drift * (np.asarray(t_dev, dtype=float) - self._t_ref)

    @property
    def ready(self) -> bool:
        return self._n > 0

    def map(self, t_device_s: np.ndarray) -> np.ndarray:
        """Host monotonic seconds (time.monotonic_ns() * 1e-9) for unwrapped device times."""
        if self._dirty:
            self._refit()
        if self._fit is None:
            raise ValueError("ClockMapper.map before any update")
        t = np.asarray(t_device_s, dtype=float)
        return self._host_ref_ns * 1e-9 + (t - self._t_ref) + self._line(t)

    def state(self) -> dict:
        """For storage with a trial: the mapping and how well the data supported it."""
        if self._dirty:
            self._refit()
        if self._fit is None:
            return {"n_samples": 0}
        offset, drift = self._fit
        return {
            "t_ref_device_s": self._t_ref,
            "host_ref_ns": self._host_ref_ns,
            "offset_s": offset,  # host - device at t_ref, relative to host_ref
            "drift_ppm": drift * 1e6,
            "n_samples": self._n,
            "n_windows": int(self._points().shape[0]),
            "wraps": self._wraps,
            "mean_arrival_delay_ms": (self._resid_sum / self._resid_n * 1e3) if self._resid_n else None,
            "envelope_points": self._points().round(9).tolist(),
        }


def lower_envelope_line(t: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the line below all (t, d) points with the least total gap to them.

    That line is the edge of the lower convex hull that spans the mean of t (Moon et al. 1999).
    """
    order = np.argsort(t, kind="stable")
    t, d = np.asarray(t, dtype=float)[order], np.asarray(d, dtype=float)[order]
    hull: list[int] = []
    for i in range(t.size):  # Andrew's monotone chain, lower half
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (t[b] - t[a]) * (d[i] - d[a]) - (d[b] - d[a]) * (t[i] - t[a]) <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    if len(hull) == 1 or t[hull[-1]] == t[hull[0]]:
        return 0.0, float(d.min())
    t_mean = float(t.mean())
    for a, b in zip(hull[:-1], hull[1:], strict=True):
        if t[a] <= t_mean <= t[b] and t[b] > t[a]:
            slope = (d[b] - d[a]) / (t[b] - t[a])
            return float(slope), float(d[a] - slope * t[a])
    a, b = hull[0], hull[-1]
    slope = (d[b] - d[a]) / (t[b] - t[a])
    return float(slope), float(d[a] - slope * t[a])
