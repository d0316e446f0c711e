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
    lockout_trunk_deg: float = float("nan")   # most upright trunk in the lockout window (- = behind vertical)
    lockout_hip_back_mm: float = float("nan")  # hip behind its standing place at that instant
    neck_extension_deg: float = float("nan")  # at the bottom, against the standing head carriage (+ = up)
    bottom_hold_s: float = float("nan")       # time with the hip within the band of its deepest point
    form_break_trunk_deg: float | None = None  # trunk when the dowel first lost a contact going down
    standing_trunk_deg: float = float("nan")  # quiet standing trunk (the lockout faults' reference)
    scripted_hold_s: float = float("nan")     # the pause the timeline scripted at the bottom
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
    head: np.ndarray | None = None  # head (tragus) marker; None: no neck truth


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


def neck_extension_raw_deg(hip: np.ndarray, shoulder: np.ndarray, head: np.ndarray) -> np.ndarray:
    """shoulder -> head line against the hip -> shoulder line, sagittal plane (head tilted back +)."""
    return trunk_inclination_deg(hip, shoulder) - trunk_inclination_deg(shoulder, head)


# the lockout window's early close (docs/metrics.md): the trunk steady over this trailing span, slope below
LOCKOUT_STILL_S = 0.3
LOCKOUT_STILL_DEG_S = 5.0


def _lockout_close(t: np.ndarray, back: np.ndarray, trunk: np.ndarray, t_end: float, level: float,
                   standing_trunk: float, th: Thresholds) -> float:
    """End of the lockout window (metrics.md): lockout_window_s after the end, the next rep's start (hips
    back past twice the 15% level), or the first instant the trunk has been steady for LOCKOUT_STILL_S
    with its lowest angle so far not short of standing by more than the incomplete-lockout limit. The
    slope over the trailing span is the chord slope (exact signals: no noise to fit through)."""
    close = t_end + th.lockout_window_s
    after = t > t_end
    again = np.flatnonzero(after & (back >= 2.0 * level))
    if again.size:
        close = min(close, float(t[again[0]]))
    dt = t[1] - t[0]
    lag = int(round(LOCKOUT_STILL_S / dt))
    idx = np.flatnonzero((t >= t_end + LOCKOUT_STILL_S) & (t < close))
    if idx.size:
        slope = (trunk[idx] - trunk[idx - lag]) / (lag * dt)
        i_end = int(np.searchsorted(t, t_end))
        lowest = np.minimum.accumulate(trunk[i_end:])[idx - i_end]
        ok = (np.abs(slope) < LOCKOUT_STILL_DEG_S) & (lowest - standing_trunk <= th.lockout_incomplete_deg)
        if np.any(ok):
            close = float(t[idx[np.argmax(ok)]])
    return close


def _first_held(t: np.ndarray, over: np.ndarray, hold: int) -> int | None:
    """Index of the first sample that starts `hold` samples in a row of `over`."""
    if over.size < hold:
        return None
    from numpy.lib.stride_tricks import sliding_window_view
    starts = np.flatnonzero(sliding_window_view(over, hold).all(axis=1))
    return int(starts[0]) if starts.size else None


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
    """Largest value sustained over `hold` consecutive samples (the max over windows of the window min).

    Each window's min from two running mins over blocks of `hold` samples (van Herk / Gil-Werman): a window
    spans the tail of one block and the head of the next. O(n), where a min over every window was
    O(n * hold); min is exact and keeps a NaN, so the same value bit for bit."""
    if values.size <= hold:
        return float(values.min()) if values.size else float("nan")
    n, blocks = values.size, -(-values.size // hold)
    padded = np.full(blocks * hold, np.inf)
    padded[:n] = values
    rows = padded.reshape(blocks, hold)
    head = np.minimum.accumulate(rows, axis=1).reshape(-1)  # block start .. i
    tail = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].reshape(-1)  # i .. block end
    starts = n - hold + 1
    return float(np.minimum(tail[:starts], head[hold - 1:hold - 1 + starts]).max())


def level_crossing_s(t: np.ndarray, b: np.ndarray, level: float, i_from: int, step: int) -> float:
    """Time where b falls below `level` (or is NaN) walking from index i_from in direction step (+1 or -1),
    linearly interpolated; the end of the signal if it never does."""
    i = i_from
    if 0 < i < len(b) - 1:  # the last sample at or above the level before the first one that is not
        if step > 0:
            below = np.flatnonzero(~(b[i + 1:] >= level))
            i = i + int(below[0]) if below.size else len(b) - 1
        else:
            below = np.flatnonzero(~(b[:i] >= level))
            i = int(below[-1]) + 1 if below.size else 0
    j = i + step
    if not 0 <= j < len(b):
        return float(t[i])
    frac = (b[i] - level) / (b[i] - b[j])
    return float(t[i] + frac * (t[j] - t[i]))


