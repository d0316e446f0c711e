"""Per-rep metrics (metrics.md table) from a closed excursion and the data that has arrived.

`measure_rep` is a pure function of the arrays it is given and of the frame index at which it is asked:
the core calls it at a data-determined frame, so live and offline give the same numbers. A rep is
measured whole once its lockout has been seen (station.core.form): with a shoulder marker that is up to
`lockout_window_s` after its end, usually less (the window closes early once the trunk is steady); live,
it is also measured at its end without the lockout (`provisional`), for the verdict as the subject stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from station.config import StationConfig
from station.core import form, target
from station.core.faults import judge
from station.core.filtering import lowpass, nan_gap_spans
from station.core.gaps import time_gap_spans
from station.core.reps import Excursion
from station.results import LOCKOUT_PENDING, RepResult
from station.streams import DOWEL_REGIONS

PRE_WINDOW_S = 2.0  # zero-lag filter context before the excursion's entry
BRIDGE_MAX_S = 0.15  # marker / CoP gaps bridged before filtering (4 frames at 30 fps)
TOP_FRAC = 0.9  # the "bottom" is the top 10% of the excursion, centre of mass in time


@dataclass
class TrialData:
    """Read-only views of everything received so far (time first)."""

    marker_t: np.ndarray
    markers: dict[str, np.ndarray]  # name -> (M, 3)
    force_t: np.ndarray | None = None  # None: no force stream in this input
    fz_n: np.ndarray | None = None
    cop_x_m: np.ndarray | None = None  # ungated
    rear_share: np.ndarray | None = None  # ungated
    dowel_t: np.ndarray | None = None
    dowel_gap_mm: np.ndarray | None = None
    dowel_region: np.ndarray | None = None
    # (K, 4) force rows (t, fz, cop x, rear share) of the quiet standing the metrics refer to, when the core
    # no longer holds the rows around it (a long session): its foot position is read from these
    standing_force: np.ndarray | None = None
    notes: dict = field(default_factory=dict)


@dataclass
class Outcome:
    status: str  # "rep", "defer" (end not yet in the data) or "reject" (not a rep)
    rep: RepResult | None = None
    amplitude_m: float = 0.0
    reason: str = ""


def _sagittal_angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    """Unsigned angle between two vectors projected on the sagittal (x, z) plane."""
    cross = u[0] * v[2] - u[2] * v[0]
    dot = u[0] * v[0] + u[2] * v[2]
    return math.degrees(math.atan2(abs(cross), dot))


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> float:
    """0 = straight leg: angle between thigh (knee->hip) and shank (ankle->knee), sagittal plane."""
    return _sagittal_angle_deg(hip - knee, knee - ankle)


def trunk_inclination_deg(hip: np.ndarray, shoulder: np.ndarray) -> float:
    """Hip->shoulder line against vertical, sagittal plane."""
    return _sagittal_angle_deg(shoulder - hip, np.array([0.0, 0.0, 1.0]))


def _crossing(t: np.ndarray, d: np.ndarray, k_from: int, step: int, level: float) -> float | None:
    """Time where d falls below level walking from k_from by step (+1 forward, -1 back), interpolated."""
    prev = k_from
    k = k_from + step
    while 0 <= k < d.size:
        if np.isfinite(d[k]):
            if d[k] < level:
                w = (d[prev] - level) / (d[prev] - d[k])
                return float(t[prev] + w * (t[k] - t[prev]))
            prev = k
        k += step
    return None


def _bottom_index(t: np.ndarray, d: np.ndarray, peak: int, frac: float = TOP_FRAC) -> int:
    """Centroid of the top of the excursion (d above frac of its peak, contiguous, weighted by height).

    A hinge often holds at the bottom and its top is flat to a millimetre for half a second or more: the
    single highest filtered sample wanders over it with marker noise, the centroid of the top does not."""
    lo, hi = peak, peak
    floor = frac * d[peak]
    while lo > 0 and np.isfinite(d[lo - 1]) and d[lo - 1] >= floor:
        lo -= 1
    while hi < d.size - 1 and np.isfinite(d[hi + 1]) and d[hi + 1] >= floor:
        hi += 1
    weight = d[lo:hi + 1] - floor
    if hi - lo < 2 or weight.sum() <= 0:
        return peak
    centre = float(np.sum(weight * t[lo:hi + 1]) / weight.sum())
    return lo + int(np.argmin(np.abs(t[lo:hi + 1] - centre)))


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _at(t: np.ndarray, series: np.ndarray, t_query: float, max_dt_s: float) -> float:
    """Value of the sample nearest t_query, NaN if none within max_dt_s."""
    if t.size == 0:
        return math.nan
    k = int(np.clip(np.searchsorted(t, t_query), 1, t.size - 1)) if t.size > 1 else 0
    if t.size > 1 and abs(t[k - 1] - t_query) < abs(t[k] - t_query):
        k -= 1
    return float(series[k]) if abs(t[k] - t_query) <= max_dt_s else math.nan


def _held_max(gap_mm: np.ndarray, hold: int) -> tuple[float, int]:
    """Largest gap held for `hold` consecutive frames (max over windows of the window minimum)."""
    if gap_mm.size < hold:
        return math.nan, -1
    windows = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(gap_mm, nan=-np.inf), hold)
    held = windows.min(axis=1)
    k = int(np.argmax(held))
    return (float(held[k]) if np.isfinite(held[k]) else math.nan), k


class _Filtered:
    """Zero-lag filtered marker series over the rep's window frames [w0, w1), each computed once."""

    def __init__(self, data: TrialData, t: np.ndarray, w0: int, w1: int, cutoff_hz: float,
                 hip: np.ndarray) -> None:
        self.data, self.t, self.w0, self.w1, self.cutoff_hz = data, t, w0, w1, cutoff_hz
        self._cache: dict[str, np.ndarray | None] = {"hip": hip}

    def get(self, name: str) -> np.ndarray | None:
        if name not in self._cache:
            pos = self.data.markers.get(name)
            ok = pos is not None and np.any(np.isfinite(pos[self.w0:self.w1, 0]))
            self._cache[name] = lowpass(self.t, pos[self.w0:self.w1], self.cutoff_hz,
                                        bridge_max_s=BRIDGE_MAX_S) if ok else None
        return self._cache[name]


