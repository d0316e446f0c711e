"""The camera simulator's renderer as it was before the fast path (commit bd2769a), kept verbatim as the
slow full-frame reference that tests/drivers/test_render_fast.py compares drivers.sim.render against.

Not used by the station: a straightforward per-capsule-window ray cast with full-frame noise, shadow and IR
products. Same constructor and random draws as drivers.sim.render.Renderer, so both give the same frame
for the same seed and sequence of poses.
"""

from __future__ import annotations

import numpy as np

from drivers.samples import Intrinsics
from drivers.sim.pose import Pose
from drivers.sim.raycast import ray_box, ray_plane, ray_plane_z, ray_round_cone, ray_sphere
from station.config import StationConfig

# fx (= fy) of a D435 depth/IR imager per resolution (the 848x480 and 640x480 modes are scaled/cropped)
_FX_PX = {(848, 480): 426.0, (640, 480): 383.0, (1280, 720): 640.0}
_ALBEDO = {"none": 8.0, "wall": 34.0, "floor": 42.0, "plate": 66.0, "body": 56.0}
_MARKER_IR = 255.0
_SUPERSAMPLE = 4  # marker edge coverage: 4x4 rays per pixel, so disc centroids are sub-pixel exact
_MAX_SHIFT_PX = 64  # emitter parallax range kept in the dot texture


def _union(a: tuple[slice, slice], b: tuple[slice, slice]) -> tuple[slice, slice]:
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b, strict=True))


def default_intrinsics(width: int = 848, height: int = 480) -> Intrinsics:
    """D435-like pinhole intrinsics (no distortion) for 848x480, 640x480 or 1280x720 (others scaled)."""
    fx = _FX_PX.get((width, height), 426.0 * width / 848.0)
    return Intrinsics(width, height, fx, fx, width / 2.0, height / 2.0)


