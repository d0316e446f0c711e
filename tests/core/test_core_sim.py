"""The core against the virtual subject's truth, every pattern, bodyweight and loaded (20 kg), from
measured-looking streams (tests/support/sim_trials.py). Tolerances are the issue's.

The bottom of a hinge is a flat top: the simulated hip stays within 1 mm of its deepest point for
0.4-1.0 s (hold plus sway), so the truth's t_bottom (the single deepest instant of the noise-free track)
is not observable through 3 mm marker noise. t_bottom is therefore checked against that 1 mm top
interval joined with the scripted hold (sway can carry the hip more than 1 mm during a hold) (+-0.1 s),
and foot_pos at the bottom against the true foot_pos at the reported bottom."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.subject import PATTERNS, VirtualSubject
from station.analysis.analyze import LoadOptions, analyze_blocks, analyze_path
from station.config import StationConfig
from station.core.hinge_core import HingeCore
from tests.support.c3d_writer import write_c3d
from tests.support.sim_trials import measured

TOL = {"t_start": 0.1, "t_end": 0.1, "hip_back_mm": 10, "hip_drop_mm": 10, "knee_flexion_deg": 3,
       "knee_flexion_change_deg": 3, "trunk_inclination_deg": 3, "foot_pos_shift": 0.02}
DOWEL_FAULTS = {"back_rounding", "back_arching"}  # judged from the dowel stream, absent here


def _top_interval(subject: VirtualSubject, t_start: float, t_end: float) -> tuple[float, float]:
    t = np.arange(t_start, t_end, 0.005)
    back = -subject.markers(t)["hip"][:, 0]
    top = t[back >= back.max() - 0.001]
    holds = [(ex.t0_s + ex.descent_s, ex.t0_s + ex.descent_s + ex.hold_s)
             for ex in subject.timeline.excursions if ex.is_rep and t_start < ex.t0_s + ex.descent_s < t_end]
    return min([float(top[0])] + [h[0] for h in holds]), max([float(top[-1])] + [h[1] for h in holds])


def _check_trial(subject: VirtualSubject, result) -> list[str]:
    problems = []
    truth = subject.truth.reps
    if len(result.reps) != len(truth):
        return [f"{len(result.reps)} reps for {len(truth)}"]
    for rep, tr in zip(result.reps, truth, strict=True):
        data = rep.to_json()
        for key, tol in TOL.items():
            if data[key] is None or abs(data[key] - getattr(tr, key)) > tol:
                problems.append(f"rep {rep.index} {key}: {data[key]} vs {getattr(tr, key):.3f}")
        lo, hi = _top_interval(subject, tr.t_start, tr.t_end)
        if not lo - 0.1 <= rep.t_bottom <= hi + 0.1:
            problems.append(f"rep {rep.index} t_bottom {rep.t_bottom:.2f} outside the top {lo:.2f}-{hi:.2f}")
        foot_true = float(subject.foot_pos(np.array([rep.t_bottom]))[0])
        if abs(rep.foot_pos_bottom - foot_true) > 0.02:
            problems.append(f"rep {rep.index} foot_pos_bottom {rep.foot_pos_bottom:.3f} vs {foot_true:.3f}")
        expected = [f for f in tr.faults if f not in DOWEL_FAULTS]
        if rep.faults != expected:
            problems.append(f"rep {rep.index} faults {rep.faults} vs {expected}")
    return problems


@pytest.mark.parametrize("load_kg", [0.0, 20.0])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_against_truth(pattern, load_kg):
    subject = VirtualSubject(pattern, reps=5 if load_kg == 0 else 3, load_kg=load_kg, seed=3)
    force, markers = measured(subject, seed=int(load_kg) + PATTERNS.index(pattern))
    result = analyze_blocks(force, markers, StationConfig(), source=pattern)
    assert _check_trial(subject, result) == []
    fid0, fid1 = subject.truth.fidget_t_s
    assert not any(fid0 - 0.2 <= r.t_bottom <= fid1 + 0.2 for r in result.reps)  # the fidget is no rep
    if pattern == "hinge":
        assert all(r.passed for r in result.reps)


def test_sim_trial_through_c3d_gives_the_same_reps(tmp_path):
    subject = VirtualSubject("squat", reps=3, seed=5)
    force, markers = measured(subject, seed=5)
    direct = analyze_blocks(force, markers, StationConfig(), source="direct")
    xy = StationConfig().plate.channel_xy
    fz = force.cells_n.sum(axis=1)
    cop = (force.cells_n @ xy) / fz[:, None]
    path = tmp_path / "squat.c3d"
    write_c3d(path, markers=markers.positions, marker_rate=30.0, fz_n=fz, cop_xy_m=cop, heading_deg=90.0,
              plate_type=4)
    config = StationConfig()
    config.c3d.lab_anterior_axis = "+y"  # no heel/toe markers in this file: the lab config says
    imported = analyze_path(path, LoadOptions(config=config))
    assert len(imported.reps) == len(direct.reps) == 3
    for a, b in zip(imported.reps, direct.reps, strict=True):
        ja, jb = a.to_json(), b.to_json()
        for key in ("t_start", "t_bottom", "t_end"):
            assert abs(ja[key] - jb[key]) <= 0.1, key
        for key in ("hip_back_mm", "hip_drop_mm"):
            assert abs(ja[key] - jb[key]) <= 10, key
        for key in ("knee_flexion_deg", "trunk_inclination_deg"):
            assert abs(ja[key] - jb[key]) <= 3, key
        assert abs(ja["foot_pos_bottom"] - jb["foot_pos_bottom"]) <= 0.02
        assert ja["faults"] == jb["faults"]



@pytest.mark.parametrize("after_end_s", [0.04, 0.25])
def test_a_rep_ending_just_before_the_input_does_is_given_offline_as_live(after_end_s):
    """A trial stopped within the lockout window of its last rep (CI: a 12 s recording's second rep ended
    40 ms before its data): the live core gave the rep at its end, re-analysing the file lost it."""
    subject = VirtualSubject("hinge", reps=2, seed=4)
    force, markers = measured(subject, seed=4)
    whole = analyze_blocks(force, markers, StationConfig(), source="whole")
    assert len(whole.reps) == 2
    t_cut = whole.reps[-1].t_end + after_end_s  # where this data's rep ends, whatever the core's level
    force, markers = force.between(-np.inf, t_cut), markers.between(-np.inf, t_cut)

    offline = analyze_blocks(force, markers, StationConfig(), source="cut")
    live_core = HingeCore(StationConfig(), live_verdicts=True)
    for t in np.arange(0.0, t_cut + 1 / 30, 1 / 30):  # as a trial runner feeds it, frame by frame
        live_core.push_force(force.between(t - 1 / 30, t))
        live_core.push_markers(markers.between(t - 1 / 30, t))
        live_core.poll()
    live = live_core.finish()

    truth = subject.truth.reps
    assert len(offline.reps) == len(live.reps) == len(truth) == 2
    for rep, tr in zip(offline.reps, truth, strict=True):
        assert abs(rep.t_end - tr.t_end) <= TOL["t_end"]
    # live gives a rep's numbers at its end (the filter's edge there), offline once its lockout is in: the
    # same reps and verdicts, times within a frame or two
    assert [r.faults for r in offline.reps] == [r.faults for r in live.reps]
    for a, b in zip(offline.reps, live.reps, strict=True):
        assert abs(a.t_end - b.t_end) <= 0.05
    assert offline.reps[-1].notes["lockout"].startswith("not measured")


@pytest.mark.parametrize("pattern", PATTERNS)
def test_tracking_that_starts_at_a_reps_bottom_still_finds_every_later_rep(pattern):
    """A camera that starts late, or markerless tracking that starts mid-rep: its first frames are the hold
    at the bottom of a rep. That hold is no standing: the reps after it are measured from where the subject
    stands (before, it was taken for the reference and every later rep read as hips forward: no reps)."""
    subject = VirtualSubject(pattern, reps=3, seed=6)
    force, markers = measured(subject, seed=6)
    first = subject.truth.reps[0]
    seen = markers.between(first.t_bottom - 0.1, np.inf)
    result = analyze_blocks(force, seen, StationConfig(), source=pattern, t_origin_s=0.0)
    later = subject.truth.reps[1:]
    assert len(result.reps) == len(later), [(r.t_start, r.t_end) for r in result.reps]
    for rep, tr in zip(result.reps, later, strict=True):
        lo, hi = _top_interval(subject, tr.t_start, tr.t_end)  # (the module's docstring: a flat top)
        assert lo - 0.1 <= rep.t_bottom <= hi + 0.1, (rep.t_bottom, lo, hi)
        if pattern == "incomplete_lockout":
            # this subject never stands up between reps and the camera missed the standing before the
            # first: the reps are measured from the unfinished lockout it saw (nothing else to refer to)
            continue
        for key in ("t_start", "t_end", "hip_back_mm"):
            assert abs(getattr(rep, key) - getattr(tr, key)) <= TOL[key], (key, getattr(rep, key))