def _standing_mean(data: TrialData, name: str, exc: Excursion) -> np.ndarray:
    """Mean raw position of a marker over the quiet standing the metrics refer to (NaN if not seen)."""
    pos = data.markers.get(name)
    if pos is None:
        return np.full(3, np.nan)
    pos = pos[exc.standing[0]:exc.standing[1]]
    return np.nanmean(pos, axis=0) if np.any(np.isfinite(pos[:, 0])) else np.full(3, np.nan)


def measure_rep(data: TrialData, exc: Excursion, j_now: int, prev_end_t: float, config: StationConfig,
                gate_n: float, *, final: bool = False, provisional: bool = False) -> Outcome:
    """Times, metrics and faults of one excursion, using marker frames up to j_now (inclusive).

    final: no frame after j_now will come (the input ended), so a lockout window still open is closed here.
    provisional: a rep whose lockout window is still open is returned now, judged on everything but its
    lockout (status "rep", reason LOCKOUT_WAIT, notes["lockout"] = LOCKOUT_PENDING), instead of deferred:
    the live verdict at the rep's end; the same call without it later gives the whole rep.
    """
    th = config.thresholds
    t_all = data.marker_t
    w0 = int(np.searchsorted(t_all, max(t_all[exc.entry_index] - PRE_WINDOW_S, prev_end_t)))
    # the window starts near the rep, not at the quiet standing (maybe the session's start): the standing
    # is read from its own rows, so a rep costs the same at minute 60 as at minute 1
    w0 = min(w0, exc.entry_index)
    w1 = j_now + 1
    t = t_all[w0:w1]
    hip_raw = data.markers["hip"][w0:w1]
    hip = lowpass(t, hip_raw, th.filter_cutoff_hz, bridge_max_s=BRIDGE_MAX_S)
    s0, s1 = exc.standing
    standing_hip = data.markers["hip"][s0:s1]
    base = np.nanmean(standing_hip, axis=0) if np.any(np.isfinite(standing_hip[:, 0])) else \
        np.array([exc.baseline_x_m, math.nan, math.nan])
    d = base[0] - hip[:, 0]
    lo, hi = exc.entry_index - w0, j_now - w0
    region = d[lo:hi + 1]
    if not np.any(np.isfinite(region)):
        return Outcome("reject", reason="no hip data in the excursion")
    b = lo + int(np.nanargmax(region))
    amplitude = float(d[b])
    if amplitude < th.rep_min_amplitude_m:
        return Outcome("reject", amplitude_m=amplitude, reason="smaller than the minimum amplitude")
    level = th.rep_start_frac * amplitude
    t_end = _crossing(t, d, b, +1, level)
    if t_end is None:
        return Outcome("defer", amplitude_m=amplitude)
    t_start = _crossing(t, d, b, -1, level)
    if t_start is None:
        t_start = float(t[0])
    b = _bottom_index(t, d, b)
    t_bottom = float(t[b])
    if t_end - t_start < th.rep_min_duration_s:
        return Outcome("reject", amplitude_m=amplitude, reason="shorter than the minimum duration")
    after = t > t_end
    t_close_pending = False  # provisional: the lockout is judged later (measure_rep's docstring)
    if not final and "shoulder" in data.markers and t[-1] < t_end + form.LOCKOUT_STILL_S \
            and not np.any(d[after] >= 0.75 * form.NEXT_REP_LEVELS * level):
        # the lockout window cannot close yet (no early close within LOCKOUT_STILL_S of the end, no next rep
        # begun): wait without filtering the rest (this runs on every frame while a rep waits)
        if not provisional:
            return Outcome("defer", amplitude_m=amplitude, reason=form.LOCKOUT_WAIT)
        t_close_pending = True
    filt = _Filtered(data, t, w0, w1, th.filter_cutoff_hz, hip)
    shoulder = filt.get("shoulder")
    standing_trunk = _finite(float(form.lean_deg(_standing_mean(data, "hip", exc),
                                                 _standing_mean(data, "shoulder", exc))))
    trunk = None if shoulder is None else form.lean_deg(hip, shoulder)
    in_rep = (t >= t_start) & (t <= t_end)
    t_close = None
    if trunk is not None and np.any(np.isfinite(trunk[in_rep])) and not t_close_pending:
        # a trunk to judge: wait for its lockout
        slow = lowpass(t, np.column_stack([trunk, d]), form.LOCKOUT_CUTOFF_HZ, bridge_max_s=BRIDGE_MAX_S)
        t_close = form.lockout_close_s(t, slow[:, 1], slow[:, 0], t_end, level, standing_trunk, th, final)
        if t_close is None:
            if not provisional:
                return Outcome("defer", amplitude_m=amplitude, reason=form.LOCKOUT_WAIT)
            t_close_pending = True

    rep = RepResult(index=0, t_start=t_start, t_bottom=t_bottom, t_end=t_end,
                    descent_s=t_bottom - t_start, ascent_s=t_end - t_bottom)
    missing: list[str] = []
    hip_ok = np.isfinite(hip[:, 0])
    # frames missing in time (a camera unplugged: no rows at all) count as NaN gaps do
    hip_gaps = nan_gap_spans(t[in_rep], hip_ok[in_rep], th.tracking_gap_max_s) \
        + time_gap_spans(t, th.tracking_gap_max_s, t_start, t_end)
    bottom_seen = not any(a <= t_bottom <= z for a, z in nan_gap_spans(t, hip_ok, th.tracking_gap_max_s)
                          + time_gap_spans(t, th.tracking_gap_max_s))
    if hip_gaps:
        missing.append("hip")
    if bottom_seen:
        rep.hip_back_mm = amplitude * 1000.0
        drop_mm = (base[2] - hip[b, 2]) * 1000.0
        rep.hip_drop_mm = _finite(drop_mm)
        if rep.hip_drop_mm is not None:
            # a hinge may not drop at all: floor the divisor at 1 mm so the ratio stays finite
            rep.hinge_ratio = rep.hip_back_mm / max(rep.hip_drop_mm, 1.0)
        rep.bottom_hold_s = _finite(form.bottom_hold_s(t, d, b, t_start, t_end, th.bottom_hold_band_frac))
        rep.reached_target, rep.target_short_mm = target.wall_reach(hip[in_rep, 0], config.feet.heel_x_m,
                                                                    config.feet.wall_mm)  # the wall drill
    _kinematics(rep, data, filt, b, exc)
    if trunk is not None and t_close is not None:
        _lockout(rep, t, slow[:, 1], slow[:, 0], t_end, t_close, standing_trunk)
    _kinetics(rep, data, t_start, t_end, t_bottom, t_all[s0], t_all[max(s1 - 1, s0)], config, gate_n, missing)
    region_name = _dowel(rep, data, t_start, t_end, th.dowel_hold_frames)
    if trunk is not None:
        t_break = form.form_break_s(data.dowel_t, data.dowel_gap_mm, t_start, t_bottom, th)
        if t_break is not None:
            rep.form_break_trunk_deg = _finite(form.value_at(t, trunk, t_break, th.tracking_gap_max_s))
    if missing:
        rep.notes["missing"] = missing
    if t_close_pending:
        rep.notes["lockout"] = LOCKOUT_PENDING
    rep.faults = judge(rep, th, incomplete=bool(missing), dowel_region=region_name,
                       standing_trunk_deg=standing_trunk)
    return Outcome("rep", rep=rep, amplitude_m=amplitude, reason=form.LOCKOUT_WAIT if t_close_pending else "")


