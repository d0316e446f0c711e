"""The audit log, append-only: who did what to which subject's data, and when.

One row per action in the archive's `audit_log` table (the archive of `--db`, `$HINGE_ARCHIVE_URL`,
`[archive] url` or the data root's SQLite file; schema 3 makes UPDATE and DELETE on it fail). When the
archive cannot be reached the entry goes to `hinge-audit.jsonl` in the data root (one JSON object per line,
the same fields) and the command says so in one line. Like indexing, an audit write never raises: it must
never cost a trial.

who: `--operator`, else the login name. what: ACTIONS. which subject: the code (never a name: the detail
names files and options only).
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from station.archive import schema as t
from station.archive.location import archive_url, data_root, hide_password, station_id
from station.archive.rows import new_uid
from station.archive.store import Archive, open_archive
from station.config import StationConfig
from station.errors import StationError
from station.owner_files import open_private

ACTIONS = ("record", "screen", "export", "report", "identity_lookup", "subject_add", "delete")
JSONL_NAME = "hinge-audit.jsonl"


def operator_name(given: str | None = None) -> str:
    if given and given.strip():
        return given.strip()[:64]
    try:
        return getpass.getuser()[:64]
    except Exception:  # noqa: BLE001 - no login name (a container without a passwd entry)
        return "unknown"


def audit_jsonl_path(config: StationConfig) -> Path:
    return data_root(config) / JSONL_NAME


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def audit(action: str, subject: str | None, detail: str = "", *, config: StationConfig,
          db: str | None = None, operator: str | None = None, required: bool = False) -> str | None:
    """Append one entry. Returns None when it is in the archive, else the one line to print.
    required=True (an identity lookup): raise StationError when it is stored nowhere."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is not one of {ACTIONS}")  # a programming error
    at = datetime.now(UTC).isoformat(timespec="milliseconds")  # entries of one second stay in order
    entry = {"entry_uid": new_uid(), "at": at, "operator": operator_name(operator),
             "action": action, "subject": subject or None, "detail": detail,
             "station_id": station_id(config)[:64]}
    url = archive_url(db, config)
    try:
        archive = open_archive(url)
        try:
            with archive.transaction() as conn:
                conn.execute(t.audit_log.insert().values(**entry))
        finally:
            archive.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - an archive that cannot be reached must not cost the trial
        why = f"archive {hide_password(url)}: {_first_line(exc)}"
    path = audit_jsonl_path(config)
    try:
        with open_private(path, "a") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
        return f"audit: {why}; entry kept in {path}"
    except Exception as exc:  # noqa: BLE001
        note = f"audit entry not stored ({why}; {path}: {_first_line(exc)}): {action} {subject or '-'}"
    if required:
        raise StationError(f"{note}; refused: this needs an audit entry")
    return note


def audit_entries(archive: Archive, subject: str | None = None) -> list[dict]:
    """The archive's audit log in time order (one subject's, or all)."""
    query = sa.select(t.audit_log).order_by(t.audit_log.c.at, t.audit_log.c.entry_uid)
    if subject is not None:
        query = query.where(t.audit_log.c.subject == subject)
    with archive.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def read_audit_jsonl(path: str | Path) -> list[dict]:
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
