"""`hinge-station screen`: contraindication check, one set, append to the session, progression gate.

Exit codes: 0 set recorded, 3 test not started (a contraindication answered yes), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from station.config import load_config
from station.errors import StationError
from station.owner_files import make_dirs
from station.screening.drills import ARM_VARIATIONS, DRILLS, IMPLEMENTS, check_setup, describe_set
from station.screening.feedback import set_feedback
from station.screening.felt import FELT_VALUES, ask_felt, parse_felt
from station.screening.gate import evaluate_gate, evidence_words
from station.screening.questions import ask_interactively, parse_answers
from station.screening.session import Session, SessionTrial, load_session, path_for_session, save_session

EXIT_NOT_STARTED = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subject", required=True,
                        help="subject code, never a name (`hinge-station subject add` gives one)")
    parser.add_argument("--drill", choices=list(DRILLS),
                        help="the set's drill (default: the gate stage the archive says the subject reached)")
    parser.add_argument("--arms", choices=list(ARM_VARIATIONS), help="bodyweight RDL arm position")
    parser.add_argument("--implement", choices=list(IMPLEMENTS), help="weighted RDL implement")
    parser.add_argument("--load-kg", type=float, help="load of this set (kg)")
    parser.add_argument("--prescribed-kg", type=float, help="the clinician's prescribed load (kg), kept "
                        "in the session for the weighted gate")
    parser.add_argument("--answers", help="contraindication answers in order, e.g. no,no,no,no, or a JSON "
                        "file; asked interactively when omitted")
    src = parser.add_argument_group("source of the set (one)")
    src.add_argument("--sim", metavar="PATTERN",
                     help="virtual subject pattern (hinge, squat, toe_shift, shallow, rounding, arching)")
    src.add_argument("--trial", type=Path, metavar="FILE.h5", help="a recorded trial")
    src.add_argument("--plate", help="live force plate source (with --camera)")
    src.add_argument("--camera", help="live camera source (with --plate)")
    src.add_argument("--markers", action="append", default=[], metavar="depth | lsl:NAME | name=LABEL,...",
                     help="live set: depth (no stickers: markerless, estimated) or motion capture instead of "
                          "the camera's markers (as for record)")
    src.add_argument("--preset", choices=("station", "plug-in-gait"), help="the mocap's label preset")
    src.add_argument("--seconds", type=float, help="length of a live set (default: until Ctrl-C)")
    src.add_argument("--keep-faces", action="store_true", help="research consent: a live set's stored "
                     "pictures keep the head unmasked (recorded in the trial as faces_kept)")
    parser.add_argument("--reps", type=int, default=8, help="reps the virtual subject does (--sim)")
    parser.add_argument("--seed", type=int, default=1, help="virtual subject seed (--sim)")
    parser.add_argument("--pain-at-rep", type=int, metavar="N", help="pain reported during rep N: the "
                        "set stops there and the reason is recorded")
    parser.add_argument("--felt", metavar="WHERE", help="where the subject felt the set: "
                        f"{', '.join(FELT_VALUES)} (asked after the set when omitted and interactive)")
    parser.add_argument("--wall-mm", type=float, metavar="N", help="the wall drill: a wall N mm behind the "
                        "heel line; each rep says whether the hips reached it (a --trial keeps its own wall)")
    parser.add_argument("--session", type=Path, help="session JSON to append to "
                        "(default OUT_DIR/SUBJECT_DATE.session.json)")
    parser.add_argument("--out-dir", type=Path, default=Path("recordings"))
    parser.add_argument("--config", help="station TOML")
    parser.add_argument("--json", action="store_true", help="print the gate decision as JSON")
    parser.add_argument("--db", metavar="URL", help="archive the session is indexed in (default: "
                        "$HINGE_ARCHIVE_URL, [archive] url, else hinge-archive.sqlite in the data root)")
    parser.add_argument("--override-reason", metavar="TEXT",
                        help="start a gated drill beyond the stage the archive says was reached; the "
                             "reason is stored with the operator's name")
    parser.add_argument("--operator", help="who runs the session (default: the login name)")
    parser.set_defaults(func=run)


def _open_session(args: argparse.Namespace) -> tuple[Session, Path]:
    path = args.session or args.out_dir / f"{args.subject}_{date.today().isoformat()}.session.json"
    if path.exists():
        session = load_session(path)  # strict: never append to a file this version cannot read fully
        if session.subject_id != args.subject:
            raise StationError(f"{path}: subject_id is {session.subject_id!r}, not {args.subject!r}")
    else:
        session = Session(args.subject)
    if args.prescribed_kg is not None:
        session.prescribed_load_kg = args.prescribed_kg
    return session, path


def _answers(args: argparse.Namespace):
    if args.answers:
        return parse_answers(args.answers)
    if not sys.stdin.isatty():
        raise StationError("--answers: needed when not run interactively (e.g. --answers no,no,no,no)")
    print("Before the test, please answer:")
    return ask_interactively()


def _ask_pain() -> int | None:
    while True:
        reply = input("Any pain during the set? [no / rep number] ").strip().lower()
        if reply in ("", "no", "n"):
            return None
        if reply.isdigit() and int(reply) >= 1:
            return int(reply)


def _record(args: argparse.Namespace, config):
    from station.screening import sets as set_sources

    chosen = [n for n in ("sim", "trial", "plate") if getattr(args, n)]
    if len(chosen) != 1 or bool(args.plate) != bool(args.camera):
        raise StationError("source: give exactly one of --sim PATTERN, --trial FILE.h5 or --plate + --camera")
    if args.sim:
        return set_sources.set_from_sim(args.sim, config, drill_id=args.drill, reps=args.reps, arms=args.arms,
                                        load_kg=args.load_kg, seed=args.seed, pain_at_rep=args.pain_at_rep)
    if args.trial:
        return set_sources.set_from_trial_file(args.trial, config, pain_at_rep=args.pain_at_rep)
    args.trial = _record_live(args)  # scored like any recorded trial (and re-scored, not re-recorded)
    return set_sources.set_from_trial_file(args.trial, config, pain_at_rep=args.pain_at_rep)


def _record_live(args: argparse.Namespace) -> Path:
    """Record the set through `record`'s own path (same parser, sources, calibration, file format)."""
    from station.commands import record

    make_dirs(args.out_dir)
    out = args.out_dir / f"{args.subject}_{args.drill}_{time.strftime('%Y%m%d-%H%M%S')}.h5"
    argv = ["--plate", args.plate, "--camera", args.camera, "--subject", args.subject, "--drill", args.drill,
            "--out", str(out)]  # not indexed alone: the session indexes it with its set information
    for flag, value in (("--arms", args.arms), ("--load-kg", args.load_kg), ("--duration", args.seconds),
                        ("--config", args.config), ("--wall-mm", args.wall_mm), ("--preset", args.preset)):
        if value is not None:
            argv += [flag, str(value)]
    for value in args.markers:  # a mocap source and its label mapping, as record takes them
        argv += ["--markers", value]
    if getattr(args, "keep_faces", False):
        argv += ["--keep-faces"] + (["--operator", args.operator] if args.operator else [])
    parser = argparse.ArgumentParser(prog="hinge-station screen")
    record.configure(parser)
    record_args = parser.parse_args(argv)
    record_args.index = record_args.audit = False  # the session indexes and audits the set
    if record.run(record_args) != 0:
        raise StationError(f"{out}: the live set did not record")
    return out


