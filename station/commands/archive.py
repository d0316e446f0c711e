"""`hinge-station archive scan FOLDER`: index trials and sessions already on disk (idempotent)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from station.config import load_config


def add_db_arguments(parser: argparse.ArgumentParser) -> None:
    """--db and --config, as every archive command takes them."""
    parser.add_argument("--db", metavar="URL", help="archive: sqlite:///FILE or postgresql://USER@HOST/DB "
                        "(default: $HINGE_ARCHIVE_URL, [archive] url, else hinge-archive.sqlite in the "
                        "data root)")
    parser.add_argument("--config", help="station TOML")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", required=True)
    scan = sub.add_parser("scan", help="index every trial (*.h5) and session (*.session.json) under FOLDER")
    scan.add_argument("folder", type=Path)
    add_db_arguments(scan)
    scan.add_argument("--json", action="store_true",
                      help="print {added, unchanged, changed, missing, errors} as JSON")
    scan.set_defaults(func=_scan)


def _scan(args: argparse.Namespace) -> int:
    from station.archive.index import scan_folder
    from station.archive.station_archive import indexer_for, open_station_archive

    config = load_config(args.config)
    archive = open_station_archive(args.db, config)
    start = time.perf_counter()
    try:
        result = scan_folder(indexer_for(archive, config), args.folder)
    finally:
        archive.dispose()
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps(result.to_json() | {"seconds": round(seconds, 3)}, indent=1))
    else:
        print(f"{archive.shown_url}: {len(result.added)} added, {len(result.unchanged)} unchanged, "
              f"{len(result.changed)} changed, {len(result.missing)} missing, {len(result.errors)} errors "
              f"({seconds:.1f} s)")
        for path in result.changed:
            print(f"changed since indexed (not re-indexed): {path}")
        for path in result.missing:
            print(f"missing (rows kept): {path}")
        for err in result.errors:
            print(f"error: {err['error']}")
    return 1 if result.errors else 0
