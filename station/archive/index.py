"""Putting trial files and session files into the archive: `archive scan`, and every recording as it ends.

A file is known by its path relative to the data root. Seen again with the same size and mtime it is
unchanged without being read; otherwise it is hashed, and a different hash is reported as changed, never
silently re-indexed over the rows already there. A session file grows as sets are added: its new sets
are indexed, the sets already there must be as they were. Each file is one transaction, so a scan that
stops half-way keeps what it did, and two scans at once meet on unique keys instead of duplicating.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from station.archive import schema as t
from station.archive.location import resolve_stored, stored_path
from station.archive.rows import (
    analysis_version,
    config_dict_from_json,
    derived_uid,
    file_sha256,
    local_date,
    new_uid,
    now_utc,
    rep_row,
)
from station.archive.store import Archive
from station.documents import DocumentValue
from station.errors import StationError
from station.results import RepResult

if TYPE_CHECKING:
    from station.screening.session import Session, SessionTrial

ADDED, UNCHANGED, CHANGED = "added", "unchanged", "changed"
SESSION_SUFFIX = ".session.json"


@dataclass
class ScanResult:
    """Paths (as stored: relative to the data root) by outcome; `errors` with the one-line reason."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def note(self, outcome: str, path: str) -> None:
        getattr(self, outcome).append(path)

    def to_json(self) -> dict:
        return {"added": self.added, "unchanged": self.unchanged, "changed": self.changed,
                "missing": self.missing, "errors": self.errors}


@dataclass
class SetInfo:
    """What a session knows about one of its sets beyond the trial file."""

    session_uid: str
    set_id: str
    status: str
    stop_reason: str | None
    pain_at_rep: int | None
    implement: str | None
    screening: dict | None
    felt: str | None = None  # "Where did you feel it?" (station.screening.felt), schema 4


