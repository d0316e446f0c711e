"""The kettlebell swing: the ballistic hinge, one swing about every second.

Definitions (docs/metrics.md, "Kettlebell swing"). Between swings the hips do not come back to where the
subject stood: at the top the body leans back a little as a plank against the bell floating in front, so
the hinge's "back below 15% of the amplitude" never happens. A swing is therefore segmented against its own
tops: the hip's backward excursion from the top before it (the most forward hip since the previous swing)
to its deepest point and forward to the top after it; it starts 15% of the way from the top before to
the deepest point and ends 15% short of the top after. The top after is the most forward hip before the
hips go back again (SWING_TOP_RISE_M), or, for the last swing, within `lockout_window_s` of the end.

Per swing: `hip_back_mm`, `hip_drop_mm`, `hinge_ratio` (hips back against down, from the standing place as
for every rep), knee and trunk at the bottom; `hip_snap_mps`, the peak forward hip speed from the bottom to
the end; `lockout_trunk_deg`, the most upright trunk from the end to SWING_TOP_AFTER_S past the top (the
standing plank), and the hip's place then; `peak_fz_bw`, the largest vertical force from the start to the
end over the body weight. Faults: `squat_swing` (hips back no more than down, or the knees bent past the
limit), `incomplete_lockout` and `lean_back` (against the standing trunk, as for the hinge).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from station.config import StationConfig, Thresholds
from station.core import form
from station.core import metrics as mt
from station.core.filtering import lowpass, nan_gap_spans
from station.core.reps import Excursion, RepDetector
from station.results import ALL_FAULTS, RepResult

SWING_TOP_RISE_M = 0.010  # hips back again this far past the most forward point: the top is behind us
SWING_TURN_FRAC = 0.25  # ... once the hips have come forward this share of the swing's span at least
SWING_TOP_AFTER_S = 0.2  # the lockout window runs this long past the top (the bell floats ~0.2 s)
SWING_TOP_SEARCH_S = 0.5  # the top is looked for no later than this + lockout_window_s after the bottom
# the snap's hip x is low-passed at 5 Hz: a 0.4-0.5 s hip drive has its content below ~3 Hz (the peak speed
# stays within ~1% of the noise-free one), while the peak of a derivative picks up whatever noise is left
# (simulator, 3 mm marker noise at 60 fps, 48 swings: 6 Hz reads +2.7% +-4.9%, 5 Hz +0.7% +-4.1%)
SNAP_CUTOFF_HZ = 5.0
FORCE_CUTOFF_HZ = 30.0  # peak Fz on the force low-passed here: the swing's force changes within ~0.1 s
STANDING_Z_FRAMES = 300  # hip heights kept until the first swing (the quiet standing's are averaged)
SWING_MARGIN_FRAMES = 30  # filter context before the top that precedes the swing


@dataclass
class SwingExcursion(Excursion):
    top_index: int = 0  # the frame of the most forward hip before this swing (its top before)


class SwingDetector:
    """Causal swing finder on the smoothed hip x, frame by frame (`push`), like reps.RepDetector.

    Until the first swing a RepDetector finds the quiet standing (the metrics' reference) and smooths hip
    x; from the first swing on, the standing place is kept (swings never stand still in between)."""

    def __init__(self, thresholds: Thresholds):
        self.th = thresholds
        self._standing = RepDetector(thresholds)
        self._z_smoother = RepDetector(thresholds)  # its smoothing only, for hip height
        self._recent_z: deque[tuple[int, float]] = deque(maxlen=STANDING_Z_FRAMES)
        self._base_z = math.nan
        self.entry_m = 0.5 * thresholds.rep_min_amplitude_m
        self.in_excursion = False
        self._base_x = math.nan  # the standing place, fixed at the first swing
        self._top_m, self._top_i = math.inf, 0
        self._peak_m, self._peak_i, self._entry = -math.inf, 0, 0
        self._min_after_m, self._min_after_i = math.inf, 0
        self.displacement_m = math.nan

    @property
    def baseline_x_m(self) -> float:
        return self._standing.baseline_x_m if math.isnan(self._base_x) else self._base_x

    @property
    def standing(self) -> tuple[int, int]:
        return self._standing.reference or self._standing.standing

    @property
    def phase(self) -> str:
        if not self.in_excursion:
            return "standing"
        return "descent" if self.displacement_m >= self._peak_m - 0.005 else "ascent"

    def earliest_open_frame(self) -> int | None:
        """As RepDetector's; a swing's window also reaches back to the top before it (found from the last
        swing's end on), so that frame counts while the next swing is not yet found."""
        return min(self._top_i, self._entry) if self.in_excursion else self._top_i

    def push(self, i: int, t_s: float, hip_x_m: float, hip_z_m: float) -> SwingExcursion | None:
        if not (math.isfinite(hip_x_m) and math.isfinite(hip_z_m)):
            return None
        st = self._standing
        zs = self._z_smoother._smooth(t_s, hip_z_m)
        if math.isnan(self._base_x):
            st.push(i, t_s, hip_x_m)
            self._recent_z.append((i, zs))
            if st.reference is not None:  # the standing height over the quiet standing's frames
                s0, s1 = st.reference
                near = [z for k, z in self._recent_z if s0 <= k < s1] or [self._recent_z[0][1]]
                self._base_z = sum(near) / len(near)
        else:
            st._smooth(t_s, hip_x_m)  # only the smoothing: the standing place is kept during the set
        xs = st._s2
        d = math.hypot(self.baseline_x_m - xs, self._base_z - zs)  # how far the hip is from where it stood
        if math.isnan(d):
            return None
        self.displacement_m = d
        if not self.in_excursion:
            if d < self._top_m:
                self._top_m, self._top_i = d, i
            if d > self._top_m + self.entry_m and st.reference is not None:  # after a quiet standing
                if math.isnan(self._base_x):
                    self._base_x = st.baseline_x_m
                    d = math.hypot(self._base_x - xs, self._base_z - zs)
                self.in_excursion, self._entry = True, i
                self._peak_m, self._peak_i, self._min_after_m, self._min_after_i = d, i, d, i
            return None
        if d > self._peak_m:
            self._peak_m, self._peak_i, self._min_after_m, self._min_after_i = d, i, d, i
            return None
        if d < self._min_after_m:
            self._min_after_m, self._min_after_i = d, i
        span = self._peak_m - self._top_m
        returned = d < self._top_m + self.th.rep_start_frac * span
        # or the hips came forward a good part of the way and are going away again: the next swing began
        # (the first swing's top is far from standing: the body leans back against the bell there)
        turned = (self._peak_m - self._min_after_m >= max(SWING_TURN_FRAC * span, self.th.rep_min_amplitude_m)
                  and d > self._min_after_m + SWING_TOP_RISE_M)
        if not (returned or turned):
            return None
        self.in_excursion = False
        exc = SwingExcursion(self._entry, self._peak_i, i, self._peak_m, self._base_x, self.standing,
                             top_index=self._top_i)
        self._top_m, self._top_i = d, i  # the next swing's top is looked for from here
        if turned:  # ... and was already passed
            self._top_m, self._top_i = self._min_after_m, self._min_after_i
        return exc


def measure_swing(data: mt.TrialData, exc: SwingExcursion, j_now: int, prev_end_t: float,
                  config: StationConfig, gate_n: float, body_weight_n: float | None, *,
                  final: bool = False) -> mt.Outcome:
    """One swing's times, metrics and faults from marker frames up to j_now (defer: its top not seen yet)."""
    th = config.thresholds
    t_all = data.marker_t
    w0 = max(min(exc.top_index, exc.entry_index) - SWING_MARGIN_FRAMES, 0)
    t = t_all[w0:j_now + 1]
    hip = lowpass(t, data.markers["hip"][w0:j_now + 1], th.filter_cutoff_hz, bridge_max_s=mt.BRIDGE_MAX_S)
    base = mt._standing_mean(data, "hip", exc)
    if not np.isfinite(base[0]):
        base = np.array([exc.baseline_x_m, math.nan, math.nan])
    d = base[0] - hip[:, 0]  # hips back
    e = np.hypot(d, base[2] - hip[:, 2])  # the hip's distance from where it stood (back and down)
    lo, hi = exc.entry_index - w0, exc.detect_index - w0
    if not np.any(np.isfinite(e[lo:hi + 1])):
        return mt.Outcome("reject", reason="no hip data in the swing")
    p = lo + int(np.nanargmax(e[lo:hi + 1]))
    top0 = max(exc.top_index - w0 - SWING_MARGIN_FRAMES // 2, 0)
    a = top0 + int(np.nanargmin(e[top0:p + 1]))
    amplitude = float(e[p] - e[a])
    if amplitude < th.rep_min_amplitude_m:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="smaller than the minimum amplitude")
    top = _top_after(t, e, p, th, final)
    if top is None:
        return mt.Outcome("defer", amplitude_m=amplitude, reason=form.LOCKOUT_WAIT)
    t_start = mt._crossing(t, e, p, -1, e[a] + th.rep_start_frac * amplitude)
    t_end = mt._crossing(t, e, p, +1, e[top] + th.rep_start_frac * (e[p] - e[top]))
    if t_start is None or t_end is None:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="swing not seen whole")
    if t[top] > t_end + th.lockout_window_s:  # stood up after the last swing: the top within the window
        w = np.flatnonzero((t >= t_end) & (t <= t_end + th.lockout_window_s))
        top = int(w[np.nanargmin(e[w])])
    if not final and t[-1] < t[top] + SWING_TOP_AFTER_S:
        return mt.Outcome("defer", amplitude_m=amplitude, reason=form.LOCKOUT_WAIT)
    if t_end - t_start < th.swing_rep_min_duration_s:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="shorter than the minimum duration")
    b = mt._bottom_index(t, e, p)
    rep = RepResult(index=0, t_start=t_start, t_bottom=float(t[b]), t_end=t_end,
                    descent_s=float(t[b]) - t_start, ascent_s=t_end - float(t[b]))
    missing: list[str] = []
    in_rep = (t >= t_start) & (t <= t_end)
    if nan_gap_spans(t[in_rep], np.isfinite(hip[in_rep, 0]), th.tracking_gap_max_s):
        missing.append("hip")
    rep.hip_back_mm = mt._finite(float(d[b]) * 1000.0)
    rep.hip_drop_mm = mt._finite((base[2] - hip[b, 2]) * 1000.0)
    if rep.hip_drop_mm is not None and rep.hip_back_mm is not None:
        rep.hinge_ratio = rep.hip_back_mm / max(rep.hip_drop_mm, 1.0)  # hips back against down
    filt = mt._Filtered(data, t, w0, j_now + 1, th.filter_cutoff_hz, hip)
    mt._kinematics(rep, data, filt, b, exc)
    rep.neck_extension_deg = None  # the neck is judged in the hinge drills
    # hip snap: the forward hip speed, on hip x low-passed at SNAP_CUTOFF_HZ (see there)
    snap_x = lowpass(t, data.markers["hip"][w0:j_now + 1, 0], SNAP_CUTOFF_HZ, bridge_max_s=mt.BRIDGE_MAX_S)
    forward = np.gradient(snap_x, t)
    snap = (t >= rep.t_bottom) & (t <= t_end) & np.isfinite(forward)
    if np.any(snap):
        rep.hip_snap_mps = float(np.max(forward[snap]))
    standing_trunk = mt._finite(float(form.lean_deg(mt._standing_mean(data, "hip", exc),
                                                    mt._standing_mean(data, "shoulder", exc))))
    shoulder = filt.get("shoulder")
    if shoulder is not None:
        found = form.lockout(t, d, form.lean_deg(hip, shoulder), t_end, float(t[top]) + SWING_TOP_AFTER_S)
        if found is not None:
            rep.lockout_trunk_deg, rep.lockout_hip_back_mm = mt._finite(found[0]), mt._finite(found[1])
    s0, s1 = exc.standing
    mt._kinetics(rep, data, t_start, t_end, rep.t_bottom, t_all[s0], t_all[max(s1 - 1, s0)], config, gate_n,
                 missing)
    rep.peak_fz_bw = _peak_fz_bw(data, t_start, t_end, body_weight_n)
    if missing:
        rep.notes["missing"] = missing
    rep.notes["movement"] = "swing"
    if standing_trunk is not None:
        rep.notes["standing_trunk_deg"] = round(standing_trunk, 1)
    rep.faults = judge_swing(rep, th, incomplete=bool(missing), standing_trunk_deg=standing_trunk)
    return mt.Outcome("rep", rep=rep, amplitude_m=amplitude)


