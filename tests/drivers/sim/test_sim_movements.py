"""The virtual subject's swing and step tap-down (drivers/sim/movements.py, issue 19 item 8): the camera
sees every marker through the swinging arms and bell and on the single stance leg, both camera sides.
(Their forces against physics and their truth against the core: tests/core/test_core_movements.py.)"""

import pytest

from drivers.sim.movements import MOVEMENT_PATTERNS
from drivers.sim.subject import VirtualSubject
from tests.drivers.sim.test_sim_markers_visible import MIN_VISIBLE_FRAC, _config, visible_fraction


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pattern", MOVEMENT_PATTERNS)
def test_each_marker_visible_in_most_frames(pattern, side):
    cfg = _config(side)
    subject = VirtualSubject(pattern, reps=2, standing_s=1.0, config=cfg)
    frac = visible_fraction(subject, cfg, 16)
    assert min(frac.values()) >= MIN_VISIBLE_FRAC, frac


def test_a_swing_holds_a_bell_and_its_arms_swing_it():
    subject = VirtualSubject("swing", reps=2, standing_s=1.0)
    assert subject.arms == "swing" and subject.load_kg == 16.0
    bottom, top = subject.truth.reps[0].t_bottom, subject.truth.reps[0].t_end + 0.15
    grip = {t: subject.pose(t) for t in (bottom, top)}
    shoulder_z = grip[top].markers["shoulder"][2]
    bell = {t: [c for c in grip[t].capsules if c.name.startswith("weight")][0].p0 for t in grip}
    assert bell[bottom][2] < 0.7 and bell[top][2] > shoulder_z - 0.35  # between the legs, then chest-high
