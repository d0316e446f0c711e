"""What the archive remembers of a clinician's decisions: overriding the stage the gate reached."""

from __future__ import annotations

from station.archive import schema as t
from station.archive.queries import STAGES, StageInfo, stage_reached
from station.archive.rows import new_uid, now_utc
from station.archive.store import Archive
from station.errors import StationError


def archived_stage(archive: Archive, subject: str) -> StageInfo:
    with archive.engine.connect() as conn:
        return stage_reached(conn, subject)


def record_override(archive: Archive, subject: str, from_stage: str, to_stage: str, reason: str,
                    operator: str, station_id: str) -> None:
    """Store the clinician's choice of stage with the reason (both required: no silent overrides)."""
    if to_stage not in STAGES:
        raise StationError(f"override: {to_stage!r} is not a gated stage ({', '.join(STAGES)})")
    if not reason.strip():
        raise StationError("--override-reason: a reason is required to start beyond the archived stage")
    with archive.transaction() as conn:
        if conn.execute(t.subjects.select().where(t.subjects.c.subject == subject)).first() is None:
            conn.execute(t.subjects.insert().values(subject=subject, created_at=now_utc(),
                                                    station_id=station_id))
        conn.execute(t.gate_overrides.insert().values(
            override_uid=new_uid(), subject=subject, from_stage=from_stage, to_stage=to_stage,
            reason=reason.strip(), operator=operator, decided_at=now_utc(), station_id=station_id))
