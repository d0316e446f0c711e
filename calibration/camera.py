"""Camera extrinsics: T_plate_from_camera from corner markers on the empty plate, refined by plane fits.

1. Markers. A retroreflective marker sits on each top corner of the empty plate; its centre is at the
   corner, `marker_height_m` (default: one marker radius) above the top. Discs are found in the left
   IR by the detector the caller hands in (the station's is station.markers.detect_markers; this layer
   does not import it) in several frames. Each disc's centre is then re-measured here from its coverage
   over a background taken per direction around it: the detector's background-subtracted centroid
   leans 0.1-0.4 px toward the brighter side (the plate top under a far corner's marker), and at these
   grazing views a tenth of a pixel in v is ~1.5 mm along the view on the plate.
2. Which marker is which corner: every assignment of 3-4 detections to corners is tried with a rigid
   fit (Kabsch) of the markers' 3D (from depth) to the corners; the best fit wins. A rectangle looks
   the same turned 180 degrees, so that ambiguity is settled by the side the camera stands on
   (config camera.side or --side: "right" puts the camera at -y, the subject then faces image-right).
   The markers' depths come from the pixels around each disc and are off by centimetres (floor or wall
   behind a far corner, an edge's foreground fattening), so that pose is only refined by the corners'
   reprojection error into a start for step 3, and a disc this fit left out is taken back at the end
   if it lands on an unused corner.
3. Planes. Depth pixels of the plate top (z = 0) and of the floor around it are fitted as two parallel
   planes: their common normal is "up", the top plane's distance fixes the height. Which pixels look at
   the plate or the floor is decided by where their rays meet the current planes, never by their
   measured points (noise moves those along the rays, in and out of the outline: a selection bias).
   The fit is linear least squares in inverse depth (1/z is linear in the pixel for a plane, and stereo
   noise is constant in disparity and lies along the rays; an orthogonal fit to the 3D points reads the
   along-ray noise as tilt), with pixels more than 3 robust sigmas off their plane dropped (flying
   pixels, fattening at the plate's edges and the markers' rims), iterated with the improving pose.
4. Yaw and x, y. Each marker's pixel ray is intersected with the plane z = marker_height_m: those
   points are matched to the corners by a 2D rigid fit, then yaw and x, y are refined by the corners'
   reprojection error in pixels (a point on the plane is 2-3 times less certain along the view than
   across it). So the final pose uses marker pixels and plate depth, never the markers' own depth.

What is left is the depth camera's own error over the plate and floor: spatially correlated noise (on a
D455-like model with half of it fixed over frames: 2 mm on average, 4 mm at worst over 32 recordings
with four corners; 2.6 and 5.4 mm with three), mostly through the floor's tilt; and any systematic depth
bias, e.g. a disparity offset of a unit out of calibration (0.05 px, ~6.5 mm of depth at 2.3 m, moves
the camera 7-9 mm along its view), which only the camera's own on-chip/tare calibration removes.

Residuals reported: marker position error in the plate frame (mm) and plane-fit rms (mm).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from calibration.camera_discs import MarkerDetector, assign_corners, refined_mean, track_markers
from calibration.camera_geometry import (
    marker_errors,
    plate_pixels,
    pose_from_plane_and_rays,
    project,
    refine_pose_pixels,
    robust_parallel_planes,
)
from drivers.samples import CameraFrame, CameraSource
from station.config import StationConfig
from station.errors import StationError

CORNER_NAMES = ("front-left", "front-right", "rear-left", "rear-right")


@dataclass
class CameraCalibration:
    T_plate_from_camera: np.ndarray
    marker_error_mm: dict[str, float]  # per corner found
    plane_rms_mm: float
    corners_found: list[str]
    side: str

    def residuals(self) -> dict:
        return {"marker_error_mm": {k: round(v, 3) for k, v in self.marker_error_mm.items()},
                "max_marker_error_mm": round(max(self.marker_error_mm.values()), 3),
                "plane_rms_mm": round(self.plane_rms_mm, 3), "corners_found": self.corners_found,
                "side": self.side}


def corner_centres(config: StationConfig, marker_height_m: float) -> np.ndarray:
    """(4, 3) plate-frame centres of the corner markers, in CORNER_NAMES order."""
    hx, hy = config.plate.size_x_m / 2, config.plate.size_y_m / 2
    return np.array([[hx, hy, marker_height_m], [hx, -hy, marker_height_m],
                     [-hx, hy, marker_height_m], [-hx, -hy, marker_height_m]])


def calibrate_camera(frames: list[CameraFrame], config: StationConfig, detect: MarkerDetector, *,
                     side: str | None = None, marker_radius_m: float = 0.0095,
                     marker_height_m: float | None = None) -> CameraCalibration:
    """T_plate_from_camera from frames of the empty plate with corner markers (see module doc)."""
    if not frames:
        raise StationError("camera calibration: no frames received")
    side = side or config.camera.side
    h = marker_radius_m if marker_height_m is None else marker_height_m
    corners = corner_centres(config, h)
    uv, xyz = track_markers(frames, detect, marker_radius_m)
    uv = np.array([refined_mean(frames, q) for q in uv]).reshape(-1, 2)
    best = assign_corners(xyz, corners, side) if uv.shape[0] >= 3 else None
    if best is None:
        found = _found_text(uv, config, side, corners, frames[0].intrinsics)
        raise StationError(f"camera calibration: {found}; need at least three of the four corner markers")
    _, dets, cs, R, t = best
    hx, hy = config.plate.size_x_m / 2, config.plate.size_y_m / 2
    xt, w = (np.concatenate(a) for a in zip(*[plate_pixels(f) for f in frames[: min(len(frames), 3)]],
                                            strict=True))
    pts = xt / w[:, None]
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    T = refine_pose_pixels(T, uv[dets], corners[cs], frames[0].intrinsics)
    rms = float("nan")
    floor_z = None
    for band_m in (0.05, 0.03, 0.03):  # re-select pixels with the improved pose each round
        p = pts @ T[:3, :3].T + T[:3, 3]
        # what a pixel looks at is decided by where its ray meets the plate-top (or floor) plane, not by its
        # noisy measured point (module doc, 3); the measured depth only decides "on that plane or not"
        rays = xt @ T[:3, :3].T
        down = rays[:, 2] < -1e-6
        s_top = np.where(down, -T[2, 3] / np.where(down, rays[:, 2], -1.0), np.nan)
        q = T[:3, 3] + rays * s_top[:, None]
        inside = down & (np.abs(q[:, 0]) < hx - 0.03) & (np.abs(q[:, 1]) < hy - 0.03)
        top = inside & (np.abs(p[:, 2]) < band_m)
        if floor_z is None:  # first round: the floor's height from measured points around the plate
            q_f = p
        else:
            s_f = np.where(down, (floor_z - T[2, 3]) / np.where(down, rays[:, 2], -1.0), np.nan)
            q_f = T[:3, 3] + rays * s_f[:, None]
        around = down & ((np.abs(q_f[:, 0]) > hx + 0.05) | (np.abs(q_f[:, 1]) > hy + 0.05))
        near = around & (np.hypot(q_f[:, 0], q_f[:, 1]) < 1.5) & (p[:, 2] < -0.005) & (p[:, 2] > -0.3)
        masks = [top]
        if near.sum() > 200:
            floor_z = float(np.median(p[near, 2])) if floor_z is None else floor_z
            floor = near & (np.abs(p[:, 2] - floor_z) < band_m)
            if floor.sum() > 200:
                masks.append(floor)
        if top.sum() < 100:
            raise StationError(f"camera calibration: only {top.sum()} depth pixels on the plate "
                               "top; is the plate empty and in view?")
        n, offsets, kept = robust_parallel_planes([(xt[m], w[m]) for m in masks])
        rms = float(np.sqrt(np.mean(np.concatenate(
            [(g[0] / g[1][:, None]) @ n - off for g, off in zip(kept, offsets, strict=True)]) ** 2)))
        if n @ (T[:3, :3].T @ np.array([0, 0, 1.0])) < 0:
            n, offsets = -n, [-o for o in offsets]
        T = pose_from_plane_and_rays(n, offsets[0], uv[dets], corners[cs], h, frames[0].intrinsics)
        if len(offsets) > 1:
            floor_z = offsets[1] - offsets[0]  # plate frame z of the floor plane
    # a disc left out of the assignment (its edge-biased depth spoilt the 3D fit of all four) still counts
    # if it lands on an unused corner by the refined pose
    proj = project(T, corners, frames[0].intrinsics)
    added = False
    for c in sorted(set(range(4)) - set(cs)):
        free = [k for k in range(uv.shape[0]) if k not in dets]
        if free:
            dist = np.linalg.norm(uv[free] - proj[c], axis=1)
            if dist.min() < 3.0:
                dets, cs, added = [*dets, free[int(np.argmin(dist))]], [*cs, c], True
    if added:
        T = pose_from_plane_and_rays(n, offsets[0], uv[dets], corners[cs], h, frames[0].intrinsics)
    errors = marker_errors(T, uv[dets], corners[cs], h, frames[0].intrinsics)
    found = [CORNER_NAMES[c] for c in cs]
    return CameraCalibration(T, dict(zip(found, errors, strict=True)), rms * 1000.0, found, side)


def _found_text(uv: np.ndarray, config: StationConfig, side: str, corners: np.ndarray, intr) -> str:
    """Name the corners the found discs are nearest to, under the configured (nominal) camera pose."""
    if uv.shape[0] == 0:
        return "found no corner markers"
    cam = dataclasses.replace(config.camera, side=side)
    T = cam.T_plate_from_camera()
    p_cam = (corners - T[:3, 3]) @ T[:3, :3]
    proj = np.stack([intr.fx * p_cam[:, 0] / p_cam[:, 2] + intr.ppx,
                     intr.fy * p_cam[:, 1] / p_cam[:, 2] + intr.ppy], axis=1)
    names = sorted({CORNER_NAMES[int(np.argmin(np.linalg.norm(proj - q, axis=1)))] for q in uv})
    return f"found {uv.shape[0]} corner marker(s) (nearest {', '.join(names)} by the nominal camera pose)"


def grab_frames(spec: str, config: StationConfig, n_frames: int, timeout_s: float
                ) -> tuple[list[CameraFrame], str]:
    """The first `n_frames` CameraFrames of a camera source (realsense:, .db3, sim:) and its device id."""
    from drivers.registry import open_camera

    source: CameraSource = open_camera(spec, config, real_time=False)
    frames: list[CameraFrame] = []
    source.start()
    try:
        deadline = time.monotonic() + timeout_s
        while len(frames) < n_frames and time.monotonic() < deadline:
            frames.extend(source.read(0.2))
            if getattr(source, "finished", False) and not frames:
                break
        device_id = str(getattr(source, "serial", None) or spec)
    finally:
        source.stop()
    if not frames:
        raise StationError(f"--camera {spec}: no frames within {timeout_s:g} s")
    return frames[:n_frames], device_id


def load_camera_T(path) -> np.ndarray:
    """T_plate_from_camera (4x4) from a camera calibration file (validated by calibration.store)."""
    from calibration.store import load_calibration

    doc = load_calibration(path, "camera")
    return np.asarray(doc["result"]["T_plate_from_camera"], dtype=float)
