"""Retroreflective markers in a D4xx frame: saturated IR discs -> sub-pixel centres -> 3D sphere centres.

Detection: threshold the left IR (>= 200 of 255 by default, the spec's "near-saturated"), group bright
pixels into 8-connected components (sparse graph over the few bright pixels: no full-image labelling),
then an intensity-weighted centroid over each disc's window with the local background subtracted, so the
dim anti-aliased rim counts too.

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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from drivers.samples import CameraFrame, Intrinsics

IR_MARKER_THRESHOLD = 200  # frames-and-markers spec: a marker shows as >= 200 of 255


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
    """Linear pixel indices of each 8-connected group of pixels >= threshold."""
    W = ir.shape[1]
    idx = np.flatnonzero(ir >= threshold)
    if idx.size == 0:
        return []
    x = idx % W
    rows, cols = [], []
    last = idx.size - 1
    for off, x_ok in ((1, x < W - 1), (W - 1, x > 0), (W, None), (W + 1, x < W - 1)):
        target = idx + off
        pos = np.minimum(np.searchsorted(idx, target), last)
        hit = idx[pos] == target
        if x_ok is not None:
            hit &= x_ok
        rows.append(np.flatnonzero(hit))
        cols.append(pos[hit])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(idx.size, idx.size))
    n, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    splits = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(idx[order], splits)


def _disc(ir: np.ndarray, pixels: np.ndarray) -> tuple[float, float, float]:
    """Weighted centroid (u, v) and equivalent radius (px) of one disc, rim included."""
    H, W = ir.shape
    ys, xs = pixels // W, pixels % W
    v0, v1 = max(ys.min() - 2, 0), min(ys.max() + 3, H)
    u0, u1 = max(xs.min() - 2, 0), min(xs.max() + 3, W)
    win = ir[v0:v1, u0:u1].astype(np.float32)
    border = np.concatenate([win[0], win[-1], win[1:-1, 0], win[1:-1, -1]])
    background = float(np.median(border))
    peak = float(win.max())
    weight = np.clip(win - background, 0, None)
    total = float(weight.sum())
    vv, uu = np.mgrid[v0:v1, u0:u1]
    u = float((weight * uu).sum() / total)
    v = float((weight * vv).sum() / total)
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
    z_ref = float(np.percentile(z, 30))
    near = z[np.abs(z - z_ref) <= 0.02 + 0.03 * z_ref]
    return float(np.median(near))


def deproject(intrinsics: Intrinsics, uv: np.ndarray, z_m: np.ndarray) -> np.ndarray:
    """Camera-frame points (K, 3) of pixels uv (K, 2) at camera depth z (K,), vectorised pinhole."""
    x = (uv[:, 0] - intrinsics.ppx) / intrinsics.fx
    y = (uv[:, 1] - intrinsics.ppy) / intrinsics.fy
    return np.stack([x * z_m, y * z_m, z_m], axis=1)


def detect_markers(frame: CameraFrame, marker_radius_m: float = 0.0095, *,
                   threshold: int = IR_MARKER_THRESHOLD, min_area_px: int = 2,
                   max_area_px: int = 4000) -> Detections:
    """All marker-like discs in one frame with their 3D sphere centres (camera frame)."""
    comps = [c for c in bright_components(frame.ir, threshold) if min_area_px <= c.size <= max_area_px]
    k = len(comps)
    uv = np.zeros((k, 2))
    radius = np.zeros(k)
    area = np.array([c.size for c in comps], dtype=float)
    surface = np.full(k, np.nan)
    for i, pixels in enumerate(comps):
        u, v, r = _disc(frame.ir, pixels)
        uv[i] = (u, v)
        radius[i] = r
        surface[i] = _surface_depth(frame.depth, frame.depth_scale_m, u, v, r)
    intr = frame.intrinsics
    rays = deproject(intr, uv, np.ones(k))
    ray_len = np.linalg.norm(rays, axis=1)
    z_centre = surface - marker_radius_m / np.maximum(ray_len, 1e-9)  # range(centre) = range(skin) - r
    return Detections(uv, radius, area, surface, rays * z_centre[:, None])


def to_plate(T_plate_from_camera: np.ndarray, xyz_cam: np.ndarray) -> np.ndarray:
    """Camera-frame points (K, 3) into the plate frame."""
    return xyz_cam @ T_plate_from_camera[:3, :3].T + T_plate_from_camera[:3, 3]
