"""What the station knows of one limb's sagittal thickness, section by section (station.markerless.limbs).

A section's thickness is known once it has been seen with both outline edges the limb's own: in the standing
pose, and then in any frame of the trial that shows it clean (a running mean, LEARN_FRAMES deep, so that what
the standing pose could not show is learnt as soon as the movement shows it: hands hanging over the thighs
at the start move away as the trunk leans). Where a section's thickness is not known yet and one edge is
hidden, it is bounded, never assumed: a limb over these sections thickens towards its top (the thigh from the
knee to below the buttocks, the shank from above the ankle to the calf), so it is at least the nearest known
section's below and at most the nearest known above; and the hidden edge lies behind whatever hides it, so
the thickness is at most the run's full extent. The middle of that bracket is used when it is narrow
(WIDTH_SPAN_M: the midline then within a quarter of it), else the section is left out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# a limb's sagittal thickness this much over its standing thickness has something over it (a limb bends,
# its sections stay as thick: the thigh's muscle bulk barely changes with knee flexion)
LIMB_GROWTH = 1.2
WIDTH_SPAN_M = 0.03  # a bracket on an unknown thickness this narrow gives the midline within 7.5 mm
LEARN_FRAMES = 30    # the running mean of a section's thickness weighs at most this many frames
NOTCH_M = 0.008      # a section this much thinner than one below it (the limb thickens upward) is cut short
# a stretch of the standing limb this much thicker than a section above it has something held against it
BULGE_M = 0.02


@dataclass
class LimbProfile:
    """Per section: thickness (m, NaN: not seen yet), how many frames it was seen clean (capped), the plane
    (plate y, m) the limb's outline lay in standing, and the run's extent across it in standing (m: the
    thickness is at most that, whatever hid an edge then)."""

    width_m: np.ndarray
    seen: np.ndarray
    plane_y_m: np.ndarray
    extent_m: np.ndarray
    learnt: np.ndarray | None = None  # sections standing did not show: learnt in the trial (learn)

    @property
    def median_width_m(self) -> float:
        known = np.isfinite(self.width_m)
        return float(np.median(self.width_m[known])) if known.any() else float("nan")

    def learn(self, widths_m: np.ndarray) -> None:
        """Fold one frame's clean thicknesses (NaN: not seen) into the sections the standing pose could not
        show, within the bracket the standing pose put on them (NOTCH_M either side): what standing measured
        stays the reference, and nothing held against the legs (a bell in their plane) creeps into it."""
        if self.learnt is None:
            self.learnt = self.seen == 0
        _, lo, hi = bounded_widths(np.where(self.learnt, np.nan, self.width_m), self.extent_m, np.inf)
        with np.errstate(invalid="ignore"):
            take = self.learnt & (widths_m >= lo - NOTCH_M) & (widths_m <= hi + NOTCH_M)
        self.seen[take] = np.minimum(self.seen[take] + 1, LEARN_FRAMES)
        before = np.where(self.seen[take] > 1, self.width_m[take], widths_m[take])
        self.width_m[take] = before + (widths_m[take] - before) / self.seen[take]


def bounded_widths(known_m: np.ndarray, extent_m: np.ndarray, span_m: float = WIDTH_SPAN_M
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per section (estimate, low, high) of the thickness: known_m where known (all three); elsewhere the
    bracket [thickest known below, min(thinnest known above, extent_m)] and its middle when it is at most
    span_m wide, NaN otherwise (see the module's docstring). A known section thinner than one below by
    NOTCH_M is a notch in the outline (a stereo shadow, a hole at the edge), not the limb: bracketed too."""
    known = np.isfinite(known_m)
    below = np.maximum.accumulate(np.where(known, known_m, -np.inf))
    known &= known_m >= below - NOTCH_M
    lo = np.maximum.accumulate(np.where(known, known_m, -np.inf))
    hi = np.fmin(np.minimum.accumulate(np.where(known, known_m, np.inf)[::-1])[::-1], extent_m)
    lo = np.where(np.isfinite(lo), lo, np.nan)
    with np.errstate(invalid="ignore"):
        narrow = ~known & (hi - lo <= span_m)
    lo, hi = np.where(known, known_m, np.where(narrow, lo, np.nan)), np.where(known, known_m, hi)
    hi = np.where(known | narrow, hi, np.nan)
    return 0.5 * (lo + hi), lo, hi


def standing_profile(widths_m: list[np.ndarray], planes_y_m: list[np.ndarray],
                     extents_m: list[np.ndarray]) -> LimbProfile | None:
    """From the standing frames' per-section clean thicknesses, back-edge planes and run extents (NaN: not
    seen): their medians (the extent's too: a frame's notch is not the limb); None when no section was seen
    clean."""
    if not widths_m:
        return None
    w, p = np.array(widths_m), np.array(planes_y_m)
    with warnings.catch_warnings():  # a section never seen: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        width, plane = np.nanmedian(w, axis=0), np.nanmedian(p, axis=0)
        extent = np.nanmedian(np.array(extents_m), axis=0)
    if not np.isfinite(width).any():
        return None
    if np.isfinite(plane).any():  # a plane not seen: the limb's usual one (only used to tell edges apart)
        plane = np.where(np.isfinite(plane), plane, np.nanmedian(plane))
    seen = np.minimum(np.isfinite(w).sum(axis=0), LEARN_FRAMES)
    return LimbProfile(width, seen, plane, np.where(np.isfinite(extent), extent, np.inf))


def bulge_m(width_m: np.ndarray) -> float:
    """How much thicker (m) a stretch of the limb is than a section above it: 0 for a limb that thickens
    upward. Over a 3-section running median of the known sections, so that one section cut short or swollen
    by noise is not a stretch."""
    w = width_m[np.isfinite(width_m)]
    if w.size < 3:
        return 0.0
    med = np.median(np.lib.stride_tricks.sliding_window_view(w, 3), axis=1)
    return float(np.max(med - np.minimum.accumulate(med[::-1])[::-1]))
