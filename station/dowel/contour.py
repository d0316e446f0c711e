"""The posterior outline of the trunk and head from one depth frame, in the sagittal plane.

Only a pixel window around the trunk (from the hip and head markers) is touched. Its pixels are
deprojected (vectorised pinhole), moved into the plate frame and kept when they lie in the volume over
the plate: above the plate top, and no further from the camera than the plate's far edge (that removes
the floor, the plate and any wall behind). The mask is closed (fills depth dropouts) and opened with a
disc a little wider than a dowel, so a thin object along the back (a real dowel, flying pixels at the
edge) never becomes the outline. Depth at the outline is a masked local mean (noise at the silhouette
edge is the largest in the frame). Outline pixels are then sorted into slices across the trochanter ->
tragus axis and each slice keeps its most dorsal point: the "posterior contour".
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from drivers.samples import Intrinsics
from station.dowel.regions import layer_depth_m
from station.dowel.rod import RodFit, body_without_rod, find_rod, largest_per_bin, mask_pixels, outline

SLICE_M = 0.01             # contour sampling along the trunk axis
ABOVE_PLATE_M = 0.05       # segmentation: this far above the plate top
THIN_OBJECT_M = 0.035      # objects thinner than this (a dowel is 25 mm) are not part of the outline
ROD_FREE_PX = 10           # free-span pixels that make a straight dorsal edge a dowel (drill not told)
ROD_MAX_DIAMETER_M = 0.045  # dowels and broomsticks are 20-35 mm across
ROD_FREE_EXPECTED_PX = 3   # ... when the drill has a dowel (hands cover most of its free ends)
DETACH_TO_W_M = 0.03       # an outline point is the back's when solid from it to this far off the trunk axis
DETACH_GAP_M = 0.10        # ... with nothing this much farther in between (the gap behind a bridging arm)
_DETACH_FRACTIONS = np.linspace(0.0, 1.0, 16)[None, :]  # samples along the walk
DEPTH_SMOOTH_PX = 7        # masked mean window for the outline's depth (reaches 1-3 px inside)


@dataclass
class TrunkAxis:
    """Sagittal (x-z) frame of the trunk: origin at the hip marker, `along` towards the head marker,
    `dorsal` perpendicular to it out of the back (the subject faces +x, so dorsal = (-a_z, a_x))."""

    origin_xz: np.ndarray
    along: np.ndarray
    dorsal: np.ndarray
    length_m: float

    @staticmethod
    def from_markers(hip: np.ndarray, head: np.ndarray) -> TrunkAxis | None:
        d = np.array([head[0] - hip[0], head[2] - hip[2]], dtype=float)
        length = float(np.hypot(*d))
        if not np.isfinite(length) or length < 0.2:
            return None
        a = d / length
        return TrunkAxis(np.array([hip[0], hip[2]], float), a, np.array([-a[1], a[0]]), length)

    def to_axis(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dz = x - self.origin_xz[0], z - self.origin_xz[1]
        return dx * self.along[0] + dz * self.along[1], dx * self.dorsal[0] + dz * self.dorsal[1]

    def to_xz(self, s: np.ndarray, w: np.ndarray) -> np.ndarray:
        s, w = np.asarray(s, float), np.asarray(w, float)
        return self.origin_xz + s[..., None] * self.along + w[..., None] * self.dorsal


@dataclass
class Contour:
    """Most dorsal outline point per slice. s_m, w_m: (B,) along / dorsal offsets on the TrunkAxis (w NaN =
    empty slice); view_m: (B,) the point's distance along the camera's horizontal viewing direction from
    the plate centre (an occluder in front of the back is nearer); uv: (B, 2) pixel; xyz: (B, 3) plate m."""

    s_m: np.ndarray
    w_m: np.ndarray
    view_m: np.ndarray
    uv: np.ndarray
    xyz: np.ndarray
    rod_cover_view_m: np.ndarray | None = None  # (B,) view_m of what covers a real dowel there (NaN: nothing)
    detached: np.ndarray | None = None  # (B,) bool: a gap behind the point cuts it off the trunk (_detached)
    rod_outer_w_m: np.ndarray | None = None  # (B,) w_m of a real dowel's outer edge (NaN: past its ends)


@dataclass
class Rod:
    """A real dowel seen along the back: its centre line through two (s, w) points of the TrunkAxis (None
    when unknown; read around: the two ends of its outer edge as seen, moved one radius in) and its
    diameter (m) measured on its free spans. read_around: its pixels were taken out and the outline is the
    back's own (station.dowel.rod); otherwise only its free span was seen."""

    centre_sw: np.ndarray | None
    diameter_m: float
    read_around: bool = False


