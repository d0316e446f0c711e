"""`analyze rec.db3`: a RealSense recording -> markers (kinematics only), optionally paired with a plate.

The recording is played through the ordinary camera driver (drivers.realsense, rs.pipeline, as fast as
the tracker takes frames: nothing is dropped) and every frame goes through station.markers.tracking's
MarkerTracker, the same tracker a live trial uses. Marker times are the camera's device clock, seconds
from the first frame.

Camera pose: `--camera-cal FILE` (calibration.store, kind camera), else the station config's pose; which
one is said in the result (summary.input.camera_pose, and a warning for the config's).

Plate pairing (`--plate FILE`): supported is a station trial (.h5); its force stream is used.
 * If that trial also recorded this camera (its camera index has device timestamps), marker times are
   put on the trial's clock through the index: a least-squares line t_trial = a + b * t_device, exact
   to the trial's own clock mapping.
 * Otherwise (a plate-only trial) the two are aligned by their starts (first frame = trial t 0), which
   is only as good as the operator's simultaneous start; a warning says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.analysis.inputs import LoadOptions
from station.config import StationConfig
from station.errors import StationError
from station.streams import ForceBlock, MarkerBlock

_FRAME_TIMEOUT_S = 10.0  # a recording that delivers nothing this long is treated as ended


def track_recording(path: Path, T_plate_from_camera: np.ndarray, config: StationConfig, *,
                    holding_dowel: bool = False) -> tuple[MarkerBlock, np.ndarray, list]:
    """Play a .db3/.bag as fast as possible through the tracker and the virtual dowel:
    (bridged MarkerBlock, t_device_s (M,), DowelFrames (one per frame, station.dowel.tracker)).

    Block and dowel times are seconds from the first frame on the device clock.
    """
    from drivers.registry import open_camera
    from station.dowel.frame import DowelFrame
    from station.dowel.tracker import DowelTracker
    from station.markers.tracking import MarkerTracker

    camera = open_camera(str(path), config, real_time=False)  # the registry's recording backend
    if config.camera.markers == "depth":  # `--markers depth`: estimated from the depth image alone
        from station.markerless.tracker import DepthMarkerTracker

        tracker = DepthMarkerTracker(T_plate_from_camera, config=config)
    else:
        tracker = MarkerTracker(T_plate_from_camera, config=config)
    dowel = DowelTracker(config, T_plate_from_camera, holding_dowel=holding_dowel)
    t_device_ms: list[float] = []
    dowel_frames: list[DowelFrame] = []
    camera.start()
    try:
        for frame in camera.frames(_FRAME_TIMEOUT_S):
            positions = tracker.update(frame)
            t_device_ms.append(frame.t_device_ms)
            t_s = (frame.t_device_ms - t_device_ms[0]) / 1000.0
            dowel_frames.append(DowelFrame(t_s, None, "no depth image in this frame") if frame.depth is None
                                else dowel.update(frame, positions, t_s))
    finally:
        camera.stop()
    if not t_device_ms:
        raise StationError(f"{path}: no camera frames in this recording")
    return tracker.block(), np.asarray(t_device_ms) / 1000.0, dowel_frames


def _markers_note(config: StationConfig) -> dict:
    """Markerless: say so, with the error to expect (station.markerless.labels)."""
    if config.camera.markers != "depth":
        return {}
    from station.markerless.labels import expected_error_text, method_label

    return {"markers": method_label(config), "markers_expected_error": expected_error_text()}


def _camera_pose(options: LoadOptions, path: Path) -> tuple[np.ndarray, str, list[str]]:
    config = options.config
    if options.camera_cal:
        from calibration.camera import load_camera_T

        return load_camera_T(options.camera_cal), f"{options.camera_cal} (camera calibration)", []
    where = config.source_path or "built-in defaults"
    warning = (f"{path}: camera pose from the station config ({where}), not a camera calibration; "
               "give --camera-cal FILE for a calibrated pose")
    return config.camera.T_plate_from_camera(), f"station config ({where})", [warning]


def _pair_plate(spec: str, markers: MarkerBlock,
                t_device_s: np.ndarray) -> tuple[ForceBlock | None, MarkerBlock, dict, list[str]]:
    """The plate stream of a station trial, and the markers moved onto that trial's clock."""
    plate_path = Path(spec)
    if plate_path.suffix.lower() != ".h5":
        raise StationError(f"--plate {spec}: supported is a station trial (.h5) holding the plate stream")
    from station.recording.reader import read_trial

    trial = read_trial(plate_path)
    warnings = list(trial.warnings)
    if not len(trial.force):
        raise StationError(f"--plate {spec}: this trial holds no plate samples")
    index = trial.camera_index
    t_dev_idx = np.asarray(index["t_device_ms"], float) / 1000.0
    if len(t_dev_idx) >= 2 and np.ptp(t_dev_idx) > 0:
        b, a = np.polyfit(t_dev_idx, np.asarray(index["t_s"], float), 1)
        t_trial = a + b * t_device_s
        overlap = (t_device_s.min() <= t_dev_idx.max()) and (t_device_s.max() >= t_dev_idx.min())
        if not overlap:
            raise StationError(f"--plate {spec}: its camera index does not cover this recording's device "
                               "times (a different camera session?)")
        how = "camera index of the trial (device clock -> trial clock)"
    else:
        t_trial = markers.t_s.copy()  # first frame = trial t 0
        how = "aligned by start (first frame = trial t 0)"
        warnings.append(f"--plate {spec}: no camera index in this trial, so camera and plate are aligned by "
                        "their starts only; reps' CoP read-outs are as good as that alignment")
    moved = MarkerBlock(t_trial, markers.positions, markers.bridged)
    return trial.force, moved, {"plate": str(plate_path), "plate_alignment": how}, warnings


def load_db3(path: Path, options: LoadOptions) -> tuple[ForceBlock | None, MarkerBlock, dict]:
    """station.analysis.analyze loader for .db3/.bag (see the module docstring)."""
    path = Path(path)
    T, pose_text, warnings = _camera_pose(options, path)
    from station.dowel.series import dowel_block

    if options.markers == "depth":  # markerless: the landmarks from the depth image (station.markerless)
        options.config.camera.markers = "depth"

    markers, t_device_s, dowel_frames = track_recording(path, T, options.config)
    dowel = dowel_block(dowel_frames)
    notes = {"camera_pose": pose_text, "frames": int(len(markers)), **_markers_note(options.config),
             "fps": round(float(1.0 / np.median(np.diff(markers.t_s))), 3) if len(markers) > 1 else None}
    force = None
    meta: dict = {}
    if options.plate:
        from_first = markers.t_s
        force, markers, pairing, more = _pair_plate(options.plate, markers, t_device_s)
        # the dowel rows share the marker frames' times: move them the same way
        dowel.t_s = np.interp(dowel.t_s, from_first, markers.t_s)
        notes.update(pairing)
        warnings += more
        meta["t_origin_s"] = 0.0  # times on the trial's clock
    notes["dowel_frames_measured"] = int(np.count_nonzero(np.isfinite(dowel.gap_mm)))
    meta.update({"warnings": warnings, "notes": notes, "dowel": dowel})
    return force, markers, meta
