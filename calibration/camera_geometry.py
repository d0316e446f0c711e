"""The geometry of camera calibration: plate pixels as rays, parallel planes fitted in inverse depth,
and the camera pose from the plate's plane and the corner markers' pixel rays (calibration.camera).
"""

from __future__ import annotations

import numpy as np


def kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R, t minimising |R src + t - dst| (rows are points), proper rotation."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    H = (src - cs).T @ (dst - cd)
    U, _, Vt = np.linalg.svd(H)
    D = np.eye(src.shape[1])
    D[-1, -1] = np.sign(np.linalg.det(Vt.T @ U.T))
    R = Vt.T @ D @ U.T
    return R, cd - R @ cs


def plate_pixels(frame, step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Valid depth pixels on a `step` grid: normalised image coordinates x~ = ((u - ppx)/fx, (v - ppy)/fy, 1)
    (N, 3) and inverse depth w = 1/z (N,), 1/m. A point is x~ * z."""
    intr = frame.intrinsics
    d = frame.depth[::step, ::step].astype(np.float64) * frame.depth_scale_m
    v, u = np.mgrid[0:frame.depth.shape[0]:step, 0:frame.depth.shape[1]:step]
    ok = d > 0
    xt = np.stack([(u[ok] - intr.ppx) / intr.fx, (v[ok] - intr.ppy) / intr.fy, np.ones(ok.sum())], axis=1)
    return xt, 1.0 / d[ok]


def fit_parallel_planes(groups: list[tuple[np.ndarray, np.ndarray]], iters: int = 20
                         ) -> tuple[np.ndarray, list[float]]:
    """Common unit normal n and offsets d_k (n.p = d_k) of parallel planes, fitted in inverse depth.

    A point on the plane n.p = d seen through x~ has 1/z = (n.x~) / d: linear in x~. Stereo depth noise
    is (nearly) constant in disparity, i.e. in 1/z, and lies along the viewing ray, so an ordinary least
    squares fit of w = x~.a (top, a = n / d_0) and w = kappa x~.a (others, kappa = d_0 / d_k) is the
    right one; an orthogonal (PCA) fit to the 3D points is not: it takes the along-ray noise, large at
    these grazing angles and growing as z^2, for spread and tilts the normal toward the rays.
    groups: (x~ (N, 3), w (N,)) per plane, the plate top first.
    """
    X0, w0 = groups[0]
    a = np.linalg.lstsq(X0, w0, rcond=None)[0]
    kappas = np.ones(len(groups))
    for k in range(1, len(groups)):
        Xk, wk = groups[k]
        kappas[k] = float(np.median(wk / np.maximum(Xk @ a, 1e-9)))
    # Gauss-Newton on (a, kappa_1..): the model is bilinear, a few steps converge to machine precision
    XtX = [g[0].T @ g[0] for g in groups]
    Xtw = [g[0].T @ g[1] for g in groups]
    m = len(groups) - 1
    for _ in range(iters):
        A = np.zeros((3 + m, 3 + m))
        b = np.zeros(3 + m)
        for k in range(len(groups)):
            kap = kappas[k]
            G, Xw = XtX[k], Xtw[k]
            Ga = G @ a
            A[:3, :3] += kap * kap * G
            b[:3] += kap * (Xw - kap * Ga)  # J_a^T r with r = w - kap X a
            if k:
                A[:3, 2 + k] = A[2 + k, :3] = kap * Ga
                A[2 + k, 2 + k] = a @ Ga
                b[2 + k] = a @ Xw - kap * (a @ Ga)
        step = np.linalg.solve(A, b)
        a = a + step[:3]
        kappas[1:] += step[3:]
        if np.linalg.norm(step[:3]) < 1e-12 * np.linalg.norm(a):
            break
    d0 = 1.0 / float(np.linalg.norm(a))
    return a * d0, [d0 / kap for kap in kappas]


def robust_parallel_planes(groups: list[tuple[np.ndarray, np.ndarray]], rounds: int = 4, k_sigma: float = 3.0
                            ) -> tuple[np.ndarray, list[float], list[tuple[np.ndarray, np.ndarray]]]:
    """fit_parallel_planes, dropping pixels more than k_sigma robust sigmas (per group) off their plane
    (flying pixels, a foreground edge's fattening, a stray object) and refitting."""
    keep = [np.ones(g[1].shape[0], dtype=bool) for g in groups]
    for _ in range(rounds):
        sub = [(g[0][m], g[1][m]) for g, m in zip(groups, keep, strict=True)]
        n, offsets = fit_parallel_planes(sub)
        a = n / offsets[0]
        new_keep = []
        for g, off in zip(groups, offsets, strict=True):
            res = g[1] - (offsets[0] / off) * (g[0] @ a)
            sigma = 1.4826 * float(np.median(np.abs(res - np.median(res))))
            new_keep.append(np.abs(res) <= k_sigma * max(sigma, 1e-9))
        if all(np.array_equal(a_, b_) for a_, b_ in zip(keep, new_keep, strict=True)):
            break
        keep = new_keep
    return n, offsets, [(g[0][m], g[1][m]) for g, m in zip(groups, keep, strict=True)]


def pixel_rays(uv: np.ndarray, intr) -> np.ndarray:
    return np.stack([(uv[:, 0] - intr.ppx) / intr.fx, (uv[:, 1] - intr.ppy) / intr.fy, np.ones(len(uv))], 1)


def on_plane(n: np.ndarray, d_top: float, uv: np.ndarray, h: float, intr) -> np.ndarray:
    """Camera-frame points where the pixel rays cross the plane `h` above the top (n.p = d_top + h)."""
    r = pixel_rays(uv, intr)
    return r * ((d_top + h) / (r @ n))[:, None]


def pose_from_plane_and_rays(n, d_top, uv, corners, h, intr) -> np.ndarray:
    # rotation taking the camera's "up" (n) to +z, then yaw and x, y from the markers in that plane
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(n, z)
    s, c = np.linalg.norm(v), float(n @ z)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    R1 = np.eye(3) + K + K @ K * ((1 - c) / s**2) if s > 1e-12 else np.eye(3) * np.sign(c)
    q = on_plane(n, d_top, uv, h, intr) @ R1.T  # level frame: z = d_top + h for all of them
    R2, t2 = kabsch(q[:, :2], corners[:, :2])
    Rz = np.eye(3)
    Rz[:2, :2] = R2
    T = np.eye(4)
    T[:3, :3] = Rz @ R1
    T[:3, 3] = [t2[0], t2[1], -d_top]
    return refine_yaw_xy(T, uv, corners, intr)


def project(T: np.ndarray, points: np.ndarray, intr) -> np.ndarray:
    """Pixel (u, v) of plate-frame points seen by a camera at T_plate_from_camera."""
    p = (points - T[:3, 3]) @ T[:3, :3]
    return np.stack([intr.fx * p[:, 0] / p[:, 2] + intr.ppx, intr.fy * p[:, 1] / p[:, 2] + intr.ppy], axis=1)


def refine_pose_pixels(T0: np.ndarray, uv: np.ndarray, corners: np.ndarray, intr, iters: int = 20
                        ) -> np.ndarray:
    """All six degrees of freedom minimising the corners' reprojection error (Gauss-Newton from T0).

    Only a starting pose for picking the plate's and floor's pixels: the markers' own depths, taken from
    the pixels around each disc, are off by centimetres (floor or wall behind a far corner, a foreground
    edge's fattening), and a start that far off can miss the plate top altogether. Returns T0 if the
    fit does not improve on it (e.g. three markers far from the right solution).
    """
    def pose(x):
        th = float(np.linalg.norm(x[:3]))
        K = np.array([[0, -x[2], x[1]], [x[2], 0, -x[0]], [-x[1], x[0], 0]])
        Rx = np.eye(3)
        if th > 1e-12:  # Rodrigues
            Rx = Rx + (np.sin(th) / th) * K + ((1 - np.cos(th)) / th**2) * K @ K
        T = T0.copy()
        T[:3, :3] = Rx @ T0[:3, :3]
        T[:3, 3] = T0[:3, 3] + x[3:]
        return T

    def resid(x):
        return (project(pose(x), corners, intr) - uv).ravel()

    x = np.zeros(6)
    r = resid(x)
    cost0 = float(r @ r)
    eps = 1e-7
    for _ in range(iters):
        J = np.stack([(resid(x + eps * e) - r) / eps for e in np.eye(6)], axis=1)
        step = np.linalg.lstsq(J, -r, rcond=None)[0]
        x = x + step
        r = resid(x)
        if np.abs(step).max() < 1e-10:
            break
    T = pose(x)
    if not np.all(np.isfinite(r)) or float(r @ r) >= cost0 or np.linalg.norm(x[3:]) > 0.5:
        return T0
    return T


def refine_yaw_xy(T0: np.ndarray, uv: np.ndarray, corners: np.ndarray, intr, iters: int = 5) -> np.ndarray:
    """Yaw and x, y (plane kept) minimising the corners' reprojection error in pixels.

    A marker's point on the plane is 2-3 times less certain along the view than across it (its pixel ray
    meets the plane at ~20 degrees), so the 2D rigid fit, which weighs both alike, lets a tenth of a pixel
    of v-error turn the yaw; in pixels every marker counts by what was actually measured.
    """
    def pose(x):
        c, s = np.cos(x[0]), np.sin(x[0])
        Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        T = T0.copy()
        T[:3, :3] = Rz @ T0[:3, :3]
        T[:3, 3] = Rz @ T0[:3, 3] + [x[1], x[2], 0.0]
        return T

    x = np.zeros(3)
    eps = 1e-6
    for _ in range(iters):
        r = (project(pose(x), corners, intr) - uv).ravel()
        J = np.stack([((project(pose(x + eps * e), corners, intr) - uv).ravel() - r) / eps
                      for e in np.eye(3)], axis=1)
        step = np.linalg.lstsq(J, -r, rcond=None)[0]
        x = x + step
        if np.abs(step).max() < 1e-9:
            break
    return pose(x)


def marker_errors(T, uv, corners, h, intr) -> list[float]:
    n = np.linalg.inv(T[:3, :3]) @ np.array([0, 0, 1.0])
    d_top = -T[2, 3]
    p = on_plane(n, d_top, uv, h, intr) @ T[:3, :3].T + T[:3, 3]
    return (np.linalg.norm(p - corners, axis=1) * 1000.0).tolist()
