"""The "hanging" arms: straight arms hanging plumb from the shoulders, the hands holding a bar at shoulder
width just outside the thighs (a loaded RDL or deadlift as the side camera sees it: the hands and the bar in
front of the thighs or the shins once the trunk leans).

Kept apart from kinematics.py so that the other arm variations' truth is untouched: the skeleton is the
"weights" one (arms plumb in the sagittal plane) with the arms brought in to the grip, so the centre of mass's
x, the ankle balance and every force are the same as with "weights"; only where the arms are across the body
(y) differs (grip half-width = the shoulder's, or just clear of the thigh if that is wider).
"""

from __future__ import annotations

import numpy as np

from drivers.sim.anthropometry import Body
from drivers.sim.kinematics import Dofs, Feet, Skeleton, skeleton
from drivers.sim.pose import Capsule

HANGING = "hanging"
KINEMATIC_ARMS = {HANGING: "weights"}  # the kinematics' arm variation drawn first (same sagittal arms)
BAR_RADIUS_M = 0.014    # an unloaded bar's shaft
BAR_PAST_HANDS_M = 0.12  # the bar reaches this far past each hand
THIGH_CLEARANCE_M = 0.004  # forearm skin to thigh skin at the grip


def kinematic_arms(arms: str) -> str:
    """The arm variation the kinematics module draws for `arms`."""
    return KINEMATIC_ARMS.get(arms, arms)


def grip_half_width_m(body: Body) -> float:
    """Hands at shoulder width, pushed out just clear of the thigh's widest (proximal) skin."""
    thigh_skin_y = body.hip_half_width_m + body.r_thigh_m[0]
    return max(body.shoulder_half_width_m, thigh_skin_y + body.r_forearm_m + THIGH_CLEARANCE_M)


def skeleton_for(body: Body, feet: Feet, dofs: Dofs, arms: str) -> Skeleton:
    """kinematics.skeleton for any arm variation, "hanging" included."""
    sk = skeleton(body, feet, dofs, kinematic_arms(arms))
    if arms == HANGING:
        _hang(sk, body)
    return sk


def _hang(sk: Skeleton, body: Body) -> None:
    """Replace the "weights" arms by straight arms from the shoulder to the grip, plumb in x-z."""
    reach = body.upper_arm_m + body.forearm_m
    grip_y = grip_half_width_m(body)
    for s in (1, -1):
        gh = sk.side["shoulder", s]
        wrist_plumb = gh + np.array([0.0, 0.0, -1.0]) * reach
        wrist_plumb[:, 1] = s * grip_y
        # the hand's lateral offset shortens the plumb reach a little: keep the arm's length
        direction = wrist_plumb - gh
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        elbow = gh + direction * body.upper_arm_m
        wrist = gh + direction * reach
        tip = wrist + direction * body.hand_m
        sk.side["elbow", s], sk.side["wrist", s], sk.side["fingertip", s] = elbow, wrist, tip
        sk.side["grip", s] = wrist + (tip - wrist) * 0.4


def bar_capsules(sk: Skeleton, arms: str) -> list[Capsule]:
    """The bar in both hands (first instant of sk), none for other arm variations."""
    if arms != HANGING:
        return []
    left, right = sk.side["grip", 1][0], sk.side["grip", -1][0]
    along = (left - right) / np.linalg.norm(left - right)
    return [Capsule("bar", right - along * BAR_PAST_HANDS_M, left + along * BAR_PAST_HANDS_M, BAR_RADIUS_M,
                    BAR_RADIUS_M)]
