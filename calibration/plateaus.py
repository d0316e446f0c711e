"""Stable stretches in a raw plate stream: where a load sat still long enough to be measured.

Stability is judged per channel against the plate's own noise, estimated from the stream itself
(robust spread of sample-to-sample differences), plus a small absolute allowance in newtons, so a
quieter or noisier plate needs no retuning. A channel is stable where its moving standard deviation
over `window_s` stays below ``k * noise + tol``; a plateau is a run where all four are stable for at
least `min_duration_s` (placing a mass, letting go and the plate ringing down are all unstable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d


@dataclass
class Plateau:
    """Samples [start, stop) of a stream where the load held still."""

    start: int
    stop: int
    t_start_s: float
    t_stop_s: float
    counts_mean: np.ndarray  # (4,) mean raw counts
    counts_std: np.ndarray  # (4,) standard deviation of the raw counts

    @property
    def duration_s(self) -> float:
        return self.t_stop_s - self.t_start_s


def noise_counts(counts: np.ndarray) -> np.ndarray:
    """Per-channel white-noise sigma (counts) from the median absolute sample-to-sample difference.

    Steps and ramps are a small share of differences, so the median ignores them.
    """
    d = np.diff(np.asarray(counts, dtype=float), axis=0)
    if d.shape[0] < 2:
        return np.zeros(np.asarray(counts).shape[1])
    mad = np.median(np.abs(d - np.median(d, axis=0)), axis=0)
    return 1.4826 * mad / np.sqrt(2.0)


def moving_std(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving standard deviation over n samples, per column."""
    x = np.asarray(x, dtype=float)
    x = x - np.median(x, axis=0)  # keep squares small: counts can be ~1e6
    m1 = uniform_filter1d(x, n, axis=0, mode="nearest")
    m2 = uniform_filter1d(x * x, n, axis=0, mode="nearest")
    return np.sqrt(np.clip(m2 - m1 * m1, 0.0, None))


def stability_limit_counts(sigma_counts: np.ndarray, gains_n_per_count: np.ndarray, *,
                           k_noise: float = 2.5, tol_n: float = 0.3) -> np.ndarray:
    """Per-channel moving-std limit (counts): k times the noise plus tol_n newtons."""
    return k_noise * sigma_counts + tol_n / np.abs(np.asarray(gains_n_per_count, dtype=float))


def detect_plateaus(t_s: np.ndarray, counts: np.ndarray, gains_n_per_count: np.ndarray, *,
                    min_duration_s: float = 1.0, window_s: float = 0.2, k_noise: float = 2.5,
                    tol_n: float = 0.3, merge_n: float = 1.0,
                    sigma_counts: np.ndarray | None = None) -> list[Plateau]:
    """Stable stretches of at least `min_duration_s`, in time order.

    gains_n_per_count: rough gains (previous calibration or the config default) used only to turn
    the newton allowances `tol_n` and `merge_n` into counts. Two stable runs separated by a brief
    disturbance are merged when every channel's mean differs by less than `merge_n` (plus noise):
    the same load, nudged, is one placement.
    """
    t = np.asarray(t_s, dtype=float)
    c = np.asarray(counts, dtype=float)
    if t.shape[0] < 3:
        return []
    dt_s = float(np.median(np.diff(t)))
    n_win = max(3, int(round(window_s / dt_s)))
    sigma = noise_counts(c) if sigma_counts is None else np.asarray(sigma_counts, dtype=float)
    limit = stability_limit_counts(sigma, gains_n_per_count, k_noise=k_noise, tol_n=tol_n)
    stable = np.all(moving_std(c, n_win) <= limit, axis=1)
    # a centred window still straddles a transition for half a window: trim that off each run
    runs = _runs(stable)
    half = n_win // 2
    plateaus: list[Plateau] = []
    for a, b in runs:
        a, b = a + half, b - half
        if b - a < 2:
            continue
        plateaus.append(_make(t, c, a, b))
    merged = _merge(plateaus, t, c, sigma, merge_n / np.abs(np.asarray(gains_n_per_count, dtype=float)))
    return [p for p in merged if p.duration_s >= min_duration_s]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _make(t: np.ndarray, c: np.ndarray, a: int, b: int) -> Plateau:
    seg = c[a:b]
    return Plateau(a, b, float(t[a]), float(t[b - 1]), seg.mean(axis=0), seg.std(axis=0))


def _merge(plateaus: list[Plateau], t: np.ndarray, c: np.ndarray, sigma: np.ndarray,
           merge_counts: np.ndarray) -> list[Plateau]:
    out: list[Plateau] = []
    for p in plateaus:
        if out and np.all(np.abs(p.counts_mean - out[-1].counts_mean) <= merge_counts + 4 * sigma):
            prev = out.pop()
            n1, n2 = prev.stop - prev.start, p.stop - p.start
            mean = (prev.counts_mean * n1 + p.counts_mean * n2) / (n1 + n2)
            std = np.maximum(prev.counts_std, p.counts_std)
            out.append(Plateau(prev.start, p.stop, prev.t_start_s, p.t_stop_s, mean, std))
        else:
            out.append(p)
    return out
