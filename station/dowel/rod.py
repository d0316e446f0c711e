"""A real dowel held along the back: found in the depth image, measured, and taken out of the subject's mask.

Seen from the side, a dowel pressed on the back is the straightest part of the silhouette's dorsal outline:
its outer edge is that outline wherever nothing covers it, over the spans where it touches the back and
the spans where it does not. So it is the line most of the outline's dorsal-most points (one per pixel
along the trunk) lie on (RANSAC, within 25 deg of the trunk axis). A straight, thick back would be such a
line too; a dowel is confirmed by its free spans, where background shows within a dowel's thickness
inside its outer edge, and those spans give its thickness and depth.

Its pixels (outer edge to one thickness in, at its depth) are then removed from the mask, and so is
everything behind it (the far hand gripping it): the outline left is the back's own, the dowel's inner edge
where the back touches it, the back itself where it stands off. Whatever lies in front of the dowel (the
near hand or arm) lies in front of the back's outline beside it: those pixels are returned so the regions
they cover say "hidden" instead of reading the arm as the back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from station.dowel.regions import sorted_quantile

MAX_TILT_DEG = 25.0       # the dowel runs along the trunk axis within this
EDGE_TOL_PX = 1.0         # outline points this close to the line are on the dowel's outer edge
RANSAC_PAIRS = 64         # random pairs: the dowel holds most outline points, so a few dozen find it
MAX_THICK_PX = 12         # a free span: background within this many pixels inside the outer edge
BEHIND_M = 0.04           # pixels this much deeper than the dowel are behind it (far hand), not the back
IN_FRONT_M = 0.02         # pixels on the dowel's line this much nearer than it cover it
OWN_DEPTH_M = 0.06        # the dowel's own pixels lie this close to its depth (noise at 2-3 m is 1-3 cm)


# RANSAC pairs as fractions of the outline's length, drawn once (a generator per frame costs 0.1 ms)
_PAIR_FRACTIONS = np.random.default_rng(0).random((2, RANSAC_PAIRS))


@dataclass
class RodFit:
    """The dowel in image coordinates along (a) and across (n, + out of the back) the trunk axis, in
    pixels: outer edge n = slope * a + offset_px. thickness_px / depth_m from its free spans; pixels: uint8
    mask of its own pixels; covered: (v, u, depth m) of pixels on its line that something nearer covers;
    edge_uv: (2, 2) its outer edge's end points (u, v)."""

    slope: float
    offset_px: float
    thickness_px: float
    depth_m: float
    free_px: int
    pixels: np.ndarray
    covered: tuple[np.ndarray, np.ndarray, np.ndarray]
    edge_uv: np.ndarray


