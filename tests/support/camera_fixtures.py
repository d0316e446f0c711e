"""A hand-made stick body for renderer/tracker unit tests (the accuracy tests use VirtualSubject).

`stick_pose(hinge)` stands on the plate facing +x; hinge 0 = upright, 1 = deep hip hinge (trunk ~80 deg
forward, hips back, knees soft). Markers sit on the subject's right (-y) side, just outside the body.
"""

from __future__ import annotations

import numpy as np

from drivers.sim.pose import Capsule, Pose

MARKER_R_M = 0.0095


def _joints(hinge: float, side_y: float) -> dict[str, np.ndarray]:
    ankle = np.array([-0.08, side_y, 0.08])
    shank = np.radians(12.0 * hinge)  # forward lean of the shank (knee over toes)
    knee = ankle + 0.43 * np.array([np.sin(shank), 0, np.cos(shank)])
    thigh = np.radians(-8.0 - 30.0 * hinge)  # hips travel back
    hip = knee + 0.43 * np.array([np.sin(thigh), 0, np.cos(thigh)])
    return {"ankle": ankle, "knee": knee, "hip": hip}


def stick_pose(hinge: float = 0.0, t_s: float = 0.0, *, flip: bool = False) -> Pose:
    """Hinge pose; flip=True mirrors y (markers on the subject's left, for a camera on that side)."""
    sgn = 1.0 if flip else -1.0  # the marked side's y sign
    near = _joints(hinge, sgn * 0.09)
    far = _joints(hinge, -sgn * 0.09)
    trunk = np.radians(80.0 * hinge)
    along = np.array([np.sin(trunk), 0, np.cos(trunk)])
    hip_mid = (near["hip"] + far["hip"]) / 2
    shoulder_mid = hip_mid + 0.50 * along
    head_c = shoulder_mid + 0.22 * along
    caps = []
    for j in (near, far):
        toe = j["ankle"] + np.array([0.19, 0, -0.05])
        caps += [Capsule("foot", j["ankle"] + [-0.06, 0, -0.03], toe, 0.035, 0.03),
                 Capsule("shank", j["ankle"], j["knee"], 0.045, 0.06),
                 Capsule("thigh", j["knee"], j["hip"], 0.06, 0.08)]
    caps += [Capsule("pelvis", far["hip"] + [0, 0, 0.03], near["hip"] + [0, 0, 0.03], 0.10, 0.10),
             Capsule("trunk", hip_mid + 0.1 * along, shoulder_mid - 0.05 * along, 0.13, 0.15),
             Capsule("head", head_c, head_c + 0.02 * along, 0.10, 0.10)]
    for side in (1, -1):  # arms crossed on the chest
        sh = shoulder_mid + np.array([0, side * 0.17, 0])
        elbow = sh - 0.22 * along + np.array([0.12, 0, 0]) * np.cos(trunk)
        caps += [Capsule("upper_arm", sh, elbow, 0.045, 0.04),
                 Capsule("forearm", elbow, shoulder_mid + [0.14 * np.cos(trunk), -side * 0.1, 0],
                         0.035, 0.03)]
    # each marker rests on the outermost skin facing the camera (centre one radius off the skin)
    shoulder_near = shoulder_mid + np.array([0, sgn * 0.17, 0])
    markers = {
        "head": head_c + np.array([0, sgn * (0.10 + MARKER_R_M), 0]),
        "shoulder": shoulder_near + np.array([0, sgn * (0.045 + MARKER_R_M), 0]),
        "hip": near["hip"] + np.array([0, sgn * (0.10 + MARKER_R_M), 0.03]),
        "knee": near["knee"] + np.array([0, sgn * (0.06 + MARKER_R_M), 0]),
        "ankle": near["ankle"] + np.array([0, sgn * (0.045 + MARKER_R_M), 0]),
    }
    return Pose(t_s=t_s, capsules=tuple(caps), markers=markers, marker_radius_m=MARKER_R_M)


class StickSubject:
    """VirtualSubject-shaped stand-in: hinges with `period_s`; `.pose(t)`, `.markers(t)`, `.duration_s`."""

    pattern = "stick"
    arms = "crossed"

    def __init__(self, duration_s: float = 2.0, period_s: float = 2.5, *, flip: bool = False,
                 hidden: dict[str, tuple[float, float]] | None = None) -> None:
        self.duration_s, self.period_s, self.flip = duration_s, period_s, flip
        self.hidden = hidden or {}  # name -> (t_from, t_to): marker removed (e.g. covered by a hand)

    def _hinge(self, t_s: float) -> float:
        return 0.5 - 0.5 * np.cos(2 * np.pi * t_s / self.period_s)

    def pose(self, t_s: float) -> Pose:
        pose = stick_pose(self._hinge(t_s), t_s, flip=self.flip)
        markers = {n: p for n, p in pose.markers.items()
                   if not (n in self.hidden and self.hidden[n][0] <= t_s < self.hidden[n][1])}
        return Pose(t_s, pose.capsules, markers, pose.marker_radius_m)

    def markers(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        poses = [stick_pose(self._hinge(t), t, flip=self.flip) for t in np.atleast_1d(t_s)]
        return {n: np.array([p.markers[n] for p in poses]) for n in poses[0].markers}
