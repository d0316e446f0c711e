"""`hinge-station subjects`: one row per subject in the archive (codes only)."""

from __future__ import annotations

import argparse
import json

from station.commands.archive import add_db_arguments
from station.config import load_config


def configure(parser: argparse.ArgumentParser) -> None:
    add_db_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print [{subject, sessions, trials, last_date, stage}] as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.archive.queries import subjects
    from station.archive.station_archive import open_station_archive

    archive = open_station_archive(args.db, load_config(args.config), write=False)
    try:
        rows = subjects(archive)
    finally:
        archive.dispose()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'subject':<16}{'sessions':>9}{'trials':>8}  {'last_date':<12}stage")
    for r in rows:
        last = r["last_date"] or "-"
        print(f"{r['subject']:<16}{r['sessions']:>9}{r['trials']:>8}  {last:<12}{r['stage']}")
    return 0
