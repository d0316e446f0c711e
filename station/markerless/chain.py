"""One frame's planar chain (ankle -> knee -> hip -> shoulder -> head) read from the side silhouette.

Each segment's line is read from cross-sections of the silhouette square to the segment, warm-started from
the previous frame and refined twice:
- shank and thigh (station.markerless.limbs): the midline between the front and back edges, an edge that
  belongs to something over the limb (a hand, an arm: told by the lateral plane it lies in) replaced by the
  other edge and the standing limb's thickness; the knee is the ankle plus the shank length along the
  shank's midline, the hip (greater trochanter) the knee plus the thigh length along the thigh's midline;
- trunk: the back's own outline, told from an arm beside it by being seen near the mid-sagittal plane (the
  per-cell y of the silhouette), and the front's outline moved back by the standing pose's trunk depth where
  the back is hidden (hands on hips); fitted robustly so that an elbow or a hand is dropped; the acromion
  sits a fixed share of stature in front of that line, the trunk length from the hip;
- head: the standing skull (its cells and the empty ring around it) laid on this frame's silhouette by
  turning it about the lower neck; the standing tragus turns with it.
Sections that do not cross the segment (the centre outside the silhouette) are left out; a segment with too
few is not measured and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from station.markerless.silhouette import Silhouette

TRUNK_SECTIONS = (0.15, 0.95, 28)   # of the trunk length above the hip: low back to the shoulder blades
BACK_MIN_SECTIONS = 5               # back outline seen in at least this many sections ...
BACK_MIN_SPAN_FRAC = 0.3            # ... spread over this much of the trunk
TRUNK_HALF_SPAN_M = 0.30
BACK_TRIM_M = 0.012                 # back-outline points this far behind the fitted line are not the back
NECK_CUT_FRAC = 0.052               # the skull: beyond this (of stature) above the acromion along the trunk


@dataclass
class ChainState:
    """Unit directions (x, z) of shank, thigh and trunk (up the chain), warm-starting the next frame; and
    per leg limb its midline's offset from its lower joint (m) and how far (m, plate y) its outline plane has
    moved sideways since standing (limbs.fit_limb)."""

    shank: np.ndarray
    thigh: np.ndarray
    trunk: np.ndarray
    offset_m: dict[str, float] = field(default_factory=dict)
    plane_shift_m: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def upright() -> ChainState:
        up = np.array([0.0, 1.0])
        return ChainState(up.copy(), up.copy(), up.copy())


def _normal(u: np.ndarray) -> np.ndarray:
    """Perpendicular to u, pointing anterior (+x) when u points up."""
    return np.array([u[1], -u[0]])


def _first_false(a: np.ndarray) -> np.ndarray:
    idx = np.argmin(a, axis=1)
    idx[a.all(axis=1)] = a.shape[1]
    return idx


@dataclass
class SectionSamples:
    """The silhouette sampled across a segment: at each s_m along u from origin (rows), offsets w (m) along
    the anterior normal every half cell (columns, c the axis); occ: occupied, y_at(grid): a per-cell grid
    read at the samples (NaN off the grid)."""

    w: np.ndarray
    c: int
    occ: np.ndarray
    row: np.ndarray
    col: np.ndarray
    inside: np.ndarray | None  # None: every sample on the grid
    flat: np.ndarray | None = None  # with every sample on the grid: their flat cell indices
    shape: tuple[int, int] = (0, 0)  # the grid's

    def y_at(self, grid: np.ndarray) -> np.ndarray:
        if self.flat is not None and grid.shape == self.shape:
            return grid.ravel().take(self.flat).astype(np.float32, copy=False)
        inside = np.ones(self.col.shape, bool) if self.inside is None else self.inside
        y = np.full(self.col.shape, np.nan, np.float32)
        y[inside] = grid[self.row[inside], self.col[inside]]
        return y


def sample_sections(sil: Silhouette, origin: np.ndarray, u: np.ndarray, s_m: np.ndarray,
                    half_m: float, grid: np.ndarray | None = None) -> SectionSamples:
    """grid: the occupancy to sample (default the silhouette's own)."""
    grid = sil.grid if grid is None else grid
    n = _normal(u)
    step = sil.cell_m / 2
    w = np.arange(-half_m, half_m + step / 2, step)
    px = origin[0] + s_m[:, None] * u[0] + w[None, :] * n[0]
    pz = origin[1] + s_m[:, None] * u[1] + w[None, :] * n[1]
    col, row = sil.to_cells(px, pz)
    col, row = col.astype(np.intp), row.astype(np.intp)
    nz, nx = sil.grid.shape
    c = len(w) // 2
    if col.min() >= 0 and col.max() < nx and row.min() >= 0 and row.max() < nz:  # the usual case
        flat = row * nx + col
        return SectionSamples(w, c, grid.ravel().take(flat) > 0, row, col, None, flat, (nz, nx))
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < nz)
    occ = np.zeros(col.shape, bool)
    occ[inside] = grid[row[inside], col[inside]] > 0
    return SectionSamples(w, c, occ, row, col, inside)


