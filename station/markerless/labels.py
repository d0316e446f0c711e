"""How trials, reports and the dashboard name where the landmarks came from, and the error to state."""

from __future__ import annotations

from station.config import StationConfig

SOURCE_LABEL = "markerless (estimated)"
IR_LABEL = "retroreflective markers (IR)"
# stated beside markerless numbers: the limits met against the simulator's truth (tests/markerless,
# README), the numbers' expected error on a body the anthropometric ratios fit
EXPECTED_ERROR = {"hip_mm": 15.0, "knee_deg": 5.0, "trunk_deg": 3.0, "hip_back_per_rep_mm": 15.0}


def uses_depth(config: StationConfig | None) -> bool:
    return config is not None and getattr(config.camera, "markers", "ir") == "depth"


def method_label(config: StationConfig | None) -> str:
    return SOURCE_LABEL if uses_depth(config) else IR_LABEL


def expected_error_text(error: dict | None = None) -> str:
    """'hip +-15 mm, knee +-5 deg, trunk +-3 deg' (what goes beside the numbers)."""
    e = error or EXPECTED_ERROR
    return (f"hip +-{e['hip_mm']:.0f} mm, knee +-{e['knee_deg']:.0f} deg, trunk +-{e['trunk_deg']:.0f} deg, "
            f"hip back per rep +-{e['hip_back_per_rep_mm']:.0f} mm")
