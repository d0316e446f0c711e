"""A D455-like depth model of another shape than the simulator's, for testing camera calibration.

The station's renderer (drivers/sim/render.py) adds depth-domain Gaussian noise sigma = z^2 * subpixel /
(fx * baseline) correlated over ~2 px, plus a 1 px invalid ring around each marker disc and a stereo
shadow. A recording from someone else's camera is not made that way. This module ray-casts the same
kind of scene itself (floor, plate box, an optional back wall, the marker spheres as real geometry) and
turns the clean depth into what a D455's stereo matcher would hand out:

* Disparity domain. d = fx * B / z with the D455's baseline B = 95 mm (the renderer's D435: 50 mm) and
  the renderer's intrinsics (fx 426 px at 848x480; a D455 reports ~425-430). Noise is added to d, not
  to z, so the depth error grows as z^2 / (fx * B) and is skewed (z = fx B / (d + e)); d is quantised to
  the matcher's 1/32 px sub-pixel step before converting back (at 2.4 m one step is ~4 mm of depth),
  and z to the 1 mm depth unit.
* Noise of another shape. rms `subpixel_rms_px` = 0.07 px (Intel quotes 0.05-0.1 px sub-pixel RMS for
  D4xx with the emitter on): ~9 mm rms at 2.3 m, inside the D455's "< 2% at 4 m". 80% of its variance
  (`blob_share`) is in blobs: white noise low-pass filtered with a Gaussian of `blob_sigma_px` = 4 px
  (blobs ~8-15 px across, the footprint of the matcher's aggregation and of the spatial filter), and
  half of that (`static_share`) is fixed over frames: in a still scene the projector's dots do not move,
  so most of a D4xx's spatial error repeats frame to frame and averaging frames does not remove it. The
  rest is fresh white noise each frame. (Renderer: white plus 2x2 blocks, all fresh each frame.)
* Edges. A block matcher's window straddling a depth step is dominated by the nearer surface: background
  pixels within `fatten_px` = 2 px of a foreground edge take the foreground's disparity (foreground
  fattening); further out, up to `edge_window_px` = 4 px (half a 7-9 px census window), they are flying
  pixels (a uniform random mix of the two disparities) or, `flying_invalid` of them, invalid. An edge is
  a disparity step > `edge_jump_px` = 0.25 px between neighbours (a plate or floor seen at ~20 degrees
  slopes by ~0.1 px per pixel). This acts on the plate's far edge and ends and on the markers' rims.
* Invalid pixels. The saturated marker disc has no depth and a ring of `marker_ring_px` around it goes
  invalid with probability `marker_ring_invalid`; stereo shadow (background the right imager cannot
  see, left of a foreground edge) and the left band where the imagers do not overlap are 0; random
  dropouts come as small blobs (`dropout_frac`), not single pixels; nothing nearer than the D455's
  0.52 m minimum range.
* Optionally a systematic disparity offset `disparity_offset_px` (a unit off its factory calibration:
  depth off by z^2 / (fx B) * offset, 0.05 px is ~7 mm at 2.3 m; 0 by default).
* Another lab: the plate 60 mm thick (renderer 50 mm), a wall 0.9 m behind the plate centre (2.5 m).

The left IR comes from the station's renderer (the discs, the emitter's dots), rendered with the same
plate thickness and wall, so the detector sees the same discs as in the simulator; only depth differs.
numpy, scipy and OpenCV; ~0.03 s per 848x480 frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from drivers.samples import CameraFrame, Intrinsics
from drivers.sim.raycast import ray_box, ray_plane, ray_plane_z, ray_sphere


@dataclass
class D455Depth:
    """Parameters of the other-shaped depth model (defaults: a D455 at 848x480, a lab unlike ours)."""

    baseline_m: float = 0.095
    subpixel_rms_px: float = 0.07  # total disparity noise rms
    blob_share: float = 0.8  # share of the noise variance in low-pass blobs
    blob_sigma_px: float = 4.0  # Gaussian sigma of the blobs: ~8-15 px across
    static_share: float = 0.5  # share of the blob variance fixed over frames (fixed-pattern ripple)
    disparity_step_px: float = 1.0 / 32.0
    disparity_offset_px: float = 0.0
    edge_jump_px: float = 0.25  # a step this big between neighbours is an edge (a slope is ~0.1 px/px)
    edge_window_px: float = 4.0  # half-width of the matcher window: how far an edge's effects reach
    fatten_px: float = 2.0  # background pixels this close to a foreground edge take its disparity
    flying_invalid: float = 0.3  # share of the remaining edge pixels left invalid (others: flying)
    marker_ring_px: int = 2
    marker_ring_invalid: float = 0.7
    dropout_frac: float = 0.015
    min_z_m: float = 0.52
    max_z_m: float = 6.0
    plate_thickness_m: float = 0.06
    wall_distance_m: float | None = 0.9  # behind the plate centre along the level view (renderer: 2.5)


def _pixel_rays(intr: Intrinsics, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray directions (H*W, 3) in the plate frame and range -> camera z factors (H*W,)."""
    u, v = np.meshgrid(np.arange(intr.width, dtype=np.float64), np.arange(intr.height, dtype=np.float64))
    d = np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones_like(u)], -1).reshape(-1, 3)
    norm = np.linalg.norm(d, axis=1)
    return (d / norm[:, None]) @ R.T, 1.0 / norm


