"""Faces masked in every camera picture the station stores or prints (issue 20, item 1).

A full-face picture identifies a person (health-data law treats it as an identifier), and the side-on IR
and depth frames show the face. So every stored copy (rep stills, frames kept with `--frames`, report
pictures, dashboard screenshots) has the head replaced by a flat disc: depth 0 ("no data") and IR a flat
grey. The live measurement never sees a masked frame: markers and the virtual dowel (which needs the
head contact) run on the camera's own arrays, and masking only ever returns copies. `--keep-faces`
(research consent, recorded in the trial as `faces_kept`) skips it.

Where the head is, in this order:
1. the head marker (tragus) tracked on that frame: a disc of HEAD_RADIUS_M + MARGIN_M around it, in pixels
   at the head's depth (read from the depth image near the marker; nearer reads make the disc larger);
2. else the depth silhouette: the person is the valid depth above the plate (needs T_plate_from_camera);
   the head is the body's end furthest up and forward (the subject faces +x): at the crown when
   standing, at the forehead at the bottom of a hinge; a larger disc around it.
No marker and no person in view: nothing is masked (no person, no face). The other markers' own discs
inside the head disc stay visible (`keep_px`): the acromion marker lies inside any disc that covers the head.

Not covered here: `--frames db3` (the camera's own recorder) is reserved and writes nothing yet; whoever
implements it must mask first or refuse it without `--keep-faces`.

Base layer: plain arrays and intrinsics in, no station import above station.errors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

# the head marker's (u, v) pixel as the tracker gives it (an array, a pair, or None when not seen)
HeadPixel = np.ndarray | tuple[float, float] | None

HEAD_RADIUS_M = 0.15  # tragus to crown, chin or nose tip is < 0.13 m in adults
MARGIN_M = 0.05
SILHOUETTE_RADIUS_M = 0.25  # the head's place from the outline is rougher than from the marker
SILHOUETTE_CENTRE_IN_M = 0.12  # head centre behind the body's up-forward extreme (crown / forehead)
IR_FILL = 128  # flat mid grey: reads as "masked" on the report's grey still, never as a body part
DEPTH_FILL = 0  # 0 = no data in RealSense depth
FALLBACK_HEAD_Z_M = 1.5  # no depth near the head: assume it near (a larger disc is the safe side)
D4XX_FOV_DEG = (87.0, 58.0)  # D435/D455 depth field of view (h, v): nominal focal length without intrinsics
PERSON_BOX_M = ((-0.9, 0.9), (-0.6, 0.6), (0.25, 2.4))  # plate frame x, y, z: body parts above the plate
SILHOUETTE_STEP_PX = 4  # every 4th pixel: enough to find a head 60+ px across, ~16x cheaper
# the other markers' own discs inside the head disc stay visible (the acromion marker sits ~0.16 m from the
# tragus, inside any disc that covers the head): frames kept for re-tracking still show it in IR. Only the
# sphere (README: 9.5 mm radius) and 1 px around it: the skin around it stays masked
MARKER_RADIUS_M = 0.0095
KEEP_MARKER_EXTRA_PX = 1.0


@dataclass(frozen=True)
class CameraGeometry:
    """Pinhole intrinsics of the (pixel-aligned) depth and IR images, the depth unit, and where the camera
    stands (T_plate_from_camera 4x4; None: the silhouette fallback is off)."""

    fx_px: float
    fy_px: float
    ppx_px: float
    ppy_px: float
    depth_scale_m: float = 0.001
    plate_T_camera: np.ndarray | None = None


def nominal_geometry(width_px: int, height_px: int, plate_T_camera: np.ndarray | None = None
                     ) -> CameraGeometry:
    """A D4xx-like geometry when the frame's own intrinsics are not at hand (report, dashboard picture).
    The longer of the focal lengths the nominal 87 x 58 deg field gives: a cropped mode (640x480 is
    narrower) has a longer one than the width alone says, and a longer one only makes the disc larger."""
    fx = max(0.5 * width_px / math.tan(math.radians(D4XX_FOV_DEG[0] / 2)),
             0.5 * height_px / math.tan(math.radians(D4XX_FOV_DEG[1] / 2)))
    return CameraGeometry(fx, fx, width_px / 2.0, height_px / 2.0, 0.001, plate_T_camera)


@dataclass(frozen=True)
class HeadRegion:
    """The disc masked: centre (u, v) and radius in image pixels; source "head marker" or "silhouette";
    depth_m: the head's distance from the camera the radius was scaled with."""

    u_px: float
    v_px: float
    radius_px: float
    source: str
    depth_m: float = float("nan")


