"""`hinge-station` command line: subcommands are imported only when chosen (no SDK import for --help)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from station import __version__
from station.errors import StationError
from station.owner_files import restrict_umask

# name -> (module, one-line help). Each module defines `configure(parser)` which sets `func`.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("station.commands.demo", "run the simulated station (dashboard if a display exists)"),
    "sim": ("station.commands.sim", "stand-ins: `sim plate` (pty force plate), `sim camera` (.db3)"),
    "plate-monitor": ("station.commands.plate_monitor", "live readout of a force plate for bring-up"),
    "analyze": ("station.commands.analyze", "reps, metrics and faults of a .h5, .db3 or .c3d"),
    "calibrate": ("station.commands.calibrate", "plate, camera, feet and clock calibration"),
    "record": ("station.commands.record", "record a trial to HDF5 (headless)"),
    "replay": ("station.commands.replay", "run the core over a recorded trial"),
    "export": ("station.commands.export", "export a trial to CSV or C3D"),
    "dashboard": ("station.commands.dashboard", "the live pyqtgraph dashboard"),
    "screen": ("station.commands.screen", "run a screening protocol with the progression gate"),
    "report": ("station.commands.report", "write the clinician's report (HTML/PDF)"),
    "archive": ("station.commands.archive", "the subject archive: `archive scan FOLDER` indexes trials"),
    "subject": ("station.commands.subject", "`subject add --name ...`: a new subject code (name kept apart)"),
    "subjects": ("station.commands.subjects", "subjects in the archive, with the gate stage reached"),
    "history": ("station.commands.history", "one subject's visits and trends (text, JSON, HTML/PDF)"),
    "reanalyze": ("station.commands.reanalyze", "run the core again over archived trials (pool or Dask)"),
}


def _usage() -> str:
    lines = [f"hinge-station {__version__}: hip-hinge lab station", "", "commands:"]
    lines += [f"  {name:<14} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "hinge-station COMMAND --help for its options"]
    return "\n".join(lines)


# One BLAS / OpenMP / OpenCV thread unless the user chose otherwise. The station's matrix products are
# small (3x3 rotations of a frame's points) and its parallelism is its own threads and processes (plate
# reader, camera process, trial worker); BLAS helper threads spin between the products on those same cores:
# in a `record` they were 7.5% of its CPU (perf), a third of the plate path's, and gave nothing back.
# Set here, before any command imports numpy; child processes (the camera's, Dask's) inherit it.
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")


def main(argv: list[str] | None = None) -> int:
    for variable in _ONE_THREAD:
        os.environ.setdefault(variable, "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(__version__)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"hinge-station: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, text = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"hinge-station {name}: not available in this build", file=sys.stderr)
        return 2
    restrict_umask()  # whatever this process creates is its owner's only (station.owner_files)
    parser = argparse.ArgumentParser(prog=f"hinge-station {name}", description=text)
    module.configure(parser)
    args = parser.parse_args(argv[1:])
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StationError as exc:
        print(f"hinge-station {name}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
