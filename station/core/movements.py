"""Which movement the core judges: the hinge drills, the kettlebell swing or the step tap-down / step-up.

The movement decides how reps are found (hip x for the hinge and the swing, hip height for the step), how a
found rep is measured and which faults apply (station.core.swing, station.core.step; docs/metrics.md). A
drill names its movement (station.screening.drills.Drill.movement); a recording keeps it in its metadata.
"""

from __future__ import annotations

import numpy as np

from station.config import StationConfig, Thresholds
from station.core import metrics, step, swing
from station.core.reps import Excursion, RepDetector
from station.errors import StationError

MOVEMENTS = ("hinge", "swing", "step")
SWING_MIN_FPS = 60.0  # a ~0.45 s hip drive: its peak speed needs the frames (docs/metrics.md)


def check_movement(movement: str | None) -> str:
    movement = movement or "hinge"
    if movement not in MOVEMENTS:
        raise StationError(f"movement {movement!r}: expected one of {', '.join(MOVEMENTS)}")
    return movement


def detector(movement: str, thresholds: Thresholds) -> RepDetector | swing.SwingDetector | step.StepDetector:
    """The rep finder: hip x for the hinge; the swing's own; hip height down or up for the step."""
    if movement == "swing":
        return swing.SwingDetector(thresholds)
    return step.StepDetector(thresholds) if movement == "step" \
        else RepDetector(thresholds, restand_before_rep=True)


def detect_axes(movement: str) -> tuple[int, ...]:
    """The hip coordinates the rep detector is pushed: x (0) for hips back, z (2) for the step's drop or rise,
    both for the swing (it follows the hip's distance from where it stood: a squat swing goes down, not
    back)."""
    return {"step": (step.DETECT_AXIS,), "swing": (0, 2)}.get(movement, (0,))


def measure(movement: str, data: metrics.TrialData, exc: Excursion, j_now: int, prev_end_t: float,
            config: StationConfig, gate_n: float, body_weight_n: float | None, *, final: bool,
            provisional: bool = False) -> metrics.Outcome:
    """One excursion's outcome. provisional (hinge drills): a rep whose lockout is still to come is given
    now without it (metrics.measure_rep); a swing's top is part of the swing, and a step has no lockout."""
    if movement == "swing":
        return swing.measure_swing(data, exc, j_now, prev_end_t, config, gate_n, body_weight_n, final=final)
    if movement == "step":
        return step.measure_step(data, exc, j_now, prev_end_t, config, gate_n, final=final)
    return metrics.measure_rep(data, exc, j_now, prev_end_t, config, gate_n, final=final,
                               provisional=provisional)


def summarize_movement(movement: str, reps: list, summary: dict, warnings: list[str],
                       marker_t_s: np.ndarray) -> None:
    """The movement in the session summary, the swing rate for a swing set (swings per minute), and a
    warning when swings were filmed slower than SWING_MIN_FPS (the hip snap is a peak speed)."""
    summary["movement"] = movement
    if movement == "swing":
        summary["swings_per_min"] = swing.swings_per_min(reps)
        if marker_t_s.size > 10:
            fps = 1.0 / float(np.median(np.diff(marker_t_s)))
            if fps < 0.95 * SWING_MIN_FPS:
                warnings.append(f"swings filmed at {fps:.0f} fps: hip_snap_mps needs {SWING_MIN_FPS:.0f} fps "
                                "or more ([camera] fps)")