def _print_decision(decision, as_json: bool) -> None:
    if as_json:
        print(json.dumps(decision.to_json(), indent=1))
        return
    print(f"Gate ({DRILLS[decision.current_stage].short}): {'PASSED' if decision.passed else 'NOT PASSED'}")
    print(f"  {decision.reason}")
    if decision.evidence:
        print(f"  rests on: {evidence_words(decision.evidence)}")


def _stage_from_archive(args: argparse.Namespace, config) -> None:
    """Start where the archive says the subject got to (with its evidence); going beyond needs a reason."""
    import getpass

    from station.archive.decisions import archived_stage, record_override
    from station.archive.location import station_id
    from station.archive.queries import STAGES
    from station.archive.station_archive import open_station_archive

    def say(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout)  # --json: stdout is the decision only

    try:
        archive = open_station_archive(args.db, config)
    except StationError as exc:
        args.drill = args.drill or "dowel_hinge"
        say(f"stage not checked against the archive ({exc}): {args.drill} on the operator's word")
        return
    try:
        info = archived_stage(archive, args.subject)
        say(f"archive: {args.subject}: {info.words()}")
        args.drill = args.drill or info.stage
        if args.drill in STAGES and STAGES.index(args.drill) > STAGES.index(info.stage):
            if not args.override_reason:
                raise StationError(f"--drill {args.drill}: {args.subject} has reached {info.stage} in the "
                                   f"archive; to start beyond it give --override-reason \"...\" (stored)")
            operator = args.operator or getpass.getuser()
            record_override(archive, args.subject, info.stage, args.drill, args.override_reason, operator,
                            station_id(config))
            say(f"override stored: {info.stage} -> {args.drill} by {operator}: {args.override_reason}")
    finally:
        archive.dispose()


