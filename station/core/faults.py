"""Faults of one rep from its metrics and the clinician's thresholds (metrics.md, 'Faults')."""

from __future__ import annotations

from station.config import Thresholds
from station.results import FAULTS, RepResult


def _above(value: float | None, limit: float) -> bool:
    return value is not None and value > limit


def _below(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def judge(rep: RepResult, th: Thresholds, *, incomplete: bool, dowel_region: str | None = None) -> list[str]:
    """Fault names in FAULTS order. A metric that is None never raises a fault by itself."""
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
    if _below(rep.descent_s, th.tempo_min_s) or _below(rep.ascent_s, th.tempo_min_s):
        found.add("too_fast")
    if incomplete:
        found.add("incomplete_tracking")
    return [f for f in FAULTS if f in found]
