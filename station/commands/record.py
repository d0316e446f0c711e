"""`hinge-station record`: one headless trial to HDF5. Ctrl-C (SIGINT) or SIGTERM ends it cleanly."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from station.commands.shared import add_marker_options, calibrations, marker_source, write_stats
from station.errors import StationError
from station.results import RepResult
from station.screening.drills import ARM_VARIATIONS, DRILLS, check_names, movement_of, subject_posture


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plate", help="plate source: serial port, serial:///dev/ttyACM0 or sim:PATTERN")
    parser.add_argument("--camera", help="camera source: realsense:, realsense:FILE.db3 or sim:PATTERN")
    add_marker_options(parser)
    parser.add_argument("--subject", required=True,
                        help="subject code, never a name (`hinge-station subject add` gives one)")
    parser.add_argument("--drill", required=True, help=f"drill: {', '.join(DRILLS)}")
    parser.add_argument("--load-kg", type=float, help="external load held (kg)")
    parser.add_argument("--arms", default="", help=f"arm variation: {', '.join(ARM_VARIATIONS)}")
    parser.add_argument("--side", choices=("left", "right"), help="subject's side facing the camera")
    parser.add_argument("--notes", default="", help="operator notes")
    parser.add_argument("--body-mass-kg", type=float, help="subject mass (else from standing)")
    parser.add_argument("--wall-mm", type=float, metavar="N", help="the wall drill: a wall N mm behind the "
                        "heel line (stored in the trial; each rep says whether the hips reached it)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--plate-cal", help="plate calibration file (default: nominal gains, marked as such)")
    parser.add_argument("--camera-cal", help="camera calibration file (T_plate_from_camera)")
    parser.add_argument("--zero-check-s", type=float, default=1.5,
                        help="zero check on the first seconds of an empty plate (re-tares beyond "
                             "thresholds.zero_drift_warn_n); 0 = off")
    parser.add_argument("--config", help="station TOML")
    parser.add_argument("--stats", metavar="FILE.json",
                        help="write what was delivered and processed (camera frames, plate samples) as JSON")
    parser.add_argument("--frames", default="none",
                        help="depth+IR storage: none (default), h5-lz4, h5-zstd, h5-lzf, h5-gzip1, h5-raw")
    parser.add_argument("--no-stills", dest="stills", action="store_false",
                        help="do not keep the camera frame at each rep's bottom (/stills, ~0.8 MB per rep; "
                             "the report then draws a stick figure)")
    parser.add_argument("--keep-faces", action="store_true",
                        help="research consent: keep the head unmasked in stored pictures (stills, "
                             "--frames); the trial records the consent and the operator (faces_kept)")
    parser.add_argument("--lsl", action="store_true", help="stream force, CoP, hip and reps over LSL")
    parser.add_argument("--camera-process", choices=("auto", "on", "off"), default="auto",
                        help="the camera, its markers and the virtual dowel in a process of their own "
                             "(auto: at 60 fps and above)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--db", metavar="URL", help="archive the trial is indexed in when it ends (default: "
                        "$HINGE_ARCHIVE_URL, [archive] url, else hinge-archive.sqlite in the data root)")
    parser.add_argument("--operator", help="who records, for the audit log (default: the login name)")
    parser.add_argument("--out", required=True, help="trial file to write (.h5)")
    parser.set_defaults(func=run)


# drills whose load the markerless path cannot tell from the body (issue 23), and why. A load hanging at
# arm's length beside or in front of the legs (weighted RDL, deadlift) is told apart by the lateral plane of
# what the camera sees (station.markerless.limbs): it is measured, and frames it cannot separate are marked.
MARKERLESS_REFUSED = {
    "kb_swing": "the kettlebell swings between the legs, in their own plane, where the depth image cannot "
                "tell it from the thighs",
    "pull_through": "the hands and the cable pass between the legs, in their own plane, where the depth "
                    "image cannot tell them from the thighs",
    "kb_upper_back": "the kettlebell lies on the upper back, over the outline the trunk is read from",
    "goblet_hinge": "a load held at the chest is not yet checked against the simulator's truth",
}


def markerless_refusal(drill_id: str) -> str | None:
    """Why `--markers depth` does not record this drill (None: it does)."""
    why = MARKERLESS_REFUSED.get(drill_id)
    return None if why is None else f"--markers depth: {DRILLS[drill_id].name}: {why} (put markers on for it)"


def rep_line(rep: RepResult) -> str:
    def mm(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f} mm"

    verdict = "PASS" if rep.passed else "FAIL " + ",".join(rep.faults)
    ratio = "-" if rep.hinge_ratio is None else f"{rep.hinge_ratio:.1f}"
    fp = "-" if rep.foot_pos_bottom is None else f"{rep.foot_pos_bottom:.2f}"
    # a live rep is given at its end and again once its lockout is judged (RepResult.lockout_pending)
    pending = "  (lockout pending)" if rep.lockout_pending else ""
    return (f"rep {rep.index}: {rep.t_start:.2f}-{rep.t_end:.2f} s  hip back {mm(rep.hip_back_mm)}, "
            f"drop {mm(rep.hip_drop_mm)}, ratio {ratio}, foot_pos {fp}  {verdict}{pending}")


def run(args: argparse.Namespace) -> int:
    from station.config import load_config
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner

    mocap = marker_source(args, config := load_config(args.config))
    if not args.plate and not args.camera and not mocap:
        raise StationError("give --plate and/or --camera (or --markers lsl:NAME)")
    check_names(args.drill, args.arms)  # before any file or device: `--drill dowel` names dowel_hinge
    if config.camera.markers == "depth" and (why := markerless_refusal(args.drill)):
        raise StationError(why)
    from station.archive.identity_list import check_notes, check_subject
    from station.owner_files import exposed_warning

    check_subject(args.subject, config)  # before any file or device: a name never reaches a record
    check_notes(args.notes, config)
    if getattr(args, "audit", True) and (warning := exposed_warning(Path(args.out).parent)):
        print(f"warning: {warning}", file=sys.stderr)
    if args.side:
        config.camera.side = args.side
    if getattr(args, "wall_mm", None) is not None:  # the writer stores it (root attribute wall_mm)
        from station.core.target import check_wall_mm

        config.feet.wall_mm = check_wall_mm(args.wall_mm)
    meta = {"subject_id": args.subject, "drill": args.drill, "movement": movement_of(args.drill),
            "load_kg": args.load_kg, "arms": args.arms,
            "side": args.side or config.camera.side, "notes": args.notes, "plate_source": args.plate or "",
            "camera_source": args.camera or "", "body_mass_kg": args.body_mass_kg,
            **({"markers_source": mocap, "markers_mapping": config.lsl_markers.mapping} if mocap else {}),
            "command": " ".join(sys.argv)}
    if getattr(args, "keep_faces", False):  # consent to keep faces, and who took it (station.privacy.faces)
        from station.archive.audit import operator_name

        meta.update(faces_kept=True, faces_consent_operator=operator_name(args.operator))
    # the output is checked before any device opens: a bad path costs nothing
    writer = TrialWriter(args.out, force=args.force, config=config, metadata=meta, frames=args.frames,
                         stills=args.stills)
    plate_cal, camera_T = calibrations(args)
    # simulated sources act the drill out (a dowel on the back in a dowel drill); real ones ignore this.
    # From 60 fps the camera, its markers and dowel run in a process of their own (docs/live-90fps.md)
    from station.trial.camera_process import open_trial_sources

    holding_dowel = False
    if args.camera:  # (a plate-only trial never loads the dowel's OpenCV)
        from station.dowel.step import is_dowel_drill

        holding_dowel = is_dowel_drill(args.drill)
    plate, camera = open_trial_sources(args.plate, args.camera, config,
                                       subject=subject_posture(args.drill, args.arms, args.load_kg),
                                       camera_T=camera_T, mode=getattr(args, "camera_process", "auto"),
                                       analyse=not mocap, holding_dowel=holding_dowel)
    if mocap:
        from drivers.registry import open_markers

        markers = open_markers(mocap, config)
    else:
        markers = None
    consumers: list = [TrialFileConsumer(writer)]
    if args.frames not in ("none", "db3"):  # frames compressed beside the worker, not in its turn
        from station.trial.threaded import ThreadedConsumer  # (docs/live-90fps.md)

        consumers = [ThreadedConsumer(consumers[0])]
    if args.lsl:
        from station.export.lsl import LslOutlets
        from station.trial.consumers import LslConsumer

        consumers.append(LslConsumer(LslOutlets(config.plate.rate_hz, float(config.camera.fps))))
    runner = TrialRunner(plate, camera, config, consumers=consumers, plate_calibration=plate_cal,
                         camera_T=camera_T, metadata=meta, body_mass_kg=args.body_mass_kg,
                         duration_s=args.duration, on_rep=lambda rep: print(rep_line(rep), flush=True),
                         zero_check_s=args.zero_check_s, markers=markers)
    stop_requested = threading.Event()
    reason = {"text": "duration reached"}

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        reason["text"] = f"stopped by {signal.Signals(signum).name}"
        stop_requested.set()

    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.start()
        print(f"recording to {writer.path} (Ctrl-C to stop)", flush=True)
        while not stop_requested.is_set() and not runner.wait(0.2):
            pass
        summary = runner.stop(reason["text"] if stop_requested.is_set() else "duration reached")
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    cal = "" if summary["calibration"] == "calibrated" else f" (force from {summary['calibration']})"
    print(f"{summary['reason']}: {summary['elapsed_s']:.1f} s, {summary['plate_samples']} plate samples "
          f"({summary['plate_lost']} lost), {summary['camera_frames']} frames ({summary['camera_dropped']} "
          f"dropped), {len(summary['reps'])} reps{cal} -> {summary.get('file')}", flush=True)
    if summary.get("zero_check"):
        print(summary["zero_check"]["message"], flush=True)
    if args.plate and args.camera:
        from station.trial.sync_check import sync_line

        print(sync_line(summary.get("sync")), flush=True)
    for warning in summary["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if args.stats:
        write_stats(args.stats, summary["delivery"])
    if summary.get("file") and getattr(args, "index", True):
        from station.archive.station_archive import index_new_file

        print(index_new_file(summary["file"], config, args.db), flush=True)
    if getattr(args, "audit", True):  # a set recorded by `screen` is audited by screen
        from station.archive.audit import audit

        what = f"{args.drill} {summary['reason']}: {Path(summary.get('file') or args.out).name}"
        note = audit("record", args.subject, what + (" (failed)" if summary.get("error") else ""),
                     config=config, db=args.db, operator=args.operator)
        if note:
            print(note, flush=True)
    if summary.get("error"):
        raise StationError(summary["error"])
    return 0
