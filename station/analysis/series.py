"""Small downsampled per-trial series kept in the session file for the report's pictures.

Why here: an AnalysisResult holds per-rep numbers only, and a trial file may be missing when the report
is written. So when a set is analysed we keep what the pictures need (hip travel back/down and foot_pos
at ~25 Hz, plus the markers at the bottom of the deepest rep): a few kB of JSON per set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from station.config import StationConfig
from station.results import RepResult
from station.streams import ForceBlock, MarkerBlock

SERIES_RATE_HZ = 25.0


@dataclass
class TrialSeries:
    """Time in s from the start of the set; hip travel in mm from standing (back = -x, drop = -z)."""

    t_s: list[float]
    hip_back_mm: list[float | None]
    hip_drop_mm: list[float | None]
    foot_pos: list[float | None]
    # markers at the bottom of the deepest rep: {"rep": n, "t_s": t, "markers": {name: [x, y, z] m}}
    still: dict | None = None
    rate_hz: float = SERIES_RATE_HZ
    heel_x_m: float | None = None
    foot_length_m: float | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"rate_hz": self.rate_hz, "t_s": [round(t, 3) for t in self.t_s],
               "hip_back_mm": _rounded(self.hip_back_mm, 1), "hip_drop_mm": _rounded(self.hip_drop_mm, 1),
               "foot_pos": _rounded(self.foot_pos, 3), "still": self.still,
               "heel_x_m": self.heel_x_m, "foot_length_m": self.foot_length_m}
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, data: dict) -> TrialSeries:
        return cls(t_s=list(data["t_s"]), hip_back_mm=list(data["hip_back_mm"]),
                   hip_drop_mm=list(data["hip_drop_mm"]), foot_pos=list(data["foot_pos"]),
                   still=data.get("still"), rate_hz=float(data.get("rate_hz", SERIES_RATE_HZ)),
                   heel_x_m=data.get("heel_x_m"), foot_length_m=data.get("foot_length_m"),
                   extra=dict(data.get("extra", {})))


def _rounded(values: list[float | None], digits: int) -> list[float | None]:
    return [None if v is None or not math.isfinite(v) else round(float(v), digits) for v in values]


def _bin_mean(t_s: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of the finite values in each [edge_i, edge_i+1) bin; NaN where a bin has none (gaps stay gaps)."""
    idx = np.digitize(t_s, edges) - 1
    ok = np.isfinite(values) & (idx >= 0) & (idx < len(edges) - 1)
    n = np.bincount(idx[ok], minlength=len(edges) - 1)[: len(edges) - 1]
    s = np.bincount(idx[ok], weights=values[ok], minlength=len(edges) - 1)[: len(edges) - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def foot_pos_from_force(force: ForceBlock, config: StationConfig, body_weight_n: float | None) -> np.ndarray:
    """foot_pos (0 heel, 1 toe) per force sample, NaN below the CoP force gate: the core's own functions."""
    from station.core import cop

    fz = cop.total_force_n(np.asarray(force.cells_n, dtype=float))
    cop_x = cop.cop_xy_m(np.asarray(force.cells_n, dtype=float), config.plate.channel_xy, fz)[:, 0]
    cop_x[~(fz > cop.force_gate_n(config, body_weight_n))] = np.nan
    return cop.foot_pos(cop_x, config)


def _standing_index(t_s: np.ndarray, reps: list[RepResult]) -> np.ndarray:
    """Samples outside every rep: the standing baseline."""
    standing = np.ones(len(t_s), dtype=bool)
    for rep in reps:
        standing &= ~((t_s >= rep.t_start) & (t_s <= rep.t_end))
    return standing if standing.any() else np.ones(len(t_s), dtype=bool)


def series_from_blocks(force: ForceBlock | None, markers: MarkerBlock | None, reps: list[RepResult],
                       config: StationConfig, body_weight_n: float | None = None,
                       rate_hz: float = SERIES_RATE_HZ) -> TrialSeries:
    """Downsample what the pictures need from the blocks a set was analysed from, filtered as the
    metrics are (zero-lag low-pass at thresholds.filter_cutoff_hz, the core's filter)."""
    from station.core.filtering import lowpass

    starts = [b.t_s[0] for b in (force, markers) if b is not None and len(b)]
    ends = [b.t_s[-1] for b in (force, markers) if b is not None and len(b)]
    if not starts:
        return TrialSeries([], [], [], [])
    t0, t1 = min(starts), max(ends)
    edges = np.arange(t0, t1 + 1.0 / rate_hz, 1.0 / rate_hz)
    centres = edges[:-1] + 0.5 / rate_hz
    nan = np.full(len(centres), np.nan)
    back_mm, drop_mm, foot = nan.copy(), nan.copy(), nan.copy()
    still = None
    if markers is not None and "hip" in markers.positions and len(markers):
        hip = lowpass(markers.t_s, np.asarray(markers.positions["hip"], dtype=float),
                      config.thresholds.filter_cutoff_hz)
        standing = _standing_index(markers.t_s, reps)
        base = np.nanmedian(hip[standing], axis=0)
        back_mm = _bin_mean(markers.t_s, -(hip[:, 0] - base[0]) * 1000.0, edges)
        drop_mm = _bin_mean(markers.t_s, -(hip[:, 2] - base[2]) * 1000.0, edges)
        still = _deepest_still(markers, reps)
    if force is not None and len(force):
        foot_raw = foot_pos_from_force(force, config, body_weight_n)
        foot = _bin_mean(force.t_s, lowpass(force.t_s, foot_raw, config.thresholds.filter_cutoff_hz), edges)
    return TrialSeries(t_s=[float(t - t0) for t in centres], hip_back_mm=back_mm.tolist(),
                       hip_drop_mm=drop_mm.tolist(), foot_pos=foot.tolist(), still=still, rate_hz=rate_hz,
                       heel_x_m=config.feet.heel_x_m, foot_length_m=config.feet.foot_length_m,
                       extra={"t0_s": float(t0)})


def _deepest_still(markers: MarkerBlock, reps: list[RepResult]) -> dict | None:
    """Markers at the bottom of the rep with the most hip travel back (the deepest hinge)."""
    candidates = [(i, r) for i, r in enumerate(reps) if r.hip_back_mm is not None]
    if not candidates:
        return None
    number, rep = max(candidates, key=lambda ir: ir[1].hip_back_mm)
    k = int(np.argmin(np.abs(markers.t_s - rep.t_bottom)))
    snapshot = {}
    for name, pos in markers.positions.items():
        p = np.asarray(pos[k], dtype=float)
        if np.all(np.isfinite(p)):
            snapshot[name] = [round(float(v), 4) for v in p]
    return {"rep": number + 1, "t_s": float(markers.t_s[k] - markers.t_s[0]), "markers": snapshot}
