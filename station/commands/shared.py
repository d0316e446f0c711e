"""What several commands share: the calibration files named on the command line, the --stats file."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from station.privacy.files import write_text

if TYPE_CHECKING:
    import numpy as np

    from calibration.plate import PlateGains


def calibrations(args: argparse.Namespace) -> tuple[PlateGains | None, np.ndarray | None]:
    """The plate and camera calibration files named by --plate-cal / --camera-cal (None when not given)."""
    plate_cal = camera_T = None
    if args.plate_cal:
        from calibration.plate import PlateCalibration

        plate_cal = PlateCalibration.from_file(args.plate_cal)
    if args.camera_cal:
        from calibration.camera import load_camera_T

        camera_T = load_camera_T(args.camera_cal)
    return plate_cal, camera_T


def write_stats(path: str, values: dict) -> None:
    """The --stats file: one JSON object (record and dashboard)."""
    write_text(path, json.dumps(values, indent=2, sort_keys=True) + "\n")
    print(f"stats: {path}", flush=True)
