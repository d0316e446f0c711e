"""Heel line and foot length from the depth camera: the subject stands still on the plate, side view.

Method (one subject, a few frames, camera pose T_plate_from_camera known):

1. Per-pixel median depth over the frames (0 = no depth is left out): the subject stands still, and the
   median takes the D4xx's frame-to-frame depth noise (~2 % of range at 2 m) down before any threshold.
2. Deproject every pixel (vectorised pinhole) and move it to the plate frame.
3. Foot candidates: points inside the plate outline (less `EDGE_MARGIN_M`) between `MIN_HEIGHT_M` and
   `MAX_HEIGHT_M` above the plate top (z = 0). The lower bound sits well above the plate's own depth
   noise seen along the camera's slanted rays; the upper bound stays below the ankle and shank.
4. The foot is the largest connected blob of candidate pixels in the image (stray noisy plate pixels are
   isolated and drop out); points further than `FOOT_HALF_WIDTH_M` in y from the blob's median y are
   dropped (the far foot, when it shows past the near one, is not mixed in). From the side the camera
   sees the near foot's outline: toe tip = the most anterior point (+x), heel = the most posterior.
5. Robust extremes: the `EXTREME_RANK`-th largest / smallest x, not the max / min (a stray pixel that
   survived does not move them), then half a pixel footprint outwards at each end: a silhouette pixel
   counts as foot when its centre ray hits the foot, so the outermost foot pixel's centre lies on
   average half a pixel inside the true outline.

No surface-shape correction: the side view's extremes are the heel's back and the longest toe's tip, the
same points a foot-length measurement (heel to longest toe) and the heel line (the heel's back edge) are
defined by. Trousers over the heel or shoes hiding the toes make the foot look longer or shorter: check
the figures against a tape measure the first time a lab uses this.

Spread: the same estimate from the median of each half of the frames (heel and toe), max |difference|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.feet import FeetCalibration
from drivers.samples import CameraFrame
from station.config import StationConfig
from station.errors import StationError

MIN_HEIGHT_M = 0.010
MAX_HEIGHT_M = 0.045
EDGE_MARGIN_M = 0.005
FOOT_HALF_WIDTH_M = 0.06
EXTREME_RANK = 3
MIN_FOOT_POINTS = 30


@dataclass
class FootOutline:
    """What one median depth image shows of the near foot (plate frame, metres)."""

    heel_x_m: float
    toe_x_m: float
    n_points: int
    foot_y_m: float


def median_depth_m(frames: list[CameraFrame]) -> np.ndarray:
    """(H, W) per-pixel median depth in metres over the frames, NaN where no frame had depth."""
    stack = np.stack([f.depth.astype(np.float32) * np.float32(f.depth_scale_m) for f in frames])
    stack[stack <= 0] = np.nan
    with np.errstate(all="ignore"), _quiet_nanmedian():
        return np.nanmedian(stack, axis=0)


class _quiet_nanmedian:
    """np.nanmedian warns on all-NaN pixels (no depth in any frame); those are expected."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def plate_points(depth_m: np.ndarray, intrinsics, T_plate_from_camera: np.ndarray) -> np.ndarray:
    """(H, W, 3) plate-frame points of a depth image (NaN where no depth), vectorised pinhole."""
    H, W = depth_m.shape
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    z = depth_m.astype(np.float64)
    cam = np.stack([(u - intrinsics.ppx) / intrinsics.fx * z,
                    (v - intrinsics.ppy) / intrinsics.fy * z, z], axis=-1)
    T = np.asarray(T_plate_from_camera, dtype=float)
    return cam @ T[:3, :3].T + T[:3, 3]


