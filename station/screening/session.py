"""A screening session: one subject's sets in order, their screening answers, results and gate decision.

Stored as one compact JSON file, saved atomically (temp file + rename) so an interrupted write never
loses the sets already recorded:

    {"session_schema_version": 1, "station_version": "0.1.0", "subject_id": "S01", "date": "2026-11-21",
     "prescribed_load_kg": null,
     "trials": [{"trial_id": "T1", "drill": "dowel_hinge", "arms": null, "implement": null, "load_kg": null,
                 "started_at": "...", "source": "sim:hinge", "trial_file": null, "calibration": {...}|null,
                 "screening": {"answers": {"acute_low_back_pain": false, ...}, "asked_at": "..."},
                 "status": "complete|stopped|refused", "stop_reason": null, "pain_at_rep": null,
                 "felt": "hamstrings_glutes|low_back|nowhere"|null,
                 "analysis": <AnalysisResult.to_json()>|null, "series": <TrialSeries.to_json()>|null}],
     "gate": <GateDecision.to_json()>}

A newer or unknown session_schema_version is refused for writing (one line naming the file and field);
reports load it leniently and mark it.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from station import __version__
from station.analysis.series import TrialSeries
from station.documents import DocumentValue, read_document
from station.errors import StationError
from station.owner_files import write_atomic
from station.results import AnalysisResult, RepResult
from station.screening.felt import parse_felt
from station.screening.questions import ScreeningAnswers

SESSION_SCHEMA_VERSION = 1
TRIAL_STATUSES = ("complete", "stopped", "refused")


def analysis_from_json(data: dict) -> AnalysisResult:
    """Inverse of AnalysisResult.to_json (the `analyze --json` shape)."""
    return AnalysisResult(source=str(data.get("source", "")),
                          reps=[RepResult.from_json(r) for r in data.get("reps", [])],
                          summary=dict(data.get("summary", {})), warnings=list(data.get("warnings", [])))


@dataclass
class SessionTrial:
    """One set (or one refused attempt). `analysis` is embedded; `trial_file` names the raw recording."""

    trial_id: str
    drill: str
    screening: ScreeningAnswers | None  # None: not asked here (a report made from a lone trial file)
    status: str = "complete"  # complete | stopped (pain, operator) | refused (contraindication)
    arms: str | None = None
    implement: str | None = None
    load_kg: float | None = None
    started_at: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    source: str = ""
    trial_file: str | None = None  # relative to the session file's folder when possible
    calibration: dict | None = None  # ids of the plate/camera/feet calibrations used; None = defaults
    stop_reason: str | None = None
    pain_at_rep: int | None = None
    felt: str | None = None  # "Where did you feel it?" (screening.felt.FELT_VALUES); None = not asked
    analysis: AnalysisResult | None = None
    series: TrialSeries | None = None

    @property
    def reps(self) -> list[RepResult]:
        return self.analysis.reps if self.analysis is not None else []

    def to_json(self) -> dict:
        return {"trial_id": self.trial_id, "drill": self.drill, "arms": self.arms,
                "implement": self.implement, "load_kg": self.load_kg, "started_at": self.started_at,
                "source": self.source, "trial_file": self.trial_file, "calibration": self.calibration,
                "screening": self.screening.to_json() if self.screening else None, "status": self.status,
                "stop_reason": self.stop_reason, "pain_at_rep": self.pain_at_rep, "felt": self.felt,
                "analysis": self.analysis.to_json() if self.analysis is not None else None,
                "series": self.series.to_json() if self.series is not None else None}

    @classmethod
    def from_json(cls, data: dict, where: str) -> SessionTrial:
        try:
            status = str(data.get("status", "complete"))
            if status not in TRIAL_STATUSES:
                raise StationError(f"{where}.status: {status!r} is not one of {', '.join(TRIAL_STATUSES)}")
            analysis = data.get("analysis")
            series = data.get("series")
            return cls(trial_id=str(data["trial_id"]), drill=str(data["drill"]),
                       screening=ScreeningAnswers.from_json(data["screening"], f"{where}.screening")
                       if data.get("screening") is not None else None,
                       status=status, arms=data.get("arms"), implement=data.get("implement"),
                       load_kg=data.get("load_kg"), started_at=str(data.get("started_at", "")),
                       source=str(data.get("source", "")), trial_file=data.get("trial_file"),
                       calibration=data.get("calibration"), stop_reason=data.get("stop_reason"),
                       pain_at_rep=data.get("pain_at_rep"),
                       felt=parse_felt(data.get("felt"), f"{where}.felt"),
                       analysis=analysis_from_json(analysis) if analysis else None,
                       series=TrialSeries.from_json(series) if series else None)
        except KeyError as exc:
            raise StationError(f"{where}.{exc.args[0]}: missing") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise StationError(f"{where}: malformed trial ({exc})") from None


@dataclass
class Session:
    subject_id: str
    date: str = field(default_factory=lambda: date.today().isoformat())
    trials: list[SessionTrial] = field(default_factory=list)
    prescribed_load_kg: float | None = None
    gate: dict | None = None  # GateDecision.to_json() of the last evaluation
    station_version: str = __version__
    schema_version: int = SESSION_SCHEMA_VERSION
    notes: list[str] = field(default_factory=list)  # load-time notes (never saved): shown marked in reports
    # the session's identity in the archive (random: stations cannot collide); older files have none
    session_uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def next_trial_id(self) -> str:
        return f"T{len(self.trials) + 1}"

    def trial(self, trial_id: str) -> SessionTrial:
        for t in self.trials:
            if t.trial_id == trial_id:
                return t
        raise StationError(f"trial {trial_id!r}: not in session of {self.subject_id}")

    def to_json(self) -> dict:
        """{session_schema_version, station_version, subject_id, date, prescribed_load_kg, trials[], gate}."""
        return {"session_schema_version": SESSION_SCHEMA_VERSION, "station_version": self.station_version,
                "session_uid": self.session_uid, "subject_id": self.subject_id, "date": self.date,
                "prescribed_load_kg": self.prescribed_load_kg,
                "trials": [t.to_json() for t in self.trials], "gate": self.gate}


def session_from_json(data: DocumentValue, where: str, lenient: bool = False) -> Session:
    """Parse a session; a newer/unknown schema raises, or with lenient=True loads what it can, noted."""
    if not isinstance(data, dict):
        raise StationError(f"{where}: not a hinge-station session (expected a JSON object)")
    if "session_schema_version" not in data:
        raise StationError(f"{where}: session_schema_version missing: not a hinge-station session file")
    version = data["session_schema_version"]
    notes: list[str] = []
    if not isinstance(version, int) or isinstance(version, bool) or version != SESSION_SCHEMA_VERSION:
        newer = isinstance(version, int) and version > SESSION_SCHEMA_VERSION
        what = "is newer than" if newer else "is not a version"
        msg = (f"{where}: session_schema_version {version!r} {what} this station reads "
               f"({SESSION_SCHEMA_VERSION}; written by station {data.get('station_version', '?')})")
        if not lenient:
            raise StationError(msg)
        notes.append(msg + ": shown as far as this version understands it")
    if "subject_id" not in data:
        raise StationError(f"{where}: subject_id missing")
    trials: list[SessionTrial] = []
    raw_trials = data.get("trials", [])
    if not isinstance(raw_trials, list):
        raise StationError(f"{where}: trials must be a list")
    for i, raw in enumerate(raw_trials):
        try:
            trials.append(SessionTrial.from_json(raw, f"{where}: trials[{i}]"))
        except StationError as exc:
            if not lenient:
                raise
            notes.append(f"{exc}: trial left out of this report")
    session = Session(subject_id=str(data["subject_id"]), date=str(data.get("date", "")), trials=trials,
                      prescribed_load_kg=data.get("prescribed_load_kg"), gate=data.get("gate"),
                      station_version=str(data.get("station_version", "?")),
                      schema_version=version if isinstance(version, int) else -1,
                      session_uid=str(data.get("session_uid") or ""))
    session.notes = notes
    return session


def load_session(path: str | os.PathLike, lenient: bool = False) -> Session:
    p = Path(path)
    data = read_document(p, "session file")
    return session_from_json(data, str(p), lenient=lenient)


def save_session(session: Session, path: str | os.PathLike) -> None:
    """Write atomically: the previous file stays intact until the new one is complete."""
    p = Path(path)
    if p.exists():  # never overwrite a file this version cannot read fully (data would be lost)
        load_session(p)
    # owner-only (or the clinic's [privacy] group): a session is health data
    write_atomic(p, json.dumps(session.to_json(), separators=(",", ":")) + "\n")  # compact: long series


def path_for_session(given: str | os.PathLike, session_path: str | os.PathLike | None) -> str:
    """How a session records a file named on the command line: an absolute name as given; a relative one
    (relative to where the command ran) relative to the session file's folder, so the two can move
    together, or absolute without a session file. resolve_trial_file reads it back from any folder."""
    if Path(given).is_absolute():
        return str(given)
    absolute = Path(given).resolve()
    if session_path is None:
        return str(absolute)
    return os.path.relpath(absolute, Path(session_path).resolve().parent)


def resolve_trial_file(trial: SessionTrial, session_path: Path | None) -> Path | None:
    """The trial file as a path (relative names are relative to the session file's folder)."""
    if not trial.trial_file:
        return None
    p = Path(trial.trial_file)
    if not p.is_absolute() and session_path is not None:
        p = session_path.parent / p
    return p
