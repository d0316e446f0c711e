"""The body's capsules against one camera's rays, in batches (drivers.sim.render.Renderer draws the body).

Which pixels' rays can hit each capsule: its projected bounding box (the Renderer's windows), narrowed for a
slanted limb to the band of pixel rows' spans whose rays pass within the capsule's largest radius of the
plane through the camera and its axis (capsule_bands, capsule_pixels: a conservative bound, the hits are the
same as over the whole box); and each such ray's first hit with its capsule (cone_terms, round_cones).
"""

from __future__ import annotations

import numpy as np

from drivers.samples import Intrinsics

NEAR_M = 0.05  # geometry closer to the camera than this gets the whole frame as its window
_INF = np.float32(np.inf)


def round_cones(rd: np.ndarray, par: np.ndarray) -> np.ndarray:
    """Ray parameter (float32, inf on a miss) of each ray's first hit with its capsule (the hull of two
    spheres), all rays from one origin: rd (3, P) unit directions, par (12, P) the terms of the ray's
    capsule (cone_terms). The closed form of drivers.sim.raycast.ray_round_cone, one pass for all capsules.
    """
    bax, bay, baz, oax, oay, oaz, ca, cb, d2, k0, e, cy = par
    x, y, z = rd
    m2 = x * bax  # rd . (pb - pa)
    m2 += y * bay
    m2 += z * baz
    m3 = x * oax  # rd . (o - pa)
    m3 += y * oay
    m3 += z * oaz
    t = np.empty_like(m2)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # end spheres: t = -b - sqrt(b^2 - (|o - c|^2 - r^2)); a miss gives nan and fails t > 0
        b = np.subtract(m3, m2)  # rd . (o - pb)
        np.multiply(b, b, out=t)
        t -= cb
        np.sqrt(t, out=t)
        t += b
        np.negative(t, out=t)
        t_b = np.where(t > 0, t, _INF)
        np.multiply(m3, m3, out=t)
        t -= ca
        np.sqrt(t, out=t)
        t += m3
        np.negative(t, out=t)
        t_caps = np.where(t > 0, t, _INF)
        np.minimum(t_caps, t_b, out=t_caps)
        # cone body between the tangent circles: k2 t^2 + 2 k1 t + k0 = 0, valid where 0 < y < d2
        k2 = np.multiply(m2, m2, out=t_b)
        np.subtract(d2, k2, out=k2)
        k1 = np.multiply(d2, m3, out=m3)
        k1 += np.multiply(m2, e, out=b)
        h = np.multiply(k1, k1, out=t)
        h -= np.multiply(k0, k2, out=b)
        np.sqrt(h, out=h)
        h += k1
        np.negative(h, out=h)
        t_body = np.divide(h, k2, out=h)  # nan where the ray misses the cone's surface
        y_ax = np.multiply(t_body, m2, out=m2)
        y_ax += cy
        ok = t_body > 0
        ok &= y_ax > 0
        ok &= y_ax < d2
        ok &= d2 > 1e-12  # else one sphere swallows the other: no cone body
        np.abs(k2, out=k2)
        ok &= k2 > 1e-12
        np.copyto(t_caps, t_body, where=ok)
    return t_caps


def cone_terms(origin: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: np.ndarray,
               r1: np.ndarray) -> np.ndarray:
    """Per capsule (rows of p0, p1, r0, r1) the terms round_cones needs, (12, C) float32."""
    ba, oa = p1 - p0, origin - p0
    ob = origin - p1
    rr = r0 - r1
    m0, m1, m5 = (np.add.reduce(a * b, axis=1) for a, b in ((ba, ba), (ba, oa), (oa, oa)))  # (np.sum's)
    d2 = m0 - rr * rr
    k0 = d2 * m5 - m1 * m1 + m1 * rr * r0 * 2.0 - m0 * r0 * r0
    return np.array([*ba.T, *oa.T, m5 - r0 * r0, np.add.reduce(ob * ob, axis=1) - r1 * r1, d2, k0,
                     rr * r0 - m1, m1 - r0 * rr], dtype=np.float32)


