"""`hinge-station sim plate|camera`: the stand-ins, each defined beside its driver in drivers/sim/."""

from __future__ import annotations

import argparse
import importlib

# subcommand -> module that defines `configure(parser)` for it
_SIMULATORS = {
    "plate": ("drivers.sim.plate_emulator", "serve a virtual force plate on a pseudo-terminal"),
    "camera": ("drivers.sim.softcam", "write (or stream) the virtual subject through pyrealsense2"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="simulator", required=True)
    for name, (module_name, text) in _SIMULATORS.items():
        p = sub.add_parser(name, help=text, description=text)
        try:
            importlib.import_module(module_name).configure(p)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
