"""What a drivers.sim.render.Renderer computes once: per camera the rays and the static scene (floor, plate
box, back wall) with its shares of the per-frame products, per seed the noise banks and the emitter's dot
texture. They depend only on immutable inputs (intrinsics, camera pose, plate, seed...), so they are cached
per process, keyed by those inputs exactly, and handed out read-only: renderers of one camera and seed share
them (a test builds many), and a pickled renderer carries none of them (drivers.sim.render_process sends it
to its workers, which find or rebuild them here). Cached or not, each array comes from the same arithmetic,
bit for bit, as a renderer computing it for itself.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from drivers.samples import Intrinsics
from drivers.sim.raycast import ray_plane, ray_plane_z

ALBEDO = {"none": 8.0, "wall": 34.0, "floor": 42.0, "plate": 66.0, "body": 56.0}
MAX_SHIFT_PX = 64  # emitter parallax range kept in the dot texture; also the widest shadow drawn
_CACHE_BYTES = 256 << 20  # several cameras and seeds (848x480: ~18 MB a camera, ~18 MB a seed)
_cache: OrderedDict[tuple, tuple] = OrderedDict()
_cache_bytes = 0


def exact(*values: Any) -> tuple | None:
    """A key equal only where the arithmetic on the values is bit-identical: each scalar's type (a numpy
    float64 promotes float32 arrays, a Python float does not) and repr (tells -0.0 from 0.0), each array's
    dtype, shape and bytes; None (nothing cached) for any other kind of value."""
    key: list = []
    for v in values:
        if isinstance(v, np.ndarray):
            key.append((v.dtype.str, v.shape, v.tobytes()))
        elif v is None or isinstance(v, (bool, int, float, str, np.integer, np.floating)):
            key.append((type(v).__name__, repr(v)))
        else:
            return None
    return tuple(key)


def join(*keys: tuple | None) -> tuple | None:
    """One key of several (None if any is None)."""
    return None if any(k is None for k in keys) else keys


def cached(tag: str, key: tuple | None, build: Callable[[], tuple]) -> tuple:
    """build()'s result (arrays made read-only, other items copied in and out), kept for `key`; the least
    recently used go past _CACHE_BYTES of arrays. key None: built every time, not kept."""
    global _cache_bytes
    if key is None:
        return build()
    full_key = (tag, key)
    hit = _cache.get(full_key)
    if hit is None:
        hit = build()
        for a in hit:
            if isinstance(a, np.ndarray):
                a.flags.writeable = False
        _cache[full_key] = hit = tuple(a if isinstance(a, np.ndarray) else copy.deepcopy(a) for a in hit)
        _cache_bytes += _nbytes(hit)
        while _cache_bytes > _CACHE_BYTES and len(_cache) > 1:
            _cache_bytes -= _nbytes(_cache.popitem(last=False)[1])
    else:
        _cache.move_to_end(full_key)
    return tuple(a if isinstance(a, np.ndarray) else copy.deepcopy(a) for a in hit)


def _nbytes(items: tuple) -> int:
    return sum(a.nbytes for a in items if isinstance(a, np.ndarray))


@dataclass(frozen=True)
class Camera:
    """The inputs of the rays and the static scene, as the Renderer was constructed."""

    intrinsics: Intrinsics
    T_plate_from_camera: np.ndarray  # (4, 4) float, a copy of its own
    plate_half_m: tuple[float, float]
    thickness_m: float
    wall_distance_m: float | None

    def __reduce__(self) -> tuple:  # by position: the same pickle before and after a round trip
        return Camera, (self.intrinsics, self.T_plate_from_camera, self.plate_half_m, self.thickness_m,
                        self.wall_distance_m)

    def key(self) -> tuple | None:
        i = self.intrinsics
        return exact(i.width, i.height, i.fx, i.fy, i.ppx, i.ppy, self.T_plate_from_camera,
                     *self.plate_half_m, self.thickness_m, self.wall_distance_m)


def rays(cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ray directions in the plate frame, (H, W, 3) and the same as (3, H * W), float32, and the factor
    from range along each ray to camera z (H, W)."""
    def build() -> tuple:
        intr = cam.intrinsics
        H, W = intr.height, intr.width
        R = cam.T_plate_from_camera[:3, :3]
        u, v = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
        d_cam = np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones_like(u)], axis=-1)
        norm = np.linalg.norm(d_cam, axis=-1)
        rd = ((d_cam / norm[..., None]) @ R.T.astype(np.float32)).astype(np.float32)
        return rd, np.ascontiguousarray(rd.reshape(-1, 3).T), (1.0 / norm).astype(np.float32)
    return cached("rays", cam.key(), build)