class Indexer:
    """Adds files to one archive on behalf of one station (station_id on every row it writes)."""

    def __init__(self, archive: Archive, root: Path, station_id: str) -> None:
        self.archive = archive
        self.root = root
        self.station_id = station_id

    # --- files ---------------------------------------------------------------------------------------
    def index_trial_file(self, path: Path, set_info: SetInfo | None = None) -> str:
        try:
            return self._index_trial_file(path, set_info)
        except sa.exc.IntegrityError:
            # another scan or station indexed this file between our look and our insert: theirs stands
            rel = stored_path(path, self.root)
            with self.archive.engine.connect() as conn:
                query = sa.select(t.trials.c.trial_uid).where(t.trials.c.file_path == rel)
                there = conn.execute(query).first()
            if there is None:
                raise
            return UNCHANGED

    def _index_trial_file(self, path: Path, set_info: SetInfo | None) -> str:
        from station.recording.reader import read_trial_summary

        rel = stored_path(path, self.root)
        stat = path.stat()
        with self.archive.transaction() as conn:
            row = conn.execute(sa.select(t.trials).where(t.trials.c.file_path == rel)).mappings().first()
            if row is not None:
                outcome = self._known_file(conn, t.trials, t.trials.c.trial_uid, row, path, stat)
                if outcome == UNCHANGED and set_info is not None and row["session_uid"] is None:
                    conn.execute(t.trials.update().where(t.trials.c.trial_uid == row["trial_uid"])
                                 .values(**_set_values(set_info)))
                return outcome
            summary = read_trial_summary(path)
            sha = file_sha256(path)
            md = summary.metadata
            uid = str(md.get("trial_uid") or derived_uid("trial-sha256", sha))
            moved = conn.execute(sa.select(t.trials.c.file_path, t.trials.c.missing)
                                 .where(t.trials.c.trial_uid == uid)).first()
            if moved is not None and moved.file_path == rel:
                return UNCHANGED  # another scan added it since we looked
            if moved is not None:  # the same trial under another name: a move, or a copy
                old = resolve_stored(moved.file_path, self.root) if moved.file_path else None
                if old is not None and old.exists():
                    raise StationError(f"{path}: a copy of {moved.file_path} (same trial_uid {uid}); "
                                       "not indexed twice")
                conn.execute(t.trials.update().where(t.trials.c.trial_uid == uid).values(
                    file_path=rel, file_mtime_ns=stat.st_mtime_ns, missing=False))
                return UNCHANGED
            subject = str(md.get("subject_id") or "")
            if not subject:
                raise StationError(f"{path}: subject_id is empty; cannot index a trial without a subject")
            self._ensure_subject(conn, subject)
            started = str(md.get("start_wall_time") or "")
            status = "complete" if summary.complete else "interrupted"
            values = {
                "trial_uid": uid, "subject": subject, "session_uid": None, "set_id": None,
                "drill": str(md.get("drill") or ""), "arms": md.get("arms") or None,
                "implement": md.get("implement") or None, "load_kg": _finite(md.get("load_kg")),
                "side": md.get("side") or None, "status": status,
                "stop_reason": md.get("stop_reason") or None, "pain_at_rep": None,
                "started_at": started, "date": local_date(started), "duration_s": summary.duration_s,
                "source": " + ".join(s for s in (md.get("plate_source"), md.get("camera_source")) if s),
                "file_path": rel, "file_sha256": sha, "file_size": stat.st_size,
                "file_mtime_ns": stat.st_mtime_ns,
                "calibration_json": json.dumps(summary.calibration, default=str),
                "screening_json": None, "missing": False, "indexed_at": now_utc(),
                "station_id": str(md.get("station_id") or self.station_id),
            }
            if set_info is not None:
                values.update(_set_values(set_info))
            conn.execute(t.trials.insert().values(**values))
            software = str(md.get("software_version") or "?")
            self.add_analysis(conn, uid, config_dict_from_json(summary.config_json), software,
                              "recorded", summary.reps)
        return ADDED

    def index_session_file(self, path: Path, result: ScanResult | None = None) -> str:
        """Index the session and each of its sets (their trial files too, into `result` when given)."""
        from station.screening.session import load_session, resolve_trial_file

        session = load_session(path, lenient=True)
        rel = stored_path(path, self.root)
        stat = path.stat()
        with self.archive.transaction() as conn:
            row = conn.execute(sa.select(t.sessions).where(t.sessions.c.file_path == rel)).mappings().first()
            if row is not None and row["file_size"] == stat.st_size and \
                    row["file_mtime_ns"] == stat.st_mtime_ns and not row["missing"]:
                return UNCHANGED
            sha = file_sha256(path)
            if row is not None and row["file_sha256"] == sha:
                conn.execute(t.sessions.update().where(t.sessions.c.session_uid == row["session_uid"])
                             .values(file_mtime_ns=stat.st_mtime_ns, missing=False))
                return UNCHANGED
            first = session.trials[0].started_at if session.trials else ""
            uid = row["session_uid"] if row is not None else (
                session.session_uid or derived_uid("session", session.subject_id, session.date, first))
            self._ensure_subject(conn, session.subject_id)
            values = {"subject": session.subject_id, "date": session.date, "file_path": rel,
                      "file_sha256": sha, "file_size": stat.st_size, "file_mtime_ns": stat.st_mtime_ns,
                      "prescribed_load_kg": _finite(session.prescribed_load_kg), "missing": False,
                      "indexed_at": now_utc()}
            if row is None:
                conn.execute(t.sessions.insert().values(session_uid=uid, station_id=self.station_id,
                                                        **values))
            else:
                conn.execute(t.sessions.update().where(t.sessions.c.session_uid == uid).values(**values))
            known = {r.set_id: r for r in conn.execute(
                sa.select(t.trials.c.set_id, t.trials.c.drill, t.trials.c.status)
                .where(t.trials.c.session_uid == uid))}
            if session.gate:
                self._add_gate(conn, uid, session.subject_id, session.gate)
        changed_sets: list[str] = []
        outcome = ADDED if row is None else UNCHANGED
        for trial in session.trials:
            info = SetInfo(uid, trial.trial_id, trial.status, trial.stop_reason, trial.pain_at_rep,
                           trial.implement, trial.screening.to_json() if trial.screening else None,
                           trial.felt)
            before = known.get(trial.trial_id)
            if before is not None:
                if before.drill != trial.drill or before.status != trial.status:
                    changed_sets.append(trial.trial_id)
                continue
            outcome = ADDED
            file = resolve_trial_file(trial, path)
            if file is not None and file.is_file():
                try:
                    got = self.index_trial_file(file, info)
                except StationError as exc:
                    if result is not None:
                        result.errors.append({"path": stored_path(file, self.root), "error": str(exc)})
                    got = None
                if result is not None and got is not None:
                    result.note(got, stored_path(file, self.root))
                if got is not None:
                    continue
            self._add_set_without_file(uid, session, trial, info)
        if changed_sets:
            raise StationError(f"{path}: set(s) {', '.join(changed_sets)} differ from the archived ones "
                               "(reported, not re-indexed)")
        return outcome

    # --- pieces --------------------------------------------------------------------------------------
    def _known_file(self, conn: Connection, table: sa.Table, key: sa.Column, row, path: Path,
                    stat: os.stat_result) -> str:
        if row["file_size"] == stat.st_size and row["file_mtime_ns"] == stat.st_mtime_ns:
            if row["missing"]:
                conn.execute(table.update().where(key == row[key.name]).values(missing=False))
            return UNCHANGED
        if file_sha256(path) == row["file_sha256"]:  # touched, not changed
            conn.execute(table.update().where(key == row[key.name]).values(
                file_mtime_ns=stat.st_mtime_ns, missing=False))
            return UNCHANGED
        return CHANGED

    def _ensure_subject(self, conn: Connection, subject: str) -> None:
        exists = conn.execute(sa.select(t.subjects.c.subject).where(t.subjects.c.subject == subject)).first()
        if exists is None:
            try:
                with conn.begin_nested():  # another station may add the same subject at this moment
                    conn.execute(t.subjects.insert().values(subject=subject, created_at=now_utc(),
                                                            station_id=self.station_id))
            except sa.exc.IntegrityError:
                pass  # it did: the row is there, which is all this wanted

    def add_analysis(self, conn: Connection, trial_uid: str, config: dict, software: str, kind: str,
                     reps: list[RepResult]) -> str:
        """A new analyses row (version from config + software) and its reps; returns its analysis_uid."""
        version, chash = analysis_version(config, software)
        analysis_uid = new_uid()
        conn.execute(t.analyses.insert().values(
            analysis_uid=analysis_uid, trial_uid=trial_uid, version=version, software_version=software,
            config_hash=chash, kind=kind, created_at=now_utc(), station_id=self.station_id))
        if reps:
            conn.execute(t.reps.insert(), [rep_row(analysis_uid, i + 1, r) for i, r in enumerate(reps)])
        return analysis_uid

    def _add_gate(self, conn: Connection, session_uid: str, subject: str, gate: dict) -> None:
        text = json.dumps(gate, sort_keys=True)
        last = conn.execute(sa.select(t.gate_decisions.c.decision_json)
                            .where(t.gate_decisions.c.session_uid == session_uid)
                            .order_by(t.gate_decisions.c.decided_at.desc())).first()
        if last is not None and last.decision_json == text:
            return
        conn.execute(t.gate_decisions.insert().values(
            decision_uid=new_uid(), session_uid=session_uid, subject=subject, decided_at=now_utc(),
            current_stage=str(gate.get("current_stage", "")), unlocked=gate.get("unlocked"),
            passed=bool(gate.get("passed")), reason=str(gate.get("reason", "")), decision_json=text,
            station_id=self.station_id))

    def _add_set_without_file(self, session_uid: str, session: Session, trial: SessionTrial,
                              info: SetInfo) -> None:
        """A refused set, or a set scored without a file (simulated): the session's copy is the record."""
        uid = derived_uid("set", session_uid, trial.trial_id)
        subject, day = session.subject_id, session.date
        with self.archive.transaction() as conn:
            if conn.execute(sa.select(t.trials.c.trial_uid).where(t.trials.c.trial_uid == uid)).first():
                return
            conn.execute(t.trials.insert().values(
                trial_uid=uid, subject=subject, drill=trial.drill, arms=trial.arms or None,
                load_kg=_finite(trial.load_kg), side=None, started_at=trial.started_at,
                date=local_date(trial.started_at) or day, duration_s=None, source=trial.source or None,
                file_path=None, file_sha256=None, file_size=None, file_mtime_ns=None,
                calibration_json=json.dumps(trial.calibration) if trial.calibration else None,
                missing=False, indexed_at=now_utc(), station_id=self.station_id, **_set_values(info)))
            if trial.analysis is not None:
                self.add_analysis(conn, uid, {}, session.station_version, "recorded", trial.analysis.reps)


