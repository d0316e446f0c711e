"""Issue 19's "How we will know" on recordings the station's simulator did not make.

tests/support/independent_hinge.py builds them from its own body (a planar linkage of 1.62 m and 1.95 m
subjects, Winter's segment table), motion (cycloidal joint-angle reps at 2-4 s, pauses, a lockout that may
overshoot into an arched lean-back held 0.2-0.7 s), markers (skin offsets, drifting plus white noise,
occlusions, dropped frames, 30 and 60 fps, both camera sides) and plate (whole-body dynamics). Its truth is
docs/metrics.md's definitions on the noise-free signals, computed without station.core.

The issue's checks: every lean-back rep gets `lean_back` and nothing else new (nor an old fault the good
hinge does not have); a good hinge with a neutral head gets none of the new faults; lockout_trunk_deg within
3 deg and bottom_hold_s (where a pause is scripted) within 0.15 s of the truth.
"""

from __future__ import annotations

import functools
import itertools

import pytest

from station.analysis.analyze import AnalysisResult, LoadOptions, analyze_blocks, analyze_path
from station.results import FORM_FAULTS
from tests.support.c3d_writer import write_c3d
from tests.support.independent_hinge import BODIES, IndependentTrial, make_independent_trial
from tests.support.independent_reps import VARIANTS

FPS = (30.0, 60.0)
SIDES = ("right", "left")
CASES = list(itertools.product(VARIANTS, BODIES, FPS, SIDES))
EXPECTED = {"good": [], "lean_back": ["lean_back"], "neck_extension": ["neck_extension"]}
LOCKOUT_TOL_DEG = 3.0  # the issue's
HOLD_TOL_S = 0.15  # the issue's
PAUSE_MIN_S = 0.8  # reps with a scripted pause this long or longer (the others turn within 0.15 s)
N_REPS = 5


def _case_id(case: tuple) -> str:
    variant, body, fps, side = case
    return f"{variant}-{body}-{fps:.0f}fps-{side}"


@functools.cache
def _trial(variant: str, body: str, fps: float, side: str) -> IndependentTrial:
    seed = 100 + CASES.index((variant, body, fps, side))  # its own noise and reps per case
    return make_independent_trial(variant, BODIES[body], fps=fps, side=side, n_reps=N_REPS, seed=seed)


@functools.cache
def _direct(variant: str, body: str, fps: float, side: str) -> AnalysisResult:
    trial = _trial(variant, body, fps, side)
    source = _case_id((variant, body, fps, side))
    return analyze_blocks(trial.force, trial.markers, trial.config, source=source)


