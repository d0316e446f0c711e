"""Repetition segmentation, causal part: finds each backward hip excursion as soon as it has ended.

A rep (metrics.md) starts when the backward displacement from the standing baseline passes 15% of that
rep's amplitude, bottoms at the maximum and ends when it returns below 15%. Live, the amplitude is only
known after the bottom, so this detector works on a causally smoothed hip x: it opens an excursion when
the displacement passes half the minimum rep amplitude, follows the peak, and closes it when the signal
falls below 15% of the peak. The exact start/bottom/end times and the metrics are then taken from the
zero-lag filtered signal over the excursion's window (station.core.metrics), which is why a closed excursion
carries frame indices, not times.

Every decision is taken frame by frame in arrival order and depends only on the frames so far, so the
same frames give the same excursions whatever the chunking.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from station.config import Thresholds

# Detection smoothing: two cascaded first-order stages (critically damped, ~40 ms lag at 8 Hz). Only
# the timing of the *decision* depends on it; reported times come from the zero-lag filter.
DETECT_CUTOFF_HZ = 8.0
STILL_WINDOW_S = 0.5  # quiet standing window for the baseline
STILL_TREND_M = 0.005  # |mean(last third) - mean(first third)| of a still window
STILL_SPREAD_M = 0.010  # max |x - mean| of the smoothed x in a still window
MAX_EXCURSION_S = 20.0  # longer than any rep: the subject moved to a new standing place
RESTAND_M = 0.02  # a later quiet standing this far from the first one is a new place (feet moved)
# ... once still there this long: the turn of a lean-back at lockout (hips pushed forward, held a moment)
# passes for a 0.5 s still window, and must not become the place the next reps are measured from
RESTAND_STILL_S = 1.0
# A place in front of the reference (+x: the hips forward, as in a lean-back) is a new place only if the
# feet moved (the ankle marker), or, without an ankle marker, once still there this long: a glute squeeze
# held at the top (0.6-0.7 s, with the turn about 1 s of near-still hips) must not become the place every
# later rep is measured from (their standing trunk would read behind vertical, hip back +60-85 mm)
RESTAND_FORWARD_STILL_S = 3.0
FEET_MOVED_M = 0.03  # the ankle marker this far from where it was at the reference: the feet moved
# Those two guards are for postures after a rep (a lean-back or a squeeze at its lockout). For the hinge
# (restand_before_rep), before any rep has ended since the reference, a still place in front of it is where
# the subject stands, and the reference was not a standing: tracking that began at the bottom of a rep (a
# camera starting late, markerless tracking starting mid-rep) took the hold there for one, and every later
# rep read as hips forward of it (no reps).


@dataclass
class Excursion:
    """One closed backward excursion, as frame indices into the marker stream."""

    entry_index: int  # first frame above the entry threshold
    peak_index: int  # frame of the smoothed maximum
    detect_index: int  # frame at which it was seen to have ended
    peak_m: float  # smoothed amplitude (m)
    baseline_x_m: float  # standing hip x used by the detector
    standing: tuple[int, int]  # [first, stop) frames of the quiet standing the metrics refer to


class RepDetector:
    """Feed hip x frame by frame with `push`; returns an Excursion when one closes.

    restand_before_rep: the hinge's own detector (a still place in front of the reference before any rep has
    ended is the standing). Off where a RepDetector follows something else (the step's hip height: standing
    on the step before the first step down is no new rest; the swing's standing)."""

    def __init__(self, thresholds: Thresholds, *, restand_before_rep: bool = False):
        self.th = thresholds
        self.restand_before_rep = restand_before_rep
        self.entry_m = 0.5 * thresholds.rep_min_amplitude_m
        self.end_floor_m = 0.25 * thresholds.rep_min_amplitude_m
        self._tau_s = 1.0 / (2.0 * math.pi * DETECT_CUTOFF_HZ)
        self._s1 = self._s2 = math.nan
        self._t_last = math.nan
        self.baseline_x_m = math.nan
        self.standing: tuple[int, int] = (0, 0)
        # the metrics' reference: the first quiet standing of the session, kept while the subject comes
        # back to the same place (the short pauses between reps are still settling); a new one after a move
        self.reference: tuple[int, int] | None = None
        self._reference_x_m = math.nan
        self._feet_x_m = self._reference_feet_x_m = math.nan  # ankle x now and at the reference (m)
        self._still: deque[tuple[int, float, float, float]] = deque()  # (index, t, raw x, smoothed x)
        self._far_since = math.nan  # since when still away from the reference place (RESTAND_STILL_S)
        self._rep_since_reference = False  # an excursion has ended since the reference was taken
        self.in_excursion = False
        self._entry = self._peak_i = 0
        self._peak_m = 0.0
        self._t_entry = 0.0
        self.displacement_m = math.nan  # smoothed backward displacement now (live read-out)

    @property
    def phase(self) -> str:
        if not self.in_excursion:
            return "standing"
        return "descent" if self.displacement_m >= self._peak_m - 0.005 else "ascent"

    def referred_standing(self) -> tuple[int, int]:
        """The quiet standing (frame span) the next excursion will refer to."""
        return self.reference or self.standing

    def earliest_open_frame(self) -> int | None:
        """The first frame of the excursion under way (None when standing): an excursion found later
        starts no earlier than this, or than the frame it is found at (the core's memory horizon)."""
        return self._entry if self.in_excursion else None

    def _smooth(self, t_s: float, x: float) -> float:
        gap = t_s - self._t_last
        if math.isnan(self._s1) or not gap < self.th.tracking_gap_max_s:
            self._s1 = self._s2 = x  # (re)start after a long gap rather than smear across it
        else:
            alpha = 1.0 - math.exp(-max(gap, 0.0) / self._tau_s)
            self._s1 += alpha * (x - self._s1)
            self._s2 += alpha * (self._s1 - self._s2)
        self._t_last = t_s
        return self._s2

    def _update_standing(self, i: int, t_s: float, x: float, xs: float) -> None:
        self._still.append((i, t_s, x, xs))
        while self._still and t_s - self._still[0][1] > STILL_WINDOW_S:
            self._still.popleft()
        n = len(self._still)
        if n < 3 or t_s - self._still[0][1] < 0.9 * STILL_WINDOW_S:
            return
        raw = [r[2] for r in self._still]
        smooth = [r[3] for r in self._still]
        third = max(1, n // 3)
        trend = sum(raw[-third:]) / third - sum(raw[:third]) / third
        mean_s = sum(smooth) / n
        if not (abs(trend) < STILL_TREND_M and max(abs(v - mean_s) for v in smooth) < STILL_SPREAD_M):
            self._far_since = math.nan
            return
        place = sum(raw) / n
        far = self.reference is not None and abs(place - self._reference_x_m) > RESTAND_M
        if far:
            if math.isnan(self._far_since):
                self._far_since = self._still[0][1]
            after_rep_forward = place > self._reference_x_m \
                and (self._rep_since_reference or not self.restand_before_rep)
            if after_rep_forward and math.isfinite(self._feet_x_m) \
                    and math.isfinite(self._reference_feet_x_m) \
                    and abs(self._feet_x_m - self._reference_feet_x_m) < FEET_MOVED_M:
                return  # hips forward over feet that stayed: a posture (a lean-back), not a new place
            forward_unknown_feet = after_rep_forward and not math.isfinite(self._feet_x_m)
            if t_s - self._far_since < (RESTAND_FORWARD_STILL_S if forward_unknown_feet else RESTAND_STILL_S):
                return
        else:
            self._far_since = math.nan
        self.baseline_x_m = place
        self.standing = (self._still[0][0], i + 1)
        if self.reference is None or far:
            self.reference, self._reference_x_m = self.standing, self.baseline_x_m
            self._reference_feet_x_m = self._feet_x_m
            self._rep_since_reference = False

    def push(self, i: int, t_s: float, hip_x_m: float, feet_x_m: float = math.nan) -> Excursion | None:
        """feet_x_m: the ankle marker's x (NaN: not seen), which tells a new standing place (the feet moved)
        from the hips held forward over the same feet."""
        if math.isfinite(feet_x_m):
            self._feet_x_m = feet_x_m
        if not math.isfinite(hip_x_m):
            return None
        xs = self._smooth(t_s, hip_x_m)
        if math.isnan(self.baseline_x_m):
            self.baseline_x_m, self.standing = hip_x_m, (i, i + 1)  # provisional until quiet standing
        d = self.baseline_x_m - xs
        self.displacement_m = d
        if not self.in_excursion:
            self._update_standing(i, t_s, hip_x_m, xs)
            d = self.baseline_x_m - xs
            if d > self.entry_m:
                self.in_excursion, self._entry, self._t_entry = True, i, t_s
                self._far_since = math.nan
                self._peak_i, self._peak_m = i, d
            return None
        if d > self._peak_m:
            self._peak_i, self._peak_m = i, d
        if t_s - self._t_entry > MAX_EXCURSION_S:  # never came back: new standing place
            self.in_excursion = False
            self.baseline_x_m, self.standing = xs, (i, i + 1)
            self._still.clear()
            self._far_since = math.nan
            return None
        if i > self._peak_i and d < max(self.th.rep_start_frac * self._peak_m, self.end_floor_m):
            self.in_excursion = False
            self._rep_since_reference = True
            self._still.clear()
            self._far_since = math.nan
            return Excursion(self._entry, self._peak_i, i, self._peak_m, self.baseline_x_m,
                             self.reference or self.standing)
        return None