def run(args: argparse.Namespace) -> int:
    from station.archive.identity_list import check_subject
    from station.owner_files import exposed_warning

    config = load_config(args.config)
    args.subject = check_subject(args.subject, config)  # before the archive, a file or a device
    args.felt = parse_felt(args.felt)  # bad words fail before anything is recorded
    if args.wall_mm is not None:
        from station.core.target import check_wall_mm

        config.feet.wall_mm = check_wall_mm(args.wall_mm)
    if warning := exposed_warning(args.out_dir if args.session is None else args.session.parent):
        print(f"warning: {warning}", file=sys.stderr)
    _stage_from_archive(args, config)
    check_setup(args.drill, args.arms, args.implement, args.load_kg)
    session, path = _open_session(args)
    screening = _answers(args)
    trial = SessionTrial(session.next_trial_id(), args.drill, screening, arms=args.arms,
                  implement=args.implement, load_kg=args.load_kg)
    what = describe_set(args.drill, args.arms, args.implement, args.load_kg)
    print(f"{session.subject_id} {trial.trial_id}: {what}")
    if not screening.cleared:
        trial.status, trial.stop_reason = "refused", screening.refusal_reason()
        print(trial.stop_reason)
    else:
        recorded = _record(args, config)
        if args.pain_at_rep is None and args.answers is None and sys.stdin.isatty():
            args.pain_at_rep = _ask_pain()  # asked after the set when not scripted
            if args.pain_at_rep is not None:  # judge only what came before the pain
                recorded = _record(args, config)
        if args.felt is None and args.answers is None and sys.stdin.isatty():
            args.felt = ask_felt()  # "Where did you feel it?" after every set, unless scripted
        trial.felt = args.felt
        pain = args.pain_at_rep
        trial.source, trial.calibration = recorded.source, recorded.calibration
        trial.analysis = recorded.analysis
        trial.trial_file = path_for_session(recorded.trial_file, path) if recorded.trial_file else None
        trial.series = recorded.series
        if pain is not None:
            trial.status, trial.pain_at_rep = "stopped", pain
            trial.stop_reason = f"pain reported during rep {pain}"
        for line in set_feedback(trial.reps, trial.status, trial.pain_at_rep, trial.felt):
            print(f"  {line}")
    session.trials.append(trial)
    decision = evaluate_gate(session, config.gate)
    session.gate = decision.to_json()
    save_session(session, path)
    _print_decision(decision, args.json)
    print(f"session: {path}")
    from station.archive.station_archive import index_new_file

    print(index_new_file(path, config, args.db), file=sys.stderr if args.json else sys.stdout)
    from station.archive.audit import audit

    what = f"{trial.trial_id} {args.drill} {trial.status}: {path.name}"
    if note := audit("screen", args.subject, what, config=config, db=args.db, operator=args.operator):
        print(note, file=sys.stderr if args.json else sys.stdout)
    return EXIT_NOT_STARTED if trial.status == "refused" else 0
