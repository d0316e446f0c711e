"""The Progress section of the clinician's report: this visit beside the subject's earlier visits.

The earlier visits come from the archive (`station.archive.queries.history`), read only; this visit comes
from the session being reported (the same numbers as the rest of the report, archived or not). The
visit is found in the archive by its session_uid, else by a trial file's name; visits before it are the
earlier ones (without a match: those on an earlier date). An archive that cannot be read, or that holds
no earlier visit, costs one line in the section and never the report.

Rows and plots are the history report's (history.py): the last few earlier visits in the table, all of
them in the trend plots with this visit marked.
"""

from __future__ import annotations

import copy
from pathlib import Path, PurePath

from station.config import StationConfig
from station.errors import StationError
from station.report.history import (
    HISTORY_COLUMNS,
    drill_words,
    per_drill,
    stage_words,
    trend_png,
    visit_rows,
)
from station.report.model import Figure, Progress
from station.screening.session import Session

EARLIER_IN_TABLE = 5  # earlier visits shown in the table (the plots show all)
# the history table's columns, the date wider for "(this visit)" under it
PROGRESS_WIDTHS = (0.11, 0.035, 0.12, 0.12, 0.105, 0.055, 0.05, 0.06, 0.175, 0.17)
TREND_TITLE = "Progress: trends over the visits (dotted line = this visit)"


def progress_section(session: Session, db: str | None, config: StationConfig, *,
                     deidentify_days: int | None = None) -> Progress:
    """The Progress section for `session`; `deidentify_days` moves every date shown (report --deidentify).
    Never raises: what went wrong is the section's one line."""
    try:
        doc, where = archived_history(session.subject_id, db, config)
    except StationError as exc:
        return Progress([f"Earlier visits not shown: {exc}."])
    except Exception as exc:  # noqa: BLE001 - the archive's trouble must never cost the report
        first = (str(exc).strip().splitlines() or [""])[0]
        return Progress([f"Earlier visits not shown: the archive could not be read ({type(exc).__name__}: "
                         f"{first})."])
    try:
        return build_progress(session, doc, config, "" if deidentify_days is not None else where,
                              deidentify_days)
    except Exception as exc:  # noqa: BLE001 - an odd archived row must never cost the report either
        return Progress([f"Earlier visits not shown: {type(exc).__name__}: {exc}."])


def archived_history(subject: str, db: str | None, config: StationConfig) -> tuple[dict, str]:
    """(the subject's `history` document, or {} when unknown; the archive as shown). An embedded SQLite
    file that does not exist is not created by looking."""
    import sqlalchemy as sa

    from station.archive.location import archive_url, hide_password
    from station.archive.queries import history
    from station.archive.station_archive import open_station_archive

    url = archive_url(db, config)
    shown = hide_password(url)
    if url.startswith("sqlite"):
        try:
            path = sa.engine.make_url(url).database
        except sa.exc.ArgumentError as exc:
            raise StationError(f"archive {shown}: not a database URL ({exc})") from None
        if path and path != ":memory:" and not Path(path).is_file():
            raise StationError(f"no archive at {path}")
    archive = open_station_archive(db, config, write=False)
    try:
        return history(archive, subject), shown
    finally:
        archive.dispose()


def session_visit(session: Session, config: StationConfig) -> dict:
    """This visit as a `history` visit: {date, session_uid, gate, trials: [...]} from the session itself
    (the gate as the report judges it: today's rules)."""
    from statistics import fmean

    from station.screening.gate import evaluate_gate

    def mean(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return fmean(values) if values else None

    trials = []
    for t in session.trials:
        faults: dict[str, int] = {}
        for r in t.reps:
            for f in r.faults:
                faults[f] = faults.get(f, 0) + 1
        trials.append({"trial_id": t.trial_id, "drill": t.drill, "arms": t.arms, "implement": t.implement,
                       "load_kg": t.load_kg, "status": t.status, "started_at": t.started_at,
                       "file": t.trial_file, "reps": len(t.reps), "clean_reps": sum(r.passed for r in t.reps),
                       "hip_back_mm_mean": mean([r.hip_back_mm for r in t.reps]),
                       "foot_pos_bottom_mean": mean([r.foot_pos_bottom for r in t.reps]),
                       "dowel_gap_mm_mean": mean([getattr(r, "dowel_gap_mm", None) for r in t.reps]),
                       "faults": faults})
    gate = None
    if any(t.status != "refused" for t in session.trials):
        d = evaluate_gate(session, config.gate)
        gate = {"current_stage": d.current_stage, "passed": d.passed, "unlocked": d.unlocked,
                "reason": d.reason}
    return {"date": session.date, "session_uid": session.session_uid, "gate": gate, "trials": trials}


def find_visit(visits: list[dict], session: Session) -> int | None:
    """Index of the session among the archived visits: by session_uid, else by a trial file's name."""
    for i, v in enumerate(visits):
        if v.get("session_uid") and v["session_uid"] == session.session_uid:
            return i
    names = {PurePath(t.trial_file).name for t in session.trials if t.trial_file}
    for i, v in enumerate(visits):
        if any(tr.get("file") and PurePath(tr["file"]).name in names for tr in v.get("trials") or []):
            return i
    return None


def _shift(day: str, days: int | None) -> str:
    if days is None:
        return day
    from station.privacy.dates import shift_dates_in

    return shift_dates_in(day, days)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]  # 'bodyweight RDL' -> 'Bodyweight RDL' (str.capitalize: 'rdl')


