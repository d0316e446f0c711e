"""Centre of pressure from the four cells, gated by force; foot_pos and heel load share (metrics.md).

Every function here is elementwise per sample, so a chunk gives bitwise the same numbers whether it
arrives alone or inside a larger block (the live/offline identity depends on it).
"""

from __future__ import annotations

import numpy as np

from station.config import GRAVITY_M_S2, StationConfig


def total_force_n(cells_n: np.ndarray) -> np.ndarray:
    """Fz per sample; written out term by term so chunking cannot change the rounding."""
    return cells_n[:, 0] + cells_n[:, 1] + cells_n[:, 2] + cells_n[:, 3]


def cop_xy_m(cells_n: np.ndarray, channel_xy_m: np.ndarray, fz_n: np.ndarray) -> np.ndarray:
    """Ungated CoP (N, 2): sum(F_i * (x_i, y_i)) / Fz."""
    out = np.empty((cells_n.shape[0], 2))
    for axis in (0, 1):
        c = channel_xy_m[:, axis]
        moment = cells_n[:, 0] * c[0] + cells_n[:, 1] * c[1] + cells_n[:, 2] * c[2] + cells_n[:, 3] * c[3]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, axis] = moment / fz_n
    return out


def rear_share(cells_n: np.ndarray, rear_channels: list[int], fz_n: np.ndarray) -> np.ndarray:
    """Share (0..1) of Fz on the rear (heel-side) cells."""
    rear = np.zeros(cells_n.shape[0])
    for ch in rear_channels:
        rear = rear + cells_n[:, ch]
    with np.errstate(divide="ignore", invalid="ignore"):
        return rear / fz_n


def foot_pos(cop_x_m: np.ndarray, config: StationConfig) -> np.ndarray:
    """0 = heel, 1 = toe tip (frames doc)."""
    return (cop_x_m - config.feet.heel_x_m) / config.feet.foot_length_m


def cop_and_foot_pos(cells_n: np.ndarray, config: StationConfig,
                     min_force_n: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fz (N,), gated CoP (N, 2) m and foot_pos (N,) per sample: what a trial stores and streams.

    CoP and foot_pos are NaN where Fz <= min_force_n (force_gate_n: below it the CoP is noise).
    """
    fz = total_force_n(cells_n)
    ok = fz > min_force_n
    xy = np.full((fz.shape[0], 2), np.nan)
    xy[ok] = cop_xy_m(cells_n[ok], config.plate.channel_xy, fz[ok])
    return fz, xy, foot_pos(xy[:, 0], config)


def force_gate_n(config: StationConfig, body_weight_n: float | None) -> float:
    """CoP is trusted only above max(50 N, 10% body weight) (metrics.md; below it the error grows as 1/Fz)."""
    th = config.thresholds
    bw_part = th.cop_min_body_weight_frac * body_weight_n if body_weight_n else 0.0
    return max(th.cop_min_force_n, bw_part)


class BodyWeightEstimator:
    """Body weight from the first `window_s` of loaded quiet standing (median Fz), unless given.

    Deterministic in the sample sequence: samples are consumed in order and the estimate is fixed once
    the window is full, so live and offline runs agree.
    """

    def __init__(self, config: StationConfig, body_mass_kg: float | None = None, window_s: float = 1.0):
        self.config = config
        self.window_s = window_s
        self.body_weight_n: float | None = body_mass_kg * GRAVITY_M_S2 if body_mass_kg else None
        self.given = self.body_weight_n is not None
        self._t_first: float | None = None
        self._loaded: list[np.ndarray] = []
        self.t_final_s: float = -np.inf if self.given else np.inf  # trial time from which the estimate holds

    def at(self, t_s: float) -> float | None:
        """The estimate as known from data up to t_s (None before the standing window is complete)."""
        return self.body_weight_n if t_s >= self.t_final_s else None

    def update(self, t_s: np.ndarray, fz_n: np.ndarray) -> None:
        if self.body_weight_n is not None or t_s.size == 0:
            return
        loaded = fz_n > self.config.thresholds.cop_min_force_n
        if not np.any(loaded):
            return
        if self._t_first is None:
            self._t_first = float(t_s[np.argmax(loaded)])
        in_window = loaded & (t_s <= self._t_first + self.window_s)
        self._loaded.append(fz_n[in_window])
        if t_s[-1] >= self._t_first + self.window_s:
            self.body_weight_n = float(np.median(np.concatenate(self._loaded)))
            self.t_final_s = self._t_first + self.window_s
            self._loaded = []
