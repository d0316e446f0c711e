"""The step tap-down (and step-up) rep: one leg on the plate lowers the body and comes back up.

Definitions (docs/metrics.md, "Step tap-down"): the rep is the hip's *downward* excursion from its standing
height, by the same 15% rule as the hinge's backward one (a knee-dominant step-down barely moves the hips
back, so hip x cannot find it; every step-down lowers the hip). At the bottom (centroid of the top 10% of
the drop): knee flexion (hip-knee-ankle), hip flexion (trunk line against thigh line), both against quiet
standing; `hip_knee_ratio` = hip flexion change / knee flexion change. The ratio is 1 when trunk and shin
lean forward by the same angle (hip flexion = trunk lean + thigh angle, knee flexion = shin lean + thigh
angle), < 1 when the shin leads: the knee-dominant strategy (fault `knee_dominant`, below
`step_hip_knee_ratio_min`). Trunk lean is `trunk_inclination_deg`, the CoP along the foot
`foot_pos_bottom` and `foot_pos_shift`, as for the hinge.
"""

from __future__ import annotations

import math

import numpy as np

from station.config import StationConfig
from station.core import metrics as mt
from station.core.filtering import lowpass, nan_gap_spans
from station.core.reps import Excursion
from station.results import ALL_FAULTS, RepResult

DETECT_AXIS = 2  # the step's rep detector follows hip height (z), not hip x


def hip_flexion_deg(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> float:
    """Trunk (hip -> shoulder) against thigh (knee -> hip), sagittal plane; 0 = in line, + = flexed."""
    trunk = math.degrees(math.atan2(shoulder[0] - hip[0], shoulder[2] - hip[2]))
    thigh = math.degrees(math.atan2(hip[0] - knee[0], hip[2] - knee[2]))
    return trunk - thigh


def measure_step(data: mt.TrialData, exc: Excursion, j_now: int, prev_end_t: float, config: StationConfig,
                 gate_n: float, *, final: bool = False) -> mt.Outcome:
    """Times, metrics and faults of one downward hip excursion, using marker frames up to j_now."""
    th = config.thresholds
    t_all = data.marker_t
    w0 = int(np.searchsorted(t_all, max(t_all[exc.entry_index] - mt.PRE_WINDOW_S, prev_end_t)))
    w0 = min(w0, exc.standing[0], exc.entry_index)
    t = t_all[w0:j_now + 1]
    hip = lowpass(t, data.markers["hip"][w0:j_now + 1], th.filter_cutoff_hz, bridge_max_s=mt.BRIDGE_MAX_S)
    base = mt._standing_mean(data, "hip", exc)
    if not np.isfinite(base[2]):
        base = np.array([math.nan, math.nan, exc.baseline_x_m])
    d = base[2] - hip[:, 2]  # the drop
    lo, hi = exc.entry_index - w0, j_now - w0
    if not np.any(np.isfinite(d[lo:hi + 1])):
        return mt.Outcome("reject", reason="no hip data in the excursion")
    b = lo + int(np.nanargmax(d[lo:hi + 1]))
    amplitude = float(d[b])
    if amplitude < th.rep_min_amplitude_m:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="smaller than the minimum amplitude")
    level = th.rep_start_frac * amplitude
    t_end = mt._crossing(t, d, b, +1, level)
    if t_end is None:
        return mt.Outcome("defer", amplitude_m=amplitude)
    t_start = mt._crossing(t, d, b, -1, level)
    t_start = float(t[0]) if t_start is None else t_start
    b = mt._bottom_index(t, d, b)
    t_bottom = float(t[b])
    if t_end - t_start < th.rep_min_duration_s:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="shorter than the minimum duration")
    rep = RepResult(index=0, t_start=t_start, t_bottom=t_bottom, t_end=t_end,
                    descent_s=t_bottom - t_start, ascent_s=t_end - t_bottom)
    missing: list[str] = []
    in_rep = (t >= t_start) & (t <= t_end)
    if nan_gap_spans(t[in_rep], np.isfinite(hip[in_rep, 0]), th.tracking_gap_max_s):
        missing.append("hip")
    rep.hip_drop_mm = amplitude * 1000.0
    rep.hip_back_mm = mt._finite((base[0] - hip[b, 0]) * 1000.0)  # signed: hips back (+) or forward (-)
    filt = mt._Filtered(data, t, w0, j_now + 1, th.filter_cutoff_hz, hip)
    mt._kinematics(rep, data, filt, b, exc)
    rep.neck_extension_deg = None  # the neck is judged in the hinge drills
    shoulder, knee = filt.get("shoulder"), filt.get("knee")
    if shoulder is not None and knee is not None and rep.knee_flexion_change_deg is not None:
        with np.errstate(invalid="ignore"):
            standing = hip_flexion_deg(*(mt._standing_mean(data, n, exc)
                                         for n in ("shoulder", "hip", "knee")))
        change = hip_flexion_deg(shoulder[b], hip[b], knee[b]) - standing
        # below ~5 deg of knee bend the ratio is noise over noise: not a step-down
        if math.isfinite(change) and rep.knee_flexion_change_deg > 5.0:
            rep.hip_knee_ratio = change / rep.knee_flexion_change_deg
    s0, s1 = exc.standing
    mt._kinetics(rep, data, t_start, t_end, t_bottom, t_all[s0], t_all[max(s1 - 1, s0)], config, gate_n,
                 missing)
    if missing:
        rep.notes["missing"] = missing
    rep.notes["movement"] = "step"
    rep.faults = judge_step(rep, config, incomplete=bool(missing))
    return mt.Outcome("rep", rep=rep, amplitude_m=amplitude)


def judge_step(rep: RepResult, config: StationConfig, *, incomplete: bool) -> list[str]:
    """knee_dominant below the ratio limit; incomplete_tracking. A None ratio never raises a fault."""
    found = set()
    if rep.hip_knee_ratio is not None and rep.hip_knee_ratio < config.thresholds.step_hip_knee_ratio_min:
        found.add("knee_dominant")
    if incomplete:
        found.add("incomplete_tracking")
    return [f for f in ALL_FAULTS if f in found]
