"""The camera-to-plate sync check of a recorded trial (calibration.sync), run at the end of a trial.

It needs a sharp whole-body event both sensors see: a hop or a heel raise. Those are the only
movements of a hinge session that lift the hip ABOVE quiet standing (a hinge or squat only lowers
it), so the event is found as the highest point of the low-passed hip track, if it rises more than
`RISE_M` above the trial's median hip height (quiet standing dominates a trial). A window around it
goes to `calibration.sync.sync_offset`; no such rise means no check (said, not guessed).

A live trial keeps what the check will read in `SyncBuffers`: the hip height of the whole trial (16 bytes
a frame) and, of the 1 kHz force, only the last RECENT_S and the windows around the hip's highest points
so far (the event is the highest point, known only at stop); the whole force grew ~1.5 MB/min.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from station.config import GRAVITY_M_S2, StationConfig
from station.core.buffers import ColumnBuffer
from station.errors import StationError

RISE_M = 0.008  # a 10 deg heel raise lifts the hip ~15 mm; marker noise after a 3 Hz low-pass is ~1 mm
SMOOTH_S = 0.3  # moving-average length for finding the event (the offset itself uses sync_offset's filter)
# window around the hip's highest point (a heel raise's lean-in starts ~1 s before it)
BEFORE_S, AFTER_S = 2.0, 2.5
RECENT_S = 10.0  # force kept live besides the event windows: hip frames lagging the plate by up to ~7 s
TIE_M = 1e-9  # smoothed heights this close are ties (online and final sums differ by rounding, ~1e-14 m)
N_FIRST = 10  # finite hip frames that set the smoothing lengths followed live (find_sync_event needs 10)
MAX_TIES = 8  # frames with the same highest average kept per length (quantised heights can tie on and on)


def find_sync_event(hip_t_s: np.ndarray, hip_z_m: np.ndarray) -> float | None:
    """Time of the hip's highest point if it rises more than RISE_M above the trial's median, else None."""
    t = np.asarray(hip_t_s, float)
    z = np.asarray(hip_z_m, float)
    ok = np.isfinite(z)
    if ok.sum() < 10:
        return None
    t, z = t[ok], z[ok]
    n = max(1, int(round(SMOOTH_S / float(np.median(np.diff(t))))))
    z_s = np.convolve(z, np.ones(n) / n, mode="same")
    z_s[: n // 2], z_s[len(z_s) - n // 2:] = np.nan, np.nan  # edges of the average are biased
    rise = z_s - float(np.median(z))
    if not np.any(np.isfinite(rise)):
        return None
    i = int(np.nanargmax(rise))
    return float(t[i]) if rise[i] > RISE_M else None


def trial_sync_check(force_t_s: np.ndarray, fz_n: np.ndarray, hip_t_s: np.ndarray, hip_z_m: np.ndarray,
                     config: StationConfig, body_weight_n: float | None = None) -> dict:
    """{"status": "checked"|"no event"|"failed", ...}; when checked also calibration.sync's result
    (offset_ms > 0: camera timestamps late), the event time and a warning beyond the config's limit."""
    from calibration.sync import sync_offset

    t_event = find_sync_event(hip_t_s, hip_z_m)
    if t_event is None:
        return {"status": "no event",
                "text": "no hop or heel raise in this trial: camera-to-plate sync not checked"}
    ft, fz = np.asarray(force_t_s, float), np.asarray(fz_n, float)
    ht, hz = np.asarray(hip_t_s, float), np.asarray(hip_z_m, float)
    f_in = (ft >= t_event - BEFORE_S) & (ft <= t_event + AFTER_S)
    h_in = (ht >= t_event - BEFORE_S) & (ht <= t_event + AFTER_S)
    if body_weight_n is None:  # quiet standing dominates: the median loaded force is the weight
        loaded = fz > config.thresholds.cop_min_force_n
        body_weight_n = float(np.median(fz[loaded])) if np.any(loaded) else 0.0
    try:
        res = sync_offset(ft[f_in], fz[f_in], body_weight_n / GRAVITY_M_S2, ht[h_in], hz[h_in],
                          warn_frames=config.thresholds.sync_warn_frames)
    except StationError as exc:
        return {"status": "failed", "event_t_s": round(t_event, 3), "text": f"sync check failed: {exc}"}
    out = {"status": "checked", "event_t_s": round(t_event, 3), **res.as_dict()}
    out["verdict"] = "warn" if res.warning else "ok"
    return out