def sections(sil: Silhouette, origin: np.ndarray, u: np.ndarray, s_m: np.ndarray, half_m: float,
             mid_y: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Back and front edge offsets (m, along the anterior normal) of the silhouette's run through the axis
    point at each s_m along u from origin; NaN where the axis point is outside the silhouette.

    With mid_y = (y0, half width): each edge is instead the outermost point of the run seen within that band
    of the mid-sagittal plane (the trunk's own outline), NaN where the run has none on that side of the axis
    (an arm beside the trunk hides the outline there)."""
    smp = sample_sections(sil, origin, u, s_m, half_m)
    w, c, occ = smp.w, smp.c, smp.occ
    step = sil.cell_m / 2
    n_front = _first_false(occ[:, c:])
    n_back = _first_false(occ[:, c::-1])
    ok = occ[:, c]
    if mid_y is not None and sil.y_m is not None:
        y = smp.y_at(sil.y_m)
        j = np.arange(len(w))[None, :]
        with np.errstate(invalid="ignore"):
            near_mid = np.abs(y - mid_y[0]) < mid_y[1]
        # the run through the axis point, seen near the mid-sagittal plane; its back half up to the axis
        # (the first such sample from behind), its front half from the axis (the last)
        near_mid &= (j > c - n_back[:, None]) & (j < c + n_front[:, None])
        mid_b, mid_f = near_mid[:, :c + 1], near_mid[:, c:]
        back = np.where(mid_b.any(axis=1), w[np.argmax(mid_b, axis=1)] - 0.5 * step, np.nan)
        last = len(w) - 1 - np.argmax(mid_f[:, ::-1], axis=1)
        front = np.where(mid_f.any(axis=1), w[last] + 0.5 * step, np.nan)
    else:
        front = (n_front - 0.5) * step
        back = -(n_back - 0.5) * step
    front[~ok] = np.nan
    back[~ok] = np.nan
    return back, front


def nanmedian(a: np.ndarray) -> float:
    """np.nanmedian of a 1-D array (NaN when every value is), at a fraction of its cost on a few dozen
    values: sorting puts NaN last; the middle value, or the mean of the two middle ones, as np.median."""
    v = np.sort(a)
    n = v.size - int(np.count_nonzero(np.isnan(v)))
    if n == 0:
        return float("nan")
    return float((v[(n - 1) // 2] + v[n // 2]) / 2)


def _line(s: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """w = a + b s by least squares; returns a, b and the RMS residual."""
    a, b = _line_ab(s, w)
    rms = float(np.sqrt(np.mean((a + b * s - w) ** 2)))
    return a, b, rms


def _line_ab(s: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """_line's a and b alone."""
    sm, wm = float(s.mean()), float(w.mean())
    ds = s - sm
    b = float(ds @ (w - wm)) / max(float(ds @ ds), 1e-12)  # closed form: a few us, lstsq is 50
    return wm - b * sm, b


@dataclass
class BackFit:
    direction: np.ndarray  # unit (x, z) of the back line, up the trunk
    point: np.ndarray      # a point on the back line (x, z)
    ok: bool
    front_m: np.ndarray | None = None  # front edge offsets from the back line, per section (standing only)
    s_m: np.ndarray | None = None


def fit_back(sil: Silhouette, hip: np.ndarray, u0: np.ndarray, length_m: float, mid_y: tuple[float, float],
             front_profile: np.ndarray | None = None, iterations: int = 2) -> BackFit:
    """The back's line over the low back to the shoulder blades. Only outline seen near the mid-sagittal
    plane (mid_y: y0, half width) counts: the back's own, and, given the standing pose's front_profile
    (front edge minus back line per section), the front's moved back by it, so that arms hiding one side
    (hands on hips hide the back, arms crossed the chest) leave the other. Points off the line (an elbow,
    a hand) are dropped."""
    u = u0 / np.linalg.norm(u0)
    s = np.linspace(TRUNK_SECTIONS[0], TRUNK_SECTIONS[1], TRUNK_SECTIONS[2]) * length_m
    point, ok, front_rel = hip.copy(), False, None
    origin = hip.copy()
    for _ in range(iterations):
        back, front = sections(sil, origin, u, s, TRUNK_HALF_SPAN_M, mid_y)
        ss, ww = s[np.isfinite(back)], back[np.isfinite(back)]
        if front_profile is not None:
            moved = front - front_profile
            f_ok = np.isfinite(moved)
            ss, ww = np.concatenate([ss, s[f_ok]]), np.concatenate([ww, moved[f_ok]])
        ok = ss.size >= BACK_MIN_SECTIONS and ss.max() - ss.min() >= BACK_MIN_SPAN_FRAC * length_m
        if not ok:
            break
        a, b = _line_ab(ss, ww)
        for limit_m in (4 * BACK_TRIM_M, 2 * BACK_TRIM_M, BACK_TRIM_M):
            keep = np.abs(ww - (a + b * ss)) < limit_m
            if np.count_nonzero(keep) < BACK_MIN_SECTIONS:
                ok = False
                break
            a, b = _line_ab(ss[keep], ww[keep])
        if not ok:
            break
        front_rel = front - (a + b * s)
        n = _normal(u)
        point = origin + a * n
        u = u + b * n
        u /= np.linalg.norm(u)
        median_front = nanmedian(front)
        mid = 0.5 * (median_front + a) if median_front == median_front else a + 0.1 * length_m
        origin = origin + mid * n  # keep the sections' centre inside the trunk
    return BackFit(u, point, ok, front_rel, s)


def point_on_line_at(centre: np.ndarray, radius_m: float, p0: np.ndarray, u: np.ndarray) -> np.ndarray | None:
    """The point p0 + t u (t largest) at radius_m from centre, or None."""
    d = p0 - centre
    bu = float(d @ u)
    disc = bu * bu - float(d @ d) + radius_m * radius_m
    if disc < 0:
        return None
    return p0 + (-bu + np.sqrt(disc)) * u


def skull_centroid(sil: Silhouette, shoulder: np.ndarray, u_trunk: np.ndarray, cut_m: float,
                   reach_m: float) -> np.ndarray | None:
    """Centroid (x, z) of the silhouette beyond cut_m above the shoulder along the trunk and within
    reach_m of the shoulder: the skull."""
    c0, r0 = sil.to_cells(shoulder[0] - reach_m, shoulder[1] - reach_m)
    c1, r1 = sil.to_cells(shoulder[0] + reach_m, shoulder[1] + reach_m)
    nz, nx = sil.grid.shape
    c0, r0 = max(int(c0), 0), max(int(r0), 0)
    c1, r1 = min(int(c1) + 1, nx), min(int(r1) + 1, nz)
    if c1 <= c0 or r1 <= r0:
        return None
    rows, cols = np.nonzero(sil.grid[r0:r1, c0:c1])
    x = sil.x0_m + (cols + c0 + 0.5) * sil.cell_m
    z = sil.z0_m + (rows + r0 + 0.5) * sil.cell_m
    along = (x - shoulder[0]) * u_trunk[0] + (z - shoulder[1]) * u_trunk[1]
    near = (along > cut_m) & ((x - shoulder[0]) ** 2 + (z - shoulder[1]) ** 2 < reach_m ** 2)
    if near.sum() < 20:
        return None
    return np.array([x[near].mean(), z[near].mean()])


def upper_body_axis(sil: Silhouette, hip: np.ndarray, length_m: float) -> np.ndarray | None:
    """A first guess of the trunk's direction with no previous frame to start from: the principal axis of
    the silhouette above the hip within a trunk length of it (arms and head included: within ~10 deg)."""
    c0, r0 = sil.to_cells(hip[0] - length_m, hip[1] - 0.1 * length_m)
    c1, r1 = sil.to_cells(hip[0] + length_m, hip[1] + length_m)
    nz, nx = sil.grid.shape
    c0, r0 = max(int(c0), 0), max(int(r0), 0)
    c1, r1 = min(int(c1) + 1, nx), min(int(r1) + 1, nz)
    rows, cols = np.nonzero(sil.grid[r0:r1:2, c0:c1:2])
    if rows.size < 50:
        return None
    x = sil.x0_m + (2 * cols + c0 + 0.5) * sil.cell_m - hip[0]
    z = sil.z0_m + (2 * rows + r0 + 0.5) * sil.cell_m - hip[1]
    near = (x * x + z * z < length_m * length_m) & (z > -0.1 * length_m)
    if near.sum() < 50:
        return None
    pts = np.column_stack([x[near], z[near]])
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0), full_matrices=False)
    axis = vt[0] if vt[0][1] >= 0 else -vt[0]
    return axis / np.linalg.norm(axis)


