"""Reading the archive: subjects, a subject's history visit by visit, and the gate stage they reached.

The stage is the furthest gated drill any archived gate decision unlocked (with its evidence), unless a
clinician overrode it later (with the reason). The newest analysis of each trial is the one shown.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from station.archive import schema as t
from station.archive.store import Archive

STAGES = ("dowel_hinge", "bw_rdl", "weighted_rdl")  # screening.drills.GATED_STAGES, in order


@dataclass
class StageInfo:
    """Where the subject may start: `stage`, and what says so."""

    stage: str
    source: str  # "gate" (a passed gate decision), "override" (a clinician), "start" (nothing yet)
    date: str = ""
    session_uid: str | None = None
    evidence: list = field(default_factory=list)  # [[set_id, [rep numbers]], ...] of the unlocking gate
    reason: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    def words(self) -> str:
        if self.source == "start":
            return "no gated stage passed in the archive: starting at the dowel hinge"
        if self.source == "override":
            return f"{self.stage} set by the clinician on {self.date}: {self.reason}"
        sets = "; ".join(f"{sid} reps {reps[0]}-{reps[-1]}" if len(reps) > 1 else f"{sid} rep {reps[0]}"
                         for sid, reps in self.evidence if reps)
        return f"{self.stage} unlocked on {self.date} ({sets or 'see that session'})"


def stage_reached(conn: Connection, subject: str) -> StageInfo:
    """Every stage a session's gate passed unlocks the next one (a session that ends judged on its bw
    sets still passed its dowel stage); a session stopped for pain or refused unlocks nothing."""
    stops = [t.trials.c.status == "refused", t.trials.c.pain_at_rep.isnot(None)]
    if _has_column(conn, "trials", "felt"):  # schema 4; an older archive read without upgrading has none
        stops.append(t.trials.c.felt == "low_back")  # felt in the low back (screening.felt): blocked too
    blocked = {r.session_uid for r in conn.execute(
        sa.select(t.trials.c.session_uid).where(
            t.trials.c.subject == subject, t.trials.c.session_uid.isnot(None), sa.or_(*stops)))}
    events: list[tuple[str, int, StageInfo]] = []
    decisions = conn.execute(
        sa.select(t.gate_decisions.c.decided_at, t.gate_decisions.c.session_uid,
                  t.gate_decisions.c.decision_json, t.sessions.c.date)
        .join(t.sessions, t.sessions.c.session_uid == t.gate_decisions.c.session_uid)
        .where(t.gate_decisions.c.subject == subject))
    for d in decisions:
        if d.session_uid in blocked:
            continue
        for stage in json.loads(d.decision_json).get("stages", []):
            rank = _rank(stage.get("stage", ""))
            if stage.get("passed") and 0 <= rank < len(STAGES) - 1:
                events.append((f"{d.date}|{d.decided_at}", 0, StageInfo(
                    STAGES[rank + 1], "gate", d.date, d.session_uid, stage.get("evidence", []))))
    overrides = conn.execute(sa.select(t.gate_overrides).where(t.gate_overrides.c.subject == subject))
    for o in overrides.mappings():
        events.append((f"{o['decided_at'][:10]}|{o['decided_at']}", 1, StageInfo(
            o["to_stage"], "override", o["decided_at"][:10], reason=o["reason"])))
    current = StageInfo("dowel_hinge", "start")
    for _, _, info in sorted(events, key=lambda e: (e[0], e[1])):
        if info.source == "override" or _rank(info.stage) > _rank(current.stage) or current.source == "start":
            current = info
    return current


def _has_column(conn: Connection, table: str, column: str) -> bool:
    """The archive has this column: read-only commands do not upgrade an archive of an older schema."""
    return column in {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _rank(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else -1


def subjects(archive: Archive) -> list[dict]:
    """One row per subject: subject, sessions, trials, last_date, stage."""
    with archive.engine.connect() as conn:
        n_sessions = dict(conn.execute(sa.select(t.sessions.c.subject, sa.func.count())
                                       .group_by(t.sessions.c.subject)).all())
        trial_rows = conn.execute(sa.select(t.trials.c.subject, sa.func.count(), sa.func.max(t.trials.c.date))
                                  .group_by(t.trials.c.subject)).all()
        last_session = dict(conn.execute(sa.select(t.sessions.c.subject, sa.func.max(t.sessions.c.date))
                                         .group_by(t.sessions.c.subject)).all())
        out = []
        trials = {r[0]: (r[1], r[2]) for r in trial_rows}
        for (code,) in conn.execute(sa.select(t.subjects.c.subject).order_by(t.subjects.c.subject)):
            n_trials, last_trial = trials.get(code, (0, ""))
            last = max(d for d in (last_trial or "", last_session.get(code) or "")) or None
            out.append({"subject": code, "sessions": int(n_sessions.get(code, 0)), "trials": int(n_trials),
                        "last_date": last, "stage": stage_reached(conn, code).stage})
    return out


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def history(archive: Archive, subject: str) -> dict:
    """The subject's visits in date order (the `history --json` document)."""
    with archive.engine.connect() as conn:
        known = sa.select(t.subjects.c.subject).where(t.subjects.c.subject == subject)
        if conn.execute(known).first() is None:
            return {}
        have = {c["name"] for c in sa.inspect(conn).get_columns("trials")}  # an older archive, read as is
        present = [c for c in t.trials.c if c.name in have]
        trial_rows = conn.execute(
            sa.select(*present).where(t.trials.c.subject == subject)
            .order_by(t.trials.c.date, t.trials.c.started_at)).mappings().all()
        uids = [r["trial_uid"] for r in trial_rows]
        newest: dict[str, tuple[str, str, str]] = {}  # trial -> (created_at, analysis_uid, version)
        for a in conn.execute(sa.select(t.analyses.c.trial_uid, t.analyses.c.analysis_uid,
                                        t.analyses.c.created_at, t.analyses.c.version)
                              .where(t.analyses.c.trial_uid.in_(uids))):
            if a.trial_uid not in newest or a.created_at >= newest[a.trial_uid][0]:
                newest[a.trial_uid] = (a.created_at, a.analysis_uid, a.version)
        reps_by_analysis: dict[str, list] = {}
        chosen = [v[1] for v in newest.values()]
        for r in conn.execute(sa.select(t.reps).where(t.reps.c.analysis_uid.in_(chosen))
                              .order_by(t.reps.c.rep_index)).mappings():
            reps_by_analysis.setdefault(r["analysis_uid"], []).append(r)
        session_rows = {s["session_uid"]: s for s in conn.execute(
            sa.select(t.sessions).where(t.sessions.c.subject == subject)).mappings()}
        gates = conn.execute(sa.select(t.gate_decisions).where(t.gate_decisions.c.subject == subject)
                             .order_by(t.gate_decisions.c.decided_at)).mappings().all()
        stage = stage_reached(conn, subject)
    last_gate = {g["session_uid"]: g for g in gates}  # the newest decision of each session
    visits: dict[str, dict] = {}
    for row in trial_rows:
        key = row["session_uid"] or f"day:{row['date']}"
        visit = visits.setdefault(key, {"date": row["date"], "session_uid": row["session_uid"], "trials": [],
                                        "gate": None})
        if row["session_uid"] in session_rows:
            visit["date"] = session_rows[row["session_uid"]]["date"]
        reps = reps_by_analysis.get(newest.get(row["trial_uid"], ("", "", ""))[1], [])
        visit["trials"].append(_trial_entry(row, reps, newest.get(row["trial_uid"])))
    for uid, visit in visits.items():
        gate = last_gate.get(uid)
        if gate is not None:
            visit["gate"] = {"current_stage": gate["current_stage"], "passed": bool(gate["passed"]),
                             "unlocked": gate["unlocked"], "reason": gate["reason"]}
    sessions = sorted(visits.values(), key=lambda v: (v["date"], v["trials"][0]["started_at"] or ""))
    return {"subject": subject, "sessions": sessions, "stage": stage.stage, "stage_detail": stage.to_json()}


