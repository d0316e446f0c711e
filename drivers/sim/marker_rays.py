"""The simulated markers' spheres in a depth/IR frame: what share of each pixel each sphere covers.

Rays are cast 4x4 per pixel over each marker's projected window (all markers in a batch), in float64 (they
graze the small spheres' edges, where float32 loses sub-ray coverage), and a sub-ray counts only where the
sphere is nearer than the body drawn there: so disc centroids are sub-pixel exact and a marker behind the
body is hidden (drivers.sim.render draws the discs from these coverages).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from drivers.samples import Intrinsics

SUPERSAMPLE = 4  # marker edge coverage: 4x4 rays per pixel, so disc centroids are sub-pixel exact
# sub-ray offsets within a pixel, along a row and a column (computed in float32, as they always were)
_OFFSETS = ((np.arange(SUPERSAMPLE, dtype=np.float32) + 0.5) / SUPERSAMPLE - 0.5).astype(float)

Window = tuple[int, int, int, int]  # v0, v1, u0, u1 (rows v0..v1-1, columns u0..u1-1)


def marker_coverage(intr: Intrinsics, R: np.ndarray, origin: np.ndarray, markers: dict[str, np.ndarray],
                    radius_m: float, z_body: np.ndarray,
                    windows: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
                    ) -> tuple[dict, list]:
    """({name: covered pixels, summed}, [((rows, cols) slices, coverage (h, w)) of each marker seen]).

    R, origin: the camera's rotation and position in the plate frame; z_body: the frame's camera z of the
    body (m, inf off it); windows(lo, hi): the image windows (v0, v1, u0, u1) of boxes lo..hi, (N, 4), and
    whether each is in view, (N,)."""
    coverage_by_name: dict[str, float] = {}
    if not markers:
        return coverage_by_name, []
    centres = np.array(list(markers.values()), dtype=float)
    finite = np.isfinite(centres).all(axis=1)
    names = [name for name, ok in zip(markers, finite, strict=True) if ok]
    if not names:
        return coverage_by_name, []
    centres = centres[finite]
    win, seen = windows(centres - radius_m, centres + radius_m)
    for name, ok in zip(names, seen, strict=True):
        if not ok:
            coverage_by_name[name] = 0.0
    if not seen.any():
        return coverage_by_name, []
    names = [name for name, ok in zip(names, seen, strict=True) if ok]
    win, centres = win[seen], centres[seen]
    h, w = win[:, 1] - win[:, 0], win[:, 3] - win[:, 2]
    if len(win) * h.max() * w.max() <= 2 * int((h * w).sum()):
        batches = [np.arange(len(win))]  # all in one box of the largest window's size
    else:  # a window much larger than the others (a marker near the camera): one at a time
        batches = [np.array([i]) for i in range(len(win))]
    out = []
    for batch in batches:
        coverage = _coverage(intr, R, origin, centres[batch], win[batch], radius_m, z_body)
        for i, cov in zip(batch.tolist(), coverage, strict=True):
            v0, v1, u0, u1 = win[i].tolist()
            cov = cov[:v1 - v0, :u1 - u0]
            total = float(cov.sum())  # exact: multiples of 1 / 16
            coverage_by_name[names[i]] = total
            if total > 0:
                out.append(((slice(v0, v1), slice(u0, u1)), cov))
    return coverage_by_name, out


def _coverage(intr: Intrinsics, R: np.ndarray, origin: np.ndarray, centres: np.ndarray, win: np.ndarray,
              radius_m: float, z_body: np.ndarray) -> np.ndarray:
    """Share of s x s sub-rays per pixel that hit each marker before the body, (M, h, w) over boxes of the
    largest window's size from each window's corner (past a window's own size: not meaningful). The
    sub-rays are laid out as a supersampled image per marker, (M, h * s, w * s), so that what depends on
    a (sub-)column or row alone is computed once and the rest in long runs; each sub-ray's arithmetic is
    the same, element for element, as cast in a flat batch of (pixel, sub-ray)."""
    s = SUPERSAMPLE
    M, (H, W) = len(win), z_body.shape
    hm, wm = int((win[:, 1] - win[:, 0]).max()), int((win[:, 3] - win[:, 2]).max())
    u = win[:, 2, None] + np.arange(wm)  # (M, w)
    v = win[:, 0, None] + np.arange(hm)  # (M, h)
    x = ((u[:, :, None] + _OFFSETS - intr.ppx) / intr.fx).reshape(M, 1, wm * s)
    y = ((v[:, :, None] + _OFFSETS - intr.ppy) / intr.fy).reshape(M, hm * s, 1)
    inv_norm = 1.0 / np.sqrt(x * x + y * y + 1.0)  # ray length -> camera z, (M, h * s, w * s)
    oc = origin - centres
    b = np.zeros_like(inv_norm)  # rd . (origin - centre), rd = R (x, y, 1) / |(x, y, 1)|
    for j in range(3):
        b += (R[j, 0] * x + R[j, 1] * y + R[j, 2]) * oc[:, j, None, None]
    b *= inv_norm
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(b * b - (np.sum(oc * oc, axis=1) - radius_m * radius_m)[:, None, None])
    z = z_body.reshape(-1)[np.minimum(v[:, :, None] * W + u[:, None, :], H * W - 1)]  # (beyond a window: any)
    z = z[:, :, None, :, None].repeat(s, 2).repeat(s, 4).reshape(t.shape)  # each pixel's, to its sub-rays
    covered = (t > 0) & (t * inv_norm < z)  # nan (a miss) fails both
    hits = np.add.reduce(np.add.reduce(covered.reshape(M, hm, s, wm, s), axis=4, dtype=np.uint8), axis=2)
    return np.multiply(hits, np.float32(1.0 / (s * s)), dtype=np.float32)  # = the mean, exactly (k / 16)