def _seen_text(p: np.ndarray, config: StationConfig) -> str:
    """One clause on what the camera saw, for the refusal message."""
    ok = np.isfinite(p[..., 2])
    if not ok.any():
        return "no depth at all"
    hx, hy = config.plate.size_x_m / 2, config.plate.size_y_m / 2
    q = p[ok]
    on_plate = (np.abs(q[:, 0]) < hx) & (np.abs(q[:, 1]) < hy) & (np.abs(q[:, 2]) < 0.3)
    if on_plate.sum() < 100:
        return (f"hardly any of the plate in view ({int(on_plate.sum())} points within its outline; "
                f"median height of what is seen {np.median(q[:, 2]):+.2f} m: check the camera pose)")
    top = q[on_plate, 2]
    return (f"{int(on_plate.sum())} points on the plate, median height {np.median(top) * 1000:+.0f} mm, "
            "nothing foot-high on it: is the subject on the plate?")


def foot_outline(depth_m: np.ndarray, intrinsics, T_plate_from_camera: np.ndarray,
                 config: StationConfig) -> FootOutline | None:
    """The near foot's heel and toe x from one (median) depth image, or None when no foot is found."""
    from scipy import ndimage

    p = plate_points(depth_m, intrinsics, T_plate_from_camera)
    hx = config.plate.size_x_m / 2 - EDGE_MARGIN_M
    hy = config.plate.size_y_m / 2 - EDGE_MARGIN_M
    with np.errstate(invalid="ignore"):
        mask = ((np.abs(p[..., 0]) < hx) & (np.abs(p[..., 1]) < hy)
                & (p[..., 2] > MIN_HEIGHT_M) & (p[..., 2] < MAX_HEIGHT_M))
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    blob = labels == 1 + int(np.argmax(sizes))
    pts = p[blob]
    foot_y = float(np.median(pts[:, 1]))
    pts = pts[np.abs(pts[:, 1] - foot_y) < FOOT_HALF_WIDTH_M]
    if pts.shape[0] < MIN_FOOT_POINTS:
        return None
    x = np.sort(pts[:, 0])
    k = min(EXTREME_RANK, x.size // 10)
    # one pixel's footprint along x at the foot's distance from the camera
    dist_m = float(np.median(np.linalg.norm(pts - np.asarray(T_plate_from_camera)[:3, 3], axis=1)))
    half_px_m = 0.5 * dist_m / intrinsics.fx
    return FootOutline(float(x[k]) - half_px_m, float(x[-1 - k]) + half_px_m, int(pts.shape[0]), foot_y)


def camera_feet(subject_id: str, frames: list[CameraFrame], T_plate_from_camera: np.ndarray,
                config: StationConfig) -> FeetCalibration:
    """Heel line and foot length of a subject standing still on the plate, from a few depth frames."""
    if not frames:
        raise StationError("camera feet: no camera frames received")
    intr = frames[0].intrinsics
    depth = median_depth_m(frames)
    outline = foot_outline(depth, intr, T_plate_from_camera, config)
    if outline is None:
        p = plate_points(depth, intr, T_plate_from_camera)
        raise StationError(f"camera feet: no foot on the plate in {len(frames)} frame(s); "
                           f"{_seen_text(p, config)}")
    length = outline.toe_x_m - outline.heel_x_m
    if not 0.05 < length < 0.5:
        raise StationError(f"camera feet: the foot-high object on the plate is {length * 1000:.0f} mm long "
                           "(not a foot); check the camera pose and that only the subject is on the plate")
    spread_mm = _half_spread_mm(frames, T_plate_from_camera, config)
    details = {"n_frames": len(frames), "n_foot_points": outline.n_points, "foot_y_m": outline.foot_y_m,
               "toe_x_m": outline.toe_x_m, "spread_mm": spread_mm,
               "band_m": [MIN_HEIGHT_M, MAX_HEIGHT_M]}
    return FeetCalibration(subject_id, outline.heel_x_m, length, "camera", details)


def _half_spread_mm(frames, T, config) -> float | None:
    """Largest heel or toe difference (mm) between the two halves of the frames; None below 4 frames."""
    if len(frames) < 4:
        return None
    half = len(frames) // 2
    a, b = (foot_outline(median_depth_m(part), part[0].intrinsics, T, config)
            for part in (frames[:half], frames[half:]))
    if a is None or b is None:
        return None
    return 1000.0 * max(abs(a.heel_x_m - b.heel_x_m), abs(a.toe_x_m - b.toe_x_m))