def scene_depth(intr: Intrinsics, T_plate_from_camera: np.ndarray, plate_size_xy: tuple[float, float],
                markers: dict[str, np.ndarray], marker_r: float, model: D455Depth
                ) -> tuple[np.ndarray, np.ndarray]:
    """Clean camera z (H, W) of floor, plate box, wall and marker spheres; and the marker-hit mask."""
    R, o = T_plate_from_camera[:3, :3], T_plate_from_camera[:3, 3]
    rd, z_per_t = _pixel_rays(intr, R)
    rd = rd.astype(np.float64)
    hx, hy = plate_size_xy[0] / 2, plate_size_xy[1] / 2
    t = np.minimum(ray_plane_z(o, rd, -model.plate_thickness_m).astype(np.float64),
                   ray_box(o, rd, np.array([-hx, -hy, -model.plate_thickness_m]), np.array([hx, hy, 0.0])))
    if model.wall_distance_m is not None:
        view = R[:, 2].copy()
        view[2] = 0.0
        normal = view / np.linalg.norm(view)
        t = np.minimum(t, ray_plane(o, rd, normal * model.wall_distance_m, normal))
    t_m = np.full_like(t, np.inf)
    for c in markers.values():
        t_m = np.minimum(t_m, ray_sphere(o, rd, np.asarray(c, float), marker_r).astype(np.float64))
    on_marker = t_m < t
    t = np.minimum(t, t_m)
    shape = (intr.height, intr.width)
    return (t * z_per_t).reshape(shape), on_marker.reshape(shape)


def _blobs(rng: np.random.Generator, shape, sigma_px: float) -> np.ndarray:
    """Unit-variance Gaussian noise low-pass filtered over ~2.5 sigma_px: the noise's blobs."""
    # OpenCV's separable blur with scipy.ndimage.gaussian_filter's kernel (radius 4 sigma) and edge ("reflect"
    # is cv2's BORDER_REFLECT): the same values to 1e-15, in 40 % of the time
    radius = int(4.0 * sigma_px + 0.5)
    b = cv2.GaussianBlur(rng.standard_normal(shape), (2 * radius + 1, 2 * radius + 1), sigma_px,
                         borderType=cv2.BORDER_REFLECT)
    return b / b.std()


