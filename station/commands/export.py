"""`hinge-station export trial.h5 --format csv|c3d|opensim|bids [--out PATH] [--force] [--deidentify]`.

`opensim` writes `.trc` + `.mot` + ExternalLoads `.xml` into the folder --out (default: the trial's);
`bids` writes a BIDS motion dataset into the folder --out (default `<name>_bids` beside the input), from a
trial or from a session file (.json: all its recorded trials); an existing folder needs --force.

Every export is written owner-only (station.privacy) and entered in the audit log; `--deidentify` moves its
dates by the subject's shift and leaves free text out (station.export.trial_info).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from station.commands.archive import add_db_arguments
from station.errors import StationError
from station.recording.rows import check_output_path

if TYPE_CHECKING:
    from station.config import StationConfig


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trial", help="trial file (.h5); for --format bids also a session file (.json)")
    parser.add_argument("--format", required=True, choices=("csv", "c3d", "opensim", "bids"))
    parser.add_argument("--out", help="C3D file, CSV base name, or the folder for opensim / bids (default: "
                                      "next to the trial, same name; bids: <name>_bids)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.add_argument("--deidentify", action="store_true",
                        help="move every date by the subject's own random shift (kept with the identity "
                             "list, the same in all its exports) and leave out notes, command line and "
                             "device names")
    parser.add_argument("--operator", help="who exports, for the audit log (default: the login name)")
    add_db_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.archive.audit import audit
    from station.archive.identity_list import identity_list
    from station.config import load_config
    from station.export.trial_info import deidentified, info_csv_path, trial_info, write_info_csv
    from station.recording.reader import read_trial

    config = load_config(args.config)
    if args.format == "bids":
        return _run_bids(args, config)
    if Path(args.trial).suffix.lower() == ".json":
        raise StationError(f"{args.trial}: a session file exports only as --format bids; give a trial file")
    trial = read_trial(args.trial)
    subject = str(trial.metadata.get("subject_id") or "")
    shift = None
    if args.deidentify:
        if not subject:
            raise StationError(f"{args.trial}: no subject code in the trial: its date shift is unknown")
        shift = identity_list(config).date_shift_days(subject)
    info = trial_info(trial, shift)
    if shift is not None:
        trial = deidentified(trial, shift)
    src = Path(args.trial)
    if args.format == "c3d":
        from station.export.c3d_file import export_c3d

        out = Path(args.out) if args.out else src.with_suffix(".c3d")
        if out.suffix.lower() != ".c3d":
            out = out.with_name(out.name + ".c3d")
        check_output_path(out, args.force)
        export_c3d(trial, out, info)
        written = [out]
    elif args.format == "opensim":
        from station.export.opensim import export_opensim, opensim_paths

        out_dir = Path(args.out) if args.out else src.parent
        targets = opensim_paths(out_dir, src.stem).values() if out_dir.exists() else [out_dir]
        for path in targets:  # a missing --out folder is made (its parent must exist)
            check_output_path(path, args.force)
        written = export_opensim(trial, out_dir, src.stem)
        if not written:
            raise StationError(f"{src}: no marker frames and no force samples to export")
    else:
        from station.export.csv_files import csv_paths, export_csv

        base = Path(args.out) if args.out else src.with_suffix("")
        if base.suffix.lower() == ".csv":
            base = base.with_suffix("")
        for path in [*csv_paths(base).values(), info_csv_path(base)]:
            check_output_path(path, args.force)
        written = export_csv(trial, base) + [write_info_csv(info_csv_path(base), info)]
    for path in written:
        print(f"wrote {path}")
    what = f"{args.format}{' de-identified' if shift is not None else ''}: {src.name} -> {written[0].name}"
    note = audit("export", subject, what, config=config, db=args.db, operator=args.operator)
    if note:
        print(note)
    return 0


def _run_bids(args: argparse.Namespace, config: StationConfig) -> int:
    """A trial, or every recorded trial of a session file, as one BIDS dataset folder."""
    from station.archive.audit import audit
    from station.archive.identity_list import identity_list
    from station.export.bids import export_bids
    from station.export.trial_info import deidentified
    from station.recording.reader import read_trial

    src = Path(args.trial)
    files = [src]
    if src.suffix.lower() == ".json":
        from station.screening.session import load_session, resolve_trial_file

        files = [f for t in load_session(src).trials if (f := resolve_trial_file(t, src)) is not None]
        if not files:
            raise StationError(f"{src}: no recorded trial files in this session")
    out = Path(args.out) if args.out else src.with_name(f"{src.stem}_bids")
    check_output_path(out, args.force)  # an existing dataset folder is written into only with --force
    ids = identity_list(config) if args.deidentify else None
    trials = []
    for path in files:
        trial = read_trial(path)
        subject = str(trial.metadata.get("subject_id") or "")
        if ids is not None:
            if not subject:
                raise StationError(f"{path}: no subject code in the trial: its date shift is unknown")
            trial = deidentified(trial, ids.date_shift_days(subject))
        trials.append(trial)
    written = export_bids(trials, out)
    print(f"wrote {len(written)} files of {len(trials)} trial(s) into {out}")
    for subject in dict.fromkeys(str(t.metadata.get("subject_id") or "") for t in trials):
        what = f"bids{' de-identified' if ids is not None else ''}: {src.name} -> {out.name}"
        note = audit("export", subject, what, config=config, db=args.db, operator=args.operator)
        if note:
            print(note)
    return 0
