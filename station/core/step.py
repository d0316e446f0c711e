"""The step tap-down and step-up rep: one leg on the plate lowers (tap-down) or raises (step-up) the body.

Definitions (docs/metrics.md, "Step tap-down and step-up"): the rep is the hip's vertical excursion from its
quiet-standing height, by the same 15% rule as the hinge's backward one (a knee-dominant step-down barely
moves the hips back, so hip x cannot find it). A tap-down goes *down* from standing; a step-up waits with
the working foot on the step and the leg bent, and goes *up* onto it first (StepDetector finds either and
keeps to the direction the set shows). At the turn (centroid of the top 10% of the excursion: the tap-down's
bottom, the step-up's top): knee flexion (hip-knee-ankle), hip flexion (trunk line against thigh line), both
against quiet standing; `hip_knee_ratio` = hip flexion change / knee flexion change (both negative in a
step-up: the leg straightens from its bent rest). The ratio is 1 when trunk and shin lean forward by the
same angle (hip flexion = trunk lean + thigh angle, knee flexion = shin lean + thigh angle), < 1 when the
shin leads: the knee-dominant strategy (fault `knee_dominant`, below `step_hip_knee_ratio_min`). Trunk lean
is `trunk_inclination_deg` (a step-up's: the most forward trunk of the drive, start to top), the CoP along
the foot `foot_pos_bottom` and `foot_pos_shift`, as for the hinge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.config import StationConfig, Thresholds
from station.core import form
from station.core import metrics as mt
from station.core.filtering import lowpass, nan_gap_spans
from station.core.reps import Excursion, RepDetector
from station.results import ALL_FAULTS, RepResult

DETECT_AXIS = 2  # the step's rep detector follows hip height (z), not hip x
KNEE_CHANGE_MIN_DEG = 5.0  # below this knee bend (either way) the ratio is noise over noise: no ratio


@dataclass
class StepExcursion(Excursion):
    rise: bool = False  # a step-up's excursion: the hip goes up from its rest height first


class StepDetector:
    """The step's rep finder on hip height (`push` frame by frame, like reps.RepDetector): a tap-down's hip
    goes down from standing, a step-up's up from its rest. Two RepDetectors, one on the height's fall and one
    on its rise (fed -z: a RepDetector follows a fall from its baseline). Until the set shows its direction
    both run; the first excursion of at least `rep_min_amplitude_m` decides it (a set is one drill), and from
    then on only that one counts, so a step-up held on the step long enough to pass for a new standing
    place, or a tap-down that overshoots standing on the way up, opens no rep the other way."""

    def __init__(self, thresholds: Thresholds):
        self.th = thresholds
        self._down, self._up = RepDetector(thresholds), RepDetector(thresholds)
        self.rise: bool | None = None  # the set's direction, once known

    @property
    def _active(self) -> RepDetector:
        if self.rise is None:
            return self._up if self._up.in_excursion and not self._down.in_excursion else self._down
        return self._up if self.rise else self._down

    @property
    def in_excursion(self) -> bool:
        return self._active.in_excursion

    @property
    def phase(self) -> str:
        return self._active.phase

    @property
    def displacement_m(self) -> float:
        """How far the hip is from its rest height now, toward the set's direction (m)."""
        return self._active.displacement_m

    @property
    def standing(self) -> tuple[int, int]:
        return self._active.standing

    @property
    def baseline_x_m(self) -> float:
        """The rest hip height (m) (the name is RepDetector's, whose baseline is hip x)."""
        base = self._active.baseline_x_m
        return -base if self._active is self._up else base

    def referred_standings(self) -> set[tuple[int, int]]:
        """The quiet standings the next excursion of a direction still followed will refer to."""
        return {det.referred_standing() for rise, det in ((False, self._down), (True, self._up))
                if self.rise in (None, rise)}

    def earliest_open_frame(self) -> int | None:
        """As RepDetector's, over the directions still followed."""
        frames = [f for rise, det in ((False, self._down), (True, self._up))
                  if self.rise in (None, rise) and (f := det.earliest_open_frame()) is not None]
        return min(frames) if frames else None

    def push(self, i: int, t_s: float, hip_z_m: float) -> StepExcursion | None:
        found = None
        for rise, det in ((False, self._down), (True, self._up)):
            if self.rise is not None and rise != self.rise:
                continue  # the other direction is off once the set has shown its own
            exc = det.push(i, t_s, -hip_z_m if rise else hip_z_m)
            if exc is None:
                continue
            if self.rise is None and exc.peak_m >= self.th.rep_min_amplitude_m:
                self.rise = rise
            fields = {**vars(exc), "baseline_x_m": -exc.baseline_x_m if rise else exc.baseline_x_m}
            found = StepExcursion(**fields, rise=rise)
        return found