def depth_near_m(depth: np.ndarray | None, u_px: float, v_px: float, depth_scale_m: float, half_px: int
                 ) -> float | None:
    """A near-side depth (25th percentile of the valid values, m) in a square window, None if none."""
    if depth is None:
        return None
    h, w = depth.shape[:2]
    u, v = int(round(u_px)), int(round(v_px))
    win = depth[max(v - half_px, 0):min(v + half_px + 1, h), max(u - half_px, 0):min(u + half_px + 1, w)]
    valid = win[win > 0]
    if valid.size == 0:
        return None
    return float(np.percentile(valid, 25)) * depth_scale_m


def head_from_marker(geometry: CameraGeometry, depth: np.ndarray | None, head_px: HeadPixel
                     ) -> HeadRegion | None:
    """The disc around the tracked head marker, or None when the marker was not seen on this frame."""
    if head_px is None:
        return None
    u, v = (float(head_px[0]), float(head_px[1]))  # type: ignore[index]
    if not (math.isfinite(u) and math.isfinite(v)):
        return None
    # at the marker itself; else around it (an already-masked still has no depth in the disc)
    z = depth_near_m(depth, u, v, geometry.depth_scale_m, 4)
    if z is None:
        z = depth_near_m(depth, u, v, geometry.depth_scale_m, 90)
    z = float(np.clip(z if z is not None else FALLBACK_HEAD_Z_M, 0.3, 10.0))
    return HeadRegion(u, v, geometry.fx_px * (HEAD_RADIUS_M + MARGIN_M) / z, "head marker", z)


def head_from_silhouette(geometry: CameraGeometry, depth: np.ndarray | None) -> HeadRegion | None:
    """The head from the person's depth outline above the plate (see the module docstring), or None."""
    if depth is None or geometry.plate_T_camera is None:
        return None
    g, s = geometry, SILHOUETTE_STEP_PX
    sub = depth[::s, ::s].astype(np.float32) * np.float32(g.depth_scale_m)
    vs, us = np.nonzero(sub > 0)
    if vs.size == 0:
        return None
    z = sub[vs, us]
    cam = np.stack([(us * s - g.ppx_px) / g.fx_px * z, (vs * s - g.ppy_px) / g.fy_px * z, z])
    T = np.asarray(g.plate_T_camera, float)
    p = T[:3, :3] @ cam + T[:3, 3:4]
    (x0, x1), (y0, y1), (z0, z1) = PERSON_BOX_M
    body = (p[0] > x0) & (p[0] < x1) & (p[1] > y0) & (p[1] < y1) & (p[2] > z0) & (p[2] < z1)
    if np.count_nonzero(body) < 50:  # no person in view: no face
        return None
    pb = p[:, body]
    score = pb[0] + pb[2]  # up and forward
    top = pb[:, score >= np.percentile(score, 99.5)]
    extreme = np.median(top, axis=1)
    centre = extreme - SILHOUETTE_CENTRE_IN_M * np.array([1.0, 0.0, 1.0]) / math.sqrt(2.0)
    c = np.linalg.inv(T) @ np.append(centre, 1.0)
    if c[2] <= 0.1:
        return None
    u, v = g.fx_px * c[0] / c[2] + g.ppx_px, g.fy_px * c[1] / c[2] + g.ppy_px
    return HeadRegion(float(u), float(v), g.fx_px * (SILHOUETTE_RADIUS_M + MARGIN_M) / float(c[2]),
                      "silhouette", float(c[2]))