def _rep_lines(trial: IndependentTrial, result: AnalysisResult) -> str:
    """What each rep got against the truth (the failure message)."""
    return "\n".join(f"rep {r.index}: faults {r.faults} (truth {t['faults']}), standing trunk "
            f"{r.notes.get('standing_trunk_deg')} (truth {trial.standing['trunk_deg']:.1f}), hip_back_mm "
            f"{r.hip_back_mm:.0f} (truth {t['hip_back_mm']:.0f}), lockout {r.lockout_trunk_deg:.1f} "
            f"(truth {t['lockout_trunk_deg']:.1f})" for r, t in zip(result.reps, trial.truth, strict=False))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_generator_makes_what_each_variant_claims(case):
    """The generator's own truth, by the documented rules: a clean variant is clean, a lean-back is clearly
    one (12+ deg behind the standing trunk, hips thrust in front of the ankle), a look-up clearly extended."""
    variant, *_ = case
    trial = _trial(*case)
    assert len(trial.truth) == N_REPS
    for truth in trial.truth:
        assert truth["faults"] == EXPECTED[variant]
        lean_behind_deg = trial.standing["trunk_deg"] - truth["lockout_trunk_deg"]
        if variant == "lean_back":
            assert lean_behind_deg >= 12.0 and truth["lockout_hip_ahead_of_ankle_mm"] > 40.0
        else:
            assert -3.0 <= lean_behind_deg <= 5.0  # upright, at most a small natural overshoot
        if variant == "neck_extension":
            assert truth["neck_extension_deg"] >= 25.0
        else:
            assert truth["neck_extension_deg"] <= 13.0  # the neutral head's carriage
    assert any(t["scripted_hold_s"] >= PAUSE_MIN_S for t in trial.truth)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_reps_counted_and_only_the_variants_fault(case):
    """lean_back: `lean_back` on every rep and nothing else; neck_extension: `neck_extension` only; good:
    none (so none of the new faults, nor an old one)."""
    variant, *_ = case
    trial, result = _trial(*case), _direct(*case)
    lines = _rep_lines(trial, result)
    assert len(result.reps) == N_REPS, lines
    assert [r.faults for r in result.reps] == [EXPECTED[variant]] * N_REPS, lines
    assert [r.faults for r in result.reps] == [t["faults"] for t in trial.truth], lines
    if variant != "neck_extension":
        assert not any(set(r.faults) & (set(FORM_FAULTS) - {"lean_back"}) for r in result.reps), lines


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_lockout_and_bottom_hold_against_truth(case):
    trial, result = _trial(*case), _direct(*case)
    assert len(result.reps) == N_REPS
    problems = []
    for rep, truth in zip(result.reps, trial.truth, strict=True):
        if rep.lockout_trunk_deg is None or abs(rep.lockout_trunk_deg - truth["lockout_trunk_deg"]) \
                > LOCKOUT_TOL_DEG:
            problems.append(f"rep {rep.index} lockout_trunk_deg {rep.lockout_trunk_deg} vs "
                            f"{truth['lockout_trunk_deg']:.2f}")
        if truth["scripted_hold_s"] >= PAUSE_MIN_S and (
                rep.bottom_hold_s is None or abs(rep.bottom_hold_s - truth["bottom_hold_s"]) > HOLD_TOL_S):
            problems.append(f"rep {rep.index} bottom_hold_s {rep.bottom_hold_s} vs "
                            f"{truth['bottom_hold_s']:.2f} (pause {truth['scripted_hold_s']:.2f} s)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant, body, fps, side, plate_type", [
    ("good", "tall", 60.0, "left", 2), ("lean_back", "short", 30.0, "right", 4),
    ("neck_extension", "tall", 30.0, "right", 2)])
def test_through_c3d_import(tmp_path, variant, body, fps, side, plate_type):
    """The same recordings as a lab would export them: C3D in a rotated lab frame, mm, a force platform,
    dropped frames as gaps, heel and toe markers giving the heel line and the subject's heading."""
    trial = _trial(variant, body, fps, side)
    path = tmp_path / "independent.c3d"
    write_c3d(path, markers=trial.c3d_markers, marker_rate=fps, fz_n=trial.fz_n, cop_xy_m=trial.cop_xy_m,
              heading_deg=120.0, plate_type=plate_type)
    result = analyze_path(path, LoadOptions(config=trial.config))
    lines = _rep_lines(trial, result)
    assert len(result.reps) == N_REPS, lines
    assert [r.faults for r in result.reps] == [EXPECTED[variant]] * N_REPS, lines
    for rep, truth in zip(result.reps, trial.truth, strict=True):
        assert abs(rep.lockout_trunk_deg - truth["lockout_trunk_deg"]) <= LOCKOUT_TOL_DEG, lines


@pytest.mark.parametrize("body", list(BODIES))
def test_a_lean_back_held_at_the_top_stays_a_lean_back(body):
    """Squeezing the glutes at the top, a subject may hold the overshoot for most of a second (0.7 s
    here, the hips still ~0.9 s in all; the simulator's lean-back holds 0.15 s, drivers/sim/patterns.py).
    That turn must not become the standing place the next reps are measured from (docs/metrics.md, "The
    rep"): every rep is still a lean-back, measured from where the subject stood."""
    trial = make_independent_trial("lean_back", BODIES[body], fps=30.0, side="right", n_reps=N_REPS, seed=3,
                                   lean_hold_s=(0.7, 0.7))
    result = analyze_blocks(trial.force, trial.markers, trial.config, source="held lean-back")
    lines = _rep_lines(trial, result)
    assert len(result.reps) == N_REPS, lines
    assert [r.faults for r in result.reps] == [["lean_back"]] * N_REPS, lines
    for rep, truth in zip(result.reps, trial.truth, strict=True):
        assert abs(rep.hip_back_mm - truth["hip_back_mm"]) <= 10.0, lines
