"""The kettlebell swing's arms (drivers.sim.movements): both hands on one bell, arms straight, swinging about
the shoulders by the arm-angle track (Dofs.arm). Kept apart from movements.py so kinematics can draw the arms
without importing the movement module (which imports kinematics)."""

from __future__ import annotations

import numpy as np

HANDLE_HALF_WIDTH_M = 0.03  # the hands together on the handle, either side of the midline
BELL_PAST_HANDS_M = 0.10    # the bell's centre hangs this far past the middle of the hands


def swing_arm(sk, body, s: int, arm_rad: np.ndarray) -> None:
    """Elbow, wrist, fingertip and "grip" of side s (sk.side["shoulder", s] placed first). "grip" is the
    bell's centre: each side carries half the bell's mass there, so the centre of mass is the bell's."""
    gh = sk.side["shoulder", s]
    reach = body.upper_arm_m + body.forearm_m
    toward = np.stack([np.sin(arm_rad) * reach, np.zeros_like(arm_rad), -np.cos(arm_rad) * reach], axis=-1)
    target = gh + toward
    target[:, 1] = s * HANDLE_HALF_WIDTH_M
    direction = target - gh
    direction = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    elbow = gh + direction * body.upper_arm_m
    wrist = gh + direction * reach
    tip = wrist + direction * body.hand_m
    sk.side["elbow", s], sk.side["wrist", s], sk.side["fingertip", s] = elbow, wrist, tip
    sk.side["grip", s] = wrist + direction * (0.5 * body.hand_m + BELL_PAST_HANDS_M)
