"""The attributes a trial file's root and /calibration carry (format: docs and station.recording.format).

Written by TrialWriter: the root's at the trial's start, before the file switches to SWMR mode (no attribute
can be added after it, except at stop); /calibration's then or at stop.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from station import __version__
from station.config import StationConfig
from station.recording.format import FORMAT_NAME, SCHEMA_VERSION
from station.recording.rows import to_json


def start_attributes(metadata: dict, config: StationConfig, t0_host_ns: int, frames_storage: str) -> dict:
    """The root attributes of a trial just started: format, who and what (subject code, drill, arms...),
    the station config, where the markers came from, the faces' consent; the rest of metadata as JSON."""
    md = metadata
    attrs: dict = {"schema_version": SCHEMA_VERSION, "format": FORMAT_NAME, "software_version": __version__}
    for key in ("subject_id", "drill", "arms", "side", "notes", "plate_source", "camera_source"):
        attrs[key] = str(md.get(key) or "")
    attrs["load_kg"] = float(md["load_kg"]) if md.get("load_kg") is not None else float("nan")
    wall = config.feet.wall_mm  # the wall drill's wall, mm behind the heel line (NaN = none)
    attrs["wall_mm"] = float(wall) if wall is not None else float("nan")
    attrs["start_wall_time"] = md.get("start_wall_time") or _dt.datetime.now(_dt.UTC).isoformat()
    attrs["t0_host_ns"] = t0_host_ns
    attrs["station_config_json"] = to_json(config.to_dict())
    attrs["frames_storage"] = frames_storage
    # where hip, knee, ankle, shoulder and head came from; markerless numbers are estimates and say so
    from station.markerless.labels import EXPECTED_ERROR, method_label, uses_depth

    attrs["markers_method"] = method_label(config)
    attrs["markers_expected_error_json"] = to_json(EXPECTED_ERROR if uses_depth(config) else {})
    # the head is masked in stored pictures unless the subject consented (--keep-faces; privacy.faces)
    attrs["faces_kept"] = bool(md.get("faces_kept", False))
    attrs["faces_consent_operator"] = str(md.get("faces_consent_operator") or "")
    attrs["complete"] = False
    attrs["metadata_json"] = to_json({k: v for k, v in md.items() if k not in attrs})
    return attrs


def calibration_attributes(cal: dict) -> dict:
    """/calibration's attributes: status, plate / clocks / files as JSON, the camera pose (4x4)."""
    out = {"status": cal["status"]}
    for key in ("plate", "clocks", "files"):
        out[f"{key}_json"] = to_json(cal.get(key) or {})
    if cal.get("camera_T") is not None:
        out["camera_T_plate_from_camera"] = np.asarray(cal["camera_T"], float).reshape(4, 4)
    return out