def _set_values(info: SetInfo) -> dict:
    return {"session_uid": info.session_uid, "set_id": info.set_id, "status": info.status,
            "stop_reason": info.stop_reason, "pain_at_rep": info.pain_at_rep, "implement": info.implement,
            "felt": info.felt,
            "screening_json": json.dumps(info.screening) if info.screening is not None else None}


def _finite(value: DocumentValue) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def scan_folder(indexer: Indexer, folder: Path) -> ScanResult:
    """Index every trial (*.h5) and session (*.session.json) under `folder`; mark the vanished missing."""
    if not folder.is_dir():
        raise StationError(f"{folder}: no such folder to scan")
    result = ScanResult()
    sessions = sorted(folder.rglob("*" + SESSION_SUFFIX))
    seen: set[str] = set()
    for path in sessions:  # sessions first: their trials are indexed with their set information
        rel = stored_path(path, indexer.root)
        seen.add(rel)
        _one(result, rel, lambda p=path: indexer.index_session_file(p, result))
    done = set(result.added + result.unchanged + result.changed + [e["path"] for e in result.errors])
    for path in sorted(folder.rglob("*.h5")):
        rel = stored_path(path, indexer.root)
        seen.add(rel)
        if rel not in done:
            _one(result, rel, lambda p=path: indexer.index_trial_file(p))
    result.missing = mark_missing(indexer, folder, seen)
    return result