def _trial_entry(row, reps: list, analysis: tuple[str, str, str] | None) -> dict:
    faults: dict[str, int] = {}
    for r in reps:
        for f in filter(None, r["faults"].split(",")):
            faults[f] = faults.get(f, 0) + 1
    name = row["set_id"] or (row["file_path"] or row["trial_uid"]).rsplit("/", 1)[-1].removesuffix(".h5")
    return {"trial_id": name, "trial_uid": row["trial_uid"], "drill": row["drill"], "arms": row["arms"],
            "implement": row["implement"], "load_kg": row["load_kg"], "status": row["status"],
            "started_at": row["started_at"], "file": row["file_path"], "missing": bool(row["missing"]),
            "reps": len(reps), "clean_reps": sum(1 for r in reps if r["passed"]),
            "hip_back_mm_mean": _mean([r["hip_back_mm"] for r in reps if r["hip_back_mm"] is not None]),
            "foot_pos_bottom_mean": _mean([r["foot_pos_bottom"] for r in reps
                                           if r["foot_pos_bottom"] is not None]),
            "dowel_gap_mm_mean": _mean([r["dowel_gap_mm"] for r in reps if r["dowel_gap_mm"] is not None]),
            "faults": faults, "analysis_version": analysis[2] if analysis else None,
            "station_id": row["station_id"]}
