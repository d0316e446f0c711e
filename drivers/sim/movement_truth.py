"""Ground truth for the swing, the step tap-down and the step-up (drivers.sim.movements), by the definitions
in docs/metrics.md, from the exact noise-free signals on the 2 kHz grid.

Written independently of station.core (the core is tested against it). The swing reuses the hinge's
truth (truth.rep_truths: the 15% rule on the hip's backward excursion, the lockout window) and adds the hip
snap and the peak force; the step's rep is the hip's *downward* excursion (a knee-dominant step-down barely
moves the hips back), or for the step-up its *upward* one from the rest posture, with the same 15% rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers.sim.truth import (
    RepTruth,
    Signals,
    TrialTruth,
    knee_flexion_deg,
    level_crossing_s,
    trunk_inclination_deg,
)
from station.config import GRAVITY_M_S2, Thresholds
from station.streams import DOWEL_REGIONS

SWING_TOP_AFTER_S = 0.2  # the swing's lockout window runs this long past the top (the bell floats ~0.2 s)
SWING_TOP_RISE_M = 0.010  # the hip moving away from standing again this far past its closest: the top is past
SWING_TOP_SEARCH_S = 0.5  # the top is looked for up to this + lockout_window_s after the deepest point


@dataclass
class MovementRepTruth(RepTruth):
    hip_flexion_change_deg: float = float("nan")  # step: hip flexion at the bottom minus standing
    hip_knee_ratio: float = float("nan")    # step: hip flexion change over knee flexion change
    hip_snap_mps: float = float("nan")      # swing: peak forward hip speed between bottom and end
    peak_fz_bw: float = float("nan")        # swing: peak Fz in the swing over body weight (body mass x g)


def hip_flexion_deg(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> np.ndarray:
    """Trunk (hip -> shoulder) against thigh (knee -> hip) in the sagittal plane; 0 = in line, + = flexed."""
    return trunk_inclination_deg(hip, shoulder) - trunk_inclination_deg(knee, hip)


def swing_truths(sig: Signals, swings: list[tuple[float, float, float]], fz_n: np.ndarray, mass_kg: float,
                 standing_end_s: float, th: Thresholds) -> list[MovementRepTruth]:
    """swings: (t0, t_end, scripted bottom) of each swing; by docs/metrics.md "Kettlebell swing".

    A swing is the hip's excursion away from where it stood (its sagittal distance from the standing place:
    a hinge swing goes back, a squat swing down). The hips do not come back to their standing place between
    swings (at the top the body leans back a little as a plank against the bell in front), so a swing is
    segmented against its own tops: it starts where that distance passes 15% of the way from the top
    before it to its largest value, and ends 15% short of the top after it (the closest the hip comes to
    standing before the next swing, within lockout_window_s of the end). At the bottom (the scripted
    instant of the swing's reversal): hip_back_mm and hip_drop_mm from the standing place.
    The lockout is the most upright trunk from the end to SWING_TOP_AFTER_S past the top."""
    t = sig.t_s
    quiet = t <= standing_end_s
    hip0 = sig.hip[quiet].mean(axis=0)
    back = hip0[0] - sig.hip[:, 0]
    e = np.hypot(back, hip0[2] - sig.hip[:, 2])
    trunk = trunk_inclination_deg(sig.hip, sig.shoulder)
    trunk0 = float(trunk[quiet].mean())
    knee = knee_flexion_deg(sig.hip, sig.knee, sig.ankle)
    vx = np.gradient(sig.hip[:, 0], t)
    peaks = []
    for t0, t1, _ in swings:
        sel = np.flatnonzero((t >= t0 - 0.05) & (t <= t1 + 0.05))
        peaks.append(int(sel[np.argmax(e[sel])]))
    out = []
    for k, (p, (_, _, tb)) in enumerate(zip(peaks, swings, strict=True)):
        a = peaks[k - 1] if k else int(np.searchsorted(t, standing_end_s))
        i_top_before = a + int(np.argmin(e[a:p + 1]))
        level0 = e[i_top_before] + th.rep_start_frac * (e[p] - e[i_top_before])
        t_start = level_crossing_s(t, e, level0, p, -1)
        # the top after: the hip closest to standing before it moves away again by SWING_TOP_RISE_M (the
        # next swing), looked for up to SWING_TOP_SEARCH_S + lockout_window_s after the deepest point
        limit = min(t.size - 1, int(np.searchsorted(t, t[p] + SWING_TOP_SEARCH_S + th.lockout_window_s)))
        after = e[p + 1:limit + 1]
        rose = np.flatnonzero(after > np.minimum.accumulate(after) + SWING_TOP_RISE_M)
        if rose.size:
            after = after[:rose[0] + 1]
        i_top = p + 1 + int(np.argmin(after))
        level1 = e[i_top] + th.rep_start_frac * (e[p] - e[i_top])
        t_end = level_crossing_s(t, e, level1, p, +1)
        if i_top > int(np.searchsorted(t, t_end + th.lockout_window_s)):  # stood up: the top in the window
            w = (t >= t_end) & (t <= t_end + th.lockout_window_s)
            i_top = int(np.flatnonzero(w)[np.argmin(e[w])])
        b = int(np.argmin(np.abs(t - tb)))
        lock = (t >= t_end) & (t <= t[i_top] + SWING_TOP_AFTER_S)
        k_lock = int(np.flatnonzero(lock)[np.argmin(trunk[lock])])
        rep = (t >= t_start) & (t <= t_end)
        drop = 1000 * float(hip0[2] - sig.hip[b, 2])
        r = MovementRepTruth(
            index=k + 1, t_start=t_start, t_bottom=float(t[b]), t_end=t_end,
            hip_back_mm=1000 * float(back[b]), hip_drop_mm=drop,
            hinge_ratio=1000 * float(back[b]) / max(drop, 1.0),
            knee_flexion_deg=float(knee[b]), knee_flexion_change_deg=float(knee[b] - knee[quiet].mean()),
            trunk_inclination_deg=float(trunk[b]), foot_pos_bottom=float(sig.foot_pos[b]),
            foot_pos_shift=float("nan"), heel_load_pct=100 * float(sig.heel_load_frac[b]),
            descent_s=float(t[b]) - t_start, ascent_s=t_end - float(t[b]),
            lumbar_flexion_deg=float(sig.lumbar_deg[b]),
            dowel_gap_mm={g: float("nan") for g in DOWEL_REGIONS},
            lockout_trunk_deg=float(trunk[k_lock]), lockout_hip_back_mm=1000 * float(back[k_lock]),
            standing_trunk_deg=trunk0,
            hip_snap_mps=float(vx[(t >= tb) & (t <= t_end)].max()),
            peak_fz_bw=float(fz_n[rep].max() / (mass_kg * GRAVITY_M_S2)))
        r.faults = swing_faults(r, th)
        out.append(r)
    return out


def swing_faults(r: RepTruth, th: Thresholds) -> list[str]:
    faults = []
    if r.hinge_ratio <= th.swing_hinge_ratio_squat_max \
            or r.knee_flexion_deg > th.swing_knee_flexion_squat_deg:
        faults.append("squat_swing")
    if r.lockout_trunk_deg - r.standing_trunk_deg > th.lockout_incomplete_deg:
        faults.append("incomplete_lockout")
    if r.standing_trunk_deg - r.lockout_trunk_deg > th.lockout_lean_back_deg:
        faults.append("lean_back")
    return faults


def step_truths(sig: Signals, steps: list[tuple[float, float, float]], standing_end_s: float,
                th: Thresholds, *, rise: bool = False) -> list[MovementRepTruth]:
    """steps: (t0, t_end, turn) per rep, the turn being the middle of the tap (tap-down) or of the stand on
    the step (step-up, `rise`). The rep: the 15% rule on the hip's drop, or for a step-up on its rise above
    the rest posture; at the turn knee and hip flexion against quiet standing (the rest), their ratio, the
    CoP along the foot. Trunk lean: at the turn for a tap-down; for a step-up the most forward trunk from the
    rep's start to the turn (the drive up: at the top the trunk is upright whatever the strategy).
    `hip_drop_mm` is signed: a step-up's is minus its rise."""
    t = sig.t_s
    quiet = t <= standing_end_s
    hip0 = sig.hip[quiet].mean(axis=0)
    sign = -1.0 if rise else 1.0
    drop = hip0[2] - sig.hip[:, 2]
    away = sign * drop  # the excursion the rep is found on: down for a tap-down, up for a step-up
    back = hip0[0] - sig.hip[:, 0]
    knee = knee_flexion_deg(sig.hip, sig.knee, sig.ankle)
    hipf = hip_flexion_deg(sig.shoulder, sig.hip, sig.knee)
    trunk = trunk_inclination_deg(sig.hip, sig.shoulder)
    knee0, hipf0 = float(knee[quiet].mean()), float(hipf[quiet].mean())
    fp0 = float(sig.foot_pos[quiet].mean())
    out = []
    for index, (t0, t1, tb) in enumerate(steps):
        sel = np.flatnonzero((t >= t0 - 0.2) & (t <= t1 + 0.2))
        i_max = int(sel[np.argmax(away[sel])])
        level = th.rep_start_frac * away[i_max]
        t_start = level_crossing_s(t, away, level, i_max, -1)
        t_end = level_crossing_s(t, away, level, i_max, +1)
        b = int(np.argmin(np.abs(t - tb)))
        in_rep = (t >= t_start) & (t <= t_end)
        drive = (t >= t_start) & (t <= t[b])
        knee_change, hip_change = float(knee[b] - knee0), float(hipf[b] - hipf0)
        r = MovementRepTruth(
            index=index + 1, t_start=t_start, t_bottom=float(t[b]), t_end=t_end,
            hip_back_mm=1000 * float(back[b]), hip_drop_mm=1000 * float(drop[i_max]),
            hinge_ratio=float("nan"), knee_flexion_deg=float(knee[b]), knee_flexion_change_deg=knee_change,
            trunk_inclination_deg=float(trunk[drive].max() if rise else trunk[b]),
            foot_pos_bottom=float(sig.foot_pos[b]), foot_pos_shift=float(sig.foot_pos[in_rep].max() - fp0),
            heel_load_pct=100 * float(sig.heel_load_frac[b]), descent_s=float(t[b]) - t_start,
            ascent_s=t_end - float(t[b]), lumbar_flexion_deg=float(sig.lumbar_deg[b]),
            dowel_gap_mm={r: float("nan") for r in DOWEL_REGIONS},
            hip_flexion_change_deg=hip_change, hip_knee_ratio=hip_change / knee_change)
        r.faults = ["knee_dominant"] if r.hip_knee_ratio < th.step_hip_knee_ratio_min else []
        out.append(r)
    return out


def trial_truth(subject, sig: Signals, fz_n: np.ndarray) -> TrialTruth:
    """The TrialTruth of a VirtualSubject doing a swing or step pattern (drivers.sim.movements)."""
    from drivers.sim.movements import EXPECTED

    tl, th = subject.timeline, subject.config.thresholds
    ex = [e for e in tl.excursions if e.is_rep]
    if tl.movement == "swing":
        swings = [(e.t0_s, e.t_end_s, e.t0_s + e.descent_s) for e in ex]
        reps = swing_truths(sig, swings, fz_n, subject.mass_kg, tl.standing_end_s, th)
    else:
        reps = step_truths(sig, [(e.t0_s, e.t_end_s, e.t0_s + e.descent_s + e.hold_s / 2) for e in ex],
                           tl.standing_end_s, th, rise=getattr(tl, "rest", None) is not None)
    return TrialTruth(pattern=subject.pattern, arms=subject.arms, reps=list(reps), fidget_t_s=None,
                      hop_t_s=None, heel_raise_t_s=None, standing_end_s=tl.standing_end_s,
                      mass_kg=subject.mass_kg, total_mass_kg=subject.total_mass_kg, height_m=subject.height_m,
                      seed=subject.seed, expected_faults=list(EXPECTED[subject.pattern]))
