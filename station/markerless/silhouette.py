"""The subject's side silhouette from one depth frame, as an orthographic sagittal (x-z) occupancy grid.

Every pixel whose depth puts it in the volume over the plate (above the plate top, within the plate's x/y
range plus a margin, not beyond its far edge) is moved into the plate frame with the camera calibration and
dropped into a grid over x (anterior) and z (up). The camera looks across the sagittal plane, so the grid is
the side view with the perspective removed: a metre is a metre at every depth. The plate, the floor and a
wall behind are outside the volume. Holes (dropouts, one cell between pixel rays) are closed.

Connected parts of the grid: the largest is the subject; another large part (a second person in view, a
bag) makes the frame ambiguous, never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from drivers.samples import CameraFrame

CELL_M = 0.006            # grid cell: a little coarser than a pixel at 2 m (5 mm) so the grid has no holes
ABOVE_PLATE_M = 0.025     # the plate top's own depth noise stays below this
MARGIN_X_M = 0.55         # a hinge puts the buttocks ~0.45 m behind the heels and the head over the toes
MARGIN_Y_M = 0.25         # feet at hip width, arms out: the body stays inside the plate's width plus this
TOP_M = 2.4               # nobody on the plate is taller
OTHER_PART_MIN_FRAC = 0.08  # a second part this large (share of the subject's area) is "something else"
# a part just above the subject's top and over it is the head cut off at the neck (black hair or a dark collar
# gives a stereo camera no depth; a clean render's thin neck can miss a cell): joined, not someone else
HEAD_GAP_M = 0.08
HEAD_OVER_M = 0.10  # its x within the subject's x range widened by this either way
# the seen y averaged over this many cells square (3 cm): one pixel's depth is +-15 mm at 2 m, the planes
# told apart (a limb's own outline, an arm hanging lateral to it) are 50 mm or more apart
SMOOTH_Y_CELLS = 5
# flying pixels (a depth between two surfaces at an edge): a pixel needs this many of its 8 neighbours within
# the larger of FLYING_TOL_M and FLYING_TOL_FRAC of its depth (a surface's noise between neighbours: ~1-2 cm
# at 2 m; a flying pixel's neighbours lie anywhere across the depth step)
FLYING_MIN_NEIGHBOURS = 2
FLYING_TOL_M = 0.05
FLYING_TOL_FRAC = 0.03


@dataclass
class Silhouette:
    """Occupancy (nz, nx) uint8 (row 0 at z = z0_m, rising), cell size, grid origin; the subject's
    area (m^2), when another sizeable part is in view what it is (a reason string), and y_m: (nz, nx)
    float32 plate y of a point seen in each cell (NaN: none; the across-the-body coordinate that tells the
    back's own outline, near the mid-sagittal plane, from an arm beside it, and a leg's outline from a hand
    hanging lateral to it)."""

    grid: np.ndarray
    cell_m: float
    x0_m: float
    z0_m: float
    area_m2: float
    other: str | None = None
    y_m: np.ndarray | None = None
    _y_smooth: tuple[np.ndarray, int] | None = field(default=None, repr=False)
    _solid: np.ndarray | None = field(default=None, repr=False)

    def smooth_y_m(self, below_z_m: float | None = None) -> np.ndarray | None:
        """y_m averaged over the seen cells within SMOOTH_Y_CELLS square (NaN where none), made once a frame;
        below_z_m: only the rows up to that height are needed (the legs': a third of the work), NaN above."""
        if self.y_m is None:
            return None
        rows = self.grid.shape[0] if below_z_m is None else \
            min(int((below_z_m - self.z0_m) / self.cell_m) + SMOOTH_Y_CELLS, self.grid.shape[0])
        if self._y_smooth is None or self._y_smooth[1] < rows:
            y = self.y_m[:rows]
            seen = np.isfinite(y)
            k = (SMOOTH_Y_CELLS, SMOOTH_Y_CELLS)
            total = cv2.boxFilter(np.where(seen, y, np.float32(0)), -1, k, normalize=False)
            count = cv2.boxFilter(seen.astype(np.float32), -1, k, normalize=False)
            out = np.full(self.y_m.shape, np.nan, np.float32)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:rows] = total / count  # 0/0: NaN where no cell around was seen
            self._y_smooth = (out, rows)
        return self._y_smooth[0]

    def solid_grid(self) -> np.ndarray:
        """The grid opened by a 3x3 square (made once): spikes one or two cells thin off an outline (a depth
        camera's flying pixels at an edge, a mix of the body's depth and the background's) are gone, a limb is
        not. Limb edges are read from it; the trunk's reading keeps the plain grid."""
        if self._solid is None:
            self._solid = cv2.morphologyEx(self.grid, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        return self._solid

    def to_cells(self, x_m: np.ndarray, z_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plate (x, z) -> fractional cell (column, row)."""
        return (np.asarray(x_m) - self.x0_m) / self.cell_m, (np.asarray(z_m) - self.z0_m) / self.cell_m

    def top_z_m(self) -> float:
        """Height of the silhouette's top: the highest row at least two cells wide (a stray flying pixel
        above the head is not the vertex)."""
        rows = np.flatnonzero(np.count_nonzero(self.grid, axis=1) >= 2)
        return float(self.z0_m + (rows[-1] + 1) * self.cell_m) if rows.size else float("nan")


class SilhouetteMaker:
    """Per camera (intrinsics + calibration): the pixel rays and the volume, made once."""

    def __init__(self, T_plate_from_camera: np.ndarray, plate_size_xy_m: tuple[float, float], *,
                 cell_m: float = CELL_M) -> None:
        self.T = np.asarray(T_plate_from_camera, float)
        self.half_x = plate_size_xy_m[0] / 2 + MARGIN_X_M
        self.half_y = plate_size_xy_m[1] / 2 + MARGIN_Y_M
        self.cell_m = cell_m
        self.nx = int(np.ceil(2 * self.half_x / cell_m))
        self.nz = int(np.ceil(TOP_M / cell_m))
        self.x0_m, self.z0_m = -self.half_x, 0.0
        self._rays: tuple[np.ndarray, ...] | None = None
        self._shape: tuple[int, int] | None = None
        self._band_mm: tuple[int, int] = (0, 0)

    def _prepare(self, frame: CameraFrame) -> None:
        intr = frame.intrinsics
        u = (np.arange(intr.width, dtype=np.float32) - intr.ppx) / intr.fx
        v = (np.arange(intr.height, dtype=np.float32) - intr.ppy) / intr.fy
        R, t = self.T[:3, :3].astype(np.float32), self.T[:3, 3]
        # plate x, y, z of a pixel = depth * (R @ (u, v, 1)) + t: one coefficient image per axis
        self._rays = tuple((R[k, 0] * u[None, :] + R[k, 1] * v[:, None] + R[k, 2]).astype(np.float32)
                           for k in range(3))
        self._t = t.astype(np.float32)
        self._shape = (intr.height, intr.width)
        # the depth band that can hold the volume: distances from the camera to the volume's corners
        corners = np.array([[sx * self.half_x, sy * self.half_y, z] for sx in (-1, 1) for sy in (-1, 1)
                            for z in (0.0, TOP_M)])
        zc = (corners - t) @ self.T[:3, :3][:, 2]
        self._band_m = (max(float(zc.min()), 0.1), float(zc.max()))

    def make(self, frame: CameraFrame) -> Silhouette:
        if self._rays is None or self._shape != frame.depth.shape:
            self._prepare(frame)
        assert self._rays is not None
        scale = frame.depth_scale_m
        lo, hi = int(self._band_m[0] / scale), int(self._band_m[1] / scale) + 1
        depth = frame.depth
        idx = np.flatnonzero((depth > lo).ravel() & (depth < hi).ravel())  # a cheap first cut, whole frame
        d = depth.ravel()[idx].astype(np.float32) * np.float32(scale)
        rx, ry, rz = (r.ravel()[idx] for r in self._rays)
        x = d * rx + self._t[0]
        y = d * ry + self._t[1]
        z = d * rz + self._t[2]
        keep = (z > ABOVE_PLATE_M) & (np.abs(x) < self.half_x) & (np.abs(y) < self.half_y) & (z < TOP_M)
        # flying pixels out, among the volume's pixels only (a pixel's test reads its neighbours in the image,
        # so the order does not change which are kept; the volume holds a fraction of the band's pixels)
        keep[keep] = _supported(depth, idx[keep], scale)
        ix = ((x[keep] - self.x0_m) / self.cell_m).astype(np.intp)
        iz = ((z[keep] - self.z0_m) / self.cell_m).astype(np.intp)
        grid = np.zeros((self.nz, self.nx), np.uint8)
        grid[iz, ix] = 1
        y_grid = np.full((self.nz, self.nx), np.nan, np.float32)
        y_grid[iz, ix] = y[keep]
        grid = cv2.morphologyEx(grid, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        sil = _subject_part(grid, self.cell_m, self.x0_m, self.z0_m)
        sil.y_m = y_grid
        return sil


def _supported(depth: np.ndarray, idx: np.ndarray, scale_m: float) -> np.ndarray:
    """Which of the pixels idx (flat indices) have at least FLYING_MIN_NEIGHBOURS of their 8 neighbours
    at about their own depth. A stereo matcher's window straddling a depth step hands out "flying pixels",
    depths anywhere between the two surfaces, pixel by pixel: each lies alone at its depth, and taken into
    the plate frame it lands beyond the outline along its ray (above a head, behind a back by centimetres).
    A surface's pixels, noise included, have neighbours at their depth; so does an outline's own edge."""
    h, w = depth.shape
    v, u = np.divmod(idx, w)
    flat = np.pad(depth, 1).ravel()  # a border of "no depth": the image's edge pixels have fewer neighbours
    at = (v + 1) * (w + 2) + (u + 1)
    d = flat[at].astype(np.int32)
    tol = np.maximum(FLYING_TOL_M / scale_m, FLYING_TOL_FRAC * d)
    near = np.zeros(idx.shape[0], np.int32)
    for offset in (-(w + 2) - 1, -(w + 2), -(w + 2) + 1, -1, 1, w + 1, w + 2, w + 3):
        other = flat[at + offset].astype(np.int32)
        near += (other > 0) & (np.abs(other - d) <= tol)
    return near >= FLYING_MIN_NEIGHBOURS


def _subject_part(grid: np.ndarray, cell_m: float, x0_m: float, z0_m: float) -> Silhouette:
    """Keep the largest connected part; name another sizeable one (something else in view). The parts are
    found on a 2x2-pooled copy (a quarter of the work; parts closer than two cells count as one)."""
    nz, nx = (grid.shape[0] // 2) * 2, (grid.shape[1] // 2) * 2
    rows = grid[0:nz:2, :nx] | grid[1:nz:2, :nx]
    pooled = np.ascontiguousarray(rows[:, 0::2] | rows[:, 1::2])
    n, labels, stats, _ = cv2.connectedComponentsWithStats(pooled, connectivity=8)
    if n <= 1:
        return Silhouette(grid, cell_m, x0_m, z0_m, 0.0)
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = np.argsort(areas)[::-1]
    main = int(order[0]) + 1
    # parts as large as "something else" (specks are dropped whatever they are)
    large = [k for k in (int(j) + 1 for j in order[1:])
             if stats[k, cv2.CC_STAT_AREA] >= OTHER_PART_MIN_FRAC * areas[order[0]]]
    parts = [main] + [k for k in large if _head_over(stats[main], stats[k], 2 * cell_m)]
    other = None
    if len(parts) < 1 + len(large):
        other = "something else in view over the plate (a second person or an object beside the subject)"
    out = grid
    if n > 2:  # specks or another part: keep the subject's cells only
        keep = np.repeat(np.repeat(np.isin(labels, parts).astype(np.uint8), 2, axis=0), 2, axis=1)
        out = np.zeros_like(grid)
        out[:nz, :nx] = grid[:nz, :nx] & keep
    area_m2 = float(np.count_nonzero(out)) * cell_m * cell_m
    return Silhouette(out, cell_m, x0_m, z0_m, area_m2, other)


def _head_over(main: np.ndarray, part: np.ndarray, cell_m: float) -> bool:
    """Whether a part (cv2 stats row: x, z, width, height in cells of cell_m) lies just above the subject's
    top and over it: the head seen apart from the body (HEAD_GAP_M)."""
    x, z, w, h = (int(v) for v in main[:4])
    px, pz, pw = (int(v) for v in part[:3])
    gap_m = (pz - (z + h)) * cell_m
    over = HEAD_OVER_M / cell_m
    return -cell_m <= gap_m <= HEAD_GAP_M and px >= x - over and px + pw <= x + w + over
