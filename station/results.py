"""Per-rep results: the one shape the core emits and the recorder, dashboard, reports and JSON consume."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

# Every fault a rep can have; a rep's `faults` list follows this order.
ALL_FAULTS = (
    "squat_pattern",
    "squat_swing",
    "knee_dominant",
    "toe_shift",
    "shallow",
    "back_rounding",
    "back_arching",
    "neck_extension",
    "incomplete_lockout",
    "lean_back",
    "too_fast",
    "incomplete_tracking",
)
# the lockout and neck faults (issue 19), a group of their own in docs/metrics.md
FORM_FAULTS = ("neck_extension", "incomplete_lockout", "lean_back")
FAULTS = ALL_FAULTS  # station.screening.feedback has client words for every one (checked on import)

# keys of one rep in `analyze --json`, in this order (issue contract)
REP_METRIC_KEYS = (
    "hip_back_mm",
    "hip_drop_mm",
    "hinge_ratio",
    "knee_flexion_deg",
    "knee_flexion_change_deg",
    "trunk_inclination_deg",
    "foot_pos_bottom",
    "foot_pos_shift",
    "heel_load_pct",
    "descent_s",
    "ascent_s",
)
# issue 19: lockout, neck, bottom hold and where form breaks (docs/metrics.md); after dowel_gap_mm in the JSON
FORM_METRIC_KEYS = (
    "lockout_trunk_deg",
    "lockout_hip_back_mm",
    "neck_extension_deg",
    "bottom_hold_s",
    "form_break_trunk_deg",
)
# every per-rep value, in the order `analyze --json`, the CSV and the summary's means list them
# issue 19 item 8: the step tap-down's hip/knee ratio, the kettlebell swing's hip snap and peak force
# (docs/metrics.md); null for the movements they do not belong to
MOVEMENT_METRIC_KEYS = ("hip_knee_ratio", "hip_snap_mps", "peak_fz_bw")
REP_VALUE_KEYS = (*REP_METRIC_KEYS, "dowel_gap_mm", *FORM_METRIC_KEYS, *MOVEMENT_METRIC_KEYS)
# the wall drill (issue 19 item 7, station.core.target): null when no wall is set; after the values in the
# JSON and the CSV (reached_target is true/false, so it is not one of the summary's means)
TARGET_KEYS = ("reached_target", "target_short_mm")


def _clean(value: float | None) -> float | None:
    """None for anything that could not be computed (never NaN in output)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


# a live rep's notes["lockout"] while its window is open: the verdict at the rep's end is given without the
# lockout, and the rep is given again (same index) once the lockout is judged (station.core.hinge_core)
LOCKOUT_PENDING = "pending: judged once the hips come through"


@dataclass
class RepResult:
    """One repetition. Times in seconds from the start of the input; None = not computable here."""

    index: int
    t_start: float
    t_bottom: float
    t_end: float
    hip_back_mm: float | None = None
    hip_drop_mm: float | None = None
    hinge_ratio: float | None = None
    knee_flexion_deg: float | None = None
    knee_flexion_change_deg: float | None = None
    trunk_inclination_deg: float | None = None
    foot_pos_bottom: float | None = None
    foot_pos_shift: float | None = None
    heel_load_pct: float | None = None
    descent_s: float | None = None
    ascent_s: float | None = None
    lockout_trunk_deg: float | None = None  # most upright trunk after the rep's end (- = behind vertical)
    lockout_hip_back_mm: float | None = None  # hip behind its standing place at that instant
    neck_extension_deg: float | None = None  # at the bottom, against the standing head carriage (+ = up)
    bottom_hold_s: float | None = None  # time with the hip near its deepest point
    hip_knee_ratio: float | None = None  # step: hip flexion over knee flexion at the bottom (vs standing)
    hip_snap_mps: float | None = None  # swing: peak forward hip speed, bottom -> end
    peak_fz_bw: float | None = None  # swing: peak vertical force over body weight
    dowel_gap_mm: float | None = None
    form_break_trunk_deg: float | None = None  # trunk angle when the dowel first lost a contact going down
    reached_target: bool | None = None  # the hip reached the wall drill's wall (None: no wall set)
    target_short_mm: float | None = None  # how far short of the wall the hip stayed, 0 when reached
    faults: list[str] = field(default_factory=list)
    notes: dict = field(default_factory=dict)  # e.g. {"hip_source": "trochanter", "missing": [...]}

    @property
    def lockout_pending(self) -> bool:
        """A live rep given at its end whose lockout is still to be judged (it is given again then)."""
        return self.notes.get("lockout") == LOCKOUT_PENDING

    @property
    def passed(self) -> bool:
        return not self.faults

    def to_json(self) -> dict:
        out: dict = {"index": self.index, "t_start": self.t_start, "t_bottom": self.t_bottom,
                     "t_end": self.t_end}
        for key in REP_VALUE_KEYS:
            out[key] = _clean(getattr(self, key))
        out["reached_target"] = None if self.reached_target is None else bool(self.reached_target)
        out["target_short_mm"] = _clean(self.target_short_mm)
        out["faults"] = list(self.faults)
        out["pass"] = self.passed
        if self.notes:
            out["notes"] = self.notes
        return out

    @classmethod
    def from_json(cls, data: dict) -> RepResult:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def add_or_amend(reps: list[RepResult], rep: RepResult) -> bool:
    """Put a live rep in a list of reps: a rep given again with the same index (its lockout judged after
    a verdict at its end) replaces the first one. True when it was an amendment."""
    for k in range(len(reps) - 1, -1, -1):  # an amended rep is one of the last
        if reps[k].index == rep.index:
            reps[k] = rep
            return True
    reps.append(rep)
    return False


@dataclass
class AnalysisResult:
    source: str
    reps: list[RepResult]
    summary: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"source": self.source, "rep_count": len(self.reps),
                "reps": [r.to_json() for r in self.reps], "summary": self.summary,
                "warnings": list(self.warnings)}
