"""Shank and thigh from the side silhouette, told apart from what hangs over them (issue 23, item 4).

A limb's line is read from sections square to it (chain.sample_sections): the silhouette's run through the
axis point, its back and front edges. Hands, straight arms, a bar or a bell hanging in front of the thighs or
the shins (a loaded RDL, a deadlift, a kettlebell swing) widen that run, and its edge is then theirs, not the
leg's. What the side view's projection throws away tells them apart: the lateral coordinate (plate y) of the
points seen just inside each edge. The view grazes a limb at its edges, in the plane of the limb's own axis;
an arm hanging from the shoulder passes lateral to the thigh (it cannot pass through it), so an edge it makes
lies in a plane several centimetres nearer the camera (a bell held between the legs: further). Per section:

- both edges in the limb's own plane (within PLANE_TOL_M of the standing pose's, moved with the leg as a
  whole) and the run no thicker than standing (LIMB_GROWTH): the midline between them;
- one edge the limb's, the other not: that edge and half the standing limb's thickness there;
- neither, or a run grown thick with both edges in the limb's plane (something in the leg's own plane: the
  hands on a bell held in front of the legs, a long coat): the section is left out.

A limb with too few sections left is not measured and the reason says what hid it. While the standing pose
is read (no profile yet) the back edge is taken as the limb's and a front edge in another plane is left out:
nothing hangs behind the legs of someone standing still for the start. Without per-pixel y (no lateral
information) every edge counts as the limb's, and only the thickness checks remain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from station.markerless.body import Proportions
from station.markerless.chain import (
    ChainState,
    SectionSamples,
    _first_false,
    _line,
    _normal,
    nanmedian,
    sample_sections,
)
from station.markerless.limb_profile import (
    BULGE_M,
    LIMB_GROWTH,
    NOTCH_M,
    LimbProfile,
    bounded_widths,
    bulge_m,
    standing_profile,
)
from station.markerless.silhouette import Silhouette

SHANK_SECTIONS = (0.25, 0.72, 12)   # fractions of the shank length above the ankle, count
THIGH_SECTIONS = (0.18, 0.60, 12)   # of the thigh length above the knee (below the buttocks' overhang)
LIMB_HALF_SPAN_M = 0.16             # how far either side of a limb's axis a section looks
MIN_SECTIONS_FRAC = 0.6             # of a limb's sections must give its midline
LIMB_MAX_WIDTH_FRAC = {"shank": 0.075, "thigh": 0.115}  # of stature: wider is something over the limb
MIDLINE_MAX_RMS_M = 0.012           # a limb's midline this ragged is not a limb's
# an edge whose seen points lie this far (m, plate y) from the limb's plane is another object's: one edge's
# plane is known to ~5 mm (the renderer's noise) to ~15 mm (a D455-like camera's), an arm hanging lateral to
# a thigh puts its edges >= 50 mm off
PLANE_TOL_M = 0.03
# samples (half cells: 12-36 mm) inside an edge whose y give the edge's plane: past the outermost pixels,
# where a stereo camera mixes the body's depth with the background's (flying pixels); within an arm's width
EDGE_BAND = (4, 12)
# a limb read partly through bracketed thicknesses (limb_profile) must place its top joint within this (m)
TOP_BOUND_M = 0.008
MIN_SHIFT_EDGES = 3  # edges near the standing plane needed to follow the leg moving sideways
OUTLIER_MADS, OUTLIER_MIN_M = 3.0, 0.004  # a midline point this far off the limb's line is not the limb's
SETTLED_M, SETTLED_RAD = 0.003, 0.01  # a refit moving the line less than this (noise) needs no second pass
# a run across a limb is not cut by a hole this long (m): no depth under a retroreflective marker disc and its
# ring (~25 mm), a dropout; the silhouette's closing fills only one cell
GAP_M = 0.03
UP = np.array([0.0, 1.0])


@dataclass
class LimbFit:
    direction: np.ndarray   # unit (x, z), along the limb towards its top
    offset_m: float         # the midline's offset from the origin along the normal, at s = 0
    width_m: float          # median sagittal thickness over sections with both edges the limb's (NaN: none)
    rms_m: float
    ok: bool
    crossed: float = 0.0    # share of sections whose axis point is in the silhouette
    widths_m: np.ndarray | None = None        # per section, both edges the limb's (else NaN)
    extents_m: np.ndarray | None = None       # per section, the run's extent (NaN: not crossed)
    back_plane_y_m: np.ndarray | None = None  # per section, the back edge's plane
    plane_shift_m: float = 0.0                # the limb's plane - the standing one (m)

    @property
    def hidden(self) -> bool:
        """Crossed in enough sections, but too few of them showed the limb's own outline."""
        return not self.ok and self.crossed >= MIN_SECTIONS_FRAC


