"""`hinge-station demo`: the simulated station end to end, no hardware needed.

With a display it opens the live dashboard on the virtual subject. Without one (or with --headless)
it records a trial through exactly the path `record` takes: plate bytes over a pseudo-terminal
through pyserial, camera frames through a pyrealsense2 software device and rs.pipeline, the core
judging each rep as it ends. Then it prints the station's verdicts beside the simulator's truth.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from drivers.sim.subject import PATTERNS
from station.commands.live_flags import add_live_flags, apply_live_flags
from station.owner_files import make_dirs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pattern", default="hinge", choices=PATTERNS, help="what the virtual subject does")
    parser.add_argument("--seconds", type=float, help="trial length (default: the subject's whole trial)")
    parser.add_argument("--out", help="trial file (default: recordings/demo-PATTERN-TIME.h5)")
    parser.add_argument("--headless", action="store_true", help="never open a window")
    parser.add_argument("--keep-faces", action="store_true",
                        help="keep the head unmasked in the stored pictures (consent recorded in the trial)")
    parser.add_argument("--config", help="station TOML (e.g. [camera] fps = 15 on a slow machine)")
    parser.add_argument("--markers", choices=("ir", "depth"), default="ir",
                        help="depth: no stickers, the landmarks estimated from the depth image (markerless)")
    add_live_flags(parser)  # --wall-mm (the window and the headless recording), --breathing (the window)
    parser.set_defaults(func=run)


def _display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _dashboard(pattern: str, config_path: str | None, keep_faces: bool = False,
               args: argparse.Namespace | None = None) -> int | None:
    try:
        from station.commands.dashboard import run_dashboard
    except ModuleNotFoundError:
        return None
    from station.config import load_config

    config = load_config(config_path)
    if args is not None:
        config = apply_live_flags(config, args)
        if getattr(args, "markers", "ir") == "depth":  # markerless (station.markerless)
            config.camera.markers = "depth"
    return run_dashboard(f"sim:{pattern}", f"sim:{pattern}", config, keep_faces=keep_faces)


def _truth_table(trial_path: Path, pattern: str) -> str:
    """The station's reps (as stored in the trial) beside the simulator's truth."""
    from drivers.sim.subject import VirtualSubject
    from station.recording.reader import read_trial

    reps = read_trial(trial_path).reps
    truth = VirtualSubject(pattern).truth.reps  # the same subject the sim sources played (seed 0)
    head = (f"{'rep':>3}  {'bottom s':>14}  {'hip back mm':>13}  {'hip drop mm':>13}  "
            "verdict (station | truth)")
    lines = [head, "     " + "station truth  " * 3]
    for i in range(max(len(reps), len(truth))):
        got = reps[i] if i < len(reps) else None
        tr = truth[i] if i < len(truth) else None

        def pair(key: str, fmt: str, got=got, tr=tr) -> str:
            a = "-" if got is None or getattr(got, key) is None else format(getattr(got, key), fmt)
            b = "-" if tr is None else format(getattr(tr, key), fmt)
            return f"{a:>6} {b:>6}"

        verdict = ("-" if got is None else ("PASS" if got.passed else ",".join(got.faults))) + " | " + \
                  ("-" if tr is None else ("PASS" if not tr.faults else ",".join(tr.faults)))
        lines.append(f"{i + 1:>3}  {pair('t_bottom', '.2f')}  {pair('hip_back_mm', '.0f')}  "
                     f"{pair('hip_drop_mm', '.0f')}  {verdict}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.headless and _display_available():
        code = _dashboard(args.pattern, args.config, getattr(args, "keep_faces", False), args)
        if code is not None:
            return code
    from drivers.sim.subject import VirtualSubject
    from station.commands import record

    seconds = args.seconds or VirtualSubject(args.pattern).duration_s + 0.5
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or Path("recordings") / f"demo-{args.pattern}-{stamp}.h5")
    make_dirs(out.parent)
    print(f"hinge-station demo: virtual subject doing '{args.pattern}' for {seconds:.0f} s "
          "(plate over a pty through pyserial, camera through a pyrealsense2 software device)", flush=True)
    # record's own parser, so the demo takes exactly the path (and defaults) `record` does
    record_parser = argparse.ArgumentParser()
    record.configure(record_parser)
    argv = ["--plate", f"sim:{args.pattern}", "--camera", f"sim:{args.pattern}", "--subject", "demo",
            "--drill", "bw_rdl", "--arms", "arms_crossed", "--notes", "hinge-station demo",
            "--duration", str(seconds), "--out", str(out)]
    argv += ["--keep-faces"] if getattr(args, "keep_faces", False) else []
    argv += ["--markers", "depth"] if getattr(args, "markers", "ir") == "depth" else []
    argv += ["--wall-mm", str(args.wall_mm)] if args.wall_mm is not None else []  # the wall drill, recorded
    ns = record_parser.parse_args(argv + (["--config", args.config] if args.config else []))
    code = record.run(ns)
    print("\nstation vs simulator truth:\n" + _truth_table(out, args.pattern), flush=True)
    print(f"\ntrial: {out}\nnext: hinge-station analyze {out} --json   or   "
          f"hinge-station export {out} --format c3d")
    return code