def _top_after(t: np.ndarray, d: np.ndarray, p: int, th: Thresholds, final: bool) -> int | None:
    """Index of the most forward hip after the deepest point p, once the hips have gone back again past it
    by SWING_TOP_RISE_M, or the search span has passed (the last swing), or the input ended; else None."""
    span = np.flatnonzero((t > t[p]) & (t <= t[p] + SWING_TOP_SEARCH_S + th.lockout_window_s))
    span = span[np.isfinite(d[span])]
    if span.size == 0:
        return None
    running = np.minimum.accumulate(d[span])
    rose = np.flatnonzero(d[span] > running + SWING_TOP_RISE_M)
    if rose.size:
        return int(span[np.argmin(d[span[:rose[0] + 1]])])
    if final or t[-1] >= t[p] + SWING_TOP_SEARCH_S + th.lockout_window_s:
        return int(span[np.argmin(d[span])])
    return None


def _peak_fz_bw(data: mt.TrialData, t_start: float, t_end: float, body_weight_n: float | None
                ) -> float | None:
    if data.force_t is None or data.force_t.size < 2 or not body_weight_n:
        return None
    a, z = np.searchsorted(data.force_t, [t_start - 0.2, t_end + 0.2])
    if z - a < 8:
        return None
    ft = data.force_t[a:z]
    fz = lowpass(ft, data.fz_n[a:z], FORCE_CUTOFF_HZ)
    inside = (ft >= t_start) & (ft <= t_end) & np.isfinite(fz)
    return float(np.max(fz[inside]) / body_weight_n) if np.any(inside) else None