def disc_mask(shape: tuple[int, ...], region: HeadRegion) -> tuple[tuple[slice, slice], np.ndarray]:
    """(window, boolean disc inside it): only the disc's bounding box is computed, not the whole frame."""
    h, w = shape[:2]
    r = region.radius_px
    v0, v1 = max(int(math.floor(region.v_px - r)), 0), min(int(math.ceil(region.v_px + r)) + 1, h)
    u0, u1 = max(int(math.floor(region.u_px - r)), 0), min(int(math.ceil(region.u_px + r)) + 1, w)
    if v0 >= v1 or u0 >= u1:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool)
    vv, uu = np.ogrid[v0:v1, u0:u1]
    return (slice(v0, v1), slice(u0, u1)), (uu - region.u_px) ** 2 + (vv - region.v_px) ** 2 <= r * r


def other_markers(pixels: Mapping[str, object]) -> list:
    """The (u, v) of every tracked marker but the head's: what apply(keep_px=...) leaves visible."""
    return [p for name, p in pixels.items() if name != "head"]


def _spare_markers(disc: np.ndarray, win: tuple[slice, slice], region: HeadRegion, keep_px: Iterable,
                   fx_px: float) -> None:
    """Clear the disc (in place) around each marker pixel in keep_px that falls inside it."""
    z = region.depth_m if math.isfinite(region.depth_m) and region.depth_m > 0 else FALLBACK_HEAD_Z_M
    r = fx_px * MARKER_RADIUS_M / z + KEEP_MARKER_EXTRA_PX
    v0, u0 = win[0].start, win[1].start
    for p in keep_px:
        u, v = float(p[0]) - u0, float(p[1]) - v0
        if not (math.isfinite(u) and math.isfinite(v)):
            continue
        vv, uu = np.ogrid[0:disc.shape[0], 0:disc.shape[1]]
        disc &= (uu - u) ** 2 + (vv - v) ** 2 > r * r


@dataclass
class MaskStats:
    """What the masker did: frames masked, pixels masked (last and total), ms spent, regions by source."""

    frames: int = 0
    pixels_last: int = 0
    pixels_total: int = 0
    ms_total: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)

    def ms_per_frame(self) -> float:
        return self.ms_total / self.frames if self.frames else 0.0


class FaceMasker:
    """Masks the head on copies of IR + depth frames (never in place: the live arrays are not touched)."""

    def __init__(self, geometry: CameraGeometry, ir_fill: int = IR_FILL) -> None:
        self.geometry = geometry
        self.ir_fill = int(ir_fill)
        self.stats = MaskStats()

    def region(self, depth: np.ndarray | None, head_px: HeadPixel = None) -> HeadRegion | None:
        return head_from_marker(self.geometry, depth, head_px) or head_from_silhouette(self.geometry, depth)

    def apply(self, ir: np.ndarray | None, depth: np.ndarray | None, head_px: HeadPixel = None,
              keep_px: Iterable = ()) -> tuple[np.ndarray | None, np.ndarray | None, HeadRegion | None]:
        """(masked IR copy, masked depth copy, the region) or the inputs themselves when no head is found.
        keep_px: (u, v) of the other markers (not the head's): their own discs are left visible."""
        t0 = time.perf_counter()
        region = self.region(depth, head_px)
        if region is not None:
            shape = (ir if ir is not None else depth).shape  # type: ignore[union-attr]
            win, disc = disc_mask(shape, region)
            _spare_markers(disc, win, region, keep_px, self.geometry.fx_px)
            if ir is not None:
                ir = ir.copy()
                ir[win][disc] = self.ir_fill
            if depth is not None:
                depth = depth.copy()
                depth[win][disc] = DEPTH_FILL
            st = self.stats
            st.pixels_last = int(np.count_nonzero(disc))
            st.pixels_total += st.pixels_last
            st.sources[region.source] = st.sources.get(region.source, 0) + 1
        self.stats.frames += 1
        self.stats.ms_total += 1000.0 * (time.perf_counter() - t0)
        return ir, depth, region