def _nearest_edge(edge: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: the distance (px) to the nearest `edge` pixel and that pixel's `d` (inf and d itself where
    there is no edge). OpenCV's 5x5 chamfer transform with nearest-pixel labels: against scipy's exact
    distance_transform_edt the same distance classes up to 4 px (the chamfer steps keep the order of every
    offset within that radius) and the same nearest pixel, in a sixth of the time."""
    rows, cols = np.nonzero(edge)  # raster order: OpenCV numbers the edge pixels the same way, from 1
    if rows.size == 0:
        return np.full(edge.shape, np.inf, np.float32), d
    dist, label = cv2.distanceTransformWithLabels((~edge).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5,
                                                  labelType=cv2.DIST_LABEL_PIXEL)
    flat_index = rows * edge.shape[1] + cols
    return dist, d.ravel()[flat_index[label - 1]]


def _upper_quantile(a: np.ndarray, q: float) -> float:
    """np.quantile(a, q) (linear interpolation) from a partial sort around its two ranks: the same value,
    a tenth of the time on a frame."""
    flat = a.ravel()
    pos = q * (flat.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, flat.size - 1)
    part = np.partition(flat, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


class D455DepthModel:
    """Clean depth -> D455-like z16 frames; one instance per recording (holds the fixed pattern)."""

    def __init__(self, intr: Intrinsics, model: D455Depth | None = None, seed: int = 0,
                 depth_scale_m: float = 0.001) -> None:
        self.intr = intr
        self.m = model or D455Depth()
        self.depth_scale_m = depth_scale_m
        self.rng = np.random.default_rng(seed)
        self.shape = (intr.height, intr.width)
        self._static = _blobs(self.rng, self.shape, self.m.blob_sigma_px)

    def depth(self, z_clean: np.ndarray, on_marker: np.ndarray) -> np.ndarray:
        """uint16 depth (units of depth_scale_m, 0 = none) of one frame."""
        m, rng = self.m, self.rng
        fb = self.intr.fx * m.baseline_m
        with np.errstate(divide="ignore"):
            d = np.where(np.isfinite(z_clean), fb / z_clean, 0.0)
        # --- edges: the matcher window straddling a depth step -------------------------------------
        # foreground edge pixels: nearer than a 4-neighbour by more than a smooth surface's slope can be
        jump = np.zeros(self.shape, dtype=bool)
        dv, du = d[1:, :] - d[:-1, :], d[:, 1:] - d[:, :-1]
        jump[:-1, :] |= dv < -m.edge_jump_px
        jump[1:, :] |= dv > m.edge_jump_px
        jump[:, :-1] |= du < -m.edge_jump_px
        jump[:, 1:] |= du > m.edge_jump_px
        dist, fg = _nearest_edge(jump, d)  # fg: disparity of the nearest foreground edge pixel
        behind = (dist > 0) & (dist <= m.edge_window_px) & (fg - d > m.edge_jump_px)
        d_edge = d.copy()
        fat = behind & (dist <= m.fatten_px)
        d_edge[fat] = fg[fat]
        outer = behind & ~fat
        mix = rng.random(self.shape)
        fly = outer & (mix >= m.flying_invalid)
        frac = (mix[fly] - m.flying_invalid) / (1.0 - m.flying_invalid)  # uniform 0..1: anywhere between
        d_edge[fly] = d[fly] + frac * (fg[fly] - d[fly])
        invalid = outer & ~fly
        # --- noise in the disparity domain --------------------------------------------------------
        s_blob = m.subpixel_rms_px * np.sqrt(m.blob_share)
        s_white = m.subpixel_rms_px * np.sqrt(1.0 - m.blob_share)
        blob = (np.sqrt(m.static_share) * self._static
                + np.sqrt(1.0 - m.static_share) * _blobs(rng, self.shape, m.blob_sigma_px))
        d_meas = d_edge + m.disparity_offset_px + s_blob * blob + s_white * rng.standard_normal(self.shape)
        d_meas = np.round(d_meas / m.disparity_step_px) * m.disparity_step_px
        # --- invalid pixels ---------------------------------------------------------------------------
        ring_draw = rng.random(self.shape)  # drawn with or without markers: the same noise after it
        if on_marker.any():
            ring = ndimage.binary_dilation(on_marker, iterations=m.marker_ring_px) & ~on_marker
            invalid |= on_marker | (ring & (ring_draw < m.marker_ring_invalid))
        invalid |= self._shadow(d) | (np.arange(self.shape[1])[None, :] - d < 0)
        drop = _blobs(rng, self.shape, 1.5)
        invalid |= drop > _upper_quantile(drop, 1.0 - m.dropout_frac)
        with np.errstate(divide="ignore"):
            z = np.where(d_meas > 0, fb / d_meas, 0.0)
        invalid |= (d <= 0) | (z < m.min_z_m) | (z > m.max_z_m)
        depth = np.rint(z / self.depth_scale_m)
        depth[invalid] = 0
        return np.clip(depth, 0, 65535).astype(np.uint16)

    @staticmethod
    def _shadow(d: np.ndarray) -> np.ndarray:
        """Pixels the right imager (at +baseline along x) cannot see: a surface further right and nearer
        lands at or left of them in the right image."""
        x_right = np.arange(d.shape[1])[None, :] - d
        right_min = np.minimum.accumulate(x_right[:, ::-1], axis=1)[:, ::-1]
        shadow = np.zeros(d.shape, dtype=bool)
        shadow[:, :-1] = right_min[:, 1:] <= x_right[:, :-1] - 0.5
        return shadow


def d455_frames(T_plate_from_camera: np.ndarray, config, markers: dict[str, np.ndarray], marker_r: float,
                n: int = 4, seed: int = 0, model: D455Depth | None = None) -> list[CameraFrame]:
    """`n` frames of the empty plate with `markers`: the renderer's IR, this module's D455-like depth."""
    from drivers.sim.pose import Pose
    from drivers.sim.render import Renderer

    model = model or D455Depth()
    r = Renderer(T_plate_from_camera=T_plate_from_camera, seed=1000 + seed, config=config,
                 plate_thickness_m=model.plate_thickness_m, wall_distance_m=model.wall_distance_m)
    z_clean, on_marker = scene_depth(r.intrinsics, np.asarray(T_plate_from_camera, float),
                                     (config.plate.size_x_m, config.plate.size_y_m), markers, marker_r, model)
    noise = D455DepthModel(r.intrinsics, model, seed=seed, depth_scale_m=r.depth_scale_m)
    frames = []
    for k in range(n):
        _, ir = r.render(Pose(k / 30, (), markers, marker_r))
        frames.append(CameraFrame(k + 1, k * 33.3, "hardware_clock", 0, noise.depth(z_clean, on_marker), ir,
                                  r.depth_scale_m, r.intrinsics))
    return frames
