"""The wall drill (issue 19, item 7) through the real analysis path, against the virtual subject's true hip
path: measured-looking streams (tests/support/sim_trials.py: 30 fps markers, 3 mm noise, dropouts) through
`analyze_blocks` with a wall set, compared with the wall test done on the exact, noise-free trochanter path
(the subject's own markers on a 1 kHz grid, over the truth's [t_start, t_end] of each rep).

Tolerance: 8 mm on target_short_mm (the hip_back_mm tolerance of test_core_sim is 10 mm); a rep's
reached_target is compared wherever the true hip passes the wall, or stays short of it, by more than that."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from drivers.sim.subject import VirtualSubject
from station.analysis.analyze import analyze_blocks
from station.config import StationConfig, config_from_dict
from station.core.target import wall_reach, with_recorded_wall
from station.errors import StationError
from tests.support.sim_trials import measured

SIDES = ("right", "left")
PATTERNS = ("hinge", "shallow", "squat", "pause")  # hips far back, hardly back, back and down, held
WALLS_MM = (5.0, 60.0, 100.0, 140.0)  # behind the heel line: from reached by every pattern to by none
TOL_MM = 8.0


def _config(side: str, wall_mm: float | None) -> StationConfig:
    cfg = StationConfig()
    cfg.camera.side = side
    cfg.camera.position_m = [0.0, -2.2 if side == "right" else 2.2, 0.9]
    cfg.feet.wall_mm = wall_mm
    return cfg


@functools.cache
def _subject(pattern: str, side: str) -> tuple[VirtualSubject, list[float]]:
    """The subject and, per truth rep, how far behind the heel line its true hip got (mm)."""
    subject = VirtualSubject(pattern, reps=4, seed=11, config=_config(side, None))
    t = np.arange(0.0, subject.duration_s, 0.001)
    hip_x = subject.markers(t)["hip"][:, 0]
    heel_x = subject.config.feet.heel_x_m
    behind = [float((heel_x - hip_x[(t >= r.t_start) & (t <= r.t_end)].min()) * 1000.0)
              for r in subject.truth.reps]
    return subject, behind


def _measured_reps(pattern: str, side: str, wall_mm: float | None):
    subject, _ = _subject(pattern, side)
    force, markers = measured(subject, seed=PATTERNS.index(pattern) + 10 * SIDES.index(side))
    return analyze_blocks(force, markers, _config(side, wall_mm), source=pattern).reps


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_reached_target_and_target_short_mm_against_the_true_hip_path(pattern, side):
    _, behind = _subject(pattern, side)
    problems, compared, decided = [], 0, 0
    for wall in WALLS_MM:
        reps = _measured_reps(pattern, side, wall)
        assert len(reps) == len(behind) == 4
        for rep, true_behind in zip(reps, behind, strict=True):
            true_short = max(0.0, wall - true_behind)
            if rep.target_short_mm is None or abs(rep.target_short_mm - true_short) > TOL_MM:
                problems.append(f"wall {wall:g} rep {rep.index}: short {rep.target_short_mm} "
                                f"vs {true_short:.1f}")
            compared += 1
            if abs(wall - true_behind) > TOL_MM:  # clearly reached or clearly short
                decided += 1
                if rep.reached_target is not (true_behind >= wall):
                    problems.append(f"wall {wall:g} rep {rep.index}: reached {rep.reached_target}, true hip "
                                    f"{true_behind:.0f} mm behind the heel line")
            if rep.reached_target:
                assert rep.target_short_mm == 0.0
    assert problems == []
    assert compared == 16 and decided >= 12  # the walls are not all at the rep's own depth


def test_the_walls_cover_reached_and_short_for_every_pattern():
    """The test above is only worth something if each pattern has reps both reaching and missing a wall."""
    for pattern in PATTERNS:
        _, behind = _subject(pattern, "right")
        assert min(WALLS_MM) < min(behind) - TOL_MM, (pattern, behind)
        assert max(WALLS_MM) > max(behind) + TOL_MM, (pattern, behind)


def test_without_a_wall_both_values_are_null_and_the_json_says_so():
    reps = _measured_reps("hinge", "right", None)
    assert reps and all(r.reached_target is None and r.target_short_mm is None for r in reps)
    data = reps[0].to_json()
    assert data["reached_target"] is None and data["target_short_mm"] is None
    walled = _measured_reps("hinge", "right", 20.0)[0].to_json()
    assert walled["reached_target"] is True and walled["target_short_mm"] == 0.0
    keys = list(walled)
    assert keys.index("reached_target") + 1 == keys.index("target_short_mm") < keys.index("faults")


def test_wall_reach_on_a_known_path():
    heel = -0.13
    hip_x = np.array([0.0, -0.10, -0.18, np.nan, -0.12])  # rearmost 0.18 m = 50 mm behind the heel line
    assert wall_reach(hip_x, heel, 80.0) == (False, pytest.approx(30.0))
    assert wall_reach(hip_x, heel, 50.0) == (True, 0.0)
    assert wall_reach(hip_x, heel, None) == (None, None)
    assert wall_reach(np.full(3, np.nan), heel, 50.0) == (None, None)


def test_the_recorded_wall_wins_and_bad_walls_are_one_line_naming_the_field():
    cfg = StationConfig()
    assert with_recorded_wall(cfg, 250.0).feet.wall_mm == 250.0 and cfg.feet.wall_mm is None
    cfg.feet.wall_mm = 300.0
    assert with_recorded_wall(cfg, float("nan")).feet.wall_mm is None  # recorded without a wall
    assert with_recorded_wall(cfg, None) is cfg  # a file from before the wall drill
    assert config_from_dict({"feet": {"wall_mm": 280}}).feet.wall_mm == 280.0
    for bad in ("far", -5, 0, 5000, True):
        with pytest.raises(StationError, match=r"feet\.wall_mm") as err:
            config_from_dict({"feet": {"wall_mm": bad}})
        assert "\n" not in str(err.value)