def sync_line(sync: dict | None) -> str:
    """One line for `record`'s summary."""
    if not sync:
        return "sync: not checked (needs plate and camera)"
    if sync.get("status") != "checked":
        return f"sync: {sync.get('text', sync.get('status'))}"
    late = "late" if sync["offset_ms"] >= 0 else "early"
    line = (f"sync: camera {abs(sync['offset_ms']):.1f} ms {late} vs plate "
            f"(event at {sync['event_t_s']:.1f} s, correlation {sync['peak_corr']:.2f}, "
            f"one frame = {sync['camera_frame_ms']:.1f} ms)")
    return line + (f" WARNING: {sync['warning']}" if sync.get("warning") else "")


def sync_from_buffers(force_chunks: list[np.ndarray], hip_rows: list[tuple[float, float]] | np.ndarray,
                      config: StationConfig, body_weight_n: float | None) -> dict | None:
    """The live runner's check at stop: force_chunks (k, 2) rows of t_s, Fz; hip_rows (t_s, z_m).
    None without both streams; never raises (the check must not cost the recording)."""
    if not force_chunks or len(hip_rows) < 10:
        return None
    force = np.concatenate(force_chunks)
    hip = np.asarray(hip_rows)
    try:
        return trial_sync_check(force[:, 0], force[:, 1], hip[:, 0], hip[:, 1], config, body_weight_n)
    except Exception as exc:
        return {"status": "failed", "text": f"sync check failed: {type(exc).__name__}: {exc}"}


