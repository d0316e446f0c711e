"""`analyze trial.h5`: a station trial file -> the core's blocks, optionally with other calibration files.

Force and markers are the calibrated streams the trial stored; a plate calibration file given to analyze
re-derives the force from the raw counts, a camera calibration file moves the markers to that pose.
"""

from __future__ import annotations

import os

import numpy as np

from station.analysis.inputs import LoadOptions
from station.recording.reader import read_trial
from station.recording.rows import dowel_block_from_rows
from station.streams import ForceBlock, MarkerBlock


def load_h5(path: str | os.PathLike, options: LoadOptions
            ) -> tuple[ForceBlock | None, MarkerBlock | None, dict]:
    """(ForceBlock, MarkerBlock, meta) from a trial file's stored calibrated streams.

    With options.plate_cal the force is re-derived from the raw counts with that calibration file; with
    options.camera_cal the stored plate-frame markers are moved from the trial's camera pose to that
    file's. Rep times count from the trial's start (t_s = 0), like the live recording's.
    """
    trial = read_trial(path)
    meta = {k: v for k, v in trial.metadata.items() if v not in (None, "")}
    meta["calibration_status"] = trial.calibration.get("status")
    meta["warnings"] = list(trial.warnings)
    meta["config"] = trial.config
    meta["t_origin_s"] = 0.0
    notes = {"plate_calibration": trial.calibration.get("status")}
    force, markers = trial.force, trial.markers
    plate_cal = options.plate_cal
    if plate_cal and len(force):
        from calibration.plate import PlateCalibration

        n = min(len(trial.plate), len(force))
        cells = PlateCalibration.from_file(plate_cal).cells_n(trial.plate.counts[:n])
        force = ForceBlock(force.t_s[:n], cells)
        notes["plate_calibration"] = f"{plate_cal} (given; re-derived from the raw counts)"
    camera_cal = options.camera_cal
    if camera_cal and len(markers):
        from calibration.camera import load_camera_T

        recorded_T = trial.calibration.get("camera_T", trial.config.camera.T_plate_from_camera())
        old_T = np.asarray(recorded_T, float)
        move = load_camera_T(camera_cal) @ np.linalg.inv(old_T)  # plate(old pose) -> camera -> plate(new)
        positions = {k: v @ move[:3, :3].T + move[:3, 3] for k, v in markers.positions.items()}
        markers = MarkerBlock(markers.t_s, positions, markers.bridged)
        notes["camera_calibration"] = f"{camera_cal} (given; markers moved from the recorded camera pose)"
    if trial.dowel is not None and len(trial.dowel["t_s"]):
        meta["dowel"] = dowel_block_from_rows(trial.dowel)  # re-judges back faults as the live core did
        notes["dowel"] = "virtual dowel series as recorded"
    meta["notes"] = notes
    return (force if len(force) else None), (markers if len(markers) else None), meta
