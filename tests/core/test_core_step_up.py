"""Issue 19 item 8, the step-up, through the real analysis path against the virtual subject's truth
(drivers/sim/movement_truth.py), both camera sides, from measured-looking streams
(tests/support/sim_trials.py: 3 mm marker noise, dropouts, 1 N cell noise; 30 fps as for the tap-down).

A step-up waits with the working foot on the step and the leg bent, and rises first: the step's rep finder
must find the hip's *upward* excursion (station.core.step.StepDetector). Tolerances are the issue's
(hip_knee_ratio within 10%, step reps counted exactly) and test_core_movements' for the tap-down (times
0.1 s, trunk and knee 3 deg, foot_pos 0.02, hip height 10 mm)."""

from __future__ import annotations

import functools

import pytest

from drivers.sim import movements as sim_movements
from drivers.sim.subject import VirtualSubject
from station.analysis.analyze import analyze_blocks
from tests.core.test_core_form import SIDES, _config
from tests.support.sim_trials import measured

STEP_UP_PATTERNS = ("step_up", "step_up_knee")
REPS = 4


@functools.cache
def _run(pattern: str, side: str, seed: int = 11):
    cfg = _config(side)
    subject = VirtualSubject(pattern, reps=REPS, seed=seed, config=cfg)
    force, markers = measured(subject, seed=len(pattern) + 7 * SIDES.index(side) + seed)
    return subject, analyze_blocks(force, markers, cfg, source=pattern, movement="step")


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("pattern", STEP_UP_PATTERNS)
def test_step_up_against_truth(pattern, side):
    """step_up: hip-dominant, no fault; step_up_knee: knee_dominant on every rep (truth's ratio ~0.73)."""
    subject, result = _run(pattern, side)
    truth = subject.truth.reps
    assert len(result.reps) == len(truth) == REPS  # counted exactly
    problems = []
    for rep, tr in zip(result.reps, truth, strict=True):
        assert tr.hip_drop_mm < -100  # the simulated step-up rises 14-16 cm: the truth's excursion goes up
        if abs(rep.hip_knee_ratio - tr.hip_knee_ratio) > 0.10 * tr.hip_knee_ratio:
            problems.append(f"rep {rep.index} hip_knee_ratio {rep.hip_knee_ratio:.3f} vs "
                            f"{tr.hip_knee_ratio:.3f}")
        for key, tol in (("t_start", 0.1), ("t_bottom", 0.1), ("t_end", 0.1), ("trunk_inclination_deg", 3.0),
                         ("knee_flexion_deg", 3.0), ("hip_drop_mm", 10.0), ("foot_pos_bottom", 0.02),
                         ("foot_pos_shift", 0.02)):
            if abs(getattr(rep, key) - getattr(tr, key)) > tol:
                problems.append(f"rep {rep.index} {key}: {getattr(rep, key):.3f} vs {getattr(tr, key):.3f}")
        if rep.faults != tr.faults:
            problems.append(f"rep {rep.index} faults {rep.faults} vs {tr.faults}")
        if rep.notes.get("step") != "up":
            problems.append(f"rep {rep.index} notes {rep.notes}")
    assert problems == []
    assert [r.faults for r in result.reps] == [subject.truth.expected_faults] * REPS
    assert result.summary["movement"] == "step"
    assert not any("ends during a movement" in w for w in result.warnings)


def test_the_step_up_trunk_lean_is_the_drives_not_the_tops():
    """At the top of a step-up the trunk is upright whatever the strategy; the lean that tells hip- from
    knee-dominant is in the drive. Truth: ~46 deg hip-dominant, ~15 deg knee-dominant."""
    _, hip_led = _run("step_up", "right")
    truth_hip = VirtualSubject("step_up", reps=REPS, seed=11, config=_config("right")).truth.reps
    _, knee_led = _run("step_up_knee", "right")
    assert min(r.trunk_inclination_deg for r in hip_led.reps) > 2 * max(r.trunk_inclination_deg
                                                                       for r in knee_led.reps)
    assert all(abs(r.trunk_inclination_deg - t.trunk_inclination_deg) < 3.0
               for r, t in zip(hip_led.reps, truth_hip, strict=True))


@pytest.mark.parametrize("side", SIDES)
def test_a_step_up_held_on_the_step_is_one_rep(side, monkeypatch):
    """Standing on the step 2.5 s is long enough for a rep finder on the hip's fall to take the top for a
    new standing place and count the way back down as a tap-down: the step finder keeps to the direction
    the set showed (up), so every rep is counted once, as a step-up, at the truth's times."""
    monkeypatch.setattr(sim_movements, "STEP_UP_TOP_S", (2.4, 2.6))
    cfg = _config(side)
    subject = VirtualSubject("step_up", reps=3, seed=4, config=cfg)
    force, markers = measured(subject, seed=9 + SIDES.index(side))
    result = analyze_blocks(force, markers, cfg, source="step_up held", movement="step")
    truth = subject.truth.reps
    assert len(truth) == 3 and all(t.ascent_s + t.descent_s > 4.0 for t in truth)  # the long stands
    assert len(result.reps) == 3
    for rep, tr in zip(result.reps, truth, strict=True):
        assert rep.notes["step"] == "up"
        assert abs(rep.t_start - tr.t_start) < 0.1 and abs(rep.t_end - tr.t_end) < 0.1
        assert abs(rep.hip_knee_ratio - tr.hip_knee_ratio) <= 0.10 * tr.hip_knee_ratio
    assert not any("ends during a movement" in w for w in result.warnings)


def test_a_tap_down_is_still_found_going_down():
    """The same finder on a tap-down set: every rep found down (hip_drop_mm positive, as the truth's)."""
    cfg = _config("right")
    subject = VirtualSubject("step_down_knee", reps=3, seed=2, config=cfg)
    force, markers = measured(subject, seed=5)
    result = analyze_blocks(force, markers, cfg, source="step_down_knee", movement="step")
    truth = subject.truth.reps
    assert len(result.reps) == len(truth) == 3
    for rep, tr in zip(result.reps, truth, strict=True):
        assert rep.notes["step"] == "down"
        assert tr.hip_drop_mm > 100 and abs(rep.hip_drop_mm - tr.hip_drop_mm) < 10.0