class SyncBuffers:
    """What `sync_from_buffers` reads of a live trial, kept bounded: every hip row (t_s, z_m), and of the
    force (t_s, Fz) the last RECENT_S plus the [BEFORE_S, AFTER_S] window around each frame that can still
    be the event. The event is the first highest point of the hip's moving average (find_sync_event) over
    `n` frames, n from the whole trial's frame period: the first N_FIRST frames' period p sets the lengths
    followed live (those of periods p/3 to 3p); for each, the frames within TIE_M of the highest average so
    far are candidates. `check` gives what sync_from_buffers gives on the whole streams, except
    - a trial whose frame period ends more than 3x off its first frames', or whose highest average is met
      more than MAX_TIES times (heights quantised), may have lost the event's force;
    - without a body weight, Fz's median is taken over the loaded force still held (the runner passes the
      core's, which is missing only while the plate has been loaded less than a second: all of it held).
    """

    def __init__(self) -> None:
        self.hip = ColumnBuffer(2, capacity=1024)  # t_s, z_m: every row, NaN included
        self._recent = ColumnBuffer(3)  # t_s, Fz, row number
        self._kept = ColumnBuffer(3)  # rows dropped from _recent inside a candidate's window
        self.force_rows = 0
        self._finite: deque[tuple[float, float]] = deque()  # the newest finite hip frames (t_s, z_m)
        self._n_finite = 0
        self._lengths: np.ndarray | None = None  # moving-average lengths followed
        self._best: np.ndarray | None = None  # highest average so far, per length
        self._candidates: list[tuple[int, float, float]] = []  # (length index, t_s, average)

    def add_force(self, t_s: np.ndarray, fz_n: np.ndarray) -> None:
        m = len(t_s)
        if m == 0:
            return
        rows = np.arange(self.force_rows, self.force_rows + m, dtype=float)
        self._recent.extend(np.column_stack([t_s, fz_n, rows]))
        self.force_rows += m
        self._drop_old()

    def add_hip(self, t_s: np.ndarray, z_m: np.ndarray) -> None:
        t = np.asarray(t_s, float).reshape(-1)
        z = np.asarray(z_m, float).reshape(-1)
        self.hip.extend(np.column_stack([t, z]))
        for ti, zi in zip(t.tolist(), z.tolist(), strict=True):
            if np.isfinite(zi):
                self._add_finite(ti, zi)

    def _add_finite(self, t_s: float, z_m: float) -> None:
        self._finite.append((t_s, z_m))
        self._n_finite += 1
        if self._lengths is None:
            if self._n_finite < N_FIRST:
                return
            period = float(np.median(np.diff([r[0] for r in self._finite])))
            n = max(1, int(round(SMOOTH_S / period))) if period > 0 else 1
            self._lengths = np.arange(max(1, n // 3), 3 * n + 3)
            self._best = np.full(self._lengths.size, -np.inf)
            for last in range(N_FIRST):  # the frames so far, as if followed from the first
                self._evaluate(last + 1)
        else:
            self._evaluate(self._n_finite)
        while len(self._finite) > 2 * int(self._lengths[-1]) + 2:
            self._finite.popleft()

    def _evaluate(self, count: int) -> None:
        """The averages that frame `count` - 1 completes: per length n, the frame n // 2 back, whose window
        [c - n // 2, c + (n - 1) // 2] is whole and which a trial ending now would not leave out."""
        lengths = self._lengths
        first = self._n_finite - len(self._finite)  # finite frame number of self._finite[0]
        z = np.array([r[1] for r in self._finite])
        centre = count - 1 - lengths // 2
        ok = centre - lengths // 2 >= 0
        if not np.any(ok):
            return
        sums = np.concatenate(([0.0], np.cumsum(z)))
        lo = centre - lengths // 2 - first
        hi = centre + (lengths - 1) // 2 + 1 - first
        avg = (sums[np.clip(hi, 0, z.size)] - sums[np.clip(lo, 0, z.size)]) / lengths
        better = ok & (avg >= self._best - TIE_M)
        if not np.any(better):
            return
        raised = better & (avg > self._best)
        ties = np.bincount([c[0] for c in self._candidates], minlength=lengths.size).tolist() \
            if self._candidates else [0] * lengths.size
        for k in np.flatnonzero(better):
            if raised[k] or ties[k] < MAX_TIES:  # the first of equal highest averages wins
                self._candidates.append((int(k), self._finite[int(centre[k]) - first][0], float(avg[k])))
        self._best[raised] = avg[raised]
        if np.any(raised):
            best = self._best
            self._candidates = [c for c in self._candidates if c[2] >= best[c[0]] - TIE_M]
            self._kept = _rows_in(self._kept, self._windows())

    def _windows(self) -> np.ndarray:
        """(K, 2) force spans around the candidates, merged."""
        spans = sorted((t - BEFORE_S - 0.1, t + AFTER_S + 0.1) for _, t, _ in self._candidates)
        merged: list[list[float]] = []
        for a, z in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], z)
            else:
                merged.append([a, z])
        return np.array(merged, float).reshape(-1, 2)

    def _drop_old(self) -> None:
        """Recent force older than RECENT_S and than the windows of hip frames not yet judged goes, but for
        the rows inside a candidate's window."""
        horizon = self._recent.last_t() - RECENT_S
        if self._lengths is None:
            pending = self._finite[0][0] if self._finite else np.inf
        else:  # the oldest frame the longest average has not reached
            n = int(self._lengths[-1])
            back = min(n // 2 + n // 2, len(self._finite) - 1)
            pending = self._finite[-1 - back][0] if self._finite else np.inf
        horizon = min(horizon, pending - BEFORE_S - 0.1)
        rows = self._recent.view
        k = int(np.searchsorted(rows[:, 0], horizon))  # the rows drop_before(horizon) drops
        if k < 4096:  # in blocks: each drop scans the candidates' windows
            return
        old = _rows_in_array(rows[:k], self._windows())
        if old.size:
            self._kept.extend(old)
        self._recent.drop_before(horizon)

    def force(self) -> np.ndarray:
        """(M, 2) t_s, Fz of the force held, in arrival order."""
        return np.concatenate([self._kept.view, self._recent.view])[:, :2]

    def check(self, config: StationConfig, body_weight_n: float | None) -> dict | None:
        """sync_from_buffers on what is held (see the class doc)."""
        if not self.force_rows:
            return None
        return sync_from_buffers([self.force()], self.hip.view, config, body_weight_n)


def _rows_in_array(rows: np.ndarray, windows: np.ndarray) -> np.ndarray:
    if not windows.size or not rows.size:
        return rows[:0]
    inside = np.zeros(rows.shape[0], bool)
    for a, z in windows:
        inside |= (rows[:, 0] >= a) & (rows[:, 0] <= z)
    return rows[inside]


def _rows_in(buf: ColumnBuffer, windows: np.ndarray) -> ColumnBuffer:
    out = ColumnBuffer(3, capacity=max(16, buf.n))
    out.extend(_rows_in_array(buf.view, windows))
    return out