def _one(result: ScanResult, rel: str, index) -> None:  # noqa: ANN001 (a thunk)
    try:
        result.note(index(), rel)
    except StationError as exc:
        result.errors.append({"path": rel, "error": str(exc)})
    except (OSError, ValueError, KeyError, RuntimeError) as exc:  # a corrupt file: name it, go on
        result.errors.append({"path": rel, "error": f"{rel}: unreadable ({type(exc).__name__}: {exc})"})


def mark_missing(indexer: Indexer, folder: Path, seen: set[str]) -> list[str]:
    """Rows under `folder` whose file is gone: flagged missing (rows kept), listed."""
    prefix = stored_path(folder, indexer.root).rstrip("/")
    prefix = "" if prefix == "." else prefix + "/"
    missing: list[str] = []
    with indexer.archive.transaction() as conn:
        for table, key in ((t.trials, t.trials.c.trial_uid), (t.sessions, t.sessions.c.session_uid)):
            query = sa.select(key, table.c.file_path, table.c.missing).where(table.c.file_path.isnot(None))
            if prefix:
                query = query.where(table.c.file_path.startswith(prefix, autoescape=True))
            for row in conn.execute(query):
                if row.file_path in seen or resolve_stored(row.file_path, indexer.root).exists():
                    continue
                missing.append(row.file_path)
                if not row.missing:
                    conn.execute(table.update().where(key == row[0]).values(missing=True))
    return sorted(missing)
