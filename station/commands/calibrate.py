"""`hinge-station calibrate plate|camera|feet`: each works prompted or from arguments/a steps file.

    calibrate plate --plate PORT                       prompted: tare, then each known mass
    calibrate plate --plate PORT --steps steps.toml    non-interactive (placements listed in order)
    calibrate plate --plate PORT --masses 20 --positions centre,front-left,rear-right,front-right,rear-left
    calibrate feet --subject S01 --heel-x -0.13 --foot-length 0.26
    calibrate feet --subject S01 --functional --plate PORT [--seconds 10]
    calibrate feet --subject S01 --camera SOURCE [--camera-cal FILE] [--frames 10]   (standing still)
    calibrate camera --camera SOURCE                   (needs the camera driver)

Every command takes --out FILE (default: the station's calibration folder, config.calibration_dir).
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

from station.config import load_config
from station.errors import StationError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None,
                        help="station TOML (default: $HINGE_STATION_CONFIG or ./station.toml)")
    sub = parser.add_subparsers(dest="what", required=True)

    p = sub.add_parser("plate", help="tare and per-channel gains from known masses")
    p.add_argument("--plate", required=True, help="port, pyserial URL or sim:PATTERN")
    p.add_argument("--steps", default=None, help="steps file (TOML/JSON): placements = [{mass_kg, position}]")
    p.add_argument("--masses", default=None, help="mass(es) in kg, comma separated (one for all placements)")
    p.add_argument("--positions", default=None,
                   help="comma-separated positions in the order placed: centre, front-left, ... or unknown")
    p.add_argument("--timeout", type=float, default=180.0, help="non-interactive: give up after this (s)")
    p.add_argument("--min-hold", type=float, default=1.0, help="a placement must be still this long (s)")
    p.add_argument("--reference", default=None,
                   help="previous plate calibration to check the tare against (default: newest)")
    p.add_argument("--out", default=None, help="where to write the calibration file")
    p.set_defaults(func=_plate)

    f = sub.add_parser("feet", help="heel line and foot length of a subject")
    f.add_argument("--subject", required=True)
    f.add_argument("--heel-x", type=float, default=None, help="plate x of the heels' back edge (m)")
    f.add_argument("--foot-length", type=float, default=None, help="foot length (m)")
    f.add_argument("--functional", action="store_true", help="rock back onto the heels, then onto the toes")
    f.add_argument("--plate", default=None, help="plate for --functional")
    f.add_argument("--plate-calibration", default=None, help="plate calibration file (default: newest)")
    f.add_argument("--seconds", type=float, default=10.0, help="--functional: how long to record")
    f.add_argument("--camera", default=None,
                   help="measure from the depth camera (side view, subject standing still on the plate): "
                        "realsense:, realsense:SERIAL, a .db3 recording or sim:PATTERN")
    f.add_argument("--camera-cal", default=None,
                   help="camera calibration file for --camera (default: the config's camera pose)")
    f.add_argument("--frames", type=int, default=10, help="--camera: frames to take the median of")
    f.add_argument("--timeout", type=float, default=20.0, help="--camera: give up waiting after (s)")
    f.add_argument("--out", default=None)
    f.set_defaults(func=_feet)

    c = sub.add_parser("camera", help="T_plate_from_camera from corner markers on the empty plate")
    c.add_argument("--camera", required=True, help="realsense:, realsense:SERIAL or a .db3 recording")
    c.add_argument("--side", choices=("right", "left"), default=None,
                   help="side of the subject the camera stands on (default: config camera.side)")
    c.add_argument("--frames", type=int, default=10, help="frames to average")
    c.add_argument("--timeout", type=float, default=20.0, help="give up waiting for frames after (s)")
    c.add_argument("--out", default=None)
    c.set_defaults(func=_camera)


def _open_plate(spec: str, config):
    try:
        from drivers.registry import open_plate
    except ModuleNotFoundError as exc:
        raise StationError(f"--plate {spec}: no force plate driver in this build ({exc.name})") from None
    return open_plate(spec, config)


def _steps_from_args(args) -> dict | None:
    from calibration.plate_session import load_steps

    if args.steps:
        return load_steps(args.steps)
    if args.masses is None and args.positions is None:
        return None
    positions = (args.positions or "").split(",") if args.positions else None
    try:
        masses = [float(m) for m in (args.masses or "").split(",") if m.strip()]
    except ValueError:
        raise StationError(f"--masses {args.masses!r}: expected kg, e.g. 20 or 20,20,10") from None
    if not masses or any(m <= 0 for m in masses):
        raise StationError("--masses: give at least one positive mass in kg")
    if positions is None:
        raise StationError("--positions: say where each mass goes, e.g. centre,front-left,rear-right")
    if len(masses) == 1:
        masses = masses * len(positions)
    if len(masses) != len(positions):
        raise StationError(f"--masses has {len(masses)} values for {len(positions)} --positions")
    pairs = zip(masses, positions, strict=True)
    return {"placements": [{"mass_kg": m, "position": p.strip()} for m, p in pairs],
            "timeout_s": args.timeout}


def _plate(args) -> int:
    from calibration.plate import PlateCalibration, load_plate_calibration
    from calibration.plate_session import finish, plate_device_id, run_from_steps, run_interactive

    config = load_config(args.config)
    steps = _steps_from_args(args)
    if steps is None and not sys.stdin.isatty():
        raise StationError(
            "calibrate plate: no terminal to prompt on; give --steps FILE or --masses + --positions")
    source = _open_plate(args.plate, config)
    source.start()
    try:
        device_id = plate_device_id(source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no calibration yet" is expected here
            reference = (PlateCalibration.from_file(args.reference) if args.reference
                         else load_plate_calibration(config, device_id))
        print(f"plate {device_id}: checking the tare against "
              f"{'nominal gains (no previous calibration)' if reference.is_default else reference.source}")
        if steps is not None:
            offsets, placements = run_from_steps(source, steps, reference, config, min_hold_s=args.min_hold)
        else:
            offsets, placements = run_interactive(source, reference, config, min_hold_s=args.min_hold)
    finally:
        source.stop()
    finish(offsets, placements, device_id, config, out=args.out)
    return 0


def _feet(args) -> int:
    from calibration.feet import functional_feet, save_feet, typed_feet
    from station.archive.identity_list import check_subject

    config = load_config(args.config)
    args.subject = check_subject(args.subject, config)  # the file's name and content carry it
    if args.camera:
        feet = _camera_feet(args, config)
    elif args.functional:
        if not args.plate:
            raise StationError("calibrate feet --functional needs --plate PORT")
        feet = _functional(args, config, functional_feet)
    else:
        if args.heel_x is None or args.foot_length is None:
            raise StationError("calibrate feet: give --heel-x M and --foot-length M, "
                               "or --functional --plate PORT, or --camera SOURCE")
        feet = typed_feet(args.subject, args.heel_x, args.foot_length)
    path = save_feet(feet, config, out=args.out)
    print(f"{args.subject}: heel line x = {feet.heel_x_m:+.3f} m, foot length {feet.foot_length_m:.3f} m "
          f"({feet.method}); wrote {path}")
    return 0


def _camera_feet(args, config):
    from calibration.camera import grab_frames, load_camera_T
    from calibration.feet_camera import camera_feet

    if args.frames < 1:
        raise StationError(f"--frames {args.frames}: need at least 1")
    T = load_camera_T(args.camera_cal) if args.camera_cal else config.camera.T_plate_from_camera()
    print(f"camera pose from {args.camera_cal or 'the station config [camera] (no --camera-cal)'}; "
          "stand still on the plate, heels on the heel line", flush=True)
    frames, _ = grab_frames(args.camera, config, args.frames, args.timeout)
    feet = camera_feet(args.subject, frames, T, config)
    d = feet.details
    spread = "n/a (under 4 frames)" if d["spread_mm"] is None else f"{d['spread_mm']:.1f} mm"
    print(f"heel x {feet.heel_x_m * 1000:+.1f} mm, toe x {d['toe_x_m'] * 1000:+.1f} mm, foot length "
          f"{feet.foot_length_m * 1000:.1f} mm from {d['n_frames']} frame(s), "
          f"{d['n_foot_points']} foot points; "
          f"spread between the frames' halves {spread}")
    return feet


def _functional(args, config, functional_feet):
    from calibration.plate import load_plate_calibration
    from calibration.plate_session import PlateRecorder, plate_device_id

    source = _open_plate(args.plate, config)
    source.start()
    try:
        calib = load_plate_calibration(config, plate_device_id(source), args.plate_calibration)
        print("stand on the plate, heels on the heel line; rock back onto your heels and hold 2 s, "
              "then forward onto your toes and hold 2 s", flush=True)
        data = PlateRecorder(source).pump(args.seconds)
    finally:
        source.stop()
    cells = calib.cells_n(data.counts)
    fz = cells.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = cells @ config.plate.channel_xy[:, 0] / fz
    return functional_feet(args.subject, data.t_device_s, cop_x, fz)


def _camera(args) -> int:
    """`calibrate camera --camera SOURCE [--side right|left] [--frames N] [--out FILE]`."""
    import numpy as np

    from calibration.camera import calibrate_camera, grab_frames
    from calibration.store import save_calibration
    from station.markers.detect import detect_markers

    config = load_config(args.config)
    frames, device_id = grab_frames(args.camera, config, args.frames, args.timeout)
    cal = calibrate_camera(frames, config, detect_markers, side=args.side)
    T = cal.T_plate_from_camera
    for name, err in cal.marker_error_mm.items():
        print(f"corner {name:<12} residual {err:6.2f} mm")
    print(f"plane fit rms {cal.plane_rms_mm:.2f} mm; camera at {np.round(T[:3, 3], 3).tolist()} m "
          f"(plate frame), side {cal.side}")
    intr = frames[0].intrinsics
    result = {"T_plate_from_camera": T.tolist(), "side": cal.side, "width": intr.width, "height": intr.height}
    path = save_calibration("camera", result,
                            device_id=device_id, residuals=cal.residuals(), out=args.out, config=config)
    print(f"wrote {path}")
    return 0
