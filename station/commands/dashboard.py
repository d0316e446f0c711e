"""`hinge-station dashboard`: the live pyqtgraph window (simulated plate and camera when none are named).

`--screenshot PATH --seconds S` runs S seconds (offscreen works), saves the window and exits: for
headless demos and the README picture.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING

from station.commands.live_flags import add_live_flags, apply_live_flags
from station.commands.shared import add_marker_options, calibrations, marker_source, write_stats
from station.errors import StationError
from station.owner_files import prepare

if TYPE_CHECKING:
    import numpy as np

    from calibration.plate import PlateGains
    from station.config import StationConfig


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plate", help="plate source: serial port, pyserial URL or sim:PATTERN "
                                        "(default sim:hinge when neither --plate nor --camera is given)")
    parser.add_argument("--camera", help="camera source: realsense:, realsense:SERIAL, FILE.db3 "
                                         "or sim:PATTERN")
    add_marker_options(parser)
    parser.add_argument("--subject", default="S01", help="subject code for recordings, never a name")
    parser.add_argument("--drill", default="bw_rdl",
                        help="drill id (station/screening/drills.py: dowel_hinge, bw_rdl, weighted_rdl, ...)")
    parser.add_argument("--plate-cal", help="plate calibration file (else nominal gains, marked "
                                            "UNCALIBRATED)")
    parser.add_argument("--camera-cal", help="camera calibration file (T_plate_from_camera)")
    parser.add_argument("--config", help="station TOML")
    parser.add_argument("--db", metavar="URL", help="archive recordings are indexed in (default: "
                        "$HINGE_ARCHIVE_URL, [archive] url, else hinge-archive.sqlite in the data root)")
    parser.add_argument("--out-dir", default="recordings", help="folder for recordings (default recordings/)")
    parser.add_argument("--replay", help="open a recorded trial (.h5) instead of live devices")
    parser.add_argument("--record", action="store_true", help="start recording at once (nominal gains if "
                                                               "no calibration: no question asked)")
    parser.add_argument("--screenshot", help="save the window to this PNG after --seconds and exit")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="run time with --screenshot or --stats (s)")
    parser.add_argument("--stats", metavar="FILE.json", help="run --seconds, then write what was delivered "
                                                            "and drawn (frames, samples, redraw_hz)")
    add_live_flags(parser)  # --wall-mm, --breathing
    parser.add_argument("--keep-faces", action="store_true",
                        help="research consent: recordings and --screenshot keep the head unmasked "
                             "(recorded in each trial as faces_kept)")
    parser.add_argument("--operator", help="who records, for the face consent (default: the login name)")
    parser.set_defaults(func=run)


def run_dashboard(plate_spec: str | None, camera_spec: str | None, config: StationConfig, *,
                  subject_id: str = "S01", drill_id: str = "bw_rdl", replay: str | None = None,
                  plate_calibration: PlateGains | None = None, camera_T: np.ndarray | None = None,
                  out_dir: str = "recordings", record: bool = False, screenshot: str | None = None,
                  seconds: float = 10.0, stats: str | None = None, archive_db: str | None = None,
                  keep_faces: bool = False, operator: str | None = None,
                  markers_spec: str | None = None) -> int:
    """Open the dashboard (blocks until the window closes, or `seconds` with `screenshot` or `stats`).
    markers_spec: a mocap source (`lsl:NAME`) whose markers replace the camera's."""
    from PySide6 import QtCore, QtWidgets

    from station.dashboard.app import MainWindow
    from station.dashboard.controller import LiveController
    from station.screening.drills import drill, subject_posture

    drill(drill_id)  # one-line error for an unknown drill before any window opens
    timed = screenshot is not None or stats is not None  # runs `seconds`, then closes by itself
    if not timed and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and os.environ.get("QT_QPA_PLATFORM") != "offscreen" and sys.platform.startswith("linux"):
        raise StationError("no display for the dashboard (set DISPLAY, or use --screenshot PNG --seconds S)")
    if timed:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    controller = None
    if replay is None:
        if not plate_spec and not camera_spec and not markers_spec:
            plate_spec = camera_spec = "sim:hinge"
        controller = LiveController(plate_spec, camera_spec, config, out_dir=out_dir,
                                    plate_calibration=plate_calibration, camera_T=camera_T,
                                    subject=subject_posture(drill_id, None, None),
                                    archive_db=archive_db, markers_spec=markers_spec,
                                    holding_dowel=bool(camera_spec) and _dowel_drill(drill_id))
    window = MainWindow(config, controller, ask_calibration=not timed and not record,
                        subject_id=subject_id, drill_id=drill_id)
    if keep_faces and controller is not None:
        from station.archive.audit import operator_name

        controller.faces_consent = {"faces_kept": True, "faces_consent_operator": operator_name(operator)}
    if screenshot is not None and not keep_faces:  # the saved window shows the camera: head masked
        from station.privacy.faces import FaceMasker, nominal_geometry

        window.image.faces = FaceMasker(nominal_geometry(
            config.camera.width, config.camera.height,
            camera_T if camera_T is not None else config.camera.T_plate_from_camera()))
    if controller is not None:
        if record:
            controller.start_recording(subject_id, drill_id)
            window._set_record_checked(True)
        else:
            controller.start_preview()
    else:
        window.open_replay(replay)
    window.show()
    shown = time.monotonic()
    runner_stats: dict = {}
    if timed:
        def finish() -> None:
            if screenshot is not None:
                prepare(screenshot)  # owner-only: the window shows the subject's data
                window.grab().save(screenshot)
            if controller is not None and controller.runner is not None:
                runner_stats.update(controller.runner.delivery())
            runner_stats["redraw_hz"] = window.redraws / max(time.monotonic() - shown, 1e-9)
            window.close()

        QtCore.QTimer.singleShot(int(seconds * 1000), finish)
    app.exec()
    if controller is not None:
        summary = controller.shutdown() or controller.last_summary
        if summary and summary.get("file"):
            print(f"recorded {summary['file']}: {len(summary['reps'])} reps", flush=True)
    if screenshot is not None:
        print(f"screenshot: {screenshot}", flush=True)
    if stats is not None:
        write_stats(stats, runner_stats)
    return 0


def run(args: argparse.Namespace) -> int:
    from station.config import load_config

    config = apply_live_flags(load_config(args.config), args)
    mocap = marker_source(args, config)  # --markers lsl:NAME [--markers hip=LABEL,...]
    from station.archive.identity_list import check_subject
    from station.owner_files import exposed_warning

    check_subject(args.subject, config)
    if warning := exposed_warning(args.out_dir):
        print(f"warning: {warning}", file=sys.stderr)
    plate_cal, camera_T = calibrations(args)
    return run_dashboard(args.plate, args.camera, config, subject_id=args.subject, drill_id=args.drill,
                         replay=args.replay, plate_calibration=plate_cal, camera_T=camera_T,
                         out_dir=args.out_dir, record=args.record, screenshot=args.screenshot,
                         seconds=args.seconds, stats=args.stats, archive_db=args.db,
                         keep_faces=args.keep_faces, operator=args.operator, markers_spec=mocap)


def _dowel_drill(drill_id: str) -> bool:
    from station.dowel.step import is_dowel_drill  # (OpenCV: only with a camera)

    return is_dowel_drill(drill_id)