def edge_planes(smp: SectionSamples, lat: np.ndarray, n_back: np.ndarray, n_front: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Median plate y (m) of the points seen just inside each section's back and front edges (NaN: none)."""
    last = smp.w.size - 1
    k = np.arange(*EDGE_BAND)[None, :]
    rows = smp.col.shape[0]
    # the back edges' samples, then the front edges', as sample indices into the (sections x samples) rows
    at = np.clip(np.concatenate([smp.c - n_back[:, None] + 1 + k, smp.c + n_front[:, None] - 1 - k]), 0, last)
    at += np.tile(np.arange(rows) * (last + 1), 2)[:, None]
    if smp.flat is not None and lat.shape == smp.shape:  # the usual case: those samples' cells read alone
        y = lat.ravel().take(smp.flat.ravel().take(at)).astype(np.float32, copy=False)
    else:
        y = smp.y_at(lat).ravel().take(at)
    planes = row_nanmedian(y)  # one pass over both edges' rows
    return planes[:rows], planes[rows:]


def row_nanmedian(a: np.ndarray) -> np.ndarray:
    """Median of each row's finite values (NaN for a row with none): np.nanmedian's result at a tenth of its
    cost on small arrays (sorting puts NaN last)."""
    a = np.sort(a, axis=1)
    n = np.isfinite(a).sum(axis=1)
    rows = np.arange(a.shape[0])
    lo, hi = a[rows, np.maximum(n - 1, 0) // 2], a[rows, np.maximum(n, 1) // 2 - (n == 0)]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def _bridged(occ: np.ndarray, gap: int) -> np.ndarray:
    """occ (sections x samples) with runs of up to `gap` empty samples between occupied ones filled."""
    n, m = occ.shape
    # each row's sample indices (and the fills that mark "none") raised by the row's own multiple of a span
    # wider than they range over, so that one running max (min) over all the rows never carries across one
    span = 4 * m + 2 * gap
    base = np.arange(n)[:, None] * span
    idx = base + np.arange(m)
    before = np.maximum.accumulate(np.where(occ, idx, base - m - gap).ravel())
    after = np.minimum.accumulate(np.where(occ, idx, base + 2 * m + gap).ravel()[::-1])[::-1]
    return occ | ((after - before - 1).reshape(n, m) <= gap)


def _off(plane: np.ndarray, ref: np.ndarray | float) -> np.ndarray:
    """Edges in another plane than ref (an unknown plane is not evidence of anything)."""
    with np.errstate(invalid="ignore"):
        return np.abs(plane - ref) > PLANE_TOL_M


@dataclass
class _Sections:
    """One pass over a limb's sections: the midline offset per section (NaN: left out) and how far it may be
    off (m, +/-: half a bracketed thickness's range, 0 where the thickness is seen or known), the width where
    both edges are the limb's (else NaN), the back edge's plane, the limb plane's shift from standing and the
    share of sections crossed."""

    mid: np.ndarray
    spread: np.ndarray
    widths: np.ndarray
    extents: np.ndarray
    plane_b: np.ndarray
    shift_m: float
    crossed: float


def _midline(smp: SectionSamples, step: float, lat: np.ndarray | None, profile: LimbProfile | None,
             shift_m: float) -> _Sections:
    occ = _bridged(smp.occ, int(round(GAP_M / step)))
    n_front, n_back = _first_false(occ[:, smp.c:]), _first_false(occ[:, smp.c::-1])
    front, back = (n_front - 0.5) * step, -(n_back - 0.5) * step
    crossed = occ[:, smp.c]
    plane_b = np.full(back.shape, np.nan)
    own_b = own_f = np.ones(back.shape, bool)
    if lat is not None:
        plane_b, plane_f = edge_planes(smp, lat, n_back, n_front)
        if profile is None:  # standing: the back is the limb's
            own_f = ~_off(plane_f, plane_b)
        else:
            ref = profile.plane_y_m
            d = np.concatenate([(plane_b - ref)[crossed], (plane_f - ref)[crossed]])
            near = np.isfinite(d) & (np.abs(d - shift_m) <= PLANE_TOL_M)
            # the leg as a whole moved sideways (knees out, a step)
            if np.count_nonzero(near) >= MIN_SHIFT_EDGES:
                shift_m = nanmedian(d[near])
            own_b, own_f = ~_off(plane_b, ref + shift_m), ~_off(plane_f, ref + shift_m)
    width = front - back
    both = crossed & own_b & own_f
    if profile is not None:
        with np.errstate(invalid="ignore"):
            both &= ~(width > LIMB_GROWTH * profile.width_m)  # both edges in its plane, yet thicker
            # an edge in another plane that lies where the limb's own would (the run as thick as the limb):
            # whatever hangs there ends within NOTCH_M of the limb's edge, and two edges average their noise
            flush = crossed & (own_b | own_f) & (np.abs(width - profile.width_m) <= NOTCH_M)
        own_b, own_f = own_b | flush, own_f | flush
        both |= flush
        known, extent = profile.width_m, np.fmin(width, profile.extent_m)
    else:  # standing: this frame's own thickness where both edges were the limb's
        known, extent = np.where(both, width, np.nan), width
    est, lo, hi = bounded_widths(known, extent)
    mid = np.where(both, 0.5 * (back + front), np.nan)
    spread = np.zeros(mid.shape)
    only_b, only_f = crossed & own_b & ~own_f, crossed & own_f & ~own_b
    mid[only_b] = back[only_b] + 0.5 * est[only_b]
    mid[only_f] = front[only_f] - 0.5 * est[only_f]
    one = only_b | only_f
    spread[one] = 0.25 * (hi[one] - lo[one])
    return _Sections(mid, spread, np.where(both, width, np.nan), np.where(crossed, width, np.nan), plane_b,
                     shift_m, float(crossed.mean()))


def _top_bound(s: np.ndarray, spread: np.ndarray, top_m: float) -> float:
    """How far (m) the least-squares line through midline points each off by up to spread may be off at
    s = top_m: the sum of |weight| x spread of the fitted value there."""
    ds = s - s.mean()
    weight = 1.0 / s.size + ds * (top_m - s.mean()) / max(float(ds @ ds), 1e-12)
    return float(np.abs(weight) @ spread)


def _robust_line(s: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """chain._line, refitted without the points far off the first fit (an edge a depth camera's flying pixels
    pushed out, a section something hangs over): beyond OUTLIER_MADS robust deviations and OUTLIER_MIN_M,
    while MIN_SECTIONS_FRAC of them stay."""
    a, b, rms = _line(s, w)
    res = np.abs(w - (a + b * s))
    keep = res <= max(OUTLIER_MADS * 1.4826 * nanmedian(res), OUTLIER_MIN_M)
    kept = int(np.count_nonzero(keep))
    if kept == res.size or kept < 2 or kept < MIN_SECTIONS_FRAC * res.size:
        return a, b, rms
    return _line(s[keep], w[keep])


def fit_limb(sil: Silhouette, origin: np.ndarray, u0: np.ndarray, length_m: float,
             frac: tuple[float, float, int], profile: LimbProfile | None = None, shift_m: float = 0.0,
             offset_m: float = 0.0, iterations: int = 2) -> LimbFit:
    """The limb's midline through the sections; origin is its lower joint, u0 and offset_m (from origin along
    the normal) where to start. Sections read through a bracketed thickness are used only while they leave
    the limb's top (its next joint) within TOP_BOUND_M."""
    u = u0 / np.linalg.norm(u0)
    s = np.linspace(frac[0], frac[1], frac[2]) * length_m
    lat = sil.smooth_y_m(origin[1] + length_m + LIMB_HALF_SPAN_M)  # the rows the sections can reach
    fit = LimbFit(u, offset_m, float("nan"), float("nan"), False)
    grid = sil.solid_grid()
    for _ in range(iterations):
        smp = sample_sections(sil, origin + fit.offset_m * _normal(u), u, s, LIMB_HALF_SPAN_M, grid)
        sec = _midline(smp, sil.cell_m / 2, lat, profile, shift_m)
        shift_m, fit.crossed = sec.shift_m, sec.crossed
        good = np.isfinite(sec.mid)
        if good.sum() >= 2 and _top_bound(s[good], sec.spread[good], length_m) > TOP_BOUND_M:
            good &= sec.spread == 0  # bracketed sections say too little about the top: seen ones only
        fit.ok = good.mean() >= MIN_SECTIONS_FRAC
        if not fit.ok:
            break
        a, b, fit.rms_m = _robust_line(s[good], sec.mid[good])
        n = _normal(u)
        fit.offset_m += a
        u = u + b * n
        u /= np.linalg.norm(u)
        fit.direction, fit.widths_m, fit.extents_m = u, sec.widths, sec.extents
        fit.back_plane_y_m, fit.plane_shift_m = sec.plane_b, shift_m
        fit.width_m = float(row_nanmedian(sec.widths[None, :])[0])
        if abs(a) < SETTLED_M and abs(b) < SETTLED_RAD:  # sampling again would find the same sections
            break
    return fit


def standing_limbs(fits: list[dict[str, LimbFit]]) -> dict[str, LimbProfile | None]:
    """Shank and thigh profiles from the standing frames' leg fits."""
    out: dict[str, LimbProfile | None] = {}
    for limb in ("shank", "thigh"):
        got = [f[limb] for f in fits if limb in f and f[limb].ok and f[limb].widths_m is not None]
        out[limb] = standing_profile([f.widths_m for f in got], [f.back_plane_y_m for f in got],
                                     [f.extents_m for f in got])
    return out


def held_against_legs(profiles: dict[str, LimbProfile | None]) -> str:
    """Why the standing legs cannot be read ('' = they can): a stretch of a standing limb thicker than the
    limb above it (limb_profile.bulge_m) is something held against it in its own plane (a kettlebell in both
    hands in front of the thighs), which no edge's plane tells apart."""
    swollen = [k for k, p in profiles.items() if p is not None and bulge_m(p.width_m) > BULGE_M]
    if not swollen:
        return ""
    where = "thighs" if "thigh" in swollen else "shins"
    return (f"markerless: something held against the {where} in the standing pose (a kettlebell in both "
            "hands?) that the depth image cannot tell from the legs: waiting for a standing pose without it")


@dataclass
class Legs:
    """Ankle, knee and hip (x, z) read from one frame (empty if not), why not, and the two limbs' fits."""

    points: dict[str, np.ndarray]
    reason: str
    fits: dict[str, LimbFit] = field(default_factory=dict)


def _fit_from(sil: Silhouette, origin: np.ndarray, starts: list[np.ndarray], length_m: float,
              frac: tuple[float, float, int], profile: LimbProfile | None, state: ChainState,
              limb: str) -> LimbFit:
    """fit_limb from the warm start (state's), and from the next start only when the sections missed the
    limb (a warm start lost in an earlier frame), never when something hid it."""
    shift_m = state.plane_shift_m.get(limb, 0.0)
    fit = fit_limb(sil, origin, starts[0], length_m, frac, profile, shift_m, state.offset_m.get(limb, 0.0))
    for u0 in starts[1:]:
        if fit.ok or fit.crossed >= MIN_SECTIONS_FRAC:
            break
        fit = fit_limb(sil, origin, u0, length_m, frac, profile, shift_m)
    return fit


def looks_like_limb(fit: LimbFit, limb: str, stature_m: float, profile: LimbProfile | None) -> bool:
    """No wider than a limb of this stature can be, nor than standing by LIMB_GROWTH, a straight midline."""
    if fit.rms_m > MIDLINE_MAX_RMS_M:
        return False
    if not np.isfinite(fit.width_m):  # every section read from one edge: its planes said which
        return True
    if fit.width_m > LIMB_MAX_WIDTH_FRAC[limb] * stature_m:
        return False
    return profile is None or fit.width_m <= LIMB_GROWTH * profile.median_width_m


def knee_on_thigh(legs: Legs) -> np.ndarray | None:
    """Where a standing frame's thigh midline puts the knee against the shank's reading of it, in the
    shank's own frame (along its normal, along it), m; None when the legs were not read."""
    shank, thigh = legs.fits.get("shank"), legs.fits.get("thigh")
    if legs.reason or shank is None or thigh is None:
        return None
    c = thigh.offset_m * _normal(thigh.direction)
    return np.array([c @ _normal(shank.direction), c @ shank.direction])


def read_legs(sil: Silhouette, body: Proportions, profiles: dict[str, LimbProfile | None],
              state: ChainState, knee_fix: np.ndarray | None = None) -> Legs:
    """The shank from the ankle, the thigh from the knee; state's directions and plane shifts warm-start
    them and are updated when both are read.

    The knee is put on the thigh's midline, which fixes it across the thigh; along the thigh only the shank
    places it. knee_fix (knee_on_thigh's median over the standing frames) is how far the shank's knee lay
    off the thigh's midline standing, in the shank's frame: a calf bulging behind the bones tilts the
    shank's midline 2-4 deg off the tibia, an error that turns with the shank. Applied turned with the
    shank before the thigh is read, it keeps its part along the thigh; without it a deep squat (knees ~100
    deg, the thigh near horizontal) read that part as hip back (+35 mm on a body with such a calf)."""
    ankle = np.array(body.ankle_xz)
    sil.smooth_y_m(ankle[1] + body.shank_m + body.thigh_m + LIMB_HALF_SPAN_M)  # once, up to the hips
    shank = _fit_from(sil, ankle, [state.shank, UP], body.shank_m, SHANK_SECTIONS, profiles.get("shank"),
                      state, "shank")
    if not shank.ok:
        return Legs({}, "markerless: something over the shins that the depth image cannot tell from them "
                        "(hands or a bell in the legs' plane, a long coat): legs not measured"
                    if shank.hidden else "markerless: shank not seen", {"shank": shank})
    if not looks_like_limb(shank, "shank", body.stature_m, profiles.get("shank")):
        return Legs({}, "markerless: something over the lower legs (long coat?): legs not measured",
                    {"shank": shank})
    knee = ankle + shank.offset_m * _normal(shank.direction) + body.shank_m * shank.direction
    if knee_fix is not None:  # the standing frames' correction, turned with the shank (read_legs' doc)
        knee = knee + knee_fix[0] * _normal(shank.direction) + knee_fix[1] * shank.direction
    folded = np.array([-shank.direction[0], shank.direction[1]])  # the thigh leans back as the shin leans in
    thigh = _fit_from(sil, knee, [state.thigh, UP, folded], body.thigh_m, THIGH_SECTIONS,
                      profiles.get("thigh"), state, "thigh")
    fits = {"shank": shank, "thigh": thigh}
    if not thigh.ok:
        return Legs({}, "markerless: something over the thighs that the depth image cannot tell from them "
                        "(hands in front of them in the legs' own plane, or over a stretch whose thickness "
                        "is not known yet; a long coat): hip and knee not measured"
                    if thigh.hidden else "markerless: thigh not seen", fits)
    if not looks_like_limb(thigh, "thigh", body.stature_m, profiles.get("thigh")):
        return Legs({}, "markerless: something over the thighs (hands hanging in front of them, a long "
                        "coat): hip and knee not measured", fits)
    knee_on = knee + thigh.offset_m * _normal(thigh.direction)  # on the thigh's midline
    state.shank, state.thigh = shank.direction, thigh.direction
    state.plane_shift_m.update(shank=shank.plane_shift_m, thigh=thigh.plane_shift_m)
    state.offset_m.update(shank=shank.offset_m, thigh=thigh.offset_m)
    for limb, fit in fits.items():  # what this frame showed clean of each limb's thickness
        if (profile := profiles.get(limb)) is not None and fit.widths_m is not None:
            profile.learn(fit.widths_m)
    return Legs({"ankle": ankle, "knee": knee_on, "hip": knee_on + body.thigh_m * thigh.direction}, "", fits)