def _lockout(rep: RepResult, t: np.ndarray, d: np.ndarray, trunk: np.ndarray, t_end: float, t_close: float,
             standing_trunk: float | None) -> None:
    if t_close - t_end < form.LOCKOUT_STILL_S:
        rep.notes["lockout"] = "not measured: the input ends before the lockout"
        return
    found = form.lockout(t, d, trunk, t_end, t_close)
    if found is None:
        rep.notes["lockout"] = "not measured: trunk not seen after the rep"
        return
    rep.lockout_trunk_deg, rep.lockout_hip_back_mm = _finite(found[0]), _finite(found[1])
    if standing_trunk is None:
        rep.notes["lockout"] = "not judged: no quiet standing with the shoulder marker to compare with"
    else:
        rep.notes["standing_trunk_deg"] = round(standing_trunk, 1)  # the lockout faults' reference


def _kinematics(rep: RepResult, data: TrialData, filt: _Filtered, b: int, exc: Excursion) -> None:
    hip, knee, ankle, shoulder, head = (filt.get(n) for n in ("hip", "knee", "ankle", "shoulder", "head"))

    def standing(name: str) -> np.ndarray:
        return _standing_mean(data, name, exc)

    if knee is not None and ankle is not None and np.all(np.isfinite(hip[b])):
        flex = knee_flexion_deg(hip[b], knee[b], ankle[b])
        rep.knee_flexion_deg = _finite(flex)
        with np.errstate(invalid="ignore"):
            flex_standing = knee_flexion_deg(standing("hip"), standing("knee"), standing("ankle"))
        if rep.knee_flexion_deg is not None:
            rep.knee_flexion_change_deg = _finite(flex - flex_standing)
    if shoulder is not None and np.all(np.isfinite(hip[b])):
        rep.trunk_inclination_deg = _finite(trunk_inclination_deg(hip[b], shoulder[b]))
    if shoulder is not None and head is not None:
        # against the subject's own standing head carriage: the tragus sits a few cm in front of or behind
        # the acromion line from person to person, which alone reads 5-15 deg (docs/metrics.md)
        neck_bottom = form.around(filt.t, form.neck_angle_deg(hip, shoulder, head), b, form.NECK_AVERAGE_S)
        with np.errstate(invalid="ignore"):
            neck_standing = float(form.neck_angle_deg(standing("hip"), standing("shoulder"),
                                                      standing("head")))
        rep.neck_extension_deg = _finite(neck_bottom - neck_standing)