class DepthGeometry:
    """Per-camera constants: normalised pixel rays, the camera pose, the horizontal viewing direction."""

    def __init__(self, intrinsics: Intrinsics, T_plate_from_camera: np.ndarray) -> None:
        self.intrinsics = intrinsics
        self.T = np.asarray(T_plate_from_camera, float)
        self.R, self.t = self.T[:3, :3], self.T[:3, 3]
        u = (np.arange(intrinsics.width, dtype=np.float32) - intrinsics.ppx) / intrinsics.fx
        v = (np.arange(intrinsics.height, dtype=np.float32) - intrinsics.ppy) / intrinsics.fy
        self.ray_x, self.ray_y = u, v  # separable: pixel (v, u) -> (ray_x[u], ray_y[v], 1)
        view = self.R[:, 2].copy()
        view[2] = 0.0
        norm = float(np.linalg.norm(view))
        self.view_h = view / norm if norm > 1e-6 else view
        # how squarely the camera looks across the sagittal plane (1 = along the plate's y axis)
        self.across = abs(float(self.view_h[1]))
        self._coef: list[np.ndarray] | None = None  # plate_points' per-pixel coefficients, made on first use
        self._offset: list[np.float32] = []

    def project(self, points: np.ndarray) -> np.ndarray:
        """Plate-frame points (K, 3) -> pixels (K, 2); NaN behind the camera."""
        p = (np.atleast_2d(points) - self.t) @ self.R
        p[:, :2] /= np.where(p[:, 2:] > 0.05, p[:, 2:], np.nan)  # (no errstate: NaN divides silently)
        i = self.intrinsics
        return p[:, :2] * (i.fx, i.fy) + (i.ppx, i.ppy)

    def window(self, points: np.ndarray, margin_m: float) -> tuple[slice, slice] | None:
        """Pixel window around the projections of `points`, grown by margin_m at their depth."""
        uv = self.project(points)
        ok = np.all(np.isfinite(uv), axis=1)
        if not ok.any():
            return None
        depth = float(np.mean(((points[ok] - self.t) @ self.R)[:, 2]))
        grow = margin_m * self.intrinsics.fx / max(depth, 0.3)
        i = self.intrinsics
        u0, u1 = int(max(uv[ok, 0].min() - grow, 0)), int(min(uv[ok, 0].max() + grow + 1, i.width))
        v0, v1 = int(max(uv[ok, 1].min() - grow, 0)), int(min(uv[ok, 1].max() + grow + 1, i.height))
        if u1 - u0 < 8 or v1 - v0 < 8:
            return None
        return slice(v0, v1), slice(u0, u1)

    def plate_points(self, depth_m: np.ndarray, win: tuple[slice, slice], with_x: bool = True
                     ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """x (None unless with_x), z (plate frame) and the distance along the viewing direction of every pixel
        in `win`. Each is linear in the depth along the pixel's ray: depth * (its coefficient) + offset."""
        if self._coef is None:
            # rows: plate x, plate z, view; per pixel (R @ ray) for the ray (ray_x[u], ray_y[v], 1)
            rows = np.stack([self.R[0], self.R[2], self.view_h @ self.R])
            rays = (self.ray_x[None, :, None], self.ray_y[:, None, None])
            self._coef = [(r[0] * rays[0] + r[1] * rays[1] + r[2])[..., 0].astype(np.float32) for r in rows]
            self._offset = [np.float32(v) for v in (self.t[0], self.t[2], self.view_h @ self.t)]
        cx, cz, cv = (c[win] for c in self._coef)
        ox, oz, ov = self._offset
        return (depth_m * cx + ox if with_x else None), depth_m * cz + oz, depth_m * cv + ov


def subject_mask(z: np.ndarray, view: np.ndarray, valid: np.ndarray, far_m: float,
                 open_px: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 uint8 masks: the subject (above the plate, not beyond its far edge) with thin objects opened away,
    and the same with them (closed: dropouts filled). The thin objects are the second minus the first."""
    m = (valid & (z > ABOVE_PLATE_M) & (view < far_m) & (view > far_m - 1.2)).astype(np.uint8)
    # closing fills depth dropouts only: a valid pixel outside the volume (background seen in a narrow gap,
    # e.g. between a dowel and the back) stays out
    closed = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) & (m | ~valid)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (open_px, open_px))
    return cv2.morphologyEx(closed, cv2.MORPH_OPEN, k), closed


def rod_line(thin: np.ndarray, axis_uv: np.ndarray, min_len_px: float
             ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
    """A straight rod along the trunk (a dowel held on the back): its free spans and ends are the only long,
    straight, thin structures. Returns its centre line (point (u, v), unit direction), thickness (px) and
    the thin pixels on it (K, 2), or None."""
    lines = cv2.HoughLinesP(thin, 1, np.pi / 180, threshold=int(min_len_px // 2), minLineLength=min_len_px,
                            maxLineGap=int(min_len_px // 2))
    if lines is None:
        return None
    seg = np.asarray(lines, dtype=float).reshape(-1, 4)
    d = seg[:, 2:] - seg[:, :2]
    length = np.linalg.norm(d, axis=1)
    parallel = np.abs(d @ axis_uv) / np.maximum(length, 1e-9) > np.cos(np.radians(25))
    if not parallel.any():
        return None
    best = seg[np.flatnonzero(parallel)[np.argmax(length[parallel])]]
    vv, uu = np.nonzero(thin)
    pts = np.stack([uu, vv], axis=1).astype(float)
    c, u = best[:2], (best[2:] - best[:2]) / np.linalg.norm(best[2:] - best[:2])
    for _ in range(2):  # refine on the thin pixels near the line
        n = np.array([-u[1], u[0]])
        near = np.abs((pts - c) @ n) < 4.0
        if np.count_nonzero(near) < min_len_px:
            return None
        c = pts[near].mean(axis=0)
        _, _, vt = np.linalg.svd(pts[near] - c, full_matrices=False)
        u = vt[0]
    along = np.floor((pts[near] - c) @ u).astype(np.intp)
    thickness_px = np.count_nonzero(near) / np.unique(along).size  # pixels per pixel of length
    if thickness_px > 10.0:
        return None
    return c, u, float(thickness_px), pts[near]


def posterior_contour(geom: DepthGeometry, depth_raw: np.ndarray, depth_scale_m: float, axis: TrunkAxis,
                      win: tuple[slice, slice], far_m: float, s_range_m: tuple[float, float],
                      subject_depth_m: float, expect_rod: bool = False) -> tuple[Contour, int, Rod | None]:
    """The most dorsal outline point per slice of the trunk axis, the subject's pixel count, and a real
    dowel if one lies along the back."""
    depth_m = depth_raw[win].astype(np.float32) * np.float32(depth_scale_m)
    valid = depth_m > 0
    _, z, view = geom.plate_points(depth_m, win, with_x=False)
    open_px = max(3, int(round(THIN_OBJECT_M * geom.intrinsics.fx / max(subject_depth_m, 0.3))) | 1)
    # hip, head, and mid-trunk on and 0.1 m out of the back's axis, in the image
    sw = np.array([[0.0, 0.0], [axis.length_m, 0.0], [0.5 * axis.length_m, 0.0], [0.5 * axis.length_m, 0.1]])
    xz = axis.to_xz(sw[:, 0], sw[:, 1])
    uv = geom.project(np.stack([xz[:, 0], np.zeros(4), xz[:, 1]], axis=1))
    axis_uv = uv[1] - uv[0]
    axis_uv = axis_uv / np.linalg.norm(axis_uv) if np.all(np.isfinite(axis_uv)) else None
    mask, closed = subject_mask(z, view, valid, far_m, open_px)
    thin = closed - mask  # (an opening lies inside what it opens)
    dorsal_uv = (uv[3] - uv[2]) / max(float(np.linalg.norm(uv[3] - uv[2])), 1e-9)  # out of the back
    rod, fit = None, None
    # a dowel's free spans are thin objects: without enough of them (and not told) there is none to look for
    if axis_uv is not None and (expect_rod or np.count_nonzero(thin) >= 3 * ROD_FREE_PX):
        fit = find_rod(closed, depth_m, axis_uv, dorsal_uv, 4 * open_px,
                       ROD_FREE_EXPECTED_PX if expect_rod else ROD_FREE_PX)
    diameter_m = fit.thickness_px * fit.depth_m / geom.intrinsics.fx if fit is not None else np.nan
    if diameter_m > ROD_MAX_DIAMETER_M:
        fit = None  # thicker than any dowel: a forearm's straight edge with background beside it
    if fit is not None:
        mask = body_without_rod(closed, depth_m, fit, open_px)
        rod = Rod(None, diameter_m, read_around=True)
    elif axis_uv is not None:
        rod = _rod_in_axis(geom, axis, win, depth_m, thin, axis_uv, 8 * open_px)
    n_subject = int(np.count_nonzero(mask))
    edge = outline(mask)
    n_bins = max(1, int(np.ceil((s_range_m[1] - s_range_m[0]) / SLICE_M)))
    s_c = s_range_m[0] + (np.arange(n_bins) + 0.5) * SLICE_M
    empty = Contour(s_c, np.full(n_bins, np.nan), np.full(n_bins, np.nan), np.full((n_bins, 2), np.nan),
                    np.full((n_bins, 3), np.nan))
    vv, uu = mask_pixels(edge)
    if vv.size == 0:
        return empty, n_subject, rod
    # local mean of the subject's valid depth a few pixels inside the outline: right at the edge, depth
    # blends with the background (flying pixels); closing filled dropouts in the mask, not in the depth
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8))
    k = (DEPTH_SMOOTH_PX, DEPTH_SMOOTH_PX)
    num = cv2.boxFilter(depth_m * inner, -1, k, normalize=False)  # (invalid depth is 0: adds nothing)
    den = cv2.boxFilter(inner & valid, cv2.CV_32F, k, normalize=False)
    ok = den[vv, uu] >= 1.0
    vv, uu = vv[ok], uu[ok]
    zs = num[vv, uu] / den[vv, uu]
    u_px = uu + win[1].start
    v_px = vv + win[0].start
    xr, yr = geom.ray_x[u_px] * zs, geom.ray_y[v_px] * zs
    p = np.stack([xr, yr, zs], axis=1).astype(float) @ geom.R.T + geom.t
    s, w = axis.to_axis(p[:, 0], p[:, 2])
    b = np.floor((s - s_range_m[0]) / SLICE_M).astype(np.intp)
    keep = (b >= 0) & (b < n_bins)
    if not keep.any():
        return empty, n_subject, rod
    b, w, p, u_px, v_px = b[keep], w[keep], p[keep], u_px[keep], v_px[keep]
    pick = largest_per_bin(b, w)
    # the picked outline points' depth from their own layer (an arm just inside the outline is not the back)
    z_layer = layer_depth_m(depth_m, mask, inner, v_px[pick] - win[0].start, u_px[pick] - win[1].start,
                            DEPTH_SMOOTH_PX // 2)
    pick = pick[np.isfinite(z_layer)]
    z_layer = z_layer[np.isfinite(z_layer)]
    p[pick] = np.stack([geom.ray_x[u_px[pick]] * z_layer, geom.ray_y[v_px[pick]] * z_layer, z_layer],
                       axis=1).astype(float) @ geom.R.T + geom.t
    w[pick] = axis.to_axis(p[pick, 0], p[pick, 2])[1]
    bins = b[pick]
    out = empty
    out.detached = np.zeros(n_bins, bool)
    if np.all(np.isfinite(dorsal_uv)):  # (the axis projects into the image whenever a window was found)
        out.detached[bins] = _detached(depth_m, mask, v_px[pick] - win[0].start, u_px[pick] - win[1].start,
                                       z_layer, w[pick], dorsal_uv, geom.intrinsics.fx)
    out.w_m[bins] = w[pick]
    out.xyz[bins] = p[pick]
    out.uv[bins] = np.stack([u_px[pick], v_px[pick]], axis=1)
    out.view_m[bins] = p[pick] @ geom.view_h
    if fit is not None:
        out.rod_cover_view_m = _rod_cover(geom, axis, win, fit, s_range_m, n_bins)
        # the back cannot reach past the dowel (soft tissue pressed into it can reach its outer edge at most):
        # outline beyond it is the hand gripping it
        edge = _deproject_uv(geom, fit.edge_uv + np.array([win[1].start, win[0].start]), fit.depth_m)
        s_e, w_e = axis.to_axis(edge[:, 0], edge[:, 2])
        order = np.argsort(s_e)
        out.rod_outer_w_m = np.interp(s_c, s_e[order], w_e[order], left=np.nan, right=np.nan)
        # its centre line: the outer edge's ends moved one radius into the back, square to the dowel
        ends = np.stack([s_e[order], w_e[order]], axis=1)
        along = (ends[1] - ends[0]) / max(float(np.linalg.norm(ends[1] - ends[0])), 1e-9)  # (+s: sorted)
        rod.centre_sw = ends - 0.5 * rod.diameter_m * np.array([-along[1], along[0]])
    return out, n_subject, rod


def _rod_in_axis(geom: DepthGeometry, axis: TrunkAxis, win: tuple[slice, slice], depth_m: np.ndarray,
                 thin: np.ndarray, axis_uv: np.ndarray, min_len_px: float) -> Rod | None:
    found = rod_line(thin, axis_uv, min_len_px)
    if found is None:
        return None
    c, u, thickness_px, pix = found
    z = depth_m[pix[:, 1].astype(np.intp), pix[:, 0].astype(np.intp)]
    z = z[z > 0]
    if z.size < min_len_px / 2:
        return None
    rod_z = float(np.median(z))
    p = _deproject_uv(geom, np.stack([c - 100.0 * u, c + 100.0 * u]) + np.array([win[1].start, win[0].start]),
                      rod_z)
    s, w = axis.to_axis(p[:, 0], p[:, 2])
    return Rod(np.stack([s, w], axis=1), thickness_px * rod_z / geom.intrinsics.fx)


def _detached(depth_m: np.ndarray, mask: np.ndarray, vv: np.ndarray, uu: np.ndarray, z_m: np.ndarray,
              w_m: np.ndarray, dorsal_uv: np.ndarray, fx: float) -> np.ndarray:
    """Per outline pixel (vv, uu) at depth z_m and dorsal offset w_m: True when, walking from it into the
    trunk (to DETACH_TO_W_M off the trunk axis), the subject is interrupted by background or by something
    DETACH_GAP_M farther. The back's own outline runs solid into the trunk (an arm lying over it is nearer,
    not a gap); an arm bridging over the back to a hand on it has the gap between arm and back behind it."""
    reach_px = np.maximum(w_m - DETACH_TO_W_M, 0.0) * fx / np.maximum(z_m, 0.3)
    steps = 2.0 + _DETACH_FRACTIONS * np.maximum(reach_px[:, None] - 2.0, 0.0)  # from 2 px inside the outline
    rows = np.rint(vv[:, None] - steps * dorsal_uv[1]).astype(np.intp)
    cols = np.rint(uu[:, None] - steps * dorsal_uv[0]).astype(np.intp)
    inside = (rows >= 0) & (rows < mask.shape[0]) & (cols >= 0) & (cols < mask.shape[1])
    rows[~inside] = 0
    cols[~inside] = 0
    gap = inside & ((mask[rows, cols] == 0) | (depth_m[rows, cols] > z_m[:, None] + DETACH_GAP_M))
    return gap.any(axis=1)


def _deproject_uv(geom: DepthGeometry, uv: np.ndarray, z_m: float) -> np.ndarray:
    """Sub-pixel image points (K, 2) at depth z_m -> plate-frame points (K, 3)."""
    rays = np.stack([np.interp(uv[:, 0], np.arange(geom.ray_x.size), geom.ray_x),
                     np.interp(uv[:, 1], np.arange(geom.ray_y.size), geom.ray_y), np.ones(len(uv))], axis=1)
    return (rays * z_m) @ geom.R.T + geom.t


def _rod_cover(geom: DepthGeometry, axis: TrunkAxis, win: tuple[slice, slice], fit: RodFit,
               s_range_m: tuple[float, float], n_bins: int) -> np.ndarray:
    """Per slice, the nearest view_m of whatever covers the dowel there (NaN: nothing does)."""
    out = np.full(n_bins, np.nan)
    v, u, z_cover = fit.covered
    if v.size == 0:
        return out
    rx, ry = geom.ray_x[u + win[1].start], geom.ray_y[v + win[0].start]
    on_rod = np.stack([rx * fit.depth_m, ry * fit.depth_m, np.full(u.size, fit.depth_m)], axis=1)
    s, _ = axis.to_axis(*(on_rod @ geom.R.T + geom.t)[:, [0, 2]].T)
    cover_view = (np.stack([rx * z_cover, ry * z_cover, z_cover], axis=1) @ geom.R.T + geom.t) @ geom.view_h
    b = np.floor((s - s_range_m[0]) / SLICE_M).astype(np.intp)
    ok = (b >= 0) & (b < n_bins)
    np.fmin.at(out, b[ok], cover_view[ok])
    return out


def median3(values: np.ndarray) -> np.ndarray:
    """Running median of 3 that ignores NaN neighbours (one-slice outliers and dropouts); NaN stays NaN."""
    padded = np.concatenate([[np.nan], values, [np.nan]])
    stack = np.sort(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)  # NaN sort last
    n = np.isfinite(stack).sum(axis=0)
    med = np.where(n == 3, stack[1], np.where(n == 2, 0.5 * (stack[0] + stack[1]), stack[0]))
    return np.where(np.isfinite(values), med, np.nan)
