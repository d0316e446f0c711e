"""Faults of one rep from its metrics and the clinician's thresholds (metrics.md, 'Faults')."""

from __future__ import annotations

from station.config import Thresholds
from station.results import ALL_FAULTS, RepResult


def _above(value: float | None, limit: float) -> bool:
    return value is not None and value > limit


def _below(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def judge(rep: RepResult, th: Thresholds, *, incomplete: bool, dowel_region: str | None = None,
          standing_trunk_deg: float | None = None) -> list[str]:
    """Fault names in ALL_FAULTS order. A metric that is None never raises a fault by itself.

    standing_trunk_deg: the subject's own quiet-standing trunk angle, the reference of the lockout faults
    (docs/metrics.md: a skin-marker trunk line carries a placement offset of a few degrees); without it
    the lockout is reported but not judged."""
    found = set()
    if (rep.hinge_ratio is not None and rep.hinge_ratio <= th.hinge_ratio_squat_max) \
            or _above(rep.knee_flexion_deg, th.knee_flexion_squat_deg) \
            or _above(rep.knee_flexion_change_deg, th.knee_flexion_change_squat_deg):
        found.add("squat_pattern")
    if _above(rep.foot_pos_bottom, th.foot_pos_bottom_max) \
            or _above(rep.foot_pos_shift, th.foot_pos_shift_max) \
            or _below(rep.heel_load_pct, th.heel_load_min_pct):
        found.add("toe_shift")
    if _below(rep.trunk_inclination_deg, th.trunk_inclination_min_deg):
        found.add("shallow")
    if _above(rep.dowel_gap_mm, th.dowel_gap_max_mm):
        # sacrum off the line = low back rounding; upper back off the line = over-arching (metrics.md)
        if dowel_region == "sacrum":
            found.add("back_rounding")
        elif dowel_region == "upper_back":
            found.add("back_arching")
    if _above(rep.neck_extension_deg, th.neck_extension_max_deg):
        found.add("neck_extension")
    if rep.lockout_trunk_deg is not None and standing_trunk_deg is not None:
        if rep.lockout_trunk_deg - standing_trunk_deg > th.lockout_incomplete_deg:
            found.add("incomplete_lockout")
        if standing_trunk_deg - rep.lockout_trunk_deg > th.lockout_lean_back_deg:
            found.add("lean_back")
    if _below(rep.descent_s, th.tempo_min_s) or _below(rep.ascent_s, th.tempo_min_s):
        found.add("too_fast")
    if incomplete:
        found.add("incomplete_tracking")
    return [f for f in ALL_FAULTS if f in found]