def _kinetics(rep: RepResult, data: TrialData, t_start: float, t_end: float, t_bottom: float,
              t_stand0: float, t_stand1: float, config: StationConfig, gate_n: float,
              missing: list[str]) -> None:
    th = config.thresholds
    if data.force_t is None or data.force_t.size == 0:
        missing.append("force")
        return
    ft = data.force_t
    a = int(np.searchsorted(ft, t_start - 0.5))
    z = int(np.searchsorted(ft, t_end + 0.5, side="right"))
    t = ft[a:z]
    if t.size == 0:  # no plate data anywhere near this rep (the plate was unplugged across it)
        missing.append("force")
        return
    loaded = data.fz_n[a:z] > gate_n
    cop_x = np.where(loaded, data.cop_x_m[a:z], np.nan)
    share = np.where(loaded, data.rear_share[a:z], np.nan)
    foot = (lowpass(t, cop_x, th.filter_cutoff_hz, bridge_max_s=BRIDGE_MAX_S) - config.feet.heel_x_m) \
        / config.feet.foot_length_m
    share_f = lowpass(t, share, th.filter_cutoff_hz, bridge_max_s=BRIDGE_MAX_S)
    in_rep = (t >= t_start) & (t <= t_end)
    covered = t[in_rep]
    has_gap = covered.size == 0 or covered[0] - t_start > th.tracking_gap_max_s \
        or t_end - covered[-1] > th.tracking_gap_max_s \
        or bool(nan_gap_spans(covered, loaded[in_rep], th.tracking_gap_max_s)) \
        or (covered.size > 1 and float(np.max(np.diff(covered))) > th.tracking_gap_max_s)
    if has_gap:
        missing.append("force")
    rep.foot_pos_bottom = _finite(_at(t, foot, t_bottom, th.tracking_gap_max_s))
    share_bottom = _at(t, share_f, t_bottom, th.tracking_gap_max_s)
    rep.heel_load_pct = _finite(100.0 * share_bottom)
    cop_standing = _standing_cop_x(data, t_stand0, t_stand1, gate_n)
    if cop_standing.size and np.any(np.isfinite(foot[in_rep])):
        foot_standing = float(np.mean((cop_standing - config.feet.heel_x_m) / config.feet.foot_length_m))
        rep.foot_pos_shift = _finite(float(np.nanmax(foot[in_rep])) - foot_standing)


