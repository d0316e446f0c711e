"""Depth (z16) and left-IR (y8) frames of a Pose, the force plate and the floor, as a D4xx would see them.

The static scene (floor, plate box, a back wall) is ray-cast once, and so is all that depends on it alone:
noise sigma, stereo shadow, IR. Per frame only rays that can hit the body are cast: each capsule's projected
bounding box, narrowed for a slanted limb to the band of pixel rows' spans whose rays pass within the
capsule's largest radius of the plane through the camera and its axis (a conservative bound: the hits are
the same as over the whole box; drivers.sim.capsule_rays). The body is drawn into persistent full-frame
buffers (z, sigma, IR, invalid) that hold the static scene everywhere else and are restored where the last
frame drew; sigma and IR are recomputed only at pixels the body covers, the stereo shadow only in the rows
it covers and as far to either side as a shadow can reach, and the full-frame work is a dozen in-place
numpy passes (tests/drivers/test_render_fast.py compares the frames with the plain full-frame renderer).

The D4xx artefacts: depth noise sigma = z^2 * subpixel / (fx * baseline), spatially correlated over ~2 px
like a block matcher's; stereo shadow (no depth where the right imager cannot see the point); random
dropouts; no depth beyond range; markers as saturated IR discs with no depth under them and a 1 px invalid
ring. IR elsewhere is ambient light times an albedo plus the emitter's dot pattern, which shifts with depth
(parallax between emitter and left imager) like the real projector's dots do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drivers.samples import Intrinsics
from drivers.sim.capsule_rays import NEAR_M, capsule_bands, capsule_pixels, cone_terms, round_cones
from drivers.sim.marker_rays import Window, marker_coverage
from drivers.sim.pose import Pose
from drivers.sim.raycast import ray_box, ray_plane, ray_plane_z
from station.config import StationConfig

# fx (= fy) of a D435 depth/IR imager per resolution (the 848x480 and 640x480 modes are scaled/cropped)
_FX_PX = {(848, 480): 426.0, (640, 480): 383.0, (1280, 720): 640.0}
_ALBEDO = {"none": 8.0, "wall": 34.0, "floor": 42.0, "plate": 66.0, "body": 56.0}
_MARKER_IR = 255.0
_MAX_SHIFT_PX = 64  # emitter parallax range kept in the dot texture; also the widest shadow drawn
_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=bool)

def default_intrinsics(width: int = 848, height: int = 480) -> Intrinsics:
    """D435-like pinhole intrinsics (no distortion) for 848x480, 640x480 or 1280x720 (others scaled)."""
    fx = _FX_PX.get((width, height), 426.0 * width / 848.0)
    return Intrinsics(width, height, fx, fx, width / 2.0, height / 2.0)


@dataclass
class _Frame:
    """Per-frame working state: full-frame buffers that hold the static scene outside what the last frame
    drew, and flat views and tables derived from the static scene (built on first use, never pickled)."""

    z: np.ndarray  # camera z with the body (H, W) float32
    sigma: np.ndarray
    ir: np.ndarray  # clean IR (before read noise)
    invalid: np.ndarray  # shadow | out of range (before dropouts and markers)
    x_right: np.ndarray  # static: column in the right imager, and that minus 0.5 (shadow test)
    x_right_m05: np.ndarray
    rd_soa: np.ndarray  # ray directions (3, H * W)
    read_noise_bank: np.ndarray  # 3 x the noise bank (IR read noise)
    dropout_bank: np.ndarray  # uniform bank < dropout_frac
    dropout_frac: float
    depth_f: np.ndarray  # work buffers
    ir_f: np.ndarray
    drop: np.ndarray
    max_static_disparity: float
    drawn: Window | None = None  # where z, sigma and IR differ from static
    shadowed: Window | None = None  # where invalid differs from static


class Renderer:
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
        self.seed = seed
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
        self.last_rays_cast = 0  # body rays cast for the last frame
        # the static scene's share of every per-frame product, computed once
        full = (slice(0, H), slice(0, W))
        self._sigma_static = self._sigma(self._z_static)
        self._invalid_static = self._shadow(self._z_static, full) | ~(self._z_static < max_range_m)
        self._ir_static = self._ir_clean(self._z_static, self._albedo_static, full)
        self._frame: _Frame | None = None

    def reseed(self, stream: int) -> None:
        """Draw the per-frame noise from stream `stream` of this renderer's seed: copies of one renderer that
        render alternate frames (drivers.sim.render_process workers) must not repeat each other's noise."""
        self._rng = np.random.default_rng([self.seed, stream])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_frame"] = None  # buffers: rebuilt by whoever renders (e.g. the camera's render process)
        return state

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

    def prepare(self) -> None:
        """Build the per-frame buffers now rather than in the first render (no random draws)."""
        self._frame_state()

    def _frame_state(self) -> _Frame:
        if self._frame is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                x_right = self._cols - np.float32(self.intrinsics.fx * self.baseline_m) / self._z_static
            finite = self._z_static[np.isfinite(self._z_static)]
            z_min = float(finite.min()) if finite.size else np.inf
            self._frame = _Frame(
                z=self._z_static.copy(), sigma=self._sigma_static.copy(), ir=self._ir_static.copy(),
                invalid=self._invalid_static.copy(), x_right=x_right, x_right_m05=x_right - 0.5,
                rd_soa=np.ascontiguousarray(self._rd.reshape(-1, 3).T),
                read_noise_bank=np.float32(3.0) * self._noise_bank,
                dropout_bank=self._uniform_bank < self.dropout_frac, dropout_frac=self.dropout_frac,
                depth_f=np.empty_like(self._z_static), ir_f=np.empty_like(self._z_static),
                drop=np.empty(self._z_static.shape, dtype=bool),
                max_static_disparity=self.intrinsics.fx * self.baseline_m / max(z_min, 1e-3))
        return self._frame

    # --- projection helpers ---------------------------------------------------------------------------
    def _windows(self, lo: np.ndarray, hi: np.ndarray, margin_px: int = 1) -> list[Window | None]:
        """Pixel window of each axis-aligned box lo[i]..hi[i] (plate frame): the projection of its corners
        (the whole frame if a corner is at or behind the camera, None if all are or it is off-frame)."""
        intr = self.intrinsics
        corners = np.where(_CORNERS[None], hi[:, None, :], lo[:, None, :])  # (N, 8, 3)
        p_cam = (corners - self._origin) @ self._R
        z = p_cam[..., 2]
        near = z <= NEAR_M
        with np.errstate(divide="ignore", invalid="ignore"):
            u = intr.fx * p_cam[..., 0] / z + intr.ppx
            v = intr.fy * p_cam[..., 1] / z + intr.ppy
        u0 = np.maximum(np.floor(u.min(axis=1)) - margin_px, 0)
        u1 = np.minimum(np.ceil(u.max(axis=1)) + margin_px + 1, intr.width)
        v0 = np.maximum(np.floor(v.min(axis=1)) - margin_px, 0)
        v1 = np.minimum(np.ceil(v.max(axis=1)) + margin_px + 1, intr.height)
        out: list[Window | None] = []
        for i, (all_near, any_near) in enumerate(zip(near.all(axis=1), near.any(axis=1), strict=True)):
            if all_near:
                out.append(None)
            elif any_near:
                out.append((0, intr.height, 0, intr.width))
            elif u0[i] >= u1[i] or v0[i] >= v1[i]:
                out.append(None)
            else:
                out.append((int(v0[i]), int(v1[i]), int(u0[i]), int(u1[i])))
        return out

    def _bands(self, c0: np.ndarray, c1: np.ndarray, r_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per capsule: the plane's unit normal n and the bound k of its rays (capsule_rays.capsule_bands).
        A method so that one renderer can cast whole boxes (tests/drivers/test_render_fast.py sets k = 0)."""
        return capsule_bands(c0, c1, r_max)

    def _pixels(self, win: np.ndarray, n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat indices of the pixels to cast for each capsule, and the count per capsule
        (capsule_rays.capsule_pixels)."""
        return capsule_pixels(self.intrinsics, win, n, k)

    # --- per frame ------------------------------------------------------------------------------------
    def render(self, pose: Pose, out: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Depth (uint16, units of depth_scale_m, 0 = none) and left IR (uint8) of one pose; into `out`
        (two C-contiguous (H, W) arrays, uint16 and uint8) when given."""
        f = self._frame_state()
        H, W = self._z_static.shape
        self._restore(f)
        body = self._draw_body(f, pose)
        marker_windows = self._markers(pose, f.z)
        noise = self._crop(self._noise_bank)
        if body is not None:
            self._patch_body(f, body)
        # depth: rint((z + sigma * noise) / scale), nothing where invalid or dropped out
        depth_f = f.depth_f
        np.multiply(f.sigma, noise, out=depth_f)
        np.add(f.z, depth_f, out=depth_f)
        depth_f *= np.float32(1.0 / self.depth_scale_m)
        np.rint(depth_f, out=depth_f)
        np.clip(depth_f, 0, 65535, out=depth_f)
        depth = np.empty((H, W), np.uint16) if out is None else out[0]
        with np.errstate(invalid="ignore"):  # nan/inf only where invalid (zeroed below)
            np.copyto(depth, depth_f, casting="unsafe")
        if f.dropout_frac != self.dropout_frac:
            f.dropout_bank, f.dropout_frac = self._uniform_bank < self.dropout_frac, self.dropout_frac
        drop = np.logical_or(f.invalid, self._crop(f.dropout_bank), out=f.drop)
        np.copyto(depth, 0, where=drop)
        ir_f = np.add(f.ir, self._crop(f.read_noise_bank), out=f.ir_f)  # + sensor read noise
        for (vs, us), cov in marker_windows:
            # the stereo matcher fails on the saturated disc and one pixel around it
            bad = cov > 0
            grown = bad.copy()
            grown[1:, :] |= bad[:-1, :]
            grown[:-1, :] |= bad[1:, :]
            grown[:, 1:] |= bad[:, :-1]
            grown[:, :-1] |= bad[:, 1:]
            depth[vs, us][grown] = 0
            ir_f[vs, us] = ir_f[vs, us] * (1 - cov) + _MARKER_IR * cov
        np.clip(ir_f, 0, 255, out=ir_f)
        ir = np.empty((H, W), np.uint8) if out is None else out[1]
        np.copyto(ir, ir_f, casting="unsafe")
        return depth, ir

    def _restore(self, f: _Frame) -> None:
        """Put the static scene back where the last frame drew."""
        if f.drawn is not None:
            v0, v1, u0, u1 = f.drawn
            for buf, static in ((f.z, self._z_static), (f.sigma, self._sigma_static),
                                (f.ir, self._ir_static)):
                buf[v0:v1, u0:u1] = static[v0:v1, u0:u1]
            f.drawn = None
        if f.shadowed is not None:
            v0, v1, u0, u1 = f.shadowed
            f.invalid[v0:v1, u0:u1] = self._invalid_static[v0:v1, u0:u1]
            f.shadowed = None

    def _draw_body(self, f: _Frame, pose: Pose) -> Window | None:
        """Ray-cast the capsules into f.z (z-buffer min); returns the window holding every change."""
        caps = pose.capsules
        self.last_rays_cast = 0
        if not caps:
            return None
        p0 = np.array([c.p0 for c in caps], dtype=float)
        p1 = np.array([c.p1 for c in caps], dtype=float)
        r0 = np.array([c.r0 for c in caps], dtype=float)
        r1 = np.array([c.r1 for c in caps], dtype=float)
        r_max = np.maximum(r0, r1)
        windows = self._windows(np.minimum(p0, p1) - r_max[:, None], np.maximum(p0, p1) + r_max[:, None])
        seen = [i for i, w in enumerate(windows) if w is not None]
        if not seen:
            return None
        win = np.array([windows[i] for i in seen], dtype=np.intp)
        n, k = self._bands((p0[seen] - self._origin) @ self._R, (p1[seen] - self._origin) @ self._R,
                           r_max[seen])
        idx, count = self._pixels(win, n, k)
        self.last_rays_cast = idx.size
        if not idx.size:
            return None
        par = np.repeat(cone_terms(self._origin, p0[seen], p1[seen], r0[seen], r1[seen]), count, axis=1)
        z = round_cones(np.take(f.rd_soa, idx, axis=1), par)
        z *= np.take(self._z_per_range.reshape(-1), idx)
        np.minimum.at(f.z.reshape(-1), idx, z)
        drawn = win[count > 0]
        f.drawn = (int(drawn[:, 0].min()), int(drawn[:, 1].max()), int(drawn[:, 2].min()),
                   int(drawn[:, 3].max()))
        return f.drawn

    def _patch_body(self, f: _Frame, body: Window) -> None:
        """Sigma, clean IR and invalid (shadow, range) where the body covers the static scene."""
        v0, v1, u0, u1 = body
        H, W = self._z_static.shape
        z_win = f.z[v0:v1, u0:u1]
        moved = np.flatnonzero(z_win < self._z_static[v0:v1, u0:u1])
        if not moved.size:
            return
        rows, cols = np.divmod(moved, u1 - u0)
        rows += v0
        cols += u0
        at = rows * W + cols
        z = z_win.reshape(-1)[moved]
        f.sigma.reshape(-1)[at] = self._sigma(z)
        with np.errstate(divide="ignore"):
            inv_z = np.float32(1.0) / z
        shift = np.minimum(inv_z * np.float32(self._shift_per_inv_z), _MAX_SHIFT_PX - 1).astype(np.intp)
        dots = self._dots.reshape(-1)[rows * (W + _MAX_SHIFT_PX) + cols + shift]
        gain = np.minimum(np.float32(2.25) * inv_z * inv_z, np.float32(1.0))
        f.ir.reshape(-1)[at] = np.float32(_ALBEDO["body"]) + dots * gain
        # stereo shadow: redone in the rows the body covers, from as far left of it as its shadow reaches
        # to as far right as anything can shadow it (further out nothing changes; capped like the texture)
        fxb = self.intrinsics.fx * self.baseline_m
        reach_left = min(_MAX_SHIFT_PX, math.ceil(fxb / max(float(z.min()), 1e-3)) + 1)
        reach_right = min(_MAX_SHIFT_PX, math.ceil(f.max_static_disparity) + 1)
        s0, s1 = int(rows.min()), int(rows.max()) + 1
        c0, c1 = max(int(cols.min()) - reach_left, 0), min(int(cols.max()) + 1 + reach_right, W)
        x_right = f.x_right[s0:s1, c0:c1].copy()
        x_right_m05 = f.x_right_m05[s0:s1, c0:c1].copy()
        local = (rows - s0) * (c1 - c0) + (cols - c0)
        x_body = cols.astype(np.float32) - np.float32(fxb) / z
        x_right.reshape(-1)[local] = x_body
        x_right_m05.reshape(-1)[local] = x_body - 0.5
        run_min = np.minimum.accumulate(x_right[:, ::-1], axis=1)[:, ::-1]
        invalid = f.invalid[s0:s1, c0:c1]
        invalid.reshape(-1)[local] = False  # the static scene's shadow and range no longer apply there
        invalid[:, :-1] |= run_min[:, 1:] < x_right_m05[:, :-1]
        invalid.reshape(-1)[local] |= ~(z < self.max_range_m)
        f.shadowed = (s0, s1, c0, c1)

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
        self.last_marker_coverage, windows = marker_coverage(
            self.intrinsics, self._R, self._origin, pose.markers, pose.marker_radius_m, z_body, self._windows)
        return windows
