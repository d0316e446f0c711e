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
    _seen: np.ndarray | None = field(default=None, repr=False)  # from the maker: where y_m is seen, uint8
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
            seen = np.isfinite(y).view(np.uint8) if self._seen is None else self._seen[:rows]
            y0 = np.where(seen, y, np.float32(0))
            k = (SMOOTH_Y_CELLS, SMOOTH_Y_CELLS)
            total = cv2.boxFilter(y0, -1, k, normalize=False)
            count = cv2.boxFilter(seen, cv2.CV_32F, k, normalize=False)  # whole numbers: exact from uint8
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
        cam = (corners - t) @ self.T[:3, :3]  # the corners in the camera frame
        zc = cam[:, 2]
        self._band_m = (max(float(zc.min()), 0.1), float(zc.max()))
        # the image window that can see the volume: a box's image is the hull of its corners' images (a few
        # pixels wider for rounding); only its pixels are read (with a corner behind the camera: all of them)
        h, w = self._shape
        r0, r1, c0, c1 = 0, h, 0, w
        if zc.min() > 0.1:
            pu = intr.fx * cam[:, 0] / zc + intr.ppx
            pv = intr.fy * cam[:, 1] / zc + intr.ppy
            c0, c1 = max(int(np.floor(pu.min())) - 2, 0), min(int(np.ceil(pu.max())) + 3, w)
            r0, r1 = max(int(np.floor(pv.min())) - 2, 0), min(int(np.ceil(pv.max())) + 3, h)
            if c1 <= c0 or r1 <= r0:
                r0, r1, c0, c1 = 0, 0, 0, 0
        self._window = (r0, r1, c0, c1)
        self._win_shape = (r1 - r0, c1 - c0)
        self._win_rays = tuple(np.ascontiguousarray(r[r0:r1, c0:c1]).ravel() for r in self._rays)
        # the volume widened by 1 mm, far more than make's float32 arithmetic is off: a pixel it keeps lies
        # within these spans whatever the rounding (a ray grazing a face included)
        grow = 0.001
        self._depth_span_m = _depth_span(self._win_rays, t, ((-self.half_x - grow, self.half_x + grow),
                                                             (-self.half_y - grow, self.half_y + grow),
                                                             (ABOVE_PLATE_M - grow, TOP_M + grow)))
        self._limits: tuple[float, np.ndarray, np.ndarray] | None = None

    def _raw_limits(self, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """Per window pixel, raw depths (exclusive) beyond which its point is outside the volume or the depth
        band: the spans widened again (0.01 %, 2 mm), so they only narrow the candidates; make's own test
        decides."""
        if self._limits is None or self._limits[0] != scale:
            lo, hi = int(self._band_m[0] / scale), int(self._band_m[1] / scale) + 1
            d0, d1 = self._depth_span_m
            with np.errstate(invalid="ignore"):
                raw_lo = np.floor((d0 * (1 - 1e-4) - 0.002) / scale)
                raw_hi = np.ceil((d1 * (1 + 1e-4) + 0.002) / scale)
            empty = ~(raw_lo < raw_hi)  # NaN (no span) included
            raw_lo = np.where(empty, 0, np.clip(raw_lo, lo, hi))
            raw_hi = np.where(empty, 0, np.clip(raw_hi, lo, hi))
            dtype = np.uint16 if hi <= np.iinfo(np.uint16).max else np.int64
            self._limits = (scale, raw_lo.astype(dtype).reshape(self._win_shape),
                            raw_hi.astype(dtype).reshape(self._win_shape))
        return self._limits[1], self._limits[2]

    def make(self, frame: CameraFrame) -> Silhouette:
        if self._rays is None or self._shape != frame.depth.shape:
            self._prepare(frame)
        assert self._rays is not None
        scale = frame.depth_scale_m
        r0, r1, c0, c1 = self._window
        depth = frame.depth
        win = depth[r0:r1, c0:c1]
        # a cheap first cut (each pixel's depths that can lie in the volume) within the window; the pixels
        # stay in image order (a cell seen by two pixels keeps the later one's y)
        lo, hi = self._raw_limits(scale)
        cand = (win > lo) & (win < hi)
        idx = np.flatnonzero(cand)
        d = win[cand].astype(np.float32) * np.float32(scale)
        rx, ry, rz = self._win_rays
        x = d * rx.take(idx) + self._t[0]
        y = d * ry.take(idx) + self._t[1]
        z = d * rz.take(idx) + self._t[2]
        keep = (z > ABOVE_PLATE_M) & (np.abs(x) < self.half_x) & (np.abs(y) < self.half_y) & (z < TOP_M)
        v, u = np.divmod(idx[keep], c1 - c0)
        # flying pixels out, among the volume's pixels only (a pixel's test reads its neighbours in the image,
        # so the order does not change which are kept; the volume holds a fraction of the band's pixels)
        keep[keep] = _supported(depth, v + r0, u + c0, scale, self._window)
        ix = ((x[keep] - self.x0_m) / self.cell_m).astype(np.intp)
        iz = ((z[keep] - self.z0_m) / self.cell_m).astype(np.intp)
        seen = np.zeros((self.nz, self.nx), np.uint8)
        seen[iz, ix] = 1
        y_grid = np.full((self.nz, self.nx), np.nan, np.float32)
        y_grid[iz, ix] = y[keep]
        grid = cv2.morphologyEx(seen, cv2.MORPH_CLOSE, _SQUARE3)
        sil = _subject_part(grid, self.cell_m, self.x0_m, self.z0_m)
        sil.y_m = y_grid
        sil._seen = seen  # the cells y_grid has a point in (before the grid's holes are closed)
        return sil


def _depth_span(rays: tuple[np.ndarray, ...], t: np.ndarray,
                bounds: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel ray (plate point = depth * ray + t, per axis), the depths (m) at which the point lies
    within bounds (lo, hi) on every axis: (start, end), start >= end where never."""
    start = np.zeros(rays[0].shape)
    end = np.full(rays[0].shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for r, t_k, (b0, b1) in zip(rays, t, bounds, strict=True):
            a = r.astype(float)
            e0, e1 = (b0 - t_k) / a, (b1 - t_k) / a  # where the axis crosses its bounds
            flat = a == 0  # parallel to them: inside everywhere or nowhere
            inside = b0 < t_k < b1
            start = np.fmax(start, np.where(flat, 0.0 if inside else np.inf, np.minimum(e0, e1)))
            end = np.fmin(end, np.where(flat, np.inf if inside else 0.0, np.maximum(e0, e1)))
    return start, end


_SQUARE3 = np.ones((3, 3), np.uint8)
# the 8 neighbours (row, column offsets)
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _supported(depth: np.ndarray, v: np.ndarray, u: np.ndarray, scale_m: float,
               window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Which of the pixels (rows v, columns u) have at least FLYING_MIN_NEIGHBOURS of their 8 neighbours
    at about their own depth. A stereo matcher's window straddling a depth step hands out "flying pixels",
    depths anywhere between the two surfaces, pixel by pixel: each lies alone at its depth, and taken into
    the plate frame it lands beyond the outline along its ray (above a head, behind a back by centimetres).
    A surface's pixels, noise included, have neighbours at their depth; so does an outline's own edge.
    window: (r0, r1, c0, c1) holding every pixel asked about; only it and a pixel around it are read."""
    h, w = depth.shape
    r0, r1, c0, c1 = window or (0, h, 0, w)
    # the window and a one-pixel border of "no depth" beyond the image's edge (edge pixels have fewer
    # neighbours), as one flat array
    pad = np.zeros((r1 - r0 + 2, c1 - c0 + 2), np.uint16)
    a0, a1, b0, b1 = max(r0 - 1, 0), min(r1 + 1, h), max(c0 - 1, 0), min(c1 + 1, w)
    pad[a0 - r0 + 1:a1 - r0 + 1, b0 - c0 + 1:b1 - c0 + 1] = depth[a0:a1, b0:b1]
    stride = pad.shape[1]
    flat = pad.ravel()
    at = (v - r0 + 1) * stride + (u - c0 + 1)
    d = flat.take(at).astype(np.int32)
    # a neighbour counts when it has depth and |other - d| <= tol: depths are integers, so the same as
    # lo <= other <= hi with lo = max(d - floor(tol), 1), hi = d + floor(tol) (other is uint16: clipped there)
    tol = np.floor(np.maximum(FLYING_TOL_M / scale_m, FLYING_TOL_FRAC * d)).astype(np.int32)
    lo = np.maximum(d - tol, 1).astype(np.uint16)
    span = (np.minimum(d + tol, np.iinfo(np.uint16).max) - lo).astype(np.uint16)
    near = np.zeros(at.shape[0], np.uint8)
    for dv, du in _NEIGHBOURS:
        # lo <= other <= lo + span in one test: below lo, other - lo wraps round to beyond any span
        near += (flat.take(at + (dv * stride + du)) - lo) <= span
    return near >= FLYING_MIN_NEIGHBOURS


def _subject_part(grid: np.ndarray, cell_m: float, x0_m: float, z0_m: float) -> Silhouette:
    """Keep the largest connected part; name another sizeable one (something else in view). The parts are
    found on a 2x2-pooled copy (a quarter of the work; parts closer than two cells count as one)."""
    nz, nx = (grid.shape[0] // 2) * 2, (grid.shape[1] // 2) * 2
    rows = grid[0:nz:2, :nx] | grid[1:nz:2, :nx]
    pooled = np.ascontiguousarray(rows[:, 0::2] | rows[:, 1::2])
    # the labels alone, areas counted here: cv2's own stats cost ~8x the labelling on a grid this size
    n, labels = cv2.connectedComponents(pooled, connectivity=8)
    if n <= 1:
        return Silhouette(grid, cell_m, x0_m, z0_m, 0.0)
    counts = np.bincount(labels.ravel(), minlength=n)
    areas = counts[1:]
    order = np.argsort(areas)[::-1]
    main = int(order[0]) + 1
    # parts as large as "something else" (specks are dropped whatever they are)
    large = [k for k in (int(j) + 1 for j in order[1:])
             if counts[k] >= OTHER_PART_MIN_FRAC * areas[order[0]]]
    box = _boxes(labels, [main, *large]) if large else {}
    parts = [main] + [k for k in large if _head_over(box[main], box[k], 2 * cell_m)]
    other = None
    if len(parts) < 1 + len(large):
        other = "something else in view over the plate (a second person or an object beside the subject)"
    out = grid
    if n > 2:  # specks or another part: keep the subject's cells only
        lut = np.zeros(n, np.uint8)
        lut[parts] = 1
        keep = lut[labels]
        out = np.zeros_like(grid)
        # each pooled cell's 2x2 block
        out[:nz, :nx] = (grid[:nz, :nx].reshape(nz // 2, 2, nx // 2, 2) & keep[:, None, :, None]
                         ).reshape(nz, nx)
    area_m2 = float(np.count_nonzero(out)) * cell_m * cell_m
    return Silhouette(out, cell_m, x0_m, z0_m, area_m2, other)


def _boxes(labels: np.ndarray, parts: list[int]) -> dict[int, np.ndarray]:
    """Per part: its bounding box (x, z, width, height in cells), as cv2's stats give it."""
    out = {}
    for k in parts:
        rows, cols = np.nonzero(labels == k)
        out[k] = np.array([cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1])
    return out


def _head_over(main: np.ndarray, part: np.ndarray, cell_m: float) -> bool:
    """Whether a part (cv2 stats row: x, z, width, height in cells of cell_m) lies just above the subject's
    top and over it: the head seen apart from the body (HEAD_GAP_M)."""
    x, z, w, h = (int(v) for v in main[:4])
    px, pz, pw = (int(v) for v in part[:3])
    gap_m = (pz - (z + h)) * cell_m
    over = HEAD_OVER_M / cell_m
    return -cell_m <= gap_m <= HEAD_GAP_M and px >= x - over and px + pw <= x + w + over