class ReferenceRenderer:
    """Ray-casts one camera's depth and left IR. `render(pose) -> (depth_u16 (H,W), ir_u8 (H,W))`."""

    def __init__(self, intrinsics: Intrinsics | None = None, T_plate_from_camera: np.ndarray | None = None,
                 *, depth_scale_m: float = 0.001, baseline_m: float = 0.050, subpixel: float = 0.08,
                 dropout_frac: float = 0.01, max_range_m: float = 6.0, emitter_offset_m: float = 0.025,
                 plate_thickness_m: float = 0.05, wall_distance_m: float | None = 2.5, seed: int = 0,
                 config: StationConfig | None = None) -> None:
        cfg = config or StationConfig()
        self.intrinsics = intrinsics or default_intrinsics(cfg.camera.width, cfg.camera.height)
        T = cfg.camera.T_plate_from_camera() if T_plate_from_camera is None else T_plate_from_camera
        self.T_plate_from_camera = np.asarray(T, dtype=float)
        self.depth_scale_m = depth_scale_m
        self.baseline_m = baseline_m
        self.subpixel = subpixel
        self.dropout_frac = dropout_frac
        self.max_range_m = max_range_m
        self._rng = np.random.default_rng(seed)
        self._R = self.T_plate_from_camera[:3, :3]
        self._origin = self.T_plate_from_camera[:3, 3].copy()
        intr = self.intrinsics
        H, W = intr.height, intr.width
        u, v = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
        d_cam = np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones_like(u)], axis=-1)
        norm = np.linalg.norm(d_cam, axis=-1)
        self._rd = ((d_cam / norm[..., None]) @ self._R.T.astype(np.float32)).astype(np.float32)
        self._z_per_range = (1.0 / norm).astype(np.float32)  # range along the ray -> camera z
        self._cols = np.arange(W, dtype=np.float32)[None, :]
        self._z_static, self._albedo_static = self._static_scene(cfg, plate_thickness_m, wall_distance_m)
        # noise banks cropped at random offsets per frame: fresh-looking noise without per-frame RNG cost
        coarse = self._rng.standard_normal((H + 1, W + 1)).astype(np.float32)
        coarse = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[: 2 * H, : 2 * W]
        fine = self._rng.standard_normal((2 * H, 2 * W)).astype(np.float32)
        self._noise_bank = np.sqrt(np.float32(0.5)) * (fine + coarse)
        self._uniform_bank = self._rng.random((2 * H, 2 * W), dtype=np.float32)
        tex_shape = (H, W + _MAX_SHIFT_PX)
        dots = (self._rng.random(tex_shape) < 0.18) * self._rng.uniform(40, 95, tex_shape)
        self._dots = dots.astype(np.float32)
        self._shift_per_inv_z = intr.fx * emitter_offset_m
        self.last_marker_coverage: dict[str, float] = {}
        # the static scene's share of every per-frame product, computed once
        full = (slice(0, H), slice(0, W))
        self._sigma_static = self._sigma(self._z_static)
        self._invalid_static = self._shadow(self._z_static, full) | ~(self._z_static < max_range_m)
        self._ir_static = self._ir_clean(self._z_static, self._albedo_static, full)

    # --- static scene ---------------------------------------------------------------------------------
    def _static_scene(self, cfg: StationConfig, thickness_m: float, wall_distance_m: float | None):
        H, W = self.intrinsics.height, self.intrinsics.width
        rd = self._rd.reshape(-1, 3)
        ro = self._origin
        hx, hy = cfg.plate.size_x_m / 2, cfg.plate.size_y_m / 2
        layers = [
            ("floor", ray_plane_z(ro, rd, -thickness_m)),
            ("plate", ray_box(ro, rd, np.array([-hx, -hy, -thickness_m]), np.array([hx, hy, 0.0]))),
        ]
        if wall_distance_m is not None:
            view = self._R[:, 2].copy()
            view[2] = 0.0
            normal = view / np.linalg.norm(view)
            layers.append(("wall", ray_plane(ro, rd, normal * wall_distance_m, normal)))
        z = np.full(H * W, np.inf, dtype=np.float32)
        albedo = np.full(H * W, _ALBEDO["none"], dtype=np.float32)
        for name, t in layers:
            hit = t < z
            z[hit] = t[hit]
            albedo[hit] = _ALBEDO[name]
        z *= self._z_per_range.reshape(-1)
        return z.reshape(H, W), albedo.reshape(H, W)

    # --- projection helpers ---------------------------------------------------------------------------
    def _bbox(self, points: np.ndarray, margin_px: int = 1) -> tuple[slice, slice] | None:
        """Pixel window holding the projection of the convex hull of `points` (plate frame)."""
        intr = self.intrinsics
        p_cam = (points - self._origin) @ self._R
        if np.all(p_cam[:, 2] <= 0.05):
            return None
        if np.any(p_cam[:, 2] <= 0.05):
            return slice(0, intr.height), slice(0, intr.width)
        u = intr.fx * p_cam[:, 0] / p_cam[:, 2] + intr.ppx
        v = intr.fy * p_cam[:, 1] / p_cam[:, 2] + intr.ppy
        u0, u1 = int(np.floor(u.min())) - margin_px, int(np.ceil(u.max())) + margin_px + 1
        v0, v1 = int(np.floor(v.min())) - margin_px, int(np.ceil(v.max())) + margin_px + 1
        u0, v0 = max(u0, 0), max(v0, 0)
        u1, v1 = min(u1, intr.width), min(v1, intr.height)
        if u0 >= u1 or v0 >= v1:
            return None
        return slice(v0, v1), slice(u0, u1)

    @staticmethod
    def _aabb_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])

    # --- per frame ------------------------------------------------------------------------------------
    def render(self, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
        """Depth (uint16, units of depth_scale_m, 0 = none) and left IR (uint8) of one pose."""
        z = self._z_static.copy()
        body = None  # union of the capsules' pixel windows: only there does the frame differ from static
        for cap in pose.capsules:
            p0, p1 = np.asarray(cap.p0, float), np.asarray(cap.p1, float)
            r = max(cap.r0, cap.r1)
            win = self._bbox(self._aabb_corners(np.minimum(p0, p1) - r, np.maximum(p0, p1) + r))
            if win is None:
                continue
            rd = self._rd[win].reshape(-1, 3)
            t = ray_round_cone(self._origin, rd, p0, p1, cap.r0, cap.r1)
            z_cap = t.reshape(z[win].shape) * self._z_per_range[win]
            np.minimum(z[win], z_cap, out=z[win])
            body = win if body is None else _union(body, win)
        marker_windows = self._markers(pose, z)
        H, W = z.shape
        noise = self._crop(self._noise_bank)
        sigma = self._sigma_static.copy()
        invalid = self._invalid_static.copy()
        ir = self._ir_static.copy()
        if body is not None:
            # shadows fall left of a foreground edge, as far as the disparity step: widen the window
            cols = slice(max(body[1].start - _MAX_SHIFT_PX, 0), min(body[1].stop + _MAX_SHIFT_PX, W))
            wide = (body[0], cols)
            z_w = z[wide]
            moved = z_w < self._z_static[wide]
            sigma[wide] = self._sigma(z_w)
            static_invalid = self._invalid_static[wide] & ~moved
            invalid[wide] = self._shadow(z_w, wide) | static_invalid | ~(z_w < self.max_range_m)
            albedo = np.where(moved, np.float32(_ALBEDO["body"]), self._albedo_static[wide])
            ir[wide] = self._ir_clean(z_w, albedo, wide)
        invalid |= self._crop(self._uniform_bank) < self.dropout_frac
        depth = np.rint((z + sigma * noise) * np.float32(1.0 / self.depth_scale_m))
        depth[invalid] = 0
        ir += np.float32(3.0) * self._crop(self._noise_bank)  # sensor read noise
        for (vs, us), cov in marker_windows:
            # the stereo matcher fails on the saturated disc and one pixel around it
            bad = cov > 0
            grown = bad.copy()
            grown[1:, :] |= bad[:-1, :]
            grown[:-1, :] |= bad[1:, :]
            grown[:, 1:] |= bad[:, :-1]
            grown[:, :-1] |= bad[:, 1:]
            depth[vs, us][grown] = 0
            ir[vs, us] = ir[vs, us] * (1 - cov) + _MARKER_IR * cov
        return (np.clip(depth, 0, 65535).astype(np.uint16), np.clip(ir, 0, 255).astype(np.uint8))

    def _crop(self, bank: np.ndarray) -> np.ndarray:
        H, W = self.intrinsics.height, self.intrinsics.width
        oy, ox = self._rng.integers(0, H), self._rng.integers(0, W)
        return bank[oy:oy + H, ox:ox + W]

    def _sigma(self, z: np.ndarray) -> np.ndarray:
        """D4xx depth RMS error (m): z^2 * subpixel / (fx * baseline)."""
        return z * z * np.float32(self.subpixel / (self.intrinsics.fx * self.baseline_m))

    def _shadow(self, z: np.ndarray, win: tuple[slice, slice]) -> np.ndarray:
        """Pixels the right imager cannot see: a pixel further right lands left of them in its image."""
        with np.errstate(divide="ignore"):
            disparity = np.float32(self.intrinsics.fx * self.baseline_m) / z
        x_right = self._cols[:, win[1]] - disparity
        run_min = np.minimum.accumulate(x_right[:, ::-1], axis=1)[:, ::-1]
        shadow = np.zeros(z.shape, dtype=bool)
        shadow[:, :-1] = run_min[:, 1:] < x_right[:, :-1] - 0.5
        return shadow

    def _ir_clean(self, z: np.ndarray, albedo: np.ndarray, win: tuple[slice, slice]) -> np.ndarray:
        """Ambient IR times albedo plus the emitter's dots, which shift with 1/z (emitter parallax)."""
        with np.errstate(divide="ignore"):
            inv_z = np.float32(1.0) / z
        shift = np.minimum(inv_z * np.float32(self._shift_per_inv_z), _MAX_SHIFT_PX - 1).astype(np.intp)
        cols = np.arange(win[1].start, win[1].stop)[None, :]
        dots = np.take_along_axis(self._dots[win[0]], shift + cols, axis=1)
        gain = np.minimum(np.float32(2.25) * inv_z * inv_z, np.float32(1.0))
        return albedo + dots * gain

    def _markers(self, pose: Pose, z_body: np.ndarray) -> list:
        """Sub-pixel coverage of each visible marker sphere (occlusion against the body z-buffer)."""
        intr = self.intrinsics
        r = pose.marker_radius_m
        s = _SUPERSAMPLE
        offsets = (np.arange(s, dtype=np.float32) + 0.5) / s - 0.5
        windows = []
        self.last_marker_coverage = {}
        for name, centre in pose.markers.items():
            c = np.asarray(centre, float)
            if not np.all(np.isfinite(c)):
                continue
            win = self._bbox(self._aabb_corners(c - r, c + r), margin_px=1)
            if win is None:
                self.last_marker_coverage[name] = 0.0
                continue
            vs, us = win
            h, w = vs.stop - vs.start, us.stop - us.start
            uu = (np.arange(us.start, us.stop, dtype=np.float32)[:, None] + offsets[None, :]).reshape(-1)
            vv = (np.arange(vs.start, vs.stop, dtype=np.float32)[:, None] + offsets[None, :]).reshape(-1)
            U, V = np.meshgrid(uu, vv)
            d_cam = np.stack([(U - intr.ppx) / intr.fx, (V - intr.ppy) / intr.fy, np.ones_like(U)], -1)
            norm = np.linalg.norm(d_cam, axis=-1)
            rd = ((d_cam / norm[..., None]) @ self._R.T.astype(np.float32)).reshape(-1, 3)
            z_sub = ray_sphere(self._origin, rd.astype(np.float32), c, r).reshape(U.shape) / norm
            z_under = np.repeat(np.repeat(z_body[win], s, axis=0), s, axis=1)
            cov = (z_sub < z_under).reshape(h, s, w, s).mean(axis=(1, 3)).astype(np.float32)
            self.last_marker_coverage[name] = float(cov.sum())
            if cov.any():
                windows.append((win, cov))
        return windows