def _standing_cop_x(data: TrialData, t_stand0: float, t_stand1: float, gate_n: float) -> np.ndarray:
    """CoP x (m) of the loaded force rows in the quiet standing [t_stand0, t_stand1] (raw, not filtered)."""
    if data.standing_force is not None:
        t, fz, cop_x = data.standing_force[:, 0], data.standing_force[:, 1], data.standing_force[:, 2]
    else:
        t, fz, cop_x = data.force_t, data.fz_n, data.cop_x_m
    a, z = int(np.searchsorted(t, t_stand0, "left")), int(np.searchsorted(t, t_stand1, "right"))
    keep = fz[a:z] > gate_n
    return cop_x[a:z][keep]


def _dowel(rep: RepResult, data: TrialData, t_start: float, t_end: float, hold: int) -> str | None:
    if data.dowel_t is None or data.dowel_t.size == 0:
        return None
    a, z = np.searchsorted(data.dowel_t, [t_start, t_end])
    gap, k = _held_max(data.dowel_gap_mm[a:z], hold)
    if k < 0 or not np.isfinite(gap):
        rep.notes["dowel"] = "not measured: back not seen for enough frames in a row"
        return None
    rep.dowel_gap_mm = gap
    window = data.dowel_region[a + k:a + k + hold]
    values, counts = np.unique(window, return_counts=True)
    region = DOWEL_REGIONS[int(values[np.argmax(counts)])]
    rep.notes["dowel_region"] = region  # which contact the worst gap was at (reports say where)
    return region
