"""Vectorised ray-surface intersections for the camera simulator (one origin, many unit directions).

All functions take the ray origin `ro` (3,) and unit directions `rd` (N, 3) and return the ray parameter
t (N,) of the first hit in front of the origin (metres along the ray), `inf` where the ray misses.
"""

from __future__ import annotations

import numpy as np

_INF = np.float32(np.inf)


def ray_sphere(ro: np.ndarray, rd: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """First hit of rays with a sphere (entry point)."""
    oc = (ro - centre).astype(rd.dtype)
    b = rd @ oc
    h = b * b - (oc @ oc - radius * radius)
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(h)
    return np.where((h >= 0) & (t > 0), t, _INF)


def ray_round_cone(ro: np.ndarray, rd: np.ndarray, pa: np.ndarray, pb: np.ndarray,
                   ra: float, rb: float) -> np.ndarray:
    """First hit of rays with the convex hull of two spheres (a tapered capsule).

    The hull is convex, so its entry point lies either on the cone body between the two tangent
    circles or on one of the end spheres (then it is that sphere's entry, the nearer one).
    Closed form after I. Quilez, "Ray-surface intersectors" (round cone).
    """
    ba = (pb - pa).astype(rd.dtype)
    oa = (ro - pa).astype(rd.dtype)
    rr = ra - rb
    m0 = float(ba @ ba)
    m1 = float(ba @ oa)
    m5 = float(oa @ oa)
    m2 = rd @ ba
    m3 = rd @ oa
    d2 = m0 - rr * rr
    t_best = np.full(rd.shape[0], _INF, dtype=rd.dtype)
    if d2 > 1e-12:  # a real cone body exists (neither sphere swallows the other)
        k2 = d2 - m2 * m2
        k1 = d2 * m3 - m1 * m2 + m2 * rr * ra
        k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2.0 - m0 * ra * ra
        h = k1 * k1 - k0 * k2
        with np.errstate(invalid="ignore", divide="ignore"):
            t_body = (-np.sqrt(h) - k1) / k2
        y = m1 - ra * rr + t_body * m2
        body_ok = (h >= 0) & (y > 0) & (y < d2) & (t_body > 0) & (np.abs(k2) > 1e-12)
        t_best = np.where(body_ok, t_body, t_best)
    else:
        body_ok = np.zeros(rd.shape[0], dtype=bool)
    caps = np.minimum(ray_sphere(ro, rd, pa, ra), ray_sphere(ro, rd, pb, rb))
    return np.where(body_ok, t_best, caps).astype(rd.dtype)


def ray_box(ro: np.ndarray, rd: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """First hit of rays with an axis-aligned box (slab method); origin assumed outside the box."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / rd
        t0 = (lo - ro) * inv
        t1 = (hi - ro) * inv
    t_near = np.nanmax(np.minimum(t0, t1), axis=1)
    t_far = np.nanmin(np.maximum(t0, t1), axis=1)
    return np.where((t_near <= t_far) & (t_near > 0), t_near, _INF).astype(rd.dtype)


def ray_plane_z(ro: np.ndarray, rd: np.ndarray, z0: float) -> np.ndarray:
    """Hit of rays with the horizontal plane z = z0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z0 - ro[2]) / rd[:, 2]
    return np.where(np.isfinite(t) & (t > 0), t, _INF).astype(rd.dtype)


def ray_plane(ro: np.ndarray, rd: np.ndarray, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Hit of rays with the plane through `point` with normal `normal`."""
    denom = rd @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float((point - ro) @ normal) / denom
    return np.where(np.isfinite(t) & (t > 0), t, _INF).astype(rd.dtype)
