"""The real-time core: calibrated force and marker blocks in, reps with metrics and faults out.

HingeCore is the one implementation live trials, `analyze` and `replay` all run. Inside: centre of
pressure and foot position (cop), the causal rep detector (reps), per-rep metrics (metrics) with the
lockout, neck, bottom hold and form break (form), the wall drill (target), the clinician's fault
thresholds (faults), zero-lag
filtering tolerant of gaps (filtering), the session summary (summary); the kettlebell swing (swing) and the
step tap-down (step), chosen by the movement (movements). Imports only the station's base and
calibration-free numerics.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "HingeCore": "hinge_core", "LiveValues": "hinge_core", "RepDetector": "reps", "Excursion": "reps",
    "measure_rep": "metrics", "judge": "faults", "lowpass": "filtering", "summarize": "summary",
    "cop_and_foot_pos": "cop", "BodyWeightEstimator": "cop",
    "MOVEMENTS": "movements", "SwingDetector": "swing", "measure_swing": "swing", "measure_step": "step",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
