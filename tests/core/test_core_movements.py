"""Issue 19 item 8 through the real analysis path: the kettlebell swing and the step tap-down against the
virtual subject's truth (drivers/sim/movement_truth.py: the definitions of docs/metrics.md on the exact
2 kHz signals), both camera sides, from measured-looking streams (tests/support/sim_trials.py: 3 mm marker
noise, dropouts, 1 N cell noise). Swings at 60 fps (the issue: "measured at 60 fps or more").

Tolerances are the issue's: hip_knee_ratio within 10%, hip_snap_mps within 10% (the hinge swing's hip drive;
a squat swing has next to none, 0.03-0.4 m/s, and is checked for being well below a good swing's), peak_fz_bw
within 5%, swing and step reps counted exactly. The times' 0.1 s, trunk's 3 deg and foot_pos' 0.02 are
test_core_sim's; the lockout's 3 deg the issue's for lockout_trunk_deg."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from drivers.sim.movements import MOVEMENT_OF, SWING_PATTERNS
from drivers.sim.subject import VirtualSubject
from station.analysis.analyze import analyze_blocks
from station.config import GRAVITY_M_S2
from tests.core.test_core_form import SIDES, _config
from tests.support.sim_trials import measured

SWING_FPS = 60.0


@functools.cache
def _run(pattern: str, side: str, reps: int = 6):
    cfg = _config(side)
    subject = VirtualSubject(pattern, reps=reps, seed=11, config=cfg)
    fps = SWING_FPS if pattern in SWING_PATTERNS else 30.0
    force, markers = measured(subject, seed=len(pattern) + 7 * SIDES.index(side), fps=fps)
    # the body mass as the clinician enters it: peak_fz_bw is in body weights, the bell not included
    result = analyze_blocks(force, markers, cfg, source=pattern, movement=MOVEMENT_OF[pattern],
                            body_mass_kg=subject.mass_kg)
    return subject, result


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("pattern", SWING_PATTERNS)
def test_swing_against_truth(pattern, side):
    """swing: a good hinge swing; swing_squat: squat_swing on every swing; swing_lean_back: lean_back on
    every swing (the hips overshoot into a lean-back at the top) and nothing else."""
    subject, result = _run(pattern, side)
    truth = subject.truth.reps
    assert len(result.reps) == len(truth) == 6  # counted exactly
    problems = []
    for rep, tr in zip(result.reps, truth, strict=True):
        if abs(rep.peak_fz_bw - tr.peak_fz_bw) > 0.05 * tr.peak_fz_bw:
            problems.append(f"rep {rep.index} peak_fz_bw {rep.peak_fz_bw:.3f} vs {tr.peak_fz_bw:.3f}")
        if pattern == "swing" and abs(rep.hip_snap_mps - tr.hip_snap_mps) > 0.10 * tr.hip_snap_mps:
            problems.append(f"rep {rep.index} hip_snap_mps {rep.hip_snap_mps:.3f} vs {tr.hip_snap_mps:.3f}")
        # the set's last swing ends as the subject stops and stands: a slow drift whose 15% point is loose
        if rep.index < len(truth) and abs(rep.t_end - tr.t_end) > 0.1:
            problems.append(f"rep {rep.index} t_end {rep.t_end:.2f} vs {tr.t_end:.2f}")
        for key, tol in (("t_start", 0.1), ("lockout_trunk_deg", 3.0),
                         ("trunk_inclination_deg", 3.0), ("knee_flexion_deg", 3.0), ("hip_back_mm", 10.0),
                         ("hip_drop_mm", 10.0)):
            if abs(getattr(rep, key) - getattr(tr, key)) > tol:
                problems.append(f"rep {rep.index} {key}: {getattr(rep, key):.2f} vs {getattr(tr, key):.2f}")
        if rep.faults != tr.faults:
            problems.append(f"rep {rep.index} faults {rep.faults} vs {tr.faults}")
    assert problems == []
    assert [r.faults for r in result.reps] == [subject.truth.expected_faults] * 6
    if pattern == "swing_squat":  # no hip drive: its hips barely move forward (truth: < 0.4 m/s)
        _, good = _run("swing", side)
        snap = np.mean([r.hip_snap_mps for r in result.reps])
        assert snap < 0.5 * np.mean([r.hip_snap_mps for r in good.reps])
    # the swing rate from the truth's own swing starts
    rate = 60.0 * (len(truth) - 1) / (truth[-1].t_start - truth[0].t_start)
    assert abs(result.summary["swings_per_min"] - rate) < 0.02 * rate
    assert result.summary["movement"] == "swing"
    assert not any("fps" in w for w in result.warnings)  # filmed at 60 fps: no warning


def test_swings_filmed_at_30_fps_are_warned_about():
    subject, _ = _run("swing", "right")
    force, markers = measured(subject, seed=3, fps=30.0)
    result = analyze_blocks(force, markers, _config("right"), source="swing", movement="swing")
    assert any("swings filmed at 30 fps" in w for w in result.warnings)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("pattern", ["step_down", "step_down_knee"])
def test_step_down_against_truth(pattern, side):
    subject, result = _run(pattern, side, reps=4)
    truth = subject.truth.reps
    assert len(result.reps) == len(truth) == 4  # counted exactly
    problems = []
    for rep, tr in zip(result.reps, truth, strict=True):
        if abs(rep.hip_knee_ratio - tr.hip_knee_ratio) > 0.10 * tr.hip_knee_ratio:
            problems.append(f"rep {rep.index} hip_knee_ratio {rep.hip_knee_ratio:.3f} vs "
                            f"{tr.hip_knee_ratio:.3f}")
        for key, tol in (("t_start", 0.1), ("t_end", 0.1), ("trunk_inclination_deg", 3.0),
                         ("knee_flexion_deg", 3.0), ("hip_drop_mm", 10.0), ("foot_pos_bottom", 0.02)):
            if abs(getattr(rep, key) - getattr(tr, key)) > tol:
                problems.append(f"rep {rep.index} {key}: {getattr(rep, key):.3f} vs {getattr(tr, key):.3f}")
        if rep.faults != tr.faults:
            problems.append(f"rep {rep.index} faults {rep.faults} vs {tr.faults}")
    assert problems == []
    assert [r.faults for r in result.reps] == [subject.truth.expected_faults] * 4


def test_the_swings_force_swings_around_body_plus_bell_weight():
    """Over whole swings the plate's mean vertical force is the weight of body and bell (the momentum at
    the start and end of the set is zero), while each swing peaks well above and floats well below it."""
    subject = VirtualSubject("swing", reps=4, seed=2)
    reps = subject.truth.reps
    t = np.arange(reps[0].t_start - 0.5, reps[-1].t_end + 1.5, 0.001)
    fz = subject.forces(t).fz_n
    weight = subject.total_mass_kg * GRAVITY_M_S2
    assert subject.load_kg == 16.0  # the bell, held in both hands
    assert abs(fz.mean() - weight) < 0.01 * weight
    assert fz.max() > 1.3 * weight and fz.min() < 0.6 * weight
    cop = subject.forces(t).cop_xy_m
    heel, length = subject.feet.heel_x_m, subject.feet.foot_length_m
    foot = (cop[:, 0] - heel) / length
    assert 0.0 < foot.min() and foot.max() < 1.0  # the centre of pressure never leaves the foot


@pytest.mark.parametrize("side", SIDES)
def test_a_step_down_loads_the_plate_through_the_stance_foot_only(side):
    subject = VirtualSubject("step_down", reps=2, seed=4, config=_config(side))
    t = np.arange(0.0, subject.duration_s - 0.01, 0.002)
    force = subject.forces(t)
    ankle_y = subject.markers(t)["ankle"][:, 1]  # the worn (camera-side) ankle marker: the stance leg
    # the whole body through one foot: CoP under the stance foot's ankle, on the camera's side of centre
    assert np.all(np.sign(force.cop_xy_m[:, 1]) == np.sign(ankle_y))
    assert np.all(np.abs(force.cop_xy_m[:, 1] - ankle_y) < 0.06)
    assert abs(force.fz_n.mean() - subject.total_mass_kg * GRAVITY_M_S2) < 0.01 * force.fz_n.mean()


def test_the_hinge_core_does_not_count_swings_as_hinge_reps():
    """Without the movement the core judges swings as hinge reps: too short (rep_min_duration_s) and never
    back at the standing place, so the set is not counted. The movement is what makes them swings."""
    subject, _ = _run("swing", "right")
    force, markers = measured(subject, seed=1, fps=SWING_FPS)
    hinge = analyze_blocks(force, markers, _config("right"), source="swing as hinge")
    assert len(hinge.reps) != len(subject.truth.reps)
