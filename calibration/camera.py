"""Camera extrinsics: T_plate_from_camera from corner markers on the empty plate, refined by plane fits.

1. Markers. A retroreflective marker sits on each top corner of the empty plate; its centre is at the
   corner, `marker_height_m` (default: one marker radius) above the top. Discs are found in the left
   IR by the detector the caller hands in (the station's is station.markers.detect_markers; this layer
   does not import it) in several frames and their pixel centres averaged per marker.
2. Which marker is which corner: every assignment of 3-4 detections to corners is tried with a rigid
   fit (Kabsch) of the markers' 3D (from depth) to the corners; the best fit wins. A rectangle looks
   the same turned 180 degrees, so that ambiguity is settled by the side the camera stands on
   (config camera.side or --side: "right" puts the camera at -y, the subject then faces image-right).
3. Planes. Depth pixels near the plate top (z = 0) and the floor around it are fitted as two parallel
   planes (robust least squares, iterated with tightening bands): their common normal is "up", the
   top plane's distance fixes the height. Depth noise averages over thousands of pixels, so tilt and
   height come out far better than from four marker depths (a marker's own depth pixels are invalid).
4. Yaw and x, y. Each marker's pixel ray is intersected with the plane z = marker_height_m: those
   points are matched to the corners by a 2D rigid fit. So the final pose uses marker pixels and plate
   depth, never the markers' own (edge-biased) depth.

Residuals reported: marker position error in the plate frame (mm) and plane-fit rms (mm).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from drivers.samples import CameraFrame, CameraSource
from station.config import StationConfig
from station.errors import StationError

CORNER_NAMES = ("front-left", "front-right", "rear-left", "rear-right")


class Discs(Protocol):
    """Markers found in one frame: uv (K, 2) pixel centres; xyz_cam (K, 3) camera-frame centres (m)."""

    uv: np.ndarray
    xyz_cam: np.ndarray


class MarkerDetector(Protocol):
    """Finds the retroreflective discs of one frame (station.markers.detect_markers is one)."""

    def __call__(self, frame: CameraFrame, marker_radius_m: float) -> Discs: ...


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


def kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R, t minimising |R src + t - dst| (rows are points), proper rotation."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    H = (src - cs).T @ (dst - cd)
    U, _, Vt = np.linalg.svd(H)
    D = np.eye(src.shape[1])
    D[-1, -1] = np.sign(np.linalg.det(Vt.T @ U.T))
    R = Vt.T @ D @ U.T
    return R, cd - R @ cs


def _track_markers(frames: list[CameraFrame], detect_markers: MarkerDetector,
                   marker_radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Average pixel centre and camera-frame 3D of each disc seen in most frames."""
    tracks: list[list[tuple[np.ndarray, np.ndarray]]] = []
    for frame in frames:
        det = detect_markers(frame, marker_radius_m)
        for uv, xyz in zip(det.uv, det.xyz_cam, strict=True):
            for tr in tracks:
                if np.hypot(*(tr[-1][0] - uv)) < 4.0:
                    tr.append((uv, xyz))
                    break
            else:
                tracks.append([(uv, xyz)])
    keep = [tr for tr in tracks if len(tr) >= max(1, len(frames) // 2)]
    uv = np.array([np.mean([u for u, _ in tr], axis=0) for tr in keep]).reshape(-1, 2)
    xyz = np.array([np.nanmedian(np.array([x for _, x in tr]), axis=0) for tr in keep]).reshape(-1, 3)
    return uv, xyz


def _assign(xyz_cam: np.ndarray, corners: np.ndarray, side: str):
    """Best corner assignment (indices into CORNER_NAMES per detection) with its rigid fit."""
    ok = np.flatnonzero(np.all(np.isfinite(xyz_cam), axis=1))
    best = None
    for k in (4, 3):
        for dets in itertools.combinations(ok, k):
            for cs in itertools.permutations(range(4), k):
                R, t = kabsch(xyz_cam[list(dets)], corners[list(cs)])
                err = np.linalg.norm(xyz_cam[list(dets)] @ R.T + t - corners[list(cs)], axis=1).max()
                cam_y = t[1]  # camera centre in the plate frame is t
                if t[2] <= 0 or (side == "right") != (cam_y < 0):
                    continue
                if best is None or err < best[0] - 1e-9:
                    best = (err, list(dets), list(cs), R, t)
        if best is not None and best[0] < 0.06:
            break  # four markers that fit: done; otherwise try threes (one may be a stray reflection)
    return best


def _points_cam(frame, step: int = 2) -> np.ndarray:
    intr = frame.intrinsics
    d = frame.depth[::step, ::step].astype(np.float64) * frame.depth_scale_m
    v, u = np.mgrid[0:frame.depth.shape[0]:step, 0:frame.depth.shape[1]:step]
    ok = d > 0
    z = d[ok]
    return np.stack([(u[ok] - intr.ppx) / intr.fx * z, (v[ok] - intr.ppy) / intr.fy * z, z], axis=1)


def _fit_parallel_planes(groups: list[np.ndarray]) -> tuple[np.ndarray, list[float], float]:
    """Common unit normal n and offsets d_k with n.p = d_k for each group; rms (m)."""
    centred = np.concatenate([g - g.mean(axis=0) for g in groups])
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    n = Vt[-1]
    offsets = [float(g.mean(axis=0) @ n) for g in groups]
    rms = float(np.sqrt(np.mean((centred @ n) ** 2)))
    return n, offsets, rms


def calibrate_camera(frames: list[CameraFrame], config: StationConfig, detect: MarkerDetector, *,
                     side: str | None = None, marker_radius_m: float = 0.0095,
                     marker_height_m: float | None = None) -> CameraCalibration:
    """T_plate_from_camera from frames of the empty plate with corner markers (see module doc)."""
    if not frames:
        raise StationError("camera calibration: no frames received")
    side = side or config.camera.side
    h = marker_radius_m if marker_height_m is None else marker_height_m
    corners = corner_centres(config, h)
    uv, xyz = _track_markers(frames, detect, marker_radius_m)
    best = _assign(xyz, corners, side) if uv.shape[0] >= 3 else None
    if best is None:
        found = _found_text(uv, config, side, corners, frames[0].intrinsics)
        raise StationError(f"camera calibration: {found}; need at least three of the four corner markers")
    _, dets, cs, R, t = best
    hx, hy = config.plate.size_x_m / 2, config.plate.size_y_m / 2
    pts = np.concatenate([_points_cam(f) for f in frames[: min(len(frames), 3)]])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    rms = float("nan")
    for band_m in (0.05, 0.02, 0.01):  # re-select pixels with the improved pose each round
        p = pts @ T[:3, :3].T + T[:3, 3]
        inside = (np.abs(p[:, 0]) < hx - 0.03) & (np.abs(p[:, 1]) < hy - 0.03)
        top = inside & (np.abs(p[:, 2]) < band_m)
        around = (np.abs(p[:, 0]) > hx + 0.05) | (np.abs(p[:, 1]) > hy + 0.05)
        near = around & (np.hypot(p[:, 0], p[:, 1]) < 1.5) & (p[:, 2] < -0.005) & (p[:, 2] > -0.3)
        groups = [pts[top]]
        if near.sum() > 200:
            floor_z = np.median(p[near, 2])
            groups.append(pts[near & (np.abs(p[:, 2] - floor_z) < band_m)])
        if groups[0].shape[0] < 100:
            raise StationError(f"camera calibration: only {groups[0].shape[0]} depth pixels on the plate "
                               "top; is the plate empty and in view?")
        n, offsets, rms = _fit_parallel_planes(groups)
        if n @ (T[:3, :3].T @ np.array([0, 0, 1.0])) < 0:
            n, offsets = -n, [-o for o in offsets]
        T = _pose_from_plane_and_rays(n, offsets[0], uv[dets], corners[cs], h, frames[0].intrinsics)
    errors = _marker_errors(T, uv[dets], corners[cs], h, frames[0].intrinsics)
    found = [CORNER_NAMES[c] for c in cs]
    return CameraCalibration(T, dict(zip(found, errors, strict=True)), rms * 1000.0, found, side)


def _rays(uv: np.ndarray, intr) -> np.ndarray:
    return np.stack([(uv[:, 0] - intr.ppx) / intr.fx, (uv[:, 1] - intr.ppy) / intr.fy, np.ones(len(uv))], 1)


def _on_plane(n: np.ndarray, d_top: float, uv: np.ndarray, h: float, intr) -> np.ndarray:
    """Camera-frame points where the pixel rays cross the plane `h` above the top (n.p = d_top + h)."""
    r = _rays(uv, intr)
    return r * ((d_top + h) / (r @ n))[:, None]


def _pose_from_plane_and_rays(n, d_top, uv, corners, h, intr) -> np.ndarray:
    # rotation taking the camera's "up" (n) to +z, then yaw and x, y from the markers in that plane
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(n, z)
    s, c = np.linalg.norm(v), float(n @ z)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    R1 = np.eye(3) + K + K @ K * ((1 - c) / s**2) if s > 1e-12 else np.eye(3) * np.sign(c)
    q = _on_plane(n, d_top, uv, h, intr) @ R1.T  # level frame: z = d_top + h for all of them
    R2, t2 = kabsch(q[:, :2], corners[:, :2])
    Rz = np.eye(3)
    Rz[:2, :2] = R2
    T = np.eye(4)
    T[:3, :3] = Rz @ R1
    T[:3, 3] = [t2[0], t2[1], -d_top]
    return T


def _marker_errors(T, uv, corners, h, intr) -> list[float]:
    n = np.linalg.inv(T[:3, :3]) @ np.array([0, 0, 1.0])
    d_top = -T[2, 3]
    p = _on_plane(n, d_top, uv, h, intr) @ T[:3, :3].T + T[:3, 3]
    return (np.linalg.norm(p - corners, axis=1) * 1000.0).tolist()


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
