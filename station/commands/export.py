"""`hinge-station export trial.h5 --format csv|c3d [--out PATH] [--force]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.recording.rows import check_output_path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trial", help="trial file (.h5)")
    parser.add_argument("--format", required=True, choices=("csv", "c3d"))
    parser.add_argument("--out", help="C3D file, or CSV base name (default: next to the trial, same name)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.recording.reader import read_trial

    trial = read_trial(args.trial)
    src = Path(args.trial)
    if args.format == "c3d":
        from station.export.c3d_file import export_c3d

        out = Path(args.out) if args.out else src.with_suffix(".c3d")
        if out.suffix.lower() != ".c3d":
            out = out.with_name(out.name + ".c3d")
        check_output_path(out, args.force)
        export_c3d(trial, out)
        print(f"wrote {out}")
        return 0
    from station.export.csv_files import csv_paths, export_csv

    base = Path(args.out) if args.out else src.with_suffix("")
    if base.suffix.lower() == ".csv":
        base = base.with_suffix("")
    for path in csv_paths(base).values():
        check_output_path(path, args.force)
    for path in export_csv(trial, base):
        print(f"wrote {path}")
    return 0
