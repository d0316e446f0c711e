"""The plate's corner markers in the IR images: found by the caller's detector, tracked over frames,
re-centred on the disc itself, and matched to the plate's corners (calibration.camera, steps 1-2).
"""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np

from calibration.camera_geometry import kabsch
from drivers.samples import CameraFrame


class Discs(Protocol):
    """Markers found in one frame: uv (K, 2) pixel centres; xyz_cam (K, 3) camera-frame centres (m)."""

    uv: np.ndarray
    xyz_cam: np.ndarray


class MarkerDetector(Protocol):
    """Finds the retroreflective discs of one frame (station.markers.detect_markers is one)."""

    def __call__(self, frame: CameraFrame, marker_radius_m: float) -> Discs: ...


def track_markers(frames: list[CameraFrame], detect_markers: MarkerDetector,
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


def refine_centre(ir: np.ndarray, uv: np.ndarray, iters: int = 3) -> np.ndarray:
    """Disc centre (u, v) from its coverage over a background estimated per direction (module doc, 1).

    A disc straddling a brighter and a darker surface (a far corner marker: the plate top below it, floor
    or wall above it) pulls a background-subtracted centroid toward the bright side by 0.1-0.4 px; here
    each pixel's background is the median of the ring just outside the disc within 45 degrees of its
    direction, coverage = (ir - background) / (peak - background), and only pixels within one pixel of
    the disc's edge count, so neither the plate's brightness nor emitter dots nearby weigh in. The
    window (12 px) holds discs up to ~8 px in radius: a 25 mm marker at 1.5 m at 1280x720 is ~5 px.
    """
    H, W = ir.shape
    u, v = float(uv[0]), float(uv[1])
    R = 12
    ui, vi = int(round(u)), int(round(v))
    v0, v1, u0, u1 = max(vi - R, 0), min(vi + R + 1, H), max(ui - R, 0), min(ui + R + 1, W)
    win = ir[v0:v1, u0:u1].astype(np.float64)
    vv, uu = np.mgrid[v0:v1, u0:u1].astype(np.float64)
    r = np.hypot(uu - u, vv - v)
    peak = float(win[r <= 3.0].max()) if np.any(r <= 3.0) else float(win.max())
    rho = max(np.sqrt(np.count_nonzero((win >= 0.5 * (peak + np.median(win))) & (r <= 8.0)) / np.pi), 1.0)
    for _ in range(iters):
        du, dv = uu - u, vv - v
        r = np.hypot(du, dv)
        ring = (r >= rho + 1.5) & (r <= rho + 4.0)
        inner = r <= rho + 1.0
        if ring.sum() < 8 or not inner.any():
            break
        ang = np.arctan2(dv, du)
        diff = np.abs(np.angle(np.exp(1j * (ang[inner][:, None] - ang[ring][None, :]))))
        sector = np.where(diff < np.pi / 4, win[ring][None, :], np.nan)
        bg = np.nanmedian(sector, axis=1) if np.all(np.isfinite(sector).sum(axis=1) >= 3) else \
            np.full(inner.sum(), np.median(win[ring]))
        c = np.clip((win[inner] - bg) / np.maximum(peak - bg, 1.0), 0.0, 1.0)
        total = float(c.sum())
        if total <= 0:
            break
        u, v = float(c @ uu[inner]) / total, float(c @ vv[inner]) / total
        rho = max(np.sqrt(total / np.pi), 0.7)
    return np.array([u, v])


def refined_mean(frames: list[CameraFrame], uv: np.ndarray) -> np.ndarray:
    """Mean of a disc's refined centre over the frames; a frame where it is not where the track says (an
    arm across it) is left out, and with none left the track's own centre stays."""
    found = [q for q in (refine_centre(f.ir, uv) for f in frames) if np.hypot(*(q - uv)) < 1.5]
    return np.mean(found, axis=0) if found else np.asarray(uv, dtype=float)


def assign_corners(xyz_cam: np.ndarray, corners: np.ndarray, side: str):
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
