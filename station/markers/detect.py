"""Retroreflective markers in a D4xx frame: saturated IR discs -> sub-pixel centres -> 3D sphere centres.

Detection: threshold the left IR (>= 200 of 255 by default, the spec's "near-saturated"), group bright
pixels into 8-connected components (sparse graph over the few bright pixels: no full-image labelling),
then an intensity-weighted centroid over each disc's window with the local background subtracted, so the
dim anti-aliased rim counts too. `bright_components` and `_disc` here are that in numpy, kept as the
reference; detect_markers uses the same steps compiled (station/markers/discs.py: ~0.04 vs ~0.25 ms).

3D: a marker's own depth pixels are 0 or wrong (the stereo matcher fails on a saturated disc), so its
depth comes from the valid depth in an annulus just outside the disc: the skin the marker sits on. The
nearest cluster of those depths is kept (the annulus may also catch floor or wall behind a limb's edge),
its median taken. The sphere's centre lies one marker radius in front of the skin it rests on, so the
centre's range along the viewing ray is the skin's range minus the radius. Deprojection is vectorised
(pinhole; D4xx depth/IR intrinsics report zero distortion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from drivers.samples import CameraFrame, Intrinsics
from station.markers.discs import find_discs

IR_MARKER_THRESHOLD = 200  # frames-and-markers spec: a marker shows as >= 200 of 255
_FLOOD_FILL_MAX_PX = 3000


@dataclass
class Detections:
    """Discs found in one frame. uv: (K, 2) sub-pixel (u, v); radius_px: (K,); area_px: (K,) bright pixels;
    surface_depth_m: (K,) median valid depth around the disc (NaN = none); xyz_cam: (K, 3) sphere centres
    in camera coordinates (m), NaN rows where no depth was found."""

    uv: np.ndarray
    radius_px: np.ndarray
    area_px: np.ndarray
    surface_depth_m: np.ndarray
    xyz_cam: np.ndarray

    def __len__(self) -> int:
        return int(self.uv.shape[0])


def bright_components(ir: np.ndarray, threshold: int = IR_MARKER_THRESHOLD) -> list[np.ndarray]:
    """Linear pixel indices of each 8-connected group of pixels >= threshold.

    Markers light up a few dozen pixels in a frame, so a flood fill over just those pixels (a set
    lookup per neighbour) beats labelling the whole image; a frame with many bright pixels (a lamp,
    a shiny bar) falls back to scipy's full-image labelling.
    """
    idx = np.flatnonzero(ir >= threshold)
    if idx.size == 0:
        return []
    W = ir.shape[1]
    if idx.size > _FLOOD_FILL_MAX_PX:
        labels, n = ndimage.label(ir >= threshold, structure=np.ones((3, 3)))
        flat = labels.reshape(-1)[idx]
        order = np.argsort(flat, kind="stable")
        return np.split(idx[order], np.flatnonzero(np.diff(flat[order])) + 1)
    unvisited = set(idx.tolist())
    groups = []
    for seed in idx.tolist():
        if seed not in unvisited:
            continue
        unvisited.discard(seed)
        group, stack = [seed], [seed]
        while stack:
            p = stack.pop()
            x = p % W
            for q in (p - W, p + W) + ((p - W - 1, p - 1, p + W - 1) if x > 0 else ()) + (
                    (p - W + 1, p + 1, p + W + 1) if x < W - 1 else ()):
                if q in unvisited:
                    unvisited.discard(q)
                    group.append(q)
                    stack.append(q)
        groups.append(np.array(sorted(group), dtype=np.intp))
    return groups


def _disc(ir: np.ndarray, pixels: np.ndarray) -> tuple[float, float, float]:
    """Weighted centroid (u, v) and equivalent radius (px) of one disc, rim included."""
    H, W = ir.shape
    ys, xs = pixels // W, pixels % W
    v0, v1 = max(ys.min() - 2, 0), min(ys.max() + 3, H)
    u0, u1 = max(xs.min() - 2, 0), min(xs.max() + 3, W)
    win = ir[v0:v1, u0:u1].astype(np.float32)
    border = np.concatenate([win[0], win[-1], win[1:-1, 0], win[1:-1, -1]])
    background = _quantile(border, 0.5)
    peak = float(win.max())
    weight = np.maximum(win - background, 0)
    total = float(weight.sum())
    u = u0 + float(weight.sum(axis=0) @ np.arange(u1 - u0)) / total
    v = v0 + float(weight.sum(axis=1) @ np.arange(v1 - v0)) / total
    area = total / max(peak - background, 1.0)
    return u, v, float(np.sqrt(area / np.pi))


def _surface_depth(depth_raw: np.ndarray, depth_scale_m: float, u: float, v: float,
                   radius_px: float) -> float:
    """Median depth of the nearest surface in an annulus around the disc (NaN if none is valid)."""
    H, W = depth_raw.shape
    r_in = radius_px + 1.5  # skip the invalid ring the matcher leaves around a saturated disc
    r_out = max(r_in + 3.0, 2.0 * radius_px + 2.0)
    R = int(np.ceil(r_out))
    ui, vi = int(round(u)), int(round(v))
    v0, v1, u0, u1 = max(vi - R, 0), min(vi + R + 1, H), max(ui - R, 0), min(ui + R + 1, W)
    win = depth_raw[v0:v1, u0:u1] * depth_scale_m
    vv, uu = np.ogrid[v0:v1, u0:u1]
    d2 = (uu - u) ** 2 + (vv - v) ** 2
    z = win[(d2 >= r_in * r_in) & (d2 <= r_out * r_out) & (win > 0)]
    if z.size < 3:
        return float("nan")
    # keep the nearest cluster: floor/wall seen past a limb's edge is far behind the skin
    z_ref = _quantile(z, 0.3)
    near = z[np.abs(z - z_ref) <= 0.02 + 0.03 * z_ref]
    return _quantile(near, 0.5)


def _quantile(a: np.ndarray, q: float) -> float:
    """Order statistic without np.percentile's overhead (these arrays hold a few dozen values)."""
    k = int(round(q * (a.size - 1)))
    return float(np.partition(a, k)[k])


