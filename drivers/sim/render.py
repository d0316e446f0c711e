"""Depth (z16) and left-IR (y8) frames of a Pose, the force plate and the floor, as a D4xx would see them.

The static scene (floor, plate box, a back wall) is ray-cast once, and so is all that depends on it alone:
noise sigma, stereo shadow, IR (once per process for a camera and seed, shared read-only by its renderers
and left out of their pickles: drivers.sim.render_static). Per frame only rays that can hit the body are
cast: each capsule's projected bounding box, narrowed for a slanted limb to the band of pixel rows' spans
whose rays pass within the capsule's largest radius of the plane through the camera and its axis (a
conservative bound: the hits are the same as over the whole box; drivers.sim.capsule_rays). The body is
drawn into persistent full-frame buffers (z, sigma, IR, invalid) that hold the static scene everywhere else
and are restored where the last frame drew; sigma and IR are recomputed only at pixels the body covers, the
stereo shadow only in the rows it covers and as far to either side as a shadow can reach, and the
full-frame work is a dozen in-place numpy passes (tests/drivers/test_render_fast.py compares the frames
with the plain full-frame renderer).

The D4xx artefacts: depth noise sigma = z^2 * subpixel / (fx * baseline), spatially correlated over ~2 px
like a block matcher's; stereo shadow (no depth where the right imager cannot see the point); random
dropouts; no depth beyond range; markers as saturated IR discs with no depth under them and a 1 px invalid
ring. IR elsewhere is ambient light times an albedo plus the emitter's dot pattern, which shifts with depth
(parallax between emitter and left imager) like the real projector's dots do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from drivers.samples import Intrinsics
from drivers.sim.capsule_rays import NEAR_M, capsule_bands, capsule_pixels, cone_terms, round_cones
from drivers.sim.marker_rays import Window, marker_coverage
from drivers.sim.pose import Pose
from drivers.sim.render_static import (
    ALBEDO,
    MAX_SHIFT_PX,
    Camera,
    bank_key,
    banks,
    kept_bank,
    ray_table,
    rays,
    right_columns,
    static_products,
    static_scene,
)
from station.config import StationConfig

# fx (= fy) of a D435 depth/IR imager per resolution (the 848x480 and 640x480 modes are scaled/cropped)
_FX_PX = {(848, 480): 426.0, (640, 480): 383.0, (1280, 720): 640.0}
_MARKER_IR = 255.0
_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=bool)


def _suffix_min(a: np.ndarray) -> np.ndarray:
    """np.minimum.accumulate(a[:, ::-1], axis=1)[:, ::-1] (each element: the least of it and all to its right
    in its row) by doubling, log2(width) whole-array minimums: numpy's accumulate goes element by element
    (several times slower). The same values: a minimum is exact, and a nan spreads to the same elements."""
    src, dst = a, np.empty_like(a)
    k, n = 1, a.shape[1]
    while k < n:  # src[:, j] = min(a[:, j:j + k]) -> dst[:, j] = min(a[:, j:j + 2k])
        np.minimum(src[:, :-k], src[:, k:], out=dst[:, :-k])
        dst[:, -k:] = src[:, -k:]
        src, dst = dst, (np.empty_like(a) if src is a else src)
        k *= 2
    return src


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
    x_right: np.ndarray  # static: column in the right imager
    ray_table: np.ndarray  # static: ray direction and range -> z factor per pixel (H * W, 4)
    kept_bank: np.ndarray  # uniform bank >= dropout_frac (no dropout)
    dropout_frac: float
    work: np.ndarray  # float depth, then float IR
    keep: np.ndarray  # depth kept: valid and not dropped out
    max_static_disparity: float
    drawn: Window | None = None  # where z, sigma and IR differ from static
    shadowed: Window | None = None  # where invalid differs from static


@dataclass(frozen=True)
class _Static:
    """The init-time inputs of a renderer's static arrays (all a pickle needs to find or rebuild them)."""

    camera: Camera
    seed: Any
    sigma_per_z2: np.float32  # subpixel / (fx * baseline)
    fxb: float  # fx * baseline
    max_range_m: float
    shift_per_inv_z: float

    def __reduce__(self) -> tuple:  # by position: the same pickle before and after a round trip
        return _Static, (self.camera, self.seed, self.sigma_per_z2, self.fxb, self.max_range_m,
                         self.shift_per_inv_z)

    def bank_key(self, intr: Intrinsics) -> tuple | None:
        return bank_key(self.seed, intr.height, intr.width)