def _cells_near(sil: Silhouette, centre: np.ndarray, reach_m: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Occupancy (h, w) of the window within reach_m of centre and its cells' x, z (m)."""
    c0, r0 = sil.to_cells(centre[0] - reach_m, centre[1] - reach_m)
    nz, nx = sil.grid.shape
    c0, r0 = max(int(c0), 0), max(int(r0), 0)
    c1, r1 = min(c0 + int(2 * reach_m / sil.cell_m) + 2, nx), min(r0 + int(2 * reach_m / sil.cell_m) + 2, nz)
    occ = sil.grid[r0:r1, c0:c1]
    x = sil.x0_m + (np.arange(c0, c1) + 0.5) * sil.cell_m
    z = sil.z0_m + (np.arange(r0, r1) + 0.5) * sil.cell_m
    return occ, x, z


def head_template(sil: Silhouette, neck: np.ndarray, u_trunk: np.ndarray, cut_m: float, reach_m: float,
                  ring_m: float = 0.03, max_points: int = 400) -> tuple[np.ndarray, np.ndarray] | None:
    """The standing skull as points relative to the neck pivot: cells of the head beyond cut_m along the
    trunk (inside) and empty cells within ring_m around it (outside), each at most max_points."""
    import cv2

    occ, x, z = _cells_near(sil, neck, reach_m)
    X, Z = np.meshgrid(x - neck[0], z - neck[1])
    along = X * u_trunk[0] + Z * u_trunk[1]
    skull = (occ > 0) & (along > cut_m) & (X * X + Z * Z < reach_m * reach_m)
    if skull.sum() < 50:
        return None
    k = 2 * int(round(ring_m / sil.cell_m)) + 1
    grown = cv2.dilate(skull.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    ring = grown & (occ == 0) & (along > cut_m + ring_m)
    inside = np.column_stack([X[skull], Z[skull]])
    outside = np.column_stack([X[ring], Z[ring]])
    rng = np.random.default_rng(0)  # a fixed subsample: the same template every run
    if len(inside) > max_points:
        inside = inside[rng.choice(len(inside), max_points, replace=False)]
    if len(outside) > max_points:
        outside = outside[rng.choice(len(outside), max_points, replace=False)]
    return inside, outside


def match_head(sil: Silhouette, neck: np.ndarray, template: tuple[np.ndarray, np.ndarray], base_rad: float,
               range_deg: tuple[float, float] = (-60.0, 45.0), step_deg: float = 3.0) -> tuple[float, float]:
    """The head's turn (rad, toward +x) about the neck since standing that best lays the standing skull on
    the silhouette (its cells occupied, the ring around it empty); and that score (0-1)."""
    inside, outside = template
    n_in, n_out = len(inside), len(outside)
    pts = np.concatenate([inside, outside])  # one pass over both point sets
    x, z = pts[:, 0][None, :], pts[:, 1][None, :]
    nz, nx = sil.grid.shape
    flat = sil.grid.ravel()

    def score(angles: np.ndarray) -> np.ndarray:
        # each point turned by each angle toward +x about the neck, then its cell
        c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
        col, row = sil.to_cells(c * x + s * z + neck[0], -s * x + c * z + neck[1])
        col, row = col.astype(np.intp), row.astype(np.intp)
        ok = (col >= 0) & (col < nx) & (row >= 0) & (row < nz)
        if ok.all():
            occ = flat.take(row * nx + col)
        else:
            occ = np.zeros(col.shape, np.uint8)
            occ[ok] = sil.grid[row[ok], col[ok]]
        # share of the skull's points on occupied cells plus share of the ring's on empty ones, halved
        hit_in = np.count_nonzero(occ[:, :n_in], axis=1)
        empty_out = n_out - np.count_nonzero(occ[:, n_in:], axis=1)
        return (hit_in / n_in + empty_out / n_out) / 2

    coarse = base_rad + np.radians(np.arange(range_deg[0], range_deg[1] + 0.1, step_deg))
    best = coarse[int(np.argmax(score(coarse)))]
    fine = best + np.radians(np.arange(-step_deg, step_deg + 0.01, 0.5))
    s = score(fine)
    return float(fine[int(np.argmax(s))]), float(s.max())