def deproject(intrinsics: Intrinsics, uv: np.ndarray, z_m: np.ndarray) -> np.ndarray:
    """Camera-frame points (K, 3) of pixels uv (K, 2) at camera depth z (K,), vectorised pinhole."""
    x = (uv[:, 0] - intrinsics.ppx) / intrinsics.fx
    y = (uv[:, 1] - intrinsics.ppy) / intrinsics.fy
    return np.stack([x * z_m, y * z_m, z_m], axis=1)


def detect_markers(frame: CameraFrame, marker_radius_m: float = 0.0095, *,
                   threshold: int = IR_MARKER_THRESHOLD, min_area_px: int = 2,
                   max_area_px: int = 4000) -> Detections:
    """All marker-like discs in one frame with their 3D sphere centres (camera frame).

    The discs come from station/markers/discs.py: what `bright_components` + `_disc` (the reference,
    kept for the tests) find, compiled."""
    discs = find_discs(frame.ir, threshold, min_area_px, max_area_px)
    k = len(discs)
    uv, radius, area = discs.uv, discs.radius_px, discs.area_px
    surface = np.full(k, np.nan)
    for i in range(k):
        surface[i] = _surface_depth(frame.depth, frame.depth_scale_m, uv[i, 0], uv[i, 1], radius[i])
    intr = frame.intrinsics
    rays = deproject(intr, uv, np.ones(k))
    ray_len = np.linalg.norm(rays, axis=1)
    z_centre = surface - marker_radius_m / np.maximum(ray_len, 1e-9)  # range(centre) = range(skin) - r
    return Detections(uv, radius, area, surface, rays * z_centre[:, None])


def to_plate(T_plate_from_camera: np.ndarray, xyz_cam: np.ndarray) -> np.ndarray:
    """Camera-frame points (K, 3) into the plate frame."""
    return xyz_cam @ T_plate_from_camera[:3, :3].T + T_plate_from_camera[:3, 3]