_STATIC_ARRAYS = ("_rd", "_rd_soa", "_z_per_range", "_ray_table", "_z_static", "_albedo_static",
                  "_sigma_static", "_invalid_static", "_ir_static", "_noise_bank", "_uniform_bank", "_dots")


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
        self._shift_per_inv_z = intr.fx * emitter_offset_m
        self._static = _Static(
            Camera(intr, self.T_plate_from_camera.copy(), (cfg.plate.size_x_m / 2, cfg.plate.size_y_m / 2),
                   plate_thickness_m, wall_distance_m),
            seed, np.float32(subpixel / (intr.fx * baseline_m)), intr.fx * baseline_m, max_range_m,
            self._shift_per_inv_z)
        # noise banks cropped at random offsets per frame: fresh-looking noise without per-frame RNG cost
        self._noise_bank, self._uniform_bank, self._dots = banks(seed, intr.height, intr.width, self._rng)
        self.last_marker_coverage: dict[str, float] = {}
        self.last_rays_cast = 0  # body rays cast for the last frame
        self._load_static()
        self._frame: _Frame | None = None

    def _load_static(self) -> None:
        """The rays, the static scene and its share of every per-frame product (drivers.sim.render_static:
        shared read-only with other renderers of this camera and seed)."""
        st = self._static
        self._rd, self._rd_soa, self._z_per_range = rays(st.camera)
        self._ray_table = ray_table(st.camera)
        self._z_static, self._albedo_static = static_scene(st.camera)
        self._sigma_static, self._invalid_static, self._ir_static = static_products(
            st.camera, st.bank_key(self.intrinsics), self._dots, st.sigma_per_z2, st.fxb, st.max_range_m,
            st.shift_per_inv_z)

    def reseed(self, stream: int) -> None:
        """Draw the per-frame noise from stream `stream` of this renderer's seed: copies of one renderer that
        render alternate frames (drivers.sim.render_process workers) must not repeat each other's noise."""
        self._rng = np.random.default_rng([self.seed, stream])

    def __getstate__(self) -> dict:
        """Without the per-frame buffers (rebuilt by whoever renders, e.g. the camera's render process) and,
        where __setstate__ can find or rebuild them, without the static arrays."""
        state = self.__dict__.copy()
        state["_frame"] = None
        if self._static.bank_key(self.intrinsics) is not None:
            for name in _STATIC_ARRAYS:
                del state[name]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_rd" not in state:
            st, intr = self._static, self.intrinsics
            # the banks' draws from a generator of their own: this renderer's stream goes on where it was
            self._noise_bank, self._uniform_bank, self._dots = banks(
                st.seed, intr.height, intr.width, np.random.default_rng(st.seed))
            self._load_static()

    def prepare(self) -> None:
        """Build the per-frame buffers now rather than in the first render (no random draws)."""
        self._frame_state()

    def _frame_state(self) -> _Frame:
        if self._frame is None:
            st = self._static
            bank = st.bank_key(self.intrinsics)
            fxb = self.intrinsics.fx * self.baseline_m
            x_right, max_disparity = right_columns(st.camera, fxb)
            self._frame = _Frame(
                z=self._z_static.copy(), sigma=self._sigma_static.copy(), ir=self._ir_static.copy(),
                invalid=self._invalid_static.copy(), x_right=x_right, ray_table=self._ray_table,
                kept_bank=kept_bank(bank, self._uniform_bank, self.dropout_frac),
                dropout_frac=self.dropout_frac, work=np.empty_like(self._z_static),
                keep=np.empty(self._z_static.shape, dtype=bool),
                max_static_disparity=max_disparity)
        return self._frame

    # --- projection helpers ---------------------------------------------------------------------------
    def _windows(self, lo: np.ndarray, hi: np.ndarray, margin_px: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Pixel window (v0, v1, u0, u1) of each axis-aligned box lo[i]..hi[i] (plate frame), the projection
        of its corners, and whether it is seen: the whole frame if a corner is at or behind the camera, not
        seen if all are or it is off-frame. (N, 4) intp (rows not seen: meaningless) and (N,) bool."""
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
        box = np.stack([v0, v1, u0, u1], axis=1)
        any_near, all_near = near.any(axis=1), near.all(axis=1)
        inside = ~any_near & ~((u0 >= u1) | (v0 >= v1))
        if not np.isfinite(box[inside]).all():
            raise ValueError("non-finite geometry: no pixel window")
        win = np.where(inside[:, None], box, 0).astype(np.intp)
        win[any_near & ~all_near] = (0, intr.height, 0, intr.width)
        return win, inside | (any_near & ~all_near)

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
        depth_f = f.work
        np.multiply(f.sigma, noise, out=depth_f)
        np.add(f.z, depth_f, out=depth_f)
        depth_f *= np.float32(1.0 / self.depth_scale_m)
        np.rint(depth_f, out=depth_f)
        np.clip(depth_f, 0, 65535, out=depth_f)
        depth = np.empty((H, W), np.uint16) if out is None else out[0]
        with np.errstate(invalid="ignore"):  # nan/inf only where invalid (zeroed below)
            np.copyto(depth, depth_f, casting="unsafe")
        if f.dropout_frac != self.dropout_frac:
            f.kept_bank = kept_bank(self._static.bank_key(self.intrinsics), self._uniform_bank,
                                    self.dropout_frac)
            f.dropout_frac = self.dropout_frac
        # kept and not invalid (on bools only True > False); a multiply by 0 / 1 is several times cheaper
        # than a masked store
        keep = np.greater(self._crop(f.kept_bank), f.invalid, out=f.keep)
        np.multiply(depth, keep.view(np.uint8), out=depth)
        ir_f = np.multiply(self._crop(self._noise_bank), np.float32(3.0), out=f.work)  # sensor read noise
        ir_f += f.ir
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
        win, seen = self._windows(np.minimum(p0, p1) - r_max[:, None], np.maximum(p0, p1) + r_max[:, None])
        if not seen.any():
            return None
        win, p0, p1, r0, r1, r_max = win[seen], p0[seen], p1[seen], r0[seen], r1[seen], r_max[seen]
        n, k = self._bands((p0 - self._origin) @ self._R, (p1 - self._origin) @ self._R, r_max)
        idx, count = self._pixels(win, n, k)
        self.last_rays_cast = idx.size
        if not idx.size:
            return None
        par = np.repeat(cone_terms(self._origin, p0, p1, r0, r1), count, axis=1)
        ray = np.take(f.ray_table, idx, axis=0)  # (P, 4): direction and range -> z, one gather
        z = round_cones(ray.T[:3], par)
        z *= ray[:, 3]
        np.minimum.at(f.z.reshape(-1), idx, z)
        drawn = win[count > 0]
        f.drawn = (int(drawn[:, 0].min()), int(drawn[:, 1].max()), int(drawn[:, 2].min()),
                   int(drawn[:, 3].max()))
        return f.drawn

    def _patch_body(self, f: _Frame, body: Window) -> None:
        """Sigma, clean IR and invalid (shadow, range) where the body covers the static scene."""
        v0, v1, u0, u1 = body
        H, W = self._z_static.shape
        moved = np.flatnonzero(f.z[v0:v1, u0:u1] < self._z_static[v0:v1, u0:u1])
        if not moved.size:
            return
        rows, cols = np.divmod(moved, u1 - u0)
        rows += v0
        cols += u0
        at = rows * W + cols
        z = np.take(f.z, at)
        f.sigma.reshape(-1)[at] = self._sigma(z)
        with np.errstate(divide="ignore"):
            inv_z = np.float32(1.0) / z
        shift = np.minimum(inv_z * np.float32(self._shift_per_inv_z), MAX_SHIFT_PX - 1).astype(np.intp)
        shift += at
        shift += MAX_SHIFT_PX * rows  # the texture is MAX_SHIFT_PX wider
        dots = np.take(self._dots, shift)
        gain = np.minimum(np.float32(2.25) * inv_z * inv_z, np.float32(1.0))
        f.ir.reshape(-1)[at] = np.float32(ALBEDO["body"]) + dots * gain
        # stereo shadow: redone in the rows the body covers, from as far left of it as its shadow reaches
        # to as far right as anything can shadow it (further out nothing changes; capped like the texture)
        fxb = self.intrinsics.fx * self.baseline_m
        reach_left = min(MAX_SHIFT_PX, math.ceil(fxb / max(float(z.min()), 1e-3)) + 1)
        reach_right = min(MAX_SHIFT_PX, math.ceil(f.max_static_disparity) + 1)
        s0, s1 = int(rows[0]), int(rows[-1]) + 1  # (moved is sorted)
        c0, c1 = max(int(cols.min()) - reach_left, 0), min(int(cols.max()) + 1 + reach_right, W)
        x_right = f.x_right[s0:s1, c0:c1].copy()
        local = (rows - s0) * (c1 - c0) + (cols - c0)
        x_right.reshape(-1)[local] = cols.astype(np.float32) - np.float32(fxb) / z
        run_min = _suffix_min(x_right)
        invalid = f.invalid[s0:s1, c0:c1]
        invalid.reshape(-1)[local] = False  # the static scene's shadow and range no longer apply there
        invalid[:, :-1] |= run_min[:, 1:] < x_right[:, :-1] - 0.5
        invalid.reshape(-1)[local] |= ~(z < self.max_range_m)
        f.shadowed = (s0, s1, c0, c1)

    def _crop(self, bank: np.ndarray) -> np.ndarray:
        H, W = self.intrinsics.height, self.intrinsics.width
        oy, ox = self._rng.integers(0, H), self._rng.integers(0, W)
        return bank[oy:oy + H, ox:ox + W]

    def _sigma(self, z: np.ndarray) -> np.ndarray:
        """D4xx depth RMS error (m): z^2 * subpixel / (fx * baseline)."""
        return z * z * np.float32(self.subpixel / (self.intrinsics.fx * self.baseline_m))

    def _markers(self, pose: Pose, z_body: np.ndarray) -> list:
        """Sub-pixel coverage of each visible marker sphere (occlusion against the body z-buffer)."""
        self.last_marker_coverage, windows = marker_coverage(
            self.intrinsics, self._R, self._origin, pose.markers, pose.marker_radius_m, z_body, self._windows)
        return windows