def hip_flexion_deg(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> float:
    """Trunk (hip -> shoulder) against thigh (knee -> hip), sagittal plane; 0 = in line, + = flexed."""
    trunk = math.degrees(math.atan2(shoulder[0] - hip[0], shoulder[2] - hip[2]))
    thigh = math.degrees(math.atan2(hip[0] - knee[0], hip[2] - knee[2]))
    return trunk - thigh


def measure_step(data: mt.TrialData, exc: Excursion, j_now: int, prev_end_t: float, config: StationConfig,
                 gate_n: float, *, final: bool = False) -> mt.Outcome:
    """Times, metrics and faults of one vertical hip excursion (down, or up for a StepExcursion that rises),
    using marker frames up to j_now."""
    rise = bool(getattr(exc, "rise", False))
    th = config.thresholds
    t_all = data.marker_t
    w0 = int(np.searchsorted(t_all, max(t_all[exc.entry_index] - mt.PRE_WINDOW_S, prev_end_t)))
    w0 = min(w0, exc.entry_index)  # near the rep: the standing is read from its own rows (metrics)
    t = t_all[w0:j_now + 1]
    hip = lowpass(t, data.markers["hip"][w0:j_now + 1], th.filter_cutoff_hz, bridge_max_s=mt.BRIDGE_MAX_S)
    base = mt._standing_mean(data, "hip", exc)
    if not np.isfinite(base[2]):
        base = np.array([math.nan, math.nan, exc.baseline_x_m])
    d = (hip[:, 2] - base[2]) if rise else (base[2] - hip[:, 2])  # the excursion: the rise or the drop
    lo, hi = exc.entry_index - w0, j_now - w0
    if not np.any(np.isfinite(d[lo:hi + 1])):
        return mt.Outcome("reject", reason="no hip data in the excursion")
    b = lo + int(np.nanargmax(d[lo:hi + 1]))
    amplitude = float(d[b])
    if amplitude < th.rep_min_amplitude_m:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="smaller than the minimum amplitude")
    level = th.rep_start_frac * amplitude
    t_end = mt._crossing(t, d, b, +1, level)
    if t_end is None:
        return mt.Outcome("defer", amplitude_m=amplitude)
    t_start = mt._crossing(t, d, b, -1, level)
    t_start = float(t[0]) if t_start is None else t_start
    b = mt._bottom_index(t, d, b)
    t_bottom = float(t[b])
    if t_end - t_start < th.rep_min_duration_s:
        return mt.Outcome("reject", amplitude_m=amplitude, reason="shorter than the minimum duration")
    rep = RepResult(index=0, t_start=t_start, t_bottom=t_bottom, t_end=t_end,
                    descent_s=t_bottom - t_start, ascent_s=t_end - t_bottom)
    missing: list[str] = []
    in_rep = (t >= t_start) & (t <= t_end)
    if nan_gap_spans(t[in_rep], np.isfinite(hip[in_rep, 0]), th.tracking_gap_max_s):
        missing.append("hip")
    rep.hip_drop_mm = -amplitude * 1000.0 if rise else amplitude * 1000.0  # signed: a step-up's rise is -
    rep.hip_back_mm = mt._finite((base[0] - hip[b, 0]) * 1000.0)  # signed: hips back (+) or forward (-)
    filt = mt._Filtered(data, t, w0, j_now + 1, th.filter_cutoff_hz, hip)
    mt._kinematics(rep, data, filt, b, exc)
    rep.neck_extension_deg = None  # the neck is judged in the hinge drills
    if rise:  # at a step-up's top the trunk is upright whatever the strategy: its lean is in the drive
        rep.trunk_inclination_deg = _drive_lean_deg(t, hip, filt.get("shoulder"), t_start, t_bottom)
    shoulder, knee = filt.get("shoulder"), filt.get("knee")
    if shoulder is not None and knee is not None and rep.knee_flexion_change_deg is not None:
        with np.errstate(invalid="ignore"):
            standing = hip_flexion_deg(*(mt._standing_mean(data, n, exc)
                                         for n in ("shoulder", "hip", "knee")))
        change = hip_flexion_deg(shoulder[b], hip[b], knee[b]) - standing
        if math.isfinite(change) and abs(rep.knee_flexion_change_deg) > KNEE_CHANGE_MIN_DEG:
            rep.hip_knee_ratio = change / rep.knee_flexion_change_deg
    s0, s1 = exc.standing
    mt._kinetics(rep, data, t_start, t_end, t_bottom, t_all[s0], t_all[max(s1 - 1, s0)], config, gate_n,
                 missing)
    if missing:
        rep.notes["missing"] = missing
    rep.notes["movement"] = "step"
    rep.notes["step"] = "up" if rise else "down"
    rep.faults = judge_step(rep, config, incomplete=bool(missing))
    return mt.Outcome("rep", rep=rep, amplitude_m=amplitude)


def _drive_lean_deg(t: np.ndarray, hip: np.ndarray, shoulder: np.ndarray | None, t_start: float,
                    t_top: float) -> float | None:
    """The most forward trunk (deg from vertical) from a step-up's start to its top."""
    if shoulder is None:
        return None
    drive = (t >= t_start) & (t <= t_top)
    lean = form.lean_deg(hip[drive], shoulder[drive])
    return mt._finite(float(np.nanmax(lean))) if np.any(np.isfinite(lean)) else None


def judge_step(rep: RepResult, config: StationConfig, *, incomplete: bool) -> list[str]:
    """knee_dominant below the ratio limit; incomplete_tracking. A None ratio never raises a fault."""
    found = set()
    if rep.hip_knee_ratio is not None and rep.hip_knee_ratio < config.thresholds.step_hip_knee_ratio_min:
        found.add("knee_dominant")
    if incomplete:
        found.add("incomplete_tracking")
    return [f for f in ALL_FAULTS if f in found]
