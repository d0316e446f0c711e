"""`analyze trial.h5`: a station trial file -> the core's blocks, optionally with other calibration files.

Force and markers are the calibrated streams the trial stored; a plate calibration file given to analyze
re-derives the force from the raw counts, a camera calibration file moves the markers to that pose.
"""

from __future__ import annotations

import json
import os

import numpy as np

from station.analysis.inputs import LoadOptions
from station.recording.reader import read_trial
from station.recording.rows import dowel_block_from_rows
from station.streams import ForceBlock, MarkerBlock


def markerless_from_frames(path: str | os.PathLike, trial, options: LoadOptions):
    """`analyze trial.h5 --markers depth`: the landmarks (and the virtual dowel on them) from the depth frames
    the trial stored (`record --frames h5-...`), on the trial's clock through its camera index."""
    import h5py

    from drivers.samples import CameraFrame, Intrinsics
    from station.dowel.series import dowel_block
    from station.dowel.tracker import DowelTracker
    from station.errors import StationError
    from station.markerless.tracker import DepthMarkerTracker
    from station.recording.frames import readable_frames

    config = options.config if options.config.source_path else trial.config
    config.camera.markers = "depth"
    T = np.asarray(trial.calibration.get("camera_T", config.camera.T_plate_from_camera()), float)
    with h5py.File(path, "r") as f:
        if "frames" not in f or not len(f["frames/frame_number"]):
            raise StationError(f"{path}: --markers depth needs the depth frames; this trial did not store "
                               "them (record --frames h5-lz4, or analyze its .db3)")
        if not bool(f.attrs.get("faces_kept", False)):
            raise StationError(f"{path}: --markers depth needs the head in the stored depth, which was "
                               "masked (record with --keep-faces and the subject's consent, or analyze its "
                               ".db3)")
        if "intrinsics_json" not in f["frames"].attrs:
            raise StationError(f"{path}: the stored frames carry no camera intrinsics (recorded before issue "
                               "23); analyze the trial's .db3 instead")
        intr = Intrinsics(**json.loads(f["frames"].attrs["intrinsics_json"]))
        scale = float(f["frames"].attrs.get("depth_scale_m", 0.001))
        index = trial.camera_index
        t_of = dict(zip(np.asarray(index["frame_number"]).tolist(), np.asarray(index["t_s"]).tolist(),
                        strict=True))
        tracker, dowel = DepthMarkerTracker(T, config=config), DowelTracker(config, T)
        frames = readable_frames(path, f["frames"])
        depth_ds, ir_ds, numbers = frames["depth"], frames["ir"], frames["frame_number"][:]
        dowel_frames, times = [], []
        for i, number in enumerate(numbers.tolist()):
            if number not in t_of:
                continue
            t_s = float(t_of[number])
            frame = CameraFrame(number, 1000.0 * t_s, "trial_clock", 0, depth_ds[i], ir_ds[i], scale, intr)
            positions = tracker.update(frame, t_s)
            dowel_frames.append(dowel.update(frame, positions, t_s))
            times.append(t_s)
    block = tracker.block()
    return MarkerBlock(np.asarray(times), block.positions, block.bridged), dowel_block(dowel_frames)


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
    if trial.metadata.get("markers_method") == "markerless (estimated)":  # said on every rep (analyze)
        from station.markerless.labels import expected_error_text

        notes.update(markers=trial.metadata["markers_method"], markers_expected_error=expected_error_text())
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
    if options.markers == "depth" and trial.metadata.get("markers_method") != "markerless (estimated)":
        markers, meta["dowel"] = markerless_from_frames(path, trial, options)
        from station.markerless.labels import SOURCE_LABEL, expected_error_text

        notes.update(markers=SOURCE_LABEL, markers_expected_error=expected_error_text(),
                     dowel="virtual dowel again, on the estimated landmarks")
    meta["notes"] = notes
    return (force if len(force) else None), (markers if len(markers) else None), meta