def rep_truths(sig: Signals, windows: list[tuple[float, float, float]], standing_end_s: float,
               thresholds: Thresholds, frame_dt_s: float = 1 / 30) -> list[RepTruth]:
    """Per rep: 15% rule on the hip's backward excursion, metrics at the bottom, faults per metrics.md;
    the lockout in the window after the end, the bottom hold, the neck against the standing head carriage
    and the trunk angle where the dowel first loses a contact going down (docs/metrics.md).

    windows: (from, to, middle of the scripted hold) per rep. The hip holds still at the bottom (a
    pause plus sub-mm sway), so its single deepest sample is an arbitrary instant of the hold; the
    truth's bottom is the middle of the hold."""
    t = sig.t_s
    quiet = t <= standing_end_s
    hip0 = sig.hip[quiet].mean(axis=0)
    trunk = trunk_inclination_deg(sig.hip, sig.shoulder)
    trunk0 = float(trunk[quiet].mean())
    neck = None if sig.head is None else neck_extension_raw_deg(sig.hip, sig.shoulder, sig.head)
    neck0 = None if neck is None else float(neck[quiet].mean())
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
        t_start = level_crossing_s(t, back, level, i_max, -1)
        t_end = level_crossing_s(t, back, level, i_max, +1)
        i_b = int(np.argmin(np.abs(t - t_hold_mid)))
        hip_back = 1000 * amp
        hip_drop = 1000 * (hip0[2] - sig.hip[i_b, 2])
        ratio = hip_back / hip_drop if hip_drop > 1e-3 else float("inf")
        in_rep = (t >= t_start) & (t <= t_end)
        fp_shift = float(sig.foot_pos[in_rep].max() - fp0)
        # dowel: per region, the largest gap held for >= dowel_hold_frames camera frames
        gap = {r: float(1000 * _held_max(gaps[in_rep, k], hold)) for k, r in enumerate(DOWEL_REGIONS)}
        # lockout: the most upright trunk in the window after the end, the hip's place then
        t_close = _lockout_close(t, back, trunk, t_end, level, trunk0, thresholds)
        win = np.flatnonzero((t >= t_end) & (t <= t_close))
        k_lock = int(win[np.argmin(trunk[win])])
        # bottom hold: time in the rep within bottom_hold_band_frac of the hip's displacement at the bottom
        # (its mean within 0.2 s of it: the hip sways a few mm over a long pause)
        band = (1.0 - thresholds.bottom_hold_band_frac) * float(back[np.abs(t - t[i_b]) <= 0.2].mean())
        hold_s = float(np.count_nonzero(back[in_rep] >= band) * (t[1] - t[0]))
        # form break: the fault-relevant gap (sacrum when rounded, upper back when arched) over the limit
        i_start, i_bottom = int(np.searchsorted(t, t_start)), int(np.searchsorted(t, t[i_b]))
        worst_mm = 1000 * np.maximum(gaps[i_start:, 0], gaps[i_start:, 1])
        k_break = _first_held(t, worst_mm > thresholds.dowel_gap_max_mm, hold)
        form_break = None if k_break is None or i_start + k_break > i_bottom else \
            float(trunk[i_start + k_break])
        rep = RepTruth(
            index=index, t_start=t_start, t_bottom=float(t[i_b]), t_end=t_end,
            hip_back_mm=float(hip_back), hip_drop_mm=float(hip_drop), hinge_ratio=float(ratio),
            knee_flexion_deg=float(knee_all[i_b]), knee_flexion_change_deg=float(knee_all[i_b] - knee0),
            trunk_inclination_deg=float(trunk_inclination_deg(sig.hip[i_b], sig.shoulder[i_b])),
            foot_pos_bottom=float(sig.foot_pos[i_b]), foot_pos_shift=fp_shift,
            heel_load_pct=float(100 * sig.heel_load_frac[i_b]),
            descent_s=float(t[i_b] - t_start), ascent_s=float(t_end - t[i_b]),
            lumbar_flexion_deg=float(sig.lumbar_deg[i_b]), dowel_gap_mm=gap,
            lockout_trunk_deg=float(trunk[k_lock]), lockout_hip_back_mm=float(1000 * back[k_lock]),
            neck_extension_deg=float("nan") if neck is None else float(neck[i_b] - neck0),
            bottom_hold_s=float(hold_s), form_break_trunk_deg=form_break, standing_trunk_deg=trunk0,
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
    if rep.neck_extension_deg > th.neck_extension_max_deg:
        faults.append("neck_extension")
    if rep.lockout_trunk_deg - rep.standing_trunk_deg > th.lockout_incomplete_deg:
        faults.append("incomplete_lockout")
    if rep.standing_trunk_deg - rep.lockout_trunk_deg > th.lockout_lean_back_deg:
        faults.append("lean_back")
    if min(rep.descent_s, rep.ascent_s) < th.tempo_min_s:
        faults.append("too_fast")
    return faults
