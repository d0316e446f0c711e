"""The virtual subject's step-up (drivers/sim/movements.py, `sim:step_up`, `sim:step_up_knee`): it waits with
the working foot on the step and the leg bent, rises onto the step first and comes back down, the whole body
through the one foot on the plate. Checked on the subject's own markers and forces, not on its truth."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.movements import STEP_UP_PATTERNS
from drivers.sim.subject import VirtualSubject
from station.config import GRAVITY_M_S2, StationConfig


def _config(side: str) -> StationConfig:
    cfg = StationConfig()
    cfg.camera.side = side
    return cfg


def _knee_deg(m: dict[str, np.ndarray]) -> np.ndarray:
    thigh, shank = m["hip"] - m["knee"], m["knee"] - m["ankle"]
    cross = thigh[:, 0] * shank[:, 2] - thigh[:, 2] * shank[:, 0]
    return np.degrees(np.arctan2(np.abs(cross), thigh[:, 0] * shank[:, 0] + thigh[:, 2] * shank[:, 2]))


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pattern", STEP_UP_PATTERNS)
def test_a_step_up_rises_first_from_a_bent_rest(pattern, side):
    subject = VirtualSubject(pattern, reps=3, seed=6, config=_config(side))
    t = np.arange(0.0, subject.duration_s - 0.01, 0.01)
    m = subject.markers(t)
    rest = t < subject.timeline.standing_end_s
    z0 = m["hip"][rest, 2].mean()
    knee = _knee_deg(m)
    assert knee[rest].mean() > 55.0  # the working foot up on the step: the leg bent while waiting
    reps = [e for e in subject.timeline.excursions if e.is_rep]
    assert len(reps) == 3
    for ex in reps:
        during = (t >= ex.t0_s) & (t <= ex.t_end_s)
        rise = m["hip"][during, 2] - z0
        assert rise.max() > 0.12 and rise.min() > -0.005  # up onto the step, never below the rest height
        top = int(np.argmax(np.where(during, m["hip"][:, 2], -np.inf)))
        assert knee[top] < 10.0  # standing tall on the step
        first_move = np.flatnonzero(np.abs(rise) > 0.01)[0]
        assert rise[first_move] > 0  # it rises first


@pytest.mark.parametrize("side", ["right", "left"])
def test_a_step_up_loads_the_plate_through_the_stance_foot_only(side):
    subject = VirtualSubject("step_up", reps=2, seed=4, config=_config(side))
    t = np.arange(0.0, subject.duration_s - 0.01, 0.002)
    force = subject.forces(t)
    ankle_y = subject.markers(t)["ankle"][:, 1]  # the worn (camera-side) ankle marker: the stance leg
    assert np.all(np.sign(force.cop_xy_m[:, 1]) == np.sign(ankle_y))
    assert np.all(np.abs(force.cop_xy_m[:, 1] - ankle_y) < 0.06)
    weight = subject.total_mass_kg * GRAVITY_M_S2  # the floor foot bears none of it
    assert abs(force.fz_n.mean() - weight) < 0.01 * weight
    heel, length = subject.feet.heel_x_m, subject.feet.foot_length_m
    foot = (force.cop_xy_m[:, 0] - heel) / length
    assert 0.0 < foot.min() and foot.max() < 1.0  # balanced over the foot all the way
