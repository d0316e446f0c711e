"""The ray-caster of tests/support/independent_depth.py's body: its primitives (tapered elliptic cylinders,
ellipsoids) hit by the camera's rays, and a D455-like camera that renders them over the static scene.

Nothing here comes from drivers/sim: the rays, the intersections and the noise (tests/support/depth_noise)
are this module's own, so a depth recording made with it tests the station on frames its simulator did not
draw. Speed: a frame ray-casts only the pixels inside each primitive's projected bounding box, and the noise
model runs on a fixed crop around the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drivers.samples import CameraFrame, Intrinsics
from station.config import StationConfig
from tests.support.depth_noise import D455Depth, D455DepthModel, scene_depth

DEPTH_SCALE_M = 0.001


def d455_intrinsics(width: int = 848, height: int = 480) -> Intrinsics:
    """A D455's depth imager at 848x480 as it reports itself (not the simulator's centred fx 426)."""
    s = width / 848.0
    return Intrinsics(width, height, 428.3 * s, 428.3 * s, 423.1 * s, 238.4 * height / 480.0)


# --- the body's primitives --------------------------------------------------------------------------------
@dataclass
class Cone:
    """Tapered elliptic cylinder p0 -> p1: half-thickness a0 -> a1 across the axis in the sagittal plane
    (or any plane for ratio 1), lateral half-width ratio * a; lateral: unit vector of that width."""

    p0: np.ndarray
    p1: np.ndarray
    a0: float
    a1: float
    ratio: float = 1.0
    lateral: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0, 0.0]))

    def bound(self) -> tuple[np.ndarray, float]:
        half = 0.5 * float(np.linalg.norm(self.p1 - self.p0))
        return 0.5 * (self.p0 + self.p1), half + max(self.a0, self.a1) * max(1.0, self.ratio)

    def hit(self, ro: np.ndarray, rd: np.ndarray) -> np.ndarray:
        """Ray parameter t of the entry on the mantle (0 <= s <= L), inf where none. rd (..., 3)."""
        axis = self.p1 - self.p0
        length = float(np.linalg.norm(axis))
        es = axis / length
        ev = self.lateral - (self.lateral @ es) * es
        if np.linalg.norm(ev) < 0.1:  # an axis along the given lateral (a forearm across the chest)
            ev = np.array([1.0, 0.0, 0.0]) - es[0] * es
        ev /= np.linalg.norm(ev)
        eu = np.cross(ev, es)
        q = ro - self.p0
        s0, u0, v0 = q @ es, q @ eu, (q @ ev) / self.ratio
        ds, du, dv = rd @ es, rd @ eu, (rd @ ev) / self.ratio
        g = (self.a1 - self.a0) / length
        r0 = self.a0 + g * s0
        a = du * du + dv * dv - g * g * ds * ds
        b = 2.0 * (u0 * du + v0 * dv - r0 * g * ds)
        c = u0 * u0 + v0 * v0 - r0 * r0
        disc = b * b - 4.0 * a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-b - np.sqrt(disc)) / (2.0 * a)
        s = s0 + t * ds
        ok = (disc >= 0) & (a > 1e-9) & (t > 0) & (s >= 0) & (s <= length) & (r0 + g * t * ds > 0)
        return np.where(ok, t, np.inf)


@dataclass
class Ellipsoid:
    """Centre, orthonormal axes (3, 3) as rows, radii (3,)."""

    centre: np.ndarray
    axes: np.ndarray
    radii: np.ndarray

    def bound(self) -> tuple[np.ndarray, float]:
        return self.centre, float(np.max(self.radii))

    def hit(self, ro: np.ndarray, rd: np.ndarray) -> np.ndarray:
        q = (self.axes @ (ro - self.centre)) / self.radii
        d = (rd @ self.axes.T) / self.radii
        a = np.sum(d * d, axis=-1)
        b = 2.0 * (d @ q)
        c = float(q @ q) - 1.0
        disc = b * b - 4.0 * a * c
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / (2.0 * a)
        return np.where((disc >= 0) & (t > 0), t, np.inf)


# --- the camera --------------------------------------------------------------------------------------------
class DepthCamera:
    """Renders a BodyShape from the station's camera pose: clean z (m), then D455-like z16 and plain IR."""

    def __init__(self, config: StationConfig, intr: Intrinsics, crop: tuple[int, int, int, int], seed: int):
        self.intr = intr
        self.T = config.camera.T_plate_from_camera()
        self.R, self.o = self.T[:3, :3], self.T[:3, 3]
        u, v = np.meshgrid(np.arange(intr.width, dtype=float), np.arange(intr.height, dtype=float))
        d = np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones_like(u)], -1)
        norm = np.linalg.norm(d, axis=-1)
        self.rd = (d / norm[..., None]) @ self.R.T  # unit rays in the plate frame (H, W, 3)
        self.z_per_t = 1.0 / norm
        model = D455Depth()
        plate_xy = (config.plate.size_x_m, config.plate.size_y_m)
        z_static, _ = scene_depth(intr, self.T, plate_xy, {}, 0.02, model)  # no marker spheres
        self.z_static = z_static
        # one noise realisation of the static scene outside the crop (floor, plate ends, wall)
        self.bg_depth = D455DepthModel(intr, model, seed=seed).depth(z_static, np.zeros(z_static.shape, bool))
        # the crop the noise model runs on each frame, extended left by the disparity band the model leaves
        # invalid at an image's left edge (~19 px at 2.2 m) so that band falls outside what is kept
        self.crop = crop
        v0, v1, u0, u1 = crop
        self.band = min(u0, 28)
        ci = Intrinsics(u1 - u0 + self.band, v1 - v0, intr.fx, intr.fy, intr.ppx - u0 + self.band,
                        intr.ppy - v0)
        self.noise = D455DepthModel(ci, model, seed=seed + 1)
        # plain IR: the emitter-lit scene falls off with distance squared, the projector's dots brighter
        self.dots = np.random.default_rng(seed + 2).random((intr.height, intr.width)) < 0.02
        self.bg_ir = self._ir(self.z_static, self.dots)

    def _bbox(self, centre: np.ndarray, radius: float) -> tuple[int, int, int, int] | None:
        pc = self.R.T @ (centre - self.o)
        if pc[2] <= radius + 0.05:
            return None
        zmin = pc[2] - radius
        i = self.intr
        u0 = int(np.floor(i.fx * (pc[0] - radius) / zmin + i.ppx)) if pc[0] - radius < 0 else \
            int(np.floor(i.fx * (pc[0] - radius) / (pc[2] + radius) + i.ppx))
        u1 = int(np.ceil(i.fx * (pc[0] + radius) / zmin + i.ppx)) if pc[0] + radius > 0 else \
            int(np.ceil(i.fx * (pc[0] + radius) / (pc[2] + radius) + i.ppx))
        v0 = int(np.floor(i.fy * (pc[1] - radius) / zmin + i.ppy)) if pc[1] - radius < 0 else \
            int(np.floor(i.fy * (pc[1] - radius) / (pc[2] + radius) + i.ppy))
        v1 = int(np.ceil(i.fy * (pc[1] + radius) / zmin + i.ppy)) if pc[1] + radius > 0 else \
            int(np.ceil(i.fy * (pc[1] + radius) / (pc[2] + radius) + i.ppy))
        u0, u1 = max(u0, 0), min(u1 + 1, i.width)
        v0, v1 = max(v0, 0), min(v1 + 1, i.height)
        return (v0, v1, u0, u1) if u1 > u0 and v1 > v0 else None

    def body_z(self, prims: list[Cone | Ellipsoid]) -> np.ndarray:
        """Clean camera z (m) of the body alone (inf off it), only inside each primitive's bounding box."""
        t_best = np.full((self.intr.height, self.intr.width), np.inf)
        for prim in prims:
            box = self._bbox(*prim.bound())
            if box is None:
                continue
            v0, v1, u0, u1 = box
            t = prim.hit(self.o, self.rd[v0:v1, u0:u1])
            np.minimum(t_best[v0:v1, u0:u1], t, out=t_best[v0:v1, u0:u1])
        return t_best * self.z_per_t

    def frame(self, prims: list[Cone | Ellipsoid], number: int, t_s: float) -> CameraFrame:
        z_body = self.body_z(prims)
        v0, v1, u0, u1 = self.crop
        ub = u0 - self.band
        z = np.minimum(self.z_static[v0:v1, ub:u1], z_body[v0:v1, ub:u1])
        depth = self.bg_depth.copy()
        depth[v0:v1, u0:u1] = self.noise.depth(z, np.zeros(z.shape, bool))[:, self.band:]
        ir = self.bg_ir.copy()
        ir[v0:v1, u0:u1] = self._ir(z[:, self.band:], self.dots[v0:v1, u0:u1])
        return CameraFrame(number, 1000.0 * t_s, "hardware_clock", int(t_s * 1e9), depth, ir, DEPTH_SCALE_M,
                           self.intr)

    @staticmethod
    def _ir(z_m: np.ndarray, dots: np.ndarray) -> np.ndarray:
        """uint8 IR of clean depth z_m: no stickers, only the emitter's light."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ir = np.clip(150.0 * (2.0 / z_m) ** 2, 0, 255)
        return np.clip(np.where(np.isfinite(ir), ir, 0.0) + 60.0 * dots, 0, 255).astype(np.uint8)