def capsule_bands(c0: np.ndarray, c1: np.ndarray, r_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per capsule (axis c0-c1 in the camera frame, largest radius r_max): the unit normal n of the
    plane through the camera and the axis, and k such that a ray d hitting the capsule has |d.n| <= k
    (k = 0 where no such bound holds: the axis points at the camera or the capsule is too near).

    Every point q of the capsule is within r_max of that plane and at least d_min (the axis's distance
    minus r_max) from the camera, so k = r_max / d_min."""
    n = _cross(c0, c1)
    n_len = _norm(n)
    seg = c1 - c0
    along = -np.add.reduce(c0 * seg, axis=1) / np.maximum(np.add.reduce(seg * seg, axis=1), 1e-12)
    s = np.clip(along, 0.0, 1.0)
    d_min = _norm(c0 + s[:, None] * seg) - r_max
    ok = (n_len > 1e-9) & (d_min > NEAR_M)
    n = n / np.where(ok, n_len, 1.0)[:, None]
    k = np.where(ok, r_max / np.where(ok, d_min, 1.0) * 1.001 + 1e-6, 0.0)  # (float32 rays: margin)
    return n, k


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of rows of 3-vectors, the same products and differences without its generic set-up."""
    a0, a1, a2 = a.T
    b0, b1, b2 = b.T
    out = np.empty_like(a)
    np.subtract(a1 * b2, a2 * b1, out=out[:, 0])
    np.subtract(a2 * b0, a0 * b2, out=out[:, 1])
    np.subtract(a0 * b1, a1 * b0, out=out[:, 2])
    return out


def _norm(a: np.ndarray) -> np.ndarray:
    """np.linalg.norm(a, axis=1) (what it computes for real rows)."""
    return np.sqrt(np.add.reduce(a * a, axis=1))


def capsule_pixels(intr: Intrinsics, win: np.ndarray, n: np.ndarray, k: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the pixels to cast for each capsule (window rows v0, v1, u0, u1 and band n, k per
    row of `win`): per window row, the columns whose rays d have |d.n| <= k, widened a pixel each way
    (all of them where k = 0). Returns the indices, grouped by capsule, and the count per capsule."""
    v0, v1, u0, u1 = win.T
    n_rows = v1 - v0
    cap = np.repeat(np.arange(len(win)), n_rows)
    first = np.cumsum(n_rows) - n_rows
    rows = np.arange(int(n_rows.sum())) - np.repeat(first - v0, n_rows)
    lo, hi = u0[cap], u1[cap]
    y = (rows - intr.ppy) / intr.fy
    x_far = np.maximum(np.abs(u0 - intr.ppx), np.abs(u1 - 1 - intr.ppx)) / intr.fx
    kr = k[cap]
    reach = kr * np.sqrt(x_far[cap] ** 2 + 1.0 + y * y)  # |(x, y, 1).n| <= k |(x, y, 1)| in the window
    b = n[cap, 1] * y + n[cap, 2]
    nx = n[cap, 0]
    banded = kr > 0
    slanted = banded & (np.abs(nx) >= 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = intr.ppx - intr.fx * b / nx
        half = intr.fx * reach / np.abs(nx)
        lo = np.where(slanted, np.clip(np.floor(centre - half) - 1, lo, hi), lo).astype(np.intp)
        hi = np.where(slanted, np.clip(np.ceil(centre + half) + 2, lo, hi), hi).astype(np.intp)
    level = banded & ~slanted  # the axis looks horizontal: whole rows in or out
    hi = np.where(level & (np.abs(b) > reach), lo, hi)
    length = np.maximum(hi - lo, 0)
    start = rows * intr.width + lo - (np.cumsum(length) - length)
    idx = np.repeat(start, length)
    idx += np.arange(idx.size)
    return idx, np.bincount(cap, weights=length, minlength=len(win)).astype(np.intp)