def _compare(earlier: list[dict], this: dict) -> list[str]:
    """'Dowel hinge: clean reps 62% -> 100%, hip back 118 -> 141 mm, foot pos 0.58 -> 0.52 (previous:
    2026-11-02).' for each drill of this visit done on an earlier visit."""
    now = {d: pts[-1] for d, pts in per_drill([this]).items()}
    lines = []
    for drill, (_, clean, hip, foot, gap) in now.items():
        before = [(v, per_drill([v]).get(drill)) for v in earlier]
        before = [(v, pts[-1]) for v, pts in before if pts]
        if not before:
            lines.append(f"{_upper_first(drill_words(drill))}: first time on this visit.")
            continue
        visit, (_, clean0, hip0, foot0, gap0) = before[-1]
        parts = [f"clean reps {clean0:.0f}% \u2192 {clean:.0f}%"]
        for name, a, b, fmt, unit in (("hip back", hip0, hip, ".0f", " mm"),
                                      ("foot pos", foot0, foot, ".2f", ""),
                                      ("dowel gap", gap0, gap, ".0f", " mm")):
            if a is not None and b is not None:
                parts.append(f"{name} {a:{fmt}} \u2192 {b:{fmt}}{unit}")
        lines.append(f"{_upper_first(drill_words(drill))}: {', '.join(parts)} (previous: {visit['date']}).")
    return lines


def build_progress(session: Session, doc: dict, config: StationConfig, where: str,
                   deidentify_days: int | None = None) -> Progress:
    archive = f" ({where})" if where else ""
    if not doc:
        return Progress([f"No earlier visits: subject {session.subject_id} is not in the archive{archive}."])
    visits = copy.deepcopy(doc.get("sessions") or [])
    this = session_visit(session, config)
    found = find_visit(visits, session)
    if found is not None:
        this["date"] = visits[found]["date"] or this["date"]  # a report made from a trial file alone
        earlier = visits[:found]
    else:
        earlier = [v for v in visits if (v.get("date") or "") < this["date"]]
    if not earlier:
        return Progress([f"No earlier visits of {session.subject_id} in the archive{archive}: this is the "
                         "first."])
    for v in earlier + [this]:
        v["date"] = _shift(v.get("date") or "", deidentify_days)
    n = len(earlier)
    lines = [f"{n} earlier visit{'s' * (n != 1)} in the archive{archive}, {earlier[0]['date']} to "
             f"{earlier[-1]['date']}; this visit ({this['date']}) is the last row."]
    lines += _compare(earlier, this)
    lines.append(f"Stage reached in the archive: {_shift(stage_words(doc), deidentify_days)}.")
    shown = earlier[-EARLIER_IN_TABLE:]
    if n > len(shown):
        lines.append(f"The table shows the last {len(shown)} earlier visits; the plots show all {n} "
                     f"(`hinge-station history {session.subject_id} --out history.pdf` lists every set).")
    rows = visit_rows(shown + [this], labels={len(shown): f"{this['date']} (this visit)"})
    png = trend_png(earlier + [this], config, this_day=this["date"], panel_h_in=1.25)
    return Progress(lines, list(HISTORY_COLUMNS), rows, [Figure(TREND_TITLE, png)], list(PROGRESS_WIDTHS))
