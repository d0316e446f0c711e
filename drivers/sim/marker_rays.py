"""The simulated markers' spheres in a depth/IR frame: what share of each pixel each sphere covers.

Rays are cast 4x4 per pixel over each marker's projected window (all markers in one batch), in float64 (they
graze the small spheres' edges, where float32 loses sub-ray coverage), and a sub-ray counts only where the
sphere is nearer than the body drawn there: so disc centroids are sub-pixel exact and a marker behind the
body is hidden (drivers.sim.render draws the discs from these coverages).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from drivers.samples import Intrinsics

SUPERSAMPLE = 4  # marker edge coverage: 4x4 rays per pixel, so disc centroids are sub-pixel exact

Window = tuple[int, int, int, int]  # v0, v1, u0, u1 (rows v0..v1-1, columns u0..u1-1)


def marker_coverage(intr: Intrinsics, R: np.ndarray, origin: np.ndarray, markers: dict[str, np.ndarray],
                    radius_m: float, z_body: np.ndarray,
                    windows: Callable[[np.ndarray, np.ndarray], list[Window | None]]) -> tuple[dict, list]:
    """({name: covered pixels, summed}, [((rows, cols) slices, coverage (h, w)) of each marker seen]).

    R, origin: the camera's rotation and position in the plate frame; z_body: the frame's camera z of the
    body (m, inf off it); windows(lo, hi): the image windows of boxes lo..hi (None: out of view)."""
    s = SUPERSAMPLE
    coverage_by_name: dict[str, float] = {}
    names = [name for name, c in markers.items() if np.all(np.isfinite(c))]
    if not names:
        return coverage_by_name, []
    centres = np.array([markers[name] for name in names], dtype=float)
    seen = []
    for name, c, win in zip(names, centres, windows(centres - radius_m, centres + radius_m), strict=True):
        if win is None:
            coverage_by_name[name] = 0.0
        else:
            seen.append((name, c, win))
    if not seen:
        return coverage_by_name, []
    # s x s rays per pixel of every marker's window, all markers in one batch: (pixel, sub-ray)
    W = intr.width
    offsets = (np.arange(s, dtype=np.float32) + 0.5) / s - 0.5
    off_u, off_v = np.tile(offsets, s).astype(float), np.repeat(offsets, s).astype(float)
    pixels = [np.arange(v0, v1)[:, None] * W + np.arange(u0, u1) for _, _, (v0, v1, u0, u1) in seen]
    count = np.array([p.size for p in pixels])
    pix = np.concatenate([p.reshape(-1) for p in pixels])
    v_pix, u_pix = np.divmod(pix, W)
    x = (u_pix[:, None] + off_u - intr.ppx) / intr.fx
    y = (v_pix[:, None] + off_v - intr.ppy) / intr.fy
    inv_norm = 1.0 / np.sqrt(x * x + y * y + 1.0)  # ray length -> camera z
    oc = np.repeat(origin - np.array([c for _, c, _ in seen]), count, axis=0)
    b = np.zeros_like(x)  # rd . (origin - centre), rd = R (x, y, 1) / |(x, y, 1)|
    for j in range(3):
        b += (R[j, 0] * x + R[j, 1] * y + R[j, 2]) * oc[:, j:j + 1]
    b *= inv_norm
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(b * b - (np.sum(oc * oc, axis=1, keepdims=True) - radius_m * radius_m))
    covered = (t > 0) & (t * inv_norm < z_body.reshape(-1)[pix][:, None])  # nan (a miss) fails both
    coverage = covered.mean(axis=1, dtype=np.float32)
    out = []
    for (name, _, (v0, v1, u0, u1)), cov in zip(seen, np.split(coverage, np.cumsum(count)[:-1]), strict=True):
        coverage_by_name[name] = float(cov.sum())
        if cov.any():
            out.append(((slice(v0, v1), slice(u0, u1)), cov.reshape(v1 - v0, u1 - u0)))
    return coverage_by_name, out
