"""Zero-lag low-pass for metrics (metrics.md: 6 Hz on markers and CoP), tolerant of gaps and jitter.

NaN gaps up to `bridge_max_s` are bridged linearly (a 6 Hz signal cannot change much in 100 ms);
longer gaps split the series into runs filtered separately, and stay NaN. Non-uniform sample times
(live jitter, dropped frames) are resampled to a uniform grid first, filtered, and read back.
"""

from __future__ import annotations

import functools

import numpy as np

# Winter (2009): a 2nd-order Butterworth run forward and back is a 4th-order filter whose -3 dB point
# falls below the design cutoff; design at fc / 0.802 so the double pass is -3 dB at fc.
_DOUBLE_PASS_CORRECTION = 0.802
_JITTER_TOLERANCE = 0.05  # relative spread of dt above which we resample to a uniform grid


def valid_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[(start, stop)) index pairs of consecutive True values."""
    if valid.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], valid.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def fill_short_nan_gaps(t_s: np.ndarray, values: np.ndarray, bridge_max_s: float) -> np.ndarray:
    """Linearly fill NaN gaps no longer than bridge_max_s (between valid samples); others stay NaN."""
    out = np.array(values, dtype=float, copy=True)
    flat = out.reshape(out.shape[0], -1)
    for k in range(flat.shape[1]):
        col = flat[:, k]
        valid = np.isfinite(col)
        idx = np.flatnonzero(valid)
        if idx.size < 2 or idx.size == col.size:
            continue
        jumps = np.flatnonzero(np.diff(idx) > 1)  # only the gaps, not every sample
        for a, b in zip(idx[jumps], idx[jumps + 1], strict=True):
            if t_s[b] - t_s[a] <= bridge_max_s:
                w = (t_s[a + 1:b] - t_s[a]) / (t_s[b] - t_s[a])
                col[a + 1:b] = col[a] + w * (col[b] - col[a])
    return out


def preload() -> None:
    """Import scipy.signal now. Call before a live trial's sources start: its first import (1-3 s, more on a
    loaded host) inside the trial worker at the first rep stalled the worker, the camera backed up, and
    that rep's times came out seconds late."""
    import scipy.signal  # noqa: F401


@functools.lru_cache(maxsize=64)
def _design(design_hz: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(b, a, zi) of the 2nd-order Butterworth; zi (lfilter's steady-state start) computed once here."""
    from scipy.signal import butter, lfilter_zi  # scipy.signal takes ~1-3 s to import: only when used

    b, a = butter(2, design_hz, fs=rate_hz)
    return b, a, lfilter_zi(b, a)


def _filter_uniform(values: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Forward-backward (zero-lag) pass with odd-extension padding and steady-state initial conditions:
    scipy's filtfilt/sosfiltfilt ("pad" method), written out so the design and zi are reused. The core
    filters the growing window on every frame a rep waits for its end or lockout; scipy recomputing zi and
    validating on each call was most of the analysis time (1 section: b, a is as exact as sos)."""
    from scipy.signal import lfilter

    design_hz = cutoff_hz / _DOUBLE_PASS_CORRECTION
    n = values.shape[0]
    if design_hz >= 0.45 * rate_hz or n < 4:
        return values.copy()  # nothing to remove at this rate / too short to filter
    b, a, zi = _design(round(design_hz, 9), round(rate_hz, 6))
    pad = min(3 * max(len(a), len(b)), n - 1)
    x = values.reshape(n, -1)
    ext = np.concatenate((2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2:-pad - 2:-1]), axis=0)
    y, _ = lfilter(b, a, ext, axis=0, zi=zi[:, None] * ext[0])
    y = y[::-1]
    y, _ = lfilter(b, a, y, axis=0, zi=zi[:, None] * y[0])
    return y[::-1][pad:pad + n].reshape(values.shape)


def lowpass(t_s: np.ndarray, values: np.ndarray, cutoff_hz: float, *,
            bridge_max_s: float = 0.1) -> np.ndarray:
    """Zero-lag Butterworth low-pass of values (N,) or (N, k) sampled at t_s (N,); NaN where unknown."""
    t_s = np.asarray(t_s, dtype=float)
    vals = fill_short_nan_gaps(t_s, np.asarray(values, dtype=float), bridge_max_s)
    out = np.full_like(vals, np.nan)
    flat_in = vals.reshape(vals.shape[0], -1)
    flat_out = out.reshape(out.shape[0], -1)
    valid = np.all(np.isfinite(flat_in), axis=1)
    for a, b in valid_runs(valid):
        if b - a < 2:
            flat_out[a:b] = flat_in[a:b]
            continue
        t_run = t_s[a:b]
        dt = np.diff(t_run)
        dt_med = float(np.median(dt))
        if dt_med <= 0:
            flat_out[a:b] = flat_in[a:b]
            continue
        if np.max(np.abs(dt - dt_med)) <= _JITTER_TOLERANCE * dt_med:
            flat_out[a:b] = _filter_uniform(flat_in[a:b], 1.0 / dt_med, cutoff_hz)
            continue
        grid = np.arange(t_run[0], t_run[-1] + 0.5 * dt_med, dt_med)
        width = flat_in.shape[1]
        on_grid = np.column_stack([np.interp(grid, t_run, flat_in[a:b, k]) for k in range(width)])
        smooth = _filter_uniform(on_grid, 1.0 / dt_med, cutoff_hz)
        flat_out[a:b] = np.column_stack([np.interp(t_run, grid, smooth[:, k]) for k in range(width)])
    return out


def nan_gap_spans(t_s: np.ndarray, valid: np.ndarray, min_gap_s: float) -> list[tuple[float, float]]:
    """(t_from, t_to) of spans without valid samples lasting longer than min_gap_s."""
    spans = []
    for a, b in valid_runs(~valid):
        t0 = t_s[a - 1] if a > 0 else t_s[a]
        t1 = t_s[b] if b < t_s.size else t_s[b - 1]
        if t1 - t0 > min_gap_s:
            spans.append((float(t0), float(t1)))
    return spans
