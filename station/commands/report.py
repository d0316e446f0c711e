"""`hinge-station report SESSION_OR_TRIAL --out report.html|report.pdf [--pdf]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.config import load_config


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=Path, help="a session .json (all its sets) or one trial .h5")
    parser.add_argument("--out", type=Path, help="report.html or report.pdf (suffix decides; default: "
                        "beside the source, .html)")
    parser.add_argument("--pdf", action="store_true", help="also write the PDF beside the HTML")
    parser.add_argument("--config", help="station TOML (thresholds shown and gate rules)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.report import build_report_model, load_for_report, render_to

    config = load_config(args.config)
    out = args.out or args.source.with_suffix(".report.html")
    session = load_for_report(args.source, config)
    model = build_report_model(session, args.source, config)  # built once, rendered to both formats
    targets = [out] + ([out.with_suffix(".pdf")] if args.pdf and out.suffix.lower() != ".pdf" else [])
    for target in targets:
        render_to(model, target)
        print(f"report: {target}")
    for note in model.notes + [n for s in model.sections for n in s.notes]:
        print(f"note: {note}")
    return 0
