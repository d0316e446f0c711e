"""Where the simulated subject's head truly is in the image: the renderer's own head capsule (drivers.sim
pose), projected with the camera geometry the renderer used. The test's truth for face masking, computed
apart from station.privacy.faces (no marker, no depth read)."""

from __future__ import annotations

import numpy as np

from drivers.samples import Intrinsics
from drivers.sim.pose import Pose


def head_pixels(pose: Pose, intrinsics: Intrinsics, plate_T_camera: np.ndarray, shape: tuple[int, int],
                *, minus_markers: bool = True) -> np.ndarray:
    """Boolean (H, W): pixels the head capsule covers (its whole projected outline, occluded or not),
    less the other markers' spheres (+ 2 px) where they lie over it: those pixels show the marker (the
    acromion marker projects onto the sim's head outline), which the masking leaves visible."""
    import cv2

    head = next(c for c in pose.capsules if c.name == "head")
    rng = np.random.default_rng(0)
    dirs = rng.normal(size=(600, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    pts = [c + r * dirs for c, r in ((head.p0 + s * (head.p1 - head.p0), head.r0 + s * (head.r1 - head.r0))
                                     for s in np.linspace(0.0, 1.0, 9))]
    p = np.vstack(pts)
    cam = (np.linalg.inv(plate_T_camera) @ np.c_[p, np.ones(len(p))].T)[:3]
    u = intrinsics.fx * cam[0] / cam[2] + intrinsics.ppx
    v = intrinsics.fy * cam[1] / cam[2] + intrinsics.ppy
    hull = cv2.convexHull(np.round(np.c_[u, v]).astype(np.int32))  # a capsule projects to a convex outline
    out = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(out, hull, 1)
    head_px = out.astype(bool)
    if minus_markers:
        vv, uu = np.ogrid[0:shape[0], 0:shape[1]]
        for name, centre in pose.markers.items():
            if name == "head":
                continue
            c = np.linalg.inv(plate_T_camera) @ np.append(centre, 1.0)
            u, v = intrinsics.fx * c[0] / c[2] + intrinsics.ppx, intrinsics.fy * c[1] / c[2] + intrinsics.ppy
            r = intrinsics.fx * pose.marker_radius_m / c[2] + 2.0
            head_px &= (uu - u) ** 2 + (vv - v) ** 2 > r * r
    return head_px
