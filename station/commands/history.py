"""`hinge-station history SUBJECT [--out history.html|.pdf]`: every visit of one subject, with trends."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from station.commands.archive import add_db_arguments
from station.config import load_config
from station.errors import StationError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subject", help="subject code")
    add_db_arguments(parser)
    parser.add_argument("--out", type=Path, help="write the history report (.html or .pdf)")
    parser.add_argument("--json", action="store_true",
                        help="print {subject, sessions: [{date, trials: [{trial_id, drill, reps, "
                             "clean_reps, ...}]}], stage} as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.archive.queries import history
    from station.archive.station_archive import open_station_archive

    if args.out is not None and args.out.suffix.lower() not in (".html", ".pdf"):
        raise StationError(f"--out {args.out}: give a .html or .pdf file")
    config = load_config(args.config)
    archive = open_station_archive(args.db, config, write=False)
    try:
        doc = history(archive, args.subject)
    finally:
        archive.dispose()
    if not doc:
        raise StationError(f"subject {args.subject!r}: not in the archive {archive.shown_url}")
    if args.out is not None:
        from station.report.history import write_history

        write_history(doc, args.out, config=config)
        print(f"history: {args.out}")
    if args.json:
        print(json.dumps(doc, indent=1))
    elif args.out is None:
        for visit in doc["sessions"]:
            gate = visit.get("gate") or {}
            verdict = "passed" if gate.get("passed") else ""
            print(f"{visit['date']}  {gate.get('current_stage', '')} {verdict}")
            for tr in visit["trials"]:
                hb = tr["hip_back_mm_mean"]
                print(f"  {tr['trial_id']:<10}{tr['drill']:<14}{tr['clean_reps']}/{tr['reps']} clean  "
                      f"hip back {'-' if hb is None else f'{hb:.0f} mm'}  "
                      f"{', '.join(f'{k} x{v}' for k, v in tr['faults'].items())}")
        print(f"stage reached: {doc['stage']}")
    return 0
