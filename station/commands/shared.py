"""What several commands share: the calibration files named on the command line, the --stats file."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from station.errors import StationError
from station.markers.labels import parse_mapping
from station.owner_files import write_text

if TYPE_CHECKING:
    import numpy as np

    from calibration.plate import PlateGains
    from station.config import StationConfig


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


def add_marker_options(parser: argparse.ArgumentParser) -> None:
    """--markers (a mocap source and/or a label mapping) and --preset, as C3D import names them."""
    parser.add_argument("--markers", action="append", default=[],
                        metavar="depth | lsl:NAME | name=LABEL,...",
                        help="depth: no stickers, the landmarks estimated from the depth image (markerless, "
                             "said as such with its expected error); or motion capture instead of the "
                             "camera's markers: lsl:NAME, a Lab Streaming Layer MoCap stream; give --markers "
                             "again to map its labels, e.g. hip=RGT,knee=RKNE (as for C3D import; default "
                             "[lsl_markers] mapping)")
    parser.add_argument("--preset", choices=("station", "plug-in-gait"),
                        help="marker label preset of the mocap stream (default: [lsl_markers] preset, else "
                             "guessed from its labels)")


def marker_source(args: argparse.Namespace, config: StationConfig) -> str | None:
    """The mocap source named by --markers (None: the camera's markers), with any --markers name=LABEL
    mapping and --preset put into config.lsl_markers (what station.trial.mocap reads)."""
    given = list(getattr(args, "markers", None) or [])
    if "depth" in given:  # markerless: the camera's depth alone gives the landmarks (station.markerless)
        given = [v for v in given if v != "depth"]
        if given:
            raise StationError(f"--markers depth: the landmarks come from the camera's depth; not with "
                               f"{', '.join(given)}")
        config.camera.markers = "depth"
    sources = [v for v in given if ":" in v.split("=", 1)[0]]
    mappings = [v for v in given if v not in sources]
    if len(sources) > 1:
        raise StationError(f"--markers: one marker source, got {', '.join(sources)}")
    if mappings:
        if not sources:
            raise StationError("--markers name=LABEL maps a marker source's labels: name the source too "
                               "(--markers lsl:NAME)")
        parse_mapping(",".join(mappings))  # a bad mapping is refused before any device opens
        config.lsl_markers.mapping = ",".join(mappings)
    if getattr(args, "preset", None):
        config.lsl_markers.preset = args.preset
    return sources[0] if sources else None