def judge_swing(rep: RepResult, th: Thresholds, *, incomplete: bool, standing_trunk_deg: float | None
                ) -> list[str]:
    """squat_swing, the lockout faults against the standing trunk, incomplete_tracking; None never raises."""
    found = set()
    if (rep.hinge_ratio is not None and rep.hinge_ratio <= th.swing_hinge_ratio_squat_max) \
            or (rep.knee_flexion_deg is not None and rep.knee_flexion_deg > th.swing_knee_flexion_squat_deg):
        found.add("squat_swing")
    if rep.lockout_trunk_deg is not None and standing_trunk_deg is not None:
        if rep.lockout_trunk_deg - standing_trunk_deg > th.lockout_incomplete_deg:
            found.add("incomplete_lockout")
        if standing_trunk_deg - rep.lockout_trunk_deg > th.lockout_lean_back_deg:
            found.add("lean_back")
    if incomplete:
        found.add("incomplete_tracking")
    return [f for f in ALL_FAULTS if f in found]


def swings_per_min(reps: list[RepResult]) -> float | None:
    """The set's swing rate: swings per minute from the first swing's start to the last one's start."""
    if len(reps) < 2:
        return None
    return 60.0 * (len(reps) - 1) / (reps[-1].t_start - reps[0].t_start)
