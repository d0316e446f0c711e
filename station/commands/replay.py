"""`hinge-station replay trial.h5 [--real-time] [--json]`: the live core over the recorded raw streams."""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trial", help="trial file (.h5)")
    parser.add_argument("--real-time", action="store_true", help="feed the core at the recorded pace")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (analyze --json keys)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.analysis.replay import replay_trial
    from station.commands.record import rep_line
    from station.recording.reader import read_trial

    trial = read_trial(args.trial)
    live = None if args.json else (lambda rep: print(rep_line(rep), flush=True))
    result = replay_trial(trial, real_time=args.real_time, on_rep=live)
    result.warnings = list(trial.warnings) + list(result.warnings)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0
    print(f"{len(result.reps)} reps (final); recorded: {len(trial.reps)}")
    for rep in result.reps:
        print("final " + rep_line(rep))
    for w in result.warnings:
        print(f"warning: {w}")
    return 0
