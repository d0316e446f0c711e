"""Ground truth per rep from the exact, noise-free simulated signals, by the definitions in metrics.md.

Written independently of the station's core (no station.core.metrics import): the core is tested against it.
Angles are in the sagittal (x-z) plane: the lateral offsets of markers are ignored (the hip, knee and
ankle markers share one y, so for the knee the 3D and sagittal angles are equal anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from station.config import Thresholds
from station.streams import DOWEL_REGIONS


@dataclass
class RepTruth:
    """One rep as the station should report it (same metric names as station.results.REP_METRIC_KEYS)."""

    index: int
    t_start: float
    t_bottom: float
    t_end: float
    hip_back_mm: float
    hip_drop_mm: float
    hinge_ratio: float
    knee_flexion_deg: float
    knee_flexion_change_deg: float
    trunk_inclination_deg: float
    foot_pos_bottom: float
    foot_pos_shift: float
    heel_load_pct: float
    descent_s: float
    ascent_s: float
    lumbar_flexion_deg: float                 # signed: + rounding, - arching (at the bottom)
    dowel_gap_mm: dict[str, float]            # each back point's gap from the dowel (dowel_gaps_m), held max
    faults: list[str] = field(default_factory=list)
    _back_points: object = field(default=None, repr=False, compare=False)

    @property
    def dowel_gap_worst_mm(self) -> float:
        return max(self.dowel_gap_mm.values())

    @property
    def passed(self) -> bool:
        return not self.faults

    def spine_back_points(self, t_s: float) -> dict[str, np.ndarray]:
        """Posterior skin points "sacrum", "upper_back", "head" (plate frame, m) at t_s."""
        if self._back_points is None:
            raise RuntimeError("no subject attached")
        return self._back_points(t_s)

    def metrics(self) -> dict[str, float]:
        from station.results import REP_METRIC_KEYS
        return {k: getattr(self, k) for k in REP_METRIC_KEYS}


@dataclass
class TrialTruth:
    pattern: str
    arms: str
    reps: list[RepTruth]
    fidget_t_s: tuple[float, float] | None
    hop_t_s: float | None
    heel_raise_t_s: float | None
    standing_end_s: float
    mass_kg: float
    total_mass_kg: float
    height_m: float
    seed: int
    expected_faults: list[str]


@dataclass
class Signals:
    """Fine-grid truth signals the rep truth is computed from."""

    t_s: np.ndarray
    hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    shoulder: np.ndarray
    foot_pos: np.ndarray
    heel_load_frac: np.ndarray
    lumbar_deg: np.ndarray
    sacrum: np.ndarray
    upper_back: np.ndarray
    head_back: np.ndarray
    posterior: np.ndarray          # (N,3) unit vector pointing out of the back (thorax frame)


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """180 - angle(hip, knee, ankle) in the sagittal plane."""
    a = hip[..., [0, 2]] - knee[..., [0, 2]]
    b = ankle[..., [0, 2]] - knee[..., [0, 2]]
    cos = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def trunk_inclination_deg(hip: np.ndarray, shoulder: np.ndarray) -> np.ndarray:
    """hip -> shoulder line against vertical, sagittal plane (forward lean +)."""
    d = shoulder - hip
    return np.degrees(np.arctan2(d[..., 0], d[..., 2]))


def dowel_gaps_m(sacrum: np.ndarray, upper: np.ndarray, head: np.ndarray, posterior: np.ndarray
                 ) -> np.ndarray:
    """(N,3) gaps of sacrum, upper back, head from the dowel, sagittal (x-z) plane.

    The dowel lies parallel to the sacrum-head chord and rests on the most posterior of the three points.
    With the upper back in front of the chord (arched) it rests on sacrum and head: the upper back's gap is
    its distance from the chord. With the upper back behind the chord (rounded) it rests on the upper back:
    sacrum and head both stand off by that same distance. A TLS line through three points would always give
    the middle point the largest residual whatever the shape; this keeps "sacrum gap = rounding, upper-back
    gap = arching" (metrics.md) and needs no extrapolation of a short baseline.
    """
    s, u, h = sacrum[..., [0, 2]], upper[..., [0, 2]], head[..., [0, 2]]
    chord = h - s
    chord = chord / np.linalg.norm(chord, axis=-1, keepdims=True)
    normal = np.stack([-chord[..., 1], chord[..., 0]], axis=-1)
    post = posterior[..., [0, 2]]
    normal = normal * np.sign(np.sum(normal * post, axis=-1, keepdims=True))  # point out of the back
    behind = np.sum((u - s) * normal, axis=-1)  # + upper back behind the chord (rounded), - in front
    rounded = np.maximum(behind, 0.0)
    return np.stack([rounded, np.maximum(-behind, 0.0), rounded], axis=-1)


def _held_max(values: np.ndarray, hold: int) -> float:
    """Largest value sustained over `hold` consecutive samples (the max over windows of the window min)."""
    if values.size <= hold:
        return float(values.min()) if values.size else float("nan")
    from numpy.lib.stride_tricks import sliding_window_view
    return float(sliding_window_view(values, hold).min(axis=1).max())


def _crossing(t: np.ndarray, b: np.ndarray, level: float, i_from: int, step: int) -> float:
    """Time where b falls below `level` walking from index i_from in direction step (linear interp)."""
    i = i_from
    while 0 < i < len(b) - 1 and b[i + step] >= level:
        i += step
    j = i + step
    if not 0 <= j < len(b):
        return float(t[i])
    frac = (b[i] - level) / (b[i] - b[j])
    return float(t[i] + frac * (t[j] - t[i]))


def rep_truths(sig: Signals, windows: list[tuple[float, float, float]], standing_end_s: float,
               thresholds: Thresholds, frame_dt_s: float = 1 / 30) -> list[RepTruth]:
    """Per rep: 15% rule on the hip's backward excursion, metrics at the bottom, faults per metrics.md.

    windows: (from, to, middle of the scripted hold) per rep. The hip holds still at the bottom (a
    pause plus sub-mm sway), so its single deepest sample is an arbitrary instant of the hold; the
    truth's bottom is the middle of the hold."""
    t = sig.t_s
    quiet = t <= standing_end_s
    hip0 = sig.hip[quiet].mean(axis=0)
    knee_all = knee_flexion_deg(sig.hip, sig.knee, sig.ankle)
    knee0 = float(knee_all[quiet].mean())
    fp0 = float(sig.foot_pos[quiet].mean())
    back = hip0[0] - sig.hip[:, 0]
    gaps = dowel_gaps_m(sig.sacrum, sig.upper_back, sig.head_back, sig.posterior)
    hold = max(1, int(round(thresholds.dowel_hold_frames * frame_dt_s / (t[1] - t[0]))))
    out = []
    for index, (w0, w1, t_hold_mid) in enumerate(windows):
        sel = np.flatnonzero((t >= w0) & (t <= w1))
        i_max = int(sel[np.argmax(back[sel])])
        amp = back[i_max]
        level = thresholds.rep_start_frac * amp
        t_start = _crossing(t, back, level, i_max, -1)
        t_end = _crossing(t, back, level, i_max, +1)
        i_b = int(np.argmin(np.abs(t - t_hold_mid)))
        hip_back = 1000 * amp
        hip_drop = 1000 * (hip0[2] - sig.hip[i_b, 2])
        ratio = hip_back / hip_drop if hip_drop > 1e-3 else float("inf")
        in_rep = (t >= t_start) & (t <= t_end)
        fp_shift = float(sig.foot_pos[in_rep].max() - fp0)
        # dowel: per region, the largest gap held for >= dowel_hold_frames camera frames
        gap = {r: float(1000 * _held_max(gaps[in_rep, k], hold)) for k, r in enumerate(DOWEL_REGIONS)}
        rep = RepTruth(
            index=index, t_start=t_start, t_bottom=float(t[i_b]), t_end=t_end,
            hip_back_mm=float(hip_back), hip_drop_mm=float(hip_drop), hinge_ratio=float(ratio),
            knee_flexion_deg=float(knee_all[i_b]), knee_flexion_change_deg=float(knee_all[i_b] - knee0),
            trunk_inclination_deg=float(trunk_inclination_deg(sig.hip[i_b], sig.shoulder[i_b])),
            foot_pos_bottom=float(sig.foot_pos[i_b]), foot_pos_shift=fp_shift,
            heel_load_pct=float(100 * sig.heel_load_frac[i_b]),
            descent_s=float(t[i_b] - t_start), ascent_s=float(t_end - t[i_b]),
            lumbar_flexion_deg=float(sig.lumbar_deg[i_b]), dowel_gap_mm=gap,
        )
        rep.faults = _faults(rep, thresholds)
        out.append(rep)
    return out


def _faults(rep: RepTruth, th: Thresholds) -> list[str]:
    faults = []
    if (rep.hinge_ratio <= th.hinge_ratio_squat_max or rep.knee_flexion_deg > th.knee_flexion_squat_deg
            or rep.knee_flexion_change_deg > th.knee_flexion_change_squat_deg):
        faults.append("squat_pattern")
    if (rep.foot_pos_bottom > th.foot_pos_bottom_max or rep.foot_pos_shift > th.foot_pos_shift_max
            or rep.heel_load_pct < th.heel_load_min_pct):
        faults.append("toe_shift")
    if rep.trunk_inclination_deg < th.trunk_inclination_min_deg:
        faults.append("shallow")
    if rep.dowel_gap_mm["sacrum"] > th.dowel_gap_max_mm:
        faults.append("back_rounding")
    if rep.dowel_gap_mm["upper_back"] > th.dowel_gap_max_mm:
        faults.append("back_arching")
    if min(rep.descent_s, rep.ascent_s) < th.tempo_min_s:
        faults.append("too_fast")
    return faults
