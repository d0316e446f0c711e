"""Which slices of the posterior contour show the back itself, and which slices each contact region uses.

Something between the camera and the back (an arm with the hands on the hips, a hand, a load) puts its own
outline where the back's would be. Its outline lies nearer the camera than the back's, so a slice is the
back's when its outline point lies at the back's distance from the camera. Where the two meet, the outline's
depth is a local mean that blends both (station.dowel.contour DEPTH_SMOOTH_PX): slices within that
footprint of an occluder are not trusted either.

A region is measured from the part of it that is seen: its line fit needs enough seen slices spread over
enough of its fit window, and its contact level must lie on (or just beside) the seen part, so the contact
is read, never extrapolated across a hidden stretch. Otherwise the region is "hidden" with what hides it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OCCLUDER_NEAR_M = 0.05     # outline this much nearer the camera than the back's = something in front
FAR_LAYER_M = 0.15         # outline this much farther than the back's is a far limb (the head's midline
                           # outline lies up to 0.10 m behind the back's own)
BLEND_PX = 2               # the layer choice (a 3x3 median) can still blend this far from an occluder
MIN_FIT_SLICES = 5         # a line fit needs at least this many seen slices ...
MIN_FIT_SPAN_FRAC = 0.35   # ... spread over at least this share of the fit window
CONTACT_REACH_FRAC = 0.25  # the contact level may lie this share of the fit window beyond the seen part
MIN_SEEN_FRAC = 0.5        # the head (its most posterior point, no line) needs this share of its window


@dataclass
class BackSlices:
    """Per contour slice: w_m (dorsal offset, NaN where not the back's own outline), occluded (an outline
    nearer the camera than the back's, or next to one) and how much nearer the occluder is (m, NaN if
    none)."""

    w_m: np.ndarray
    occluded: np.ndarray
    nearer_m: np.ndarray


def back_slices(s_m: np.ndarray, w_m: np.ndarray, view_m: np.ndarray, trunk: np.ndarray, slice_m: float,
                pixel_m: float, rod_cover_view_m: np.ndarray | None = None,
                rod_outer_w_m: np.ndarray | None = None, detached: np.ndarray | None = None) -> BackSlices:
    """Flag the slices whose outline is not the back's. trunk: slices of the trunk (for the back's distance
    from the camera); pixel_m: one pixel's size at the subject (the depth blend's reach); rod_cover_view_m:
    per slice, the view_m of whatever covers a real dowel there (NaN: nothing); rod_outer_w_m: per slice, the
    dorsal offset of a real dowel's outer edge (the back lies inside it; outline beyond is a hand on it);
    detached: per slice, the outline is cut from the trunk by a gap behind it (an arm bridging the back).
    Outline far behind the back's (FAR_LAYER_M) is a limb on the far side."""
    # the back's outline lies at about one distance from the camera; arms in front are nearer (a low
    # percentile would follow them when they cover much of the trunk)
    back_view = sorted_quantile(view_m[trunk], 0.75) if trunk.any() else np.nan
    with np.errstate(invalid="ignore"):
        nearer = back_view - view_m
        front = (nearer > OCCLUDER_NEAR_M) | (nearer < -FAR_LAYER_M)
        if detached is not None:
            front |= detached
        if rod_cover_view_m is not None:  # what covers a real dowel covers the back's outline beside it
            rod_near = back_view - rod_cover_view_m
            front |= rod_near > OCCLUDER_NEAR_M
            nearer = np.fmax(nearer, np.where(rod_near > OCCLUDER_NEAR_M, rod_near, np.nan))
        if rod_outer_w_m is not None:
            front |= w_m > rod_outer_w_m + pixel_m
    grow = int(np.ceil(BLEND_PX * pixel_m / slice_m))
    occluded = _grow(front, grow)
    # how much nearer only where something is nearer (a far limb or a bridging arm has no such distance)
    return BackSlices(np.where(occluded, np.nan, w_m), occluded,
                      np.where(front & (nearer > OCCLUDER_NEAR_M), nearer, np.nan))


def region_slices(s_m: np.ndarray, w_all: np.ndarray, back: BackSlices, window: tuple[float, float],
                  contact_s: float | None) -> tuple[np.ndarray | None, str | None]:
    """Slice indices a region is measured from, or None and why. window: its fit window (s0, s1) on the
    trunk axis; contact_s: the level its contact is read at (None: the head, no line fit)."""
    s0, s1 = window
    in_win = (s_m >= s0) & (s_m <= s1)
    clean = np.flatnonzero(in_win & np.isfinite(back.w_m))
    n_win = np.count_nonzero(in_win)
    if contact_s is None:
        ok = clean.size >= max(MIN_SEEN_FRAC * n_win, 4)
    else:
        span = float(s_m[clean[-1]] - s_m[clean[0]]) if clean.size else 0.0
        reach = CONTACT_REACH_FRAC * (s1 - s0)
        ok = (clean.size >= MIN_FIT_SLICES and span >= MIN_FIT_SPAN_FRAC * (s1 - s0)
              and s_m[clean[0]] - reach <= contact_s <= s_m[clean[-1]] + reach)
    if ok:
        return clean, None
    seen = in_win & np.isfinite(w_all)
    hidden = in_win & back.occluded
    if np.count_nonzero(seen) >= max(MIN_SEEN_FRAC * n_win, 4) and hidden.any():
        return None, hidden_reason(back.nearer_m[in_win],
                                   f"over {100 * np.count_nonzero(hidden) / max(n_win, 1):.0f}% of its span")
    return None, "too little of the back's outline seen"


def hidden_reason(nearer_m: np.ndarray, where: str) -> str:
    """'hidden by something 0.12 m in front of the back (arm, hand or load) <where>' (distance if known)."""
    near_txt = f" {np.nanmax(nearer_m):.2f} m" if np.isfinite(nearer_m).any() else ""
    return f"hidden by something{near_txt} in front of the back (arm, hand or load) {where}"