def find_rod(closed: np.ndarray, depth_m: np.ndarray, axis_uv: np.ndarray, dorsal_uv: np.ndarray,
             min_len_px: float, min_free_px: int) -> RodFit | None:
    """The dowel along the back in a window's subject mask `closed` (uint8, thin objects kept) and its
    depth (m), or None. axis_uv / dorsal_uv: image directions of the trunk axis and out of the back;
    min_len_px: outline pixels that must lie on its outer edge; min_free_px: pixels of free span needed."""
    n_dir = np.array([-axis_uv[1], axis_uv[0]])
    n_dir = n_dir if n_dir @ dorsal_uv >= 0 else -n_dir
    a, n = _dorsal_outline(closed, axis_uv, n_dir)
    line = _envelope_line(a, n)
    if line is None or np.count_nonzero(line[2]) < min_len_px:
        return None
    slope, offset, on_edge = line
    # free spans: walking in from the outer edge, background within MAX_THICK_PX (then 3 px of it)
    steps = np.arange(MAX_THICK_PX + 4)
    a_on = a[on_edge]
    nn = (slope * a_on + offset)[:, None] - steps[None, :]
    uu, vv = (np.rint(c).astype(np.intp) for c in _to_uv(a_on[:, None], nn, axis_uv, n_dir))
    inside = np.all((uu >= 0) & (uu < closed.shape[1]) & (vv >= 0) & (vv < closed.shape[0]), axis=1)
    uu, vv = uu[inside], vv[inside]
    filled = closed[vv, uu] > 0
    first_gap = np.argmin(filled, axis=1)
    gap_rows = np.arange(filled.shape[0])
    after = np.minimum(first_gap, MAX_THICK_PX)
    free = filled[:, 0] & (first_gap > 0) & (first_gap <= MAX_THICK_PX) & ~filled[gap_rows, after + 1] \
        & ~filled[gap_rows, after + 2]
    if np.count_nonzero(free) < min_free_px:
        return None
    thickness_px = sorted_quantile(first_gap[free], 0.5)
    span = steps[None, :] < first_gap[free][:, None]
    z = depth_m[vv[free][span], uu[free][span]]
    z = z[z > 0]
    if z.size < min_free_px:
        return None
    depth = sorted_quantile(z, 0.5)
    # its pixels, from a few pixels past the ends of the outline fit
    lo, hi = a_on.min() - 3.0, a_on.max() + 3.0
    pixels = _band_pixels(closed, depth_m, axis_uv, n_dir, (slope, offset), (lo, hi), thickness_px, depth)
    # its middle line, sampled every pixel: what covers it there
    am = np.arange(lo, hi)
    nm = slope * am + offset - (thickness_px - 1) / 2
    mu, mv = (np.rint(c).astype(np.intp) for c in _to_uv(am, nm, axis_uv, n_dir))
    ok = (mu >= 0) & (mu < closed.shape[1]) & (mv >= 0) & (mv < closed.shape[0])
    mu, mv = mu[ok], mv[ok]
    zm = depth_m[mv, mu]
    front = (zm > 0) & (zm < depth - IN_FRONT_M) & (closed[mv, mu] > 0)
    ea = np.array([lo, hi])
    en = slope * ea + offset
    edge_uv = np.stack(_to_uv(ea, en, axis_uv, n_dir), axis=1)
    return RodFit(float(slope), float(offset), thickness_px, depth, int(np.count_nonzero(free)), pixels,
                  (mv[front], mu[front], zm[front]), edge_uv)


def body_without_rod(closed: np.ndarray, depth_m: np.ndarray, rod: RodFit, open_px: int) -> np.ndarray:
    """The subject mask with the dowel and everything behind it taken out, the largest piece kept (a far
    hand's fingers left beyond the dowel are not the back), opened like the plain mask."""
    body = closed & ~rod.pixels & (depth_m <= rod.depth_m + BEHIND_M)  # (0/1 uint8 masks)
    n_lab, lab = cv2.connectedComponents(body, connectivity=8)  # (with stats it costs 4x as much)
    if n_lab > 2:
        area = np.bincount(lab.ravel(), minlength=n_lab)
        body = (lab == 1 + int(np.argmax(area[1:]))).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (open_px, open_px))
    return cv2.morphologyEx(body, cv2.MORPH_OPEN, k)


def _dorsal_outline(closed: np.ndarray, axis_uv: np.ndarray, n_dir: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The most dorsal outline pixel per pixel of length along the trunk: (a, n) image coordinates."""
    vv, uu = mask_pixels(outline(closed))
    a = uu * axis_uv[0] + vv * axis_uv[1]
    n = uu * n_dir[0] + vv * n_dir[1]
    b = np.floor(a).astype(np.intp)
    last = largest_per_bin(b, n)
    return a[last], n[last]


def outline(mask: np.ndarray) -> np.ndarray:
    """A 0/1 uint8 mask's outline: the pixels a 3x3 erosion removes."""
    return mask - cv2.erode(mask, np.ones((3, 3), np.uint8))


def mask_pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a uint8 mask's nonzero pixels in raster order, as np.nonzero (cv2's is 5x faster)."""
    found = cv2.findNonZero(mask)
    if found is None:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    found = found.reshape(-1, 2)
    return found[:, 1], found[:, 0]


def largest_per_bin(bins: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Indices of the largest value in each occupied bin (integer bins), in bin order; among equal values,
    the last. The bins' maxima first, then a sort of only the points that reach them (a lexsort of all
    outline points costs 4x as much)."""
    if not bins.size:
        return np.arange(0)
    b0 = bins.min()
    best = np.full(int(bins.max() - b0) + 1, -np.inf)
    np.maximum.at(best, bins - b0, values)
    hit = np.flatnonzero(values == best[bins - b0])
    order = np.argsort(bins[hit], kind="stable")
    hit_bins = bins[hit][order]
    last = np.ones(hit.size, bool)  # (np.r_ costs more than the rest of this function)
    last[:-1] = hit_bins[1:] != hit_bins[:-1]
    return hit[order[last]]


