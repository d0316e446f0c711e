"""Small trial and session files in the station's own formats (TrialWriter, save_session) for archive tests.

The archive indexes metadata and reps; these files carry exactly that, written by the real writers, so a
test can make hundreds in a second. Recorded trials (the whole stack) are made by the tests that need them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from station.config import StationConfig
from station.recording.writer import TrialWriter
from station.results import RepResult


def rep(index: int, hip_back_mm: float = 150.0, faults: tuple[str, ...] = (), foot_pos: float = 0.45,
        t0: float = 1.0) -> RepResult:
    start = t0 + 3.0 * index
    return RepResult(index=index, t_start=start, t_bottom=start + 1.2, t_end=start + 2.4,
                     hip_back_mm=hip_back_mm, hip_drop_mm=40.0, hinge_ratio=3.7, foot_pos_bottom=foot_pos,
                     faults=list(faults))


def write_trial(path: Path, subject: str, drill: str = "bw_rdl", reps: list[RepResult] | None = None, *,
                arms: str = "arms_crossed", start_wall_time: str | None = None,
                config: StationConfig | None = None) -> Path:
    """A trial file with no streams, only what an index reads (metadata, reps, calibration)."""
    reps = reps if reps is not None else [rep(i) for i in range(3)]
    meta = {"subject_id": subject, "drill": drill, "arms": arms, "side": "right", "notes": ""}
    if start_wall_time:
        meta["start_wall_time"] = start_wall_time
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = TrialWriter(path, config=config or StationConfig(), metadata=meta, stills=False)
    writer.start(t0_host_ns=0)
    for r in reps:
        writer.append_rep(r)
    writer.reps_final(reps)
    writer.stop("duration reached", {})
    return path


class PostgresDatabases:
    """A fresh database per test on the server named by HINGE_TEST_PG_URL (CI: scripts/services.sh)."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def _admin(self):
        dsn = self.server_url.replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True)

    def new(self) -> str:
        name = f"hinge_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = self.server_url.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_server_url() -> str:
    """The test server's URL; skipped without one, except in CI where a missing server is a failure."""
    url = os.environ.get("HINGE_TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("HINGE_TEST_PG_URL is not set: .ci/run starts PostgreSQL (scripts/services.sh)")
        pytest.skip("no PostgreSQL server: run `eval \"$(bash scripts/services.sh start)\"` first")
    return url


def write_session(folder: Path, subject: str, day: str, sets: list[tuple[str, str | None, list[RepResult]]],
                  *, trial_files: bool = False) -> Path:
    """A session file (the `screen` format) of sets (drill, arms, reps) on `day`, gated as `screen` does;
    with trial_files=True each set also gets its trial file beside the session."""
    from station.config import GateConfig
    from station.results import AnalysisResult
    from station.screening.gate import evaluate_gate
    from station.screening.questions import parse_answers
    from station.screening.session import Session, SessionTrial, save_session

    session = Session(subject, date=day)
    path = folder / f"{subject}_{day}.session.json"
    for drill, arms, reps in sets:
        trial = SessionTrial(session.next_trial_id(), drill, parse_answers("no,no,no,no"), arms=arms,
                             started_at=f"{day}T10:{len(session.trials):02d}:00", source="sim:hinge",
                             analysis=AnalysisResult("sim:hinge", reps))
        if trial_files:
            name = f"{subject}_{day}_{trial.trial_id}.h5"
            write_trial(folder / name, subject, drill, reps, arms=arms or "",
                        start_wall_time=f"{day}T10:{len(session.trials):02d}:00+00:00")
            trial.trial_file = name
        session.trials.append(trial)
    session.gate = evaluate_gate(session, GateConfig()).to_json()
    save_session(session, path)
    return path