def line_fit(p: np.ndarray, outlier_m: float = 0.006) -> tuple[np.ndarray, np.ndarray]:
    """Total-least-squares line through points (K, 2), refitted without points further than outlier_m:
    centroid and unit direction towards +s."""
    for _ in range(2):
        c = p.mean(axis=0)
        q = p - c
        sxx, syy, sxy = float(q[:, 0] @ q[:, 0]), float(q[:, 1] @ q[:, 1]), float(q[:, 0] @ q[:, 1])
        theta = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)  # principal axis of the 2x2 scatter (closed form)
        d = np.array([np.cos(theta), np.sin(theta)])
        d = d if d[0] >= 0 else -d
        resid = np.abs(q @ np.array([-d[1], d[0]]))
        keep = resid <= max(outlier_m, 2.5 * sorted_quantile(resid, 0.5))
        if keep.all() or keep.sum() < 4:
            break
        p = p[keep]
    return c, d


def skull_back(p: np.ndarray, along: np.ndarray, half_span_m: float = 0.04) -> np.ndarray:
    """The skull's most posterior point seen square to `along` (unit, the upper back's line) from its
    outline points (K, 2): a parabola through the points within half_span_m of the furthest one. The single
    furthest point of a noisy outline sits out by the noise's maximum (a few mm); the parabola's vertex
    averages it out. Falls back to the furthest point when the parabola is not a cap."""
    n = np.array([-along[1], along[0]])
    a, h = p @ along, p @ n
    k = int(np.argmax(h))
    near = np.abs(a - a[k]) <= half_span_m
    if np.count_nonzero(near) >= 5:
        x = (a[near] - a[k]) / half_span_m  # scaled: the normal equations stay well conditioned
        vander = np.stack([x * x, x, np.ones_like(x)], axis=1)
        c2, c1, c0 = np.linalg.solve(vander.T @ vander, vander.T @ h[near])
        c2, c1 = c2 / half_span_m ** 2, c1 / half_span_m
        if c2 < 0:
            a_top = float(np.clip(-c1 / (2 * c2), -half_span_m, half_span_m))
            return (a[k] + a_top) * along + (c0 + c1 * a_top + c2 * a_top ** 2) * n
    return p[k]


def sorted_quantile(x: np.ndarray, q: float) -> float:
    """np.percentile(x, 100 q) (linear interpolation) of finite values by one sort: for the few hundred values
    per frame here, np.percentile / np.median's overhead (0.05-0.2 ms a call) is most of their cost."""
    v = np.sort(np.asarray(x, float).reshape(-1))
    pos = q * (v.size - 1)
    k = int(pos)
    return float(v[k] if k + 1 >= v.size else v[k] + (pos - k) * (v[k + 1] - v[k]))


def _grow(flags: np.ndarray, n: int) -> np.ndarray:
    """Mark n slices either side of every flagged slice."""
    out = flags.copy()
    for k in range(1, n + 1):
        out[k:] |= flags[:-k]
        out[:-k] |= flags[k:]
    return out


def layer_depth_m(depth_m: np.ndarray, mask: np.ndarray, inner: np.ndarray, vv: np.ndarray, uu: np.ndarray,
                  half_px: int, tol_m: float = OCCLUDER_NEAR_M) -> np.ndarray:
    """Depth (m) of outline pixels (vv, uu) from their own depth layer: the median of the subject's valid
    pixels touching each one picks the layer; then the mean of the (2 half_px + 1)^2 window's `inner` pixels
    (a little inside the outline, where depth does not blend with the background) of that layer, or of its
    outline pixels where the layer is only a thin rim. The layer spans tol_m behind and 2 tol_m in front of
    the reference (the surface turns towards the camera inside its outline). Where an arm lies over the
    back just inside the outline, a plain local mean would blend the arm's depth into the back's outline
    point (moving it along the ray, and making it look like an occluder). NaN where nothing touches it."""
    d = np.arange(-half_px, half_px + 1)
    dr, dc = np.repeat(d, d.size), np.tile(d, d.size)  # a patch's offsets, row-major
    rows = vv[:, None] + dr[None, :]  # (K, (2 half_px + 1)^2)
    cols = uu[:, None] + dc[None, :]
    h, w = depth_m.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    flat = np.where(inside, rows * w + cols, 0)
    z = depth_m.ravel().take(flat)
    valid = inside & (z > 0)
    full = np.where(valid & (mask.ravel().take(flat) > 0), z, np.nan)
    deep = np.where(valid & (inner.ravel().take(flat) > 0), z, np.nan)
    near = np.flatnonzero((np.abs(dr) <= 1) & (np.abs(dc) <= 1))
    # NaN compares false (all-NaN neighbourhoods give NaN, as meant); numpy's errstate is per thread, where
    # warnings.catch_warnings would rewrite the process's filters at every frame, under every other thread
    with np.errstate(invalid="ignore"):
        touch = np.sort(full[:, near], axis=1)  # NaN sort last: the (lower) median of the valid ones
        n_touch = np.isfinite(touch).sum(axis=1)
        ref = touch[np.arange(vv.size), np.maximum(n_touch - 1, 0) // 2][:, None]
        out = np.full(vv.size, np.nan)
        for patch, n_min in ((full, 1), (deep, 3)):  # the inner pixels win where there are enough
            same = (patch - ref <= tol_m) & (ref - patch <= 2 * tol_m)
            n = same.sum(axis=1)
            mean = np.where(same, patch, 0.0).sum(axis=1) / np.maximum(n, 1)
            out = np.where(n >= n_min, mean, out)
    return out