def _envelope_line(a: np.ndarray, n: np.ndarray) -> tuple[float, float, np.ndarray] | None:
    """RANSAC line n = slope * a + offset with the most points within EDGE_TOL_PX (pairs drawn once, with a
    fixed seed: the same frame always gives the same line), refitted by least squares on them twice."""
    if a.size < 20:
        return None
    i, j = (_PAIR_FRACTIONS * a.size).astype(np.intp)
    da = a[j] - a[i]
    ok = np.abs(da) >= 10
    slope = (n[j] - n[i])[ok] / da[ok]
    ok2 = np.abs(slope) <= np.tan(np.radians(MAX_TILT_DEG))
    if not ok2.any():
        return None
    slope, i = slope[ok2], i[ok][ok2]
    resid = n[None, :] - (n[i][:, None] + slope[:, None] * (a[None, :] - a[i][:, None]))
    best = int(np.argmax(np.count_nonzero(np.abs(resid) <= EDGE_TOL_PX, axis=1)))
    on = np.abs(resid[best]) <= EDGE_TOL_PX
    for _ in range(2):
        if np.count_nonzero(on) < 3:
            return None
        k, c = _fit_line(a[on], n[on])
        on = np.abs(n - (k * a + c)) <= EDGE_TOL_PX
    return float(k), float(c), on


def _fit_line(a: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Least-squares n = k a + c (closed form: np.polyfit's lstsq costs 0.15 ms a call)."""
    am, nm = a.mean(), n.mean()
    da = a - am
    k = float(da @ (n - nm) / max(float(da @ da), 1e-12))
    return k, float(nm - k * am)


def _to_uv(a: np.ndarray, n: np.ndarray, axis_uv: np.ndarray, n_dir: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Image (u, v) of points at (a, n) along / across the trunk axis (pixels)."""
    return a * axis_uv[0] + n * n_dir[0], a * axis_uv[1] + n * n_dir[1]


def _band_pixels(closed: np.ndarray, depth_m: np.ndarray, axis_uv: np.ndarray, n_dir: np.ndarray,
                 line: tuple[float, float], a_range: tuple[float, float], thickness_px: float,
                 depth: float) -> np.ndarray:
    """uint8 mask of the dowel's own pixels: centres between its outer edge (fit through outline pixel
    centres, half a pixel inside the true edge) and one thickness in, over a_range, at its depth. Only the
    band's bounding box is evaluated; a pixel's (a, offset) are linear in (u, v)."""
    slope, offset = line
    lo, hi = a_range
    ca = np.array([lo, lo, hi, hi])
    cn = slope * ca + offset + np.array([1.5, -thickness_px, 1.5, -thickness_px])
    cu, cv = _to_uv(ca, cn, axis_uv, n_dir)
    u0, u1 = max(int(np.floor(cu.min())), 0), min(int(np.ceil(cu.max())) + 1, closed.shape[1])
    v0, v1 = max(int(np.floor(cv.min())), 0), min(int(np.ceil(cv.max())) + 1, closed.shape[0])
    pixels = np.zeros_like(closed)
    if u1 <= u0 or v1 <= v0:
        return pixels
    u = np.arange(u0, u1, dtype=np.float32)[None, :]
    v = np.arange(v0, v1, dtype=np.float32)[:, None]
    pa = u * np.float32(axis_uv[0]) + v * np.float32(axis_uv[1])
    off = pa * np.float32(slope) + np.float32(offset) - (u * np.float32(n_dir[0]) + v * np.float32(n_dir[1]))
    own = (pa > lo) & (pa < hi) & (off > -1.5) & (off < thickness_px - 0.5) & (closed[v0:v1, u0:u1] > 0) \
        & (np.abs(depth_m[v0:v1, u0:u1] - np.float32(depth)) < OWN_DEPTH_M)
    pixels[v0:v1, u0:u1] = own
    return pixels