def ray_table(cam: Camera) -> np.ndarray:
    """Per pixel (flat, H * W rows) its unit ray direction and range -> camera z factor, (H * W, 4) float32:
    the body's rays are gathered from it with one take of 16-byte rows, not four scattered ones."""
    def build() -> tuple:
        _, rd_soa, z_per_range = rays(cam)
        return (np.ascontiguousarray(np.vstack([rd_soa, z_per_range.reshape(1, -1)]).T),)
    return cached("ray_table", cam.key(), build)[0]


def static_scene(cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Camera z (H, W) float32 of the floor, plate box and wall (inf where none), and their albedo."""
    def build() -> tuple:
        intr = cam.intrinsics
        H, W = intr.height, intr.width
        rd_hw, rd_soa, z_per_range = rays(cam)
        rd = rd_hw.reshape(-1, 3)
        R = cam.T_plate_from_camera[:3, :3]
        ro = cam.T_plate_from_camera[:3, 3].copy()
        hx, hy = cam.plate_half_m
        layers = [
            ("floor", ray_plane_z(ro, rd, -cam.thickness_m)),
            ("plate", _ray_box(ro, rd_soa, np.array([-hx, -hy, -cam.thickness_m]), np.array([hx, hy, 0.0]))),
        ]
        if cam.wall_distance_m is not None:
            view = R[:, 2].copy()
            view[2] = 0.0
            normal = view / np.linalg.norm(view)
            layers.append(("wall", ray_plane(ro, rd, normal * cam.wall_distance_m, normal)))
        z = np.full(H * W, np.inf, dtype=np.float32)
        albedo = np.full(H * W, ALBEDO["none"], dtype=np.float32)
        for name, t in layers:
            hit = t < z
            z[hit] = t[hit]
            albedo[hit] = ALBEDO[name]
        z *= z_per_range.reshape(-1)
        return z.reshape(H, W), albedo.reshape(H, W)
    return cached("scene", cam.key(), build)


def _ray_box(ro: np.ndarray, rd_soa: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """drivers.sim.raycast.ray_box's arithmetic on (3, N) rays, one slab at a time: its nanmax / nanmin over
    (N, 3) are fmax / fmin reductions, several times slower (a signed zero they might order differently is
    no hit either way)."""
    t_near = t_far = None
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(3):
            inv = (1.0 / rd_soa[j]).astype(np.float64)  # float32 1 / rd, promoted as in ray_box's product
            t0 = (lo - ro)[j] * inv
            t1 = (hi - ro)[j] * inv
            near, far = np.minimum(t0, t1), np.maximum(t0, t1)
            t_near = near if t_near is None else np.fmax(t_near, near)
            t_far = far if t_far is None else np.fmin(t_far, far)
    return np.where((t_near <= t_far) & (t_near > 0), t_near, np.float32(np.inf)).astype(np.float32)


def bank_key(seed: Any, H: int, W: int) -> tuple | None:
    """The key of a seed's banks (None: a seed that is not an integer, e.g. entropy, is not cached)."""
    return exact(seed, H, W) if isinstance(seed, (int, np.integer)) else None


def banks(seed: Any, H: int, W: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The noise bank (2H, 2W; correlated over ~2 px), the uniform bank (2H, 2W) and the emitter's dot
    texture (H, W + MAX_SHIFT_PX), drawn from `rng` = default_rng(seed), which is left as the draws leave
    it (on a cache hit too)."""
    def build() -> tuple:
        coarse = rng.standard_normal((H + 1, W + 1)).astype(np.float32)
        coarse = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[: 2 * H, : 2 * W]
        fine = rng.standard_normal((2 * H, 2 * W)).astype(np.float32)
        noise = np.sqrt(np.float32(0.5)) * (fine + coarse)
        uniform = rng.random((2 * H, 2 * W), dtype=np.float32)
        tex_shape = (H, W + MAX_SHIFT_PX)
        dots = (rng.random(tex_shape) < 0.18) * rng.uniform(40, 95, tex_shape)
        return noise, uniform, dots.astype(np.float32), rng.bit_generator.state
    noise, uniform, dots, state = cached("banks", bank_key(seed, H, W), build)
    rng.bit_generator.state = state  # a no-op after drawing; on a hit, past the draws the banks took
    return noise, uniform, dots


def kept_bank(key: tuple | None, uniform_bank: np.ndarray, dropout_frac: float) -> np.ndarray:
    """Where the uniform bank is not below dropout_frac (the pixels a dropout spares); key: the bank's."""
    return cached("kept", join(key, exact(dropout_frac)),
                  lambda: (np.logical_not(uniform_bank < dropout_frac),))[0]


def right_columns(cam: Camera, fxb: float) -> tuple[np.ndarray, float]:
    """Static scene: each pixel's column in the right imager (fxb = fx * baseline), the largest disparity."""
    def build() -> tuple:
        z = static_scene(cam)[0]
        cols = np.arange(cam.intrinsics.width, dtype=np.float32)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            x_right = cols - np.float32(fxb) / z
        finite = z[np.isfinite(z)]
        z_min = float(finite.min()) if finite.size else np.inf
        return x_right, fxb / max(z_min, 1e-3)
    return cached("right", join(cam.key(), exact(fxb)), build)


def static_products(cam: Camera, bank: tuple | None, dots: np.ndarray, sigma_per_z2: np.float32, fxb: float,
                    max_range_m: float, shift_per_inv_z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The static scene's depth noise sigma (sigma_per_z2 z^2), invalid (stereo shadow, out of range) and
    clean IR (albedo plus the emitter's dots, shifted by shift_per_inv_z / z) (H, W); bank: the dots' key."""
    def sigma() -> tuple:
        z = static_scene(cam)[0]
        return (z * z * sigma_per_z2,)

    def invalid() -> tuple:
        z = static_scene(cam)[0]
        x_right = right_columns(cam, fxb)[0]
        run_min = np.minimum.accumulate(x_right[:, ::-1], axis=1)[:, ::-1]
        shadow = np.zeros(z.shape, dtype=bool)
        shadow[:, :-1] = run_min[:, 1:] < x_right[:, :-1] - 0.5
        return (shadow | ~(z < max_range_m),)

    def ir() -> tuple:
        z, albedo = static_scene(cam)
        with np.errstate(divide="ignore"):
            inv_z = np.float32(1.0) / z
        shift = np.minimum(inv_z * np.float32(shift_per_inv_z), MAX_SHIFT_PX - 1).astype(np.intp)
        cols = np.arange(z.shape[1])[None, :]
        gain = np.minimum(np.float32(2.25) * inv_z * inv_z, np.float32(1.0))
        return (albedo + np.take_along_axis(dots, shift + cols, axis=1) * gain,)

    key = cam.key()
    return (cached("sigma", join(key, exact(sigma_per_z2)), sigma)[0],
            cached("invalid", join(key, exact(fxb, max_range_m)), invalid)[0],
            cached("ir", join(key, bank, exact(shift_per_inv_z)), ir)[0])
