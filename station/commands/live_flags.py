"""The wall drill's `--wall-mm` and the breathing cue's `--breathing`, shared by `dashboard` and `demo`
(`record` and `screen` take `--wall-mm` too). Both end up in the station config, so a recording stores the
wall (root attribute wall_mm) and the live core judges each rep against it (station.core.target)."""

from __future__ import annotations

import argparse

from station.config import StationConfig
from station.core.target import check_wall_mm


def add_live_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wall-mm", type=float, metavar="N",
                        help="the wall drill: the target becomes a wall N mm behind the heel line (also the "
                             "spin box in the dashboard; [feet] wall_mm)")
    parser.add_argument("--breathing", action="store_true",
                        help="breathing cue: 'inhale' while hinging down, 'exhale' on the way up, shown in "
                             "the coach view with a short tone ([cues] breathing = true)")


def apply_live_flags(config: StationConfig, args: argparse.Namespace) -> StationConfig:
    """The flags over the TOML's settings (a flag given wins; one left out keeps the TOML's)."""
    if getattr(args, "wall_mm", None) is not None:
        config.feet.wall_mm = check_wall_mm(args.wall_mm)
    if getattr(args, "breathing", False):
        config.cues.breathing = True
    return config
