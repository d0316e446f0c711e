"""`hinge-station report SESSION_OR_TRIAL --out report.html|report.pdf [--pdf] [--deidentify | --identify]`.

Every report is entered in the audit log. `--identify` (the clinic's own copy) reads the subject's name
from the identity list: refused unless that lookup is audited. `--deidentify` (for sharing) moves dates
by the subject's shift (station.report.deidentify).
"""

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
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--deidentify", action="store_true",
                     help="for sharing: dates moved by the subject's own shift, file names without folders, "
                          "the stick figure instead of the camera picture")
    who.add_argument("--identify", action="store_true",
                     help="the clinic's copy: name and date of birth from the identity list (audited)")
    parser.add_argument("--operator", help="who makes the report, for the audit log (default: login name)")
    parser.add_argument("--keep-faces", action="store_true",
                        help="draw camera pictures with the face, only for trials that recorded the "
                             "subject's consent (faces_kept); otherwise, and by default, the head is masked")
    parser.add_argument("--db", metavar="URL", help="archive holding the audit log and the earlier visits "
                        "for the Progress section (default: $HINGE_ARCHIVE_URL, [archive] url, else "
                        "hinge-archive.sqlite in the data root)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.archive.audit import audit
    from station.archive.identity_list import identity_list
    from station.errors import StationError
    from station.privacy.dates import shift_dates_in
    from station.report import build_report_model, load_for_report, render_to

    config = load_config(args.config)
    shifted = None  # the de-identified report's date shift (days), for the Progress section too
    session = load_for_report(args.source, config)
    model = build_report_model(session, args.source, config,  # built once, rendered to both formats
                               keep_faces=getattr(args, "keep_faces", False))
    code = session.subject_id
    out = args.out or args.source.with_suffix(".report.html")
    if args.identify:
        identities = identity_list(config)
        audit("identity_lookup", code, f"report --identify {args.source.name}", config=config, db=args.db,
              operator=args.operator, required=True)  # no audit entry: no name
        identity = identities.lookup(code)
        if identity is None or not identity.name:
            raise StationError(f"subject {code}: no name in the identity list {identities.path}")
        from station.report.deidentify import identify_model

        model = identify_model(model, identity)
    elif args.deidentify:
        from station.report.deidentify import deidentify_model

        shift = identity_list(config).date_shift_days(code)
        model = deidentify_model(model, session, shift)
        shifted = shift
        if args.out is None:  # the default name must not carry the real date either
            out = args.source.with_name(shift_dates_in(args.source.stem, shift) + ".deidentified.html")
    from station.report.progress import progress_section

    model.progress = progress_section(session, args.db, config, deidentify_days=shifted)  # never raises
    targets = [out] + ([out.with_suffix(".pdf")] if args.pdf and out.suffix.lower() != ".pdf" else [])
    for target in targets:
        render_to(model, target)
        print(f"report: {target}")
    for note in model.notes + [n for s in model.sections for n in s.notes]:
        print(f"note: {note}")
    print(f"progress: {model.progress.lines[0]}")
    kind = " identified" if args.identify else " de-identified" if args.deidentify else ""
    line = audit("report", code, f"report{kind}: {args.source.name} -> {', '.join(t.name for t in targets)}",
                 config=config, db=args.db, operator=args.operator)
    if line:
        print(line)
    return 0
