"""`hinge-station reanalyze`: the core again over every archived trial, stored as a new analysis version.

Local process pool by default (`--workers N`, default the machine's cores), or a Dask cluster
(`--dask tcp://HOST:PORT`). Prints which reps' verdicts changed against each trial's newest previous
analysis; the older analyses stay in the archive. Running it again with the same settings adds nothing.
"""

from __future__ import annotations

import argparse
import json
import sys

from station.errors import StationError


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of workers >= 1")
    return n


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subject", help="only this subject's trials (default: every archived trial)")
    parser.add_argument("--config", help="station TOML to reanalyse every trial with, e.g. changed "
                        "[thresholds] (default: each trial's own recorded settings); its [archive] applies "
                        "too")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, metavar="N",
                       help="local worker processes (default: this machine's cores)")
    where.add_argument("--dask", metavar="tcp://HOST:PORT",
                       help="run on this Dask scheduler's workers instead (they must see the trial files at "
                            "this station's paths and run the same hinge-station version)")
    parser.add_argument("--db", metavar="URL", help="archive: sqlite:///FILE or postgresql://USER@HOST/DB "
                        "(default: $HINGE_ARCHIVE_URL, [archive] url, else hinge-archive.sqlite in the "
                        "data root)")
    parser.add_argument("--json", action="store_true",
                        help="print {trials, analysis_version, changed: [{trial_id (the trial_uid), rep, "
                             "was, now}], seconds} as JSON (skipped and unreadable trials: lines on stderr)")
    parser.set_defaults(func=run)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _shown(v: str | None) -> str:
    return "no rep" if v is None else v


def format_report(report, url: str) -> list[str]:  # noqa: ANN001 (archive.reanalysis.ReanalysisReport)
    version = report.analysis_version
    version = ", ".join(version) if isinstance(version, list) else (version or "-")
    on = f" on {report.where}" if report.where else ""
    lines = [f"{url}: {_count(len(report.analysed), 'trial')} reanalysed as {version}{on} "
             f"in {report.seconds:.1f} s; {len(report.skipped)} already at that version (skipped), "
             f"{len(report.errors)} not reanalysed"]
    n_reps = 0
    for tc in report.analysed:
        if not tc.reps and tc.reps_before == tc.reps_after:
            continue
        head = f"{tc.rel} ({tc.subject}, against {tc.previous_version or 'nothing'}):"
        if tc.reps_before != tc.reps_after:
            head += f" {_count(tc.reps_before, 'rep')} -> {tc.reps_after}"
        lines.append(head)
        for r in tc.reps:
            n_reps += 1
            was_rep = f" (was rep {r['was_rep']})" if r["was_rep"] not in (None, r["rep"]) else ""
            lines.append(f"  rep {r['rep']}{was_rep}: {_shown(r['was'])} -> {_shown(r['now'])}")
    changed_trials = sum(1 for tc in report.analysed if tc.reps)
    lines.append(f"verdicts changed: {_count(n_reps, 'rep')} in {_count(changed_trials, 'trial')}"
                 if n_reps else "no verdict changed")
    return lines


def run(args: argparse.Namespace) -> int:
    from station.archive.reanalysis import reanalyze
    from station.archive.station_archive import indexer_for, open_station_archive
    from station.config import load_config

    config = load_config(args.config)
    given = config.to_dict() if args.config else None
    if args.dask and "://" not in args.dask:
        raise StationError(f"--dask {args.dask}: give the scheduler as tcp://HOST:PORT")
    open_station_archive(args.db, config, write=False).dispose()  # empty or absent: one line, nothing made
    archive = open_station_archive(args.db, config)
    try:
        report = reanalyze(indexer_for(archive, config), subject=args.subject, config=given,
                           workers=args.workers, dask=args.dask)
    finally:
        archive.dispose()
    notes = [f"not reanalysed: {e}" for e in report.errors]
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
        if report.skipped:
            print(f"{_count(len(report.skipped), 'trial')} already at that analysis version (skipped)",
                  file=sys.stderr)
        for line in notes:
            print(line, file=sys.stderr)
    else:
        print("\n".join(format_report(report, archive.shown_url)))
        for line in notes:
            print(line)
    return 1 if report.errors else 0
