"""`hinge-station subject add --name "..." [--born YYYY-MM-DD] [--json]`: a new subject code.

The name and date of birth go into the identity list only (station.privacy.identities); everything the
station records for the subject carries the code it prints. Codes are random, not made from the name.
"""

from __future__ import annotations

import argparse
import json
import sys

from station.commands.archive import add_db_arguments


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", required=True)
    add = sub.add_parser("add", help="a new subject: name (and date of birth) into the identity list, "
                                     "a random code out")
    add.add_argument("--name", required=True, help="the subject's name (kept in the identity list only)")
    add.add_argument("--born", metavar="YYYY-MM-DD", help="date of birth (identity list only)")
    add.add_argument("--json", action="store_true", help='print {"subject": CODE}')
    add.add_argument("--operator", help="who adds the subject, for the audit log (default: login name)")
    add_db_arguments(add)
    add.set_defaults(func=_add)


def _add(args: argparse.Namespace) -> int:
    from station.archive.audit import audit
    from station.archive.identity_list import identity_list
    from station.config import load_config

    config = load_config(args.config)
    identities = identity_list(config)
    identity = identities.add(args.name, args.born)
    note = audit("subject_add", identity.code, f"identity list {identities.path.name}", config=config,
                 db=args.db, operator=args.operator)
    if args.json:
        print(json.dumps({"subject": identity.code}))
    else:
        print(f"subject {identity.code} (identity list {identities.path}); record it with "
              f"--subject {identity.code}")
    if note:
        print(note, file=sys.stderr)
    return 0
