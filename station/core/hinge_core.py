"""The real-time core: calibrated force and marker blocks in, reps with metrics and faults out.

One path for live and offline: `analyze` feeds recorded streams to this same class in chunks, so the
numbers agree by construction. Each decision is taken at a data-determined point (a marker frame index,
once force has arrived up to that frame's time), never at a chunk boundary.

A rep's lockout is judged after its end (station.core.form): with a shoulder marker, when the trunk is
steady after the rep's end (typically 0.4-0.7 s after it) and at most `lockout_window_s` after it. Offline
(`analyze`) a rep is emitted once, with its lockout. Live (`live_verdicts`, the trial runner) a rep is
emitted at its end judged on everything but the lockout (notes.lockout = results.LOCKOUT_PENDING), and again,
same index, once the lockout is judged: a coach hears the verdict as the subject stands up, and the
lockout faults follow. The emitted reps of the two end the same.

The session-wide "reject excursions below 50% of the median amplitude" rule (metrics.md) cannot be
known live. Live (`poll`) a rep is judged against the median of the reps so far including itself;
`finish` re-applies the rule with the whole session's median and drops (with a warning) any rep that
falls below it. `finish` is the final answer, live and offline alike.

Memory: marker rows are addressed by frame index and are all kept (16 floats a frame, ~0.2 MB/min at
30 fps). Force and dowel rows are read by time only, and older ones are dropped once no rep can still
read them (`_horizon_s`): a measurement's window starts near its excursion (its entry, or a swing's top,
minus the filter context), and the quiet standing it refers to (maybe the session's start) is read from
its own rows, kept apart (`_pin_standings`); rows of the last `keep_recent_s` always stay. The answers
are the same as with everything kept, and a rep costs the same at minute 60 as at minute 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.config import StationConfig
from station.core import cop, movements
from station.core.buffers import ColumnBuffer
from station.core.form import FORM_BREAK_FIT_FRAMES, LOCKOUT_WAIT
from station.core.metrics import Outcome, TrialData
from station.core.reps import Excursion, RepDetector
from station.core.step import StepDetector
from station.core.summary import summarize
from station.core.swing import SWING_MARGIN_FRAMES
from station.results import AnalysisResult, RepResult
from station.streams import MARKER_NAMES, DowelBlock, ForceBlock, MarkerBlock, time_slice

FORCE_WAIT_S = 2.0  # markers this far ahead of force: judge reps without waiting (plate stalled)
DEFER_LIMIT_S = 1.0  # a closed excursion whose filtered end is not found by then is closed at the data end
KEEP_RECENT_S = 60.0  # force and dowel rows this recent always stay
# a measurement reads force from 0.5 s before its window, which starts up to metrics.PRE_WINDOW_S (2 s)
# before the excursion's entry: rows this far before the earliest frame a rep can still use stay
HORIZON_MARGIN_S = 5.0
SPARE_DOWEL_ROWS = 2 * FORM_BREAK_FIT_FRAMES  # the form break's line fit reads dowel frames before the rep


@dataclass
class LiveValues:
    """What the dashboard shows now; NaN / None while unknown."""

    t_s: float = math.nan
    fz_n: float = math.nan
    cop_xy_m: tuple[float, float] = (math.nan, math.nan)
    foot_pos: float = math.nan
    heel_load_pct: float = math.nan
    hip_m: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    hip_back_m: float = math.nan
    hip_drop_m: float = math.nan
    phase: str = "standing"
    body_weight_n: float | None = None
    # a six-component plate's latest shear (Fx, Fy) N and free moment N·m (station.core.shear); None from a
    # four-cell plate, which measures neither
    shear_n: tuple[float, float] | None = None
    free_moment_nm: float | None = None


class HingeCore:
    """Push calibrated blocks in time order; poll new reps; finish for the session result."""

    def __init__(self, config: StationConfig, *, body_mass_kg: float | None = None, expect_force: bool = True,
                 expect_markers: bool = True, expect_dowel: bool = False, movement: str = "hinge",
                 keep_recent_s: float = KEEP_RECENT_S, live_verdicts: bool = False):
        """keep_recent_s: force and dowel rows this recent always stay (inf: every row stays).
        live_verdicts: give each rep at its end, before its lockout, and again with it (a live trial)."""
        self.config = config
        self.keep_recent_s = keep_recent_s
        self.movement = movements.check_movement(movement)  # hinge drills, "swing" or "step"
        self.expect_force = expect_force
        self.expect_markers = expect_markers
        self.expect_dowel = expect_dowel
        self._force = ColumnBuffer(4)  # t, fz, cop x, rear share: what the metrics read
        self._markers = ColumnBuffer(1 + 3 * len(MARKER_NAMES))
        self._marker_seen: set[str] = set()
        self._dowel = ColumnBuffer(3)  # t, gap mm, region index
        self._bw = cop.BodyWeightEstimator(config, body_mass_kg)
        self._detector = movements.detector(self.movement, config.thresholds)
        self._detected_upto = 0  # marker frames given to the detector
        self._pending: list[tuple[Excursion, int]] = []  # (excursion, next frame index to try)
        self._reps: list[RepResult] = []
        self._amplitudes: list[float] = []
        self._new: list[RepResult] = []
        self._prev_end_t = -math.inf
        self.warnings: list[str] = []
        self.live = LiveValues()
        self._dropped_samples = 0
        self._standing_z: tuple[tuple[int, int], float] = ((-1, -1), math.nan)
        # live: a rep is given at its end without its lockout and again once that is judged (poll gives
        # both; finish the whole reps): {excursion entry frame: index of the rep given}
        self.live_verdicts = live_verdicts
        self._given: dict[int, int] = {}
        self._pinned: dict[tuple[int, int], np.ndarray] = {}  # quiet standing span -> its force rows

    # ---- input -----------------------------------------------------------------------------------
    def _monotonic(self, buf: ColumnBuffer, t_s: np.ndarray) -> np.ndarray:
        keep = np.concatenate(([t_s[0] > buf.last_t()], np.diff(t_s) > 0)) if t_s.size else np.zeros(0, bool)
        self._dropped_samples += int(t_s.size - np.count_nonzero(keep))
        return keep

    def push_force(self, block: ForceBlock) -> None:
        if len(block) == 0:
            return
        t = np.asarray(block.t_s, dtype=float)
        cells = np.asarray(block.cells_n, dtype=float)
        keep = self._monotonic(self._force, t)
        t, cells = t[keep], cells[keep]
        fz = cop.total_force_n(cells)
        xy = cop.cop_xy_m(cells, self.config.plate.channel_xy, fz)
        share = cop.rear_share(cells, self.config.plate.rear_channels, fz)
        self._force.extend(np.column_stack([t, fz, xy[:, 0], share]))
        self._bw.update(t, fz)
        self._live_force(t[-1], fz[-1], xy[-1], share[-1])
        if block.shear_n is not None and len(block.shear_n) and np.any(keep):  # six-component plate only
            k = int(np.flatnonzero(keep)[-1])
            self.live.shear_n = (float(block.shear_n[k, 0]), float(block.shear_n[k, 1]))
            if block.free_moment_nm is not None:
                self.live.free_moment_nm = float(block.free_moment_nm[k])
        self._advance()
        self._drop_old()

    def push_markers(self, block: MarkerBlock) -> None:
        if len(block) == 0:
            return
        t = np.asarray(block.t_s, dtype=float)
        keep = self._monotonic(self._markers, t)
        cols = [t[keep]]
        for name in MARKER_NAMES:
            pos = block.positions.get(name)
            if pos is None:
                cols.append(np.full((cols[0].size, 3), np.nan))
            else:
                self._marker_seen.add(name)
                cols.append(np.asarray(pos, dtype=float)[keep])
        self._markers.extend(np.column_stack(cols))
        self._advance()

    def push_dowel(self, block: DowelBlock) -> None:
        if len(block) == 0:
            return
        t = np.asarray(block.t_s, dtype=float)
        keep = self._monotonic(self._dowel, t)
        self._dowel.extend(np.column_stack([t, block.gap_mm, block.region])[keep])
        self._advance()
        self._drop_old()

    # ---- processing --------------------------------------------------------------------------------
    def _trial_data(self) -> TrialData:
        m = self._markers.view
        markers = {name: m[:, 1 + 3 * k:4 + 3 * k] for k, name in enumerate(MARKER_NAMES)
                   if name in self._marker_seen}
        f = self._force.view if self._force.n else None
        dw = self._dowel.view if self._dowel.n else None
        return TrialData(
            marker_t=m[:, 0], markers=markers,
            force_t=None if f is None else f[:, 0], fz_n=None if f is None else f[:, 1],
            cop_x_m=None if f is None else f[:, 2], rear_share=None if f is None else f[:, 3],
            dowel_t=None if dw is None else dw[:, 0], dowel_gap_mm=None if dw is None else dw[:, 1],
            dowel_region=None if dw is None else dw[:, 2].astype(int))

    def _streams_ready(self, t_s: float) -> bool:
        force_t = self._force.last_t()
        if self.expect_force and force_t < t_s and self._markers.last_t() - force_t < FORCE_WAIT_S:
            return False
        return not (self.expect_dowel and self._dowel.last_t() < t_s)

    def _advance(self, final: bool = False) -> None:
        m = self._markers.view
        hip_col = 1 + 3 * MARKER_NAMES.index("hip")
        axes = [hip_col + a for a in movements.detect_axes(self.movement)]  # hip x; height for the step
        if self.movement == "hinge":  # and the ankle's x: did the feet move (reps.RepDetector)
            axes.append(1 + 3 * MARKER_NAMES.index("ankle"))
        for i in range(self._detected_upto, self._markers.n):
            exc = self._detector.push(i, float(m[i, 0]), *(float(v) for v in m[i, axes]))
            if exc is not None:
                self._pending.append((exc, exc.detect_index))
        if self._markers.n > self._detected_upto:
            self._live_markers(m[-1], hip_col)
        self._detected_upto = self._markers.n
        while self._pending:
            exc, j = self._pending[0]
            if final and j >= self._markers.n:
                # every frame was tried before the input ended (each deferred, its lockout window still
                # open): the last one again, now knowing no frame follows, or the rep would be lost
                j = self._markers.n - 1
            outcome = None
            while j < self._markers.n and (final or self._streams_ready(float(m[j, 0]))):
                outcome = self._attempt(exc, j, final and j == self._markers.n - 1)
                if outcome.status == "rep" and outcome.reason == LOCKOUT_WAIT:  # the verdict at its end
                    self._accept(outcome, exc, provisional=True)
                    outcome = Outcome("defer", amplitude_m=outcome.amplitude_m, reason=LOCKOUT_WAIT)
                if outcome.status != "defer":
                    break
                j += 1
            if outcome is None or outcome.status == "defer":
                self._pending[0] = (exc, j)
                return
            self._pending.pop(0)
            self._accept(outcome, exc)

    def _attempt(self, exc: Excursion, j: int, last: bool) -> Outcome:
        t_j = float(self._markers.view[j, 0])
        gate = cop.force_gate_n(self.config, self._bw.at(t_j))
        provisional = self.live_verdicts and exc.entry_index not in self._given
        data = self._trial_data_upto(j)
        data.standing_force = self._pinned.get(exc.standing)  # None: the buffer still holds the standing
        outcome = movements.measure(self.movement, data, exc, j, self._prev_end_t,
                                    self.config, gate, self._bw.at(t_j), final=last, provisional=provisional)
        # waiting for the rep's end is limited here; waiting for its lockout is bounded by the window itself
        waiting_end = outcome.status == "defer" and outcome.reason != LOCKOUT_WAIT
        if waiting_end and (last or t_j - float(self._markers.view[exc.detect_index, 0]) > DEFER_LIMIT_S):
            outcome = Outcome("reject", amplitude_m=outcome.amplitude_m, reason="did not return to standing")
        return outcome

    def _trial_data_upto(self, j: int) -> TrialData:
        """Everything up to marker frame j's time, so what arrived later cannot change the answer."""
        data = self._trial_data()
        t_j = data.marker_t[j]
        data.marker_t = data.marker_t[:j + 1]
        data.markers = {k: v[:j + 1] for k, v in data.markers.items()}
        if data.force_t is not None:
            z = time_slice(data.force_t, -math.inf, t_j, include_end=True)
            data.force_t, data.fz_n = data.force_t[z], data.fz_n[z]
            data.cop_x_m, data.rear_share = data.cop_x_m[z], data.rear_share[z]
        if data.dowel_t is not None:
            z = time_slice(data.dowel_t, -math.inf, t_j, include_end=True)
            data.dowel_t, data.dowel_gap_mm = data.dowel_t[z], data.dowel_gap_mm[z]
            data.dowel_region = data.dowel_region[z]
        return data

    def _accept(self, outcome: Outcome, exc: Excursion, *, provisional: bool = False) -> None:
        given = None if provisional else self._given.pop(exc.entry_index, None)
        if given is not None:  # the rep given at its end, now with its lockout: the same rep, amended
            self._amend(given, outcome)
            return
        if outcome.status != "rep":
            return
        amps = sorted(self._amplitudes + [outcome.amplitude_m])
        median = float(np.median(amps))
        if outcome.amplitude_m < self.config.thresholds.rep_min_amplitude_frac_of_median * median:
            return
        rep = outcome.rep
        rep.index = len(self._reps) + 1
        self._reps.append(rep)
        self._amplitudes.append(outcome.amplitude_m)
        self._new.append(rep)
        if provisional:  # its window must not start at its own end when it is measured again
            self._given[exc.entry_index] = rep.index
        else:
            self._prev_end_t = rep.t_end

    def _amend(self, index: int, outcome: Outcome) -> None:
        k = next(k for k, r in enumerate(self._reps) if r.index == index)
        if outcome.status != "rep":  # not expected (the rep's times were known): withdrawn, said once
            del self._reps[k], self._amplitudes[k]
            self.warnings.append(f"rep {index} withdrawn after its verdict: {outcome.reason}")
            return
        rep = outcome.rep
        rep.index = index
        self._reps[k] = rep
        self._new.append(rep)
        self._prev_end_t = rep.t_end

    # ---- memory ------------------------------------------------------------------------------------
    def _earliest_frame(self) -> int:
        """The earliest marker frame a rep not yet judged reads its window from: a pending excursion's entry
        (or a swing's top), the excursion under way in the detector, else the newest frame. Quiet standings
        are not among them: their force rows are kept apart (`_pin_standings`)."""
        frames = [self._markers.n - 1]
        if (open_frame := self._detector.earliest_open_frame()) is not None:
            frames.append(open_frame)
        for exc, _ in self._pending:
            frames += [exc.entry_index, getattr(exc, "top_index", exc.entry_index)]
        return max(min(frames) - SWING_MARGIN_FRAMES, 0)  # the swing's filter context, in frames

    def _standings(self) -> set[tuple[int, int]]:
        """The quiet standings (frame spans) a rep not yet judged may refer to."""
        spans = {exc.standing for exc, _ in self._pending}
        det = self._detector
        if isinstance(det, StepDetector):
            spans |= det.referred_standings()
        elif isinstance(det, RepDetector):
            spans.add(det.referred_standing())
        else:  # the swing's: reference or standing
            spans.add(det.standing)
        return {s for s in spans if s[1] > s[0]}

    def _pin_standings(self, horizon_s: float) -> None:
        """Force rows of the quiet standings still referred to, kept apart before the buffer drops them
        (a few seconds each; the session's first standing may be an hour back)."""
        spans = self._standings()
        self._pinned = {s: rows for s, rows in self._pinned.items() if s in spans}
        m, f = self._markers.view, self._force.view
        for s0, s1 in spans:
            t0 = float(m[s0, 0])
            if (s0, s1) in self._pinned or t0 >= horizon_s or not f.shape[0] or f[0, 0] > t0:
                continue
            t1 = float(m[s1 - 1, 0])
            a, z = int(np.searchsorted(f[:, 0], t0, "left")), int(np.searchsorted(f[:, 0], t1, "right"))
            self._pinned[(s0, s1)] = f[a:z].copy()

    def _horizon_s(self) -> float:
        """Force and dowel rows before this time cannot be read again (-inf: keep all)."""
        now = max(self._force.last_t(), self._markers.last_t(), self._dowel.last_t())
        recent = now - self.keep_recent_s
        if self._markers.n == 0:  # frames still to come start no earlier than the recent rows
            return recent
        first = float(self._markers.view[self._earliest_frame(), 0])
        return min(recent, first - HORIZON_MARGIN_S)

    def _drop_old(self) -> None:
        horizon = self._horizon_s()
        if math.isfinite(horizon):
            self._pin_standings(horizon)
            self._force.drop_before(horizon)
            self._dowel.drop_before(horizon, spare_rows=SPARE_DOWEL_ROWS)

    # ---- live read-outs ----------------------------------------------------------------------------
    def _live_force(self, t: float, fz: float, xy: np.ndarray, share: float) -> None:
        gate = cop.force_gate_n(self.config, self._bw.at(t))
        ok = fz > gate
        lv = self.live
        lv.t_s, lv.fz_n, lv.body_weight_n = max(t, lv.t_s) if math.isfinite(lv.t_s) else t, float(fz), \
            self._bw.body_weight_n
        lv.cop_xy_m = (float(xy[0]), float(xy[1])) if ok else (math.nan, math.nan)
        lv.foot_pos = float(cop.foot_pos(xy[0], self.config)) if ok else math.nan
        lv.heel_load_pct = 100.0 * float(share) if ok else math.nan

    def _live_markers(self, row: np.ndarray, hip_col: int) -> None:
        hip = row[hip_col:hip_col + 3]
        lv = self.live
        lv.hip_m = (float(hip[0]), float(hip[1]), float(hip[2]))
        lv.hip_back_m = self._detector.displacement_m
        standing = self._detector.standing
        if standing != self._standing_z[0]:
            z = self._markers.view[standing[0]:standing[1], hip_col + 2]
            self._standing_z = (standing, float(np.nanmean(z)) if np.any(np.isfinite(z)) else math.nan)
        lv.hip_drop_m = self._standing_z[1] - float(hip[2])
        lv.phase = self._detector.phase

    # ---- output ------------------------------------------------------------------------------------
    def poll(self) -> list[RepResult]:
        """Reps completed since the last poll (provisional against the median so far; see module doc)."""
        new, self._new = self._new, []
        return new

    def finish(self) -> AnalysisResult:
        """Flush pending reps with all data, apply the session-median rule, summarise."""
        self._advance(final=True)
        th = self.config.thresholds
        warnings = list(self.warnings)
        reps = self._reps
        if self._amplitudes:
            median = float(np.median(self._amplitudes))
            keep = [a >= th.rep_min_amplitude_frac_of_median * median for a in self._amplitudes]
            dropped = [r for r, k in zip(reps, keep, strict=True) if not k]
            if dropped:
                warnings.append("not reps (below half the session's median amplitude): "
                                + ", ".join(f"{r.t_start:.1f}-{r.t_end:.1f} s" for r in dropped))
            reps = [r for r, k in zip(reps, keep, strict=True) if k]
            for k, r in enumerate(reps, start=1):
                r.index = k
        if self._dropped_samples:
            warnings.append(f"{self._dropped_samples} samples out of time order were ignored")
        if self._detector.in_excursion:
            warnings.append("the input ends during a movement: that last excursion is not counted")
        missing = [n for n in ("hip", "knee", "ankle", "shoulder") if n not in self._marker_seen]
        if self.expect_markers and missing:
            warnings.append("no " + ", ".join(missing) + " marker: metrics needing it are null")
        summary = summarize(reps, body_weight_n=self._bw.body_weight_n,
                            body_weight_source="given" if self._bw.given else "quiet standing")
        movements.summarize_movement(self.movement, reps, summary, warnings, self._markers.view[:, 0])
        return AnalysisResult(source="", reps=reps, summary=summary, warnings=warnings)
