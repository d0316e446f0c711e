""""Where did you feel it?" after every set (issue 19, item 5): stored with the set (session JSON, archive),
low back blocks progression at the gate with the reason in the report, nowhere adds a coaching note.

Known truth: nine clean simulated dowel hinges pass the dowel gate (tests/screening/test_screen_sim.py); the
only difference between the sessions below is the answer to the question."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from station.config import GateConfig, config_from_dict
from station.errors import StationError
from station.results import AnalysisResult, RepResult
from station.screening.felt import FELT_VALUES, NOWHERE_NOTE, ask_felt, parse_felt
from station.screening.gate import GateDecision, evaluate_gate
from station.screening.questions import parse_answers
from station.screening.session import Session, SessionTrial, load_session, save_session
from tests.conftest import run_cli
from tests.support.report_html import parse_report


def _clean_dowel_set(tid: str, felt: str | None) -> SessionTrial:
    reps = [RepResult(index=i, t_start=3.0 * i, t_bottom=3.0 * i + 1.5, t_end=3.0 * i + 3.0,
                      hip_back_mm=150.0) for i in range(8)]
    return SessionTrial(tid, "dowel_hinge", parse_answers("no,no,no,no"), felt=felt,
                        analysis=AnalysisResult("hand-made", reps))


def test_low_back_blocks_the_gate_that_eight_clean_hinges_would_pass():
    for felt in ("hamstrings_glutes", "nowhere", None):
        assert evaluate_gate(Session("S1", trials=[_clean_dowel_set("T1", felt)]), GateConfig()).passed
    blocked = Session("S1", trials=[_clean_dowel_set("T1", "hamstrings_glutes"),
                                    _clean_dowel_set("T2", "low_back")])
    d = evaluate_gate(blocked, GateConfig())
    assert not d.passed and d.unlocked is None
    assert "felt set T2 in the low back" in d.reason and "no progression today" in d.reason
    # a clinic may switch the rule off ([gate] block_on_low_back = false)
    assert evaluate_gate(blocked, config_from_dict({"gate": {"block_on_low_back": False}}).gate).passed


def test_felt_is_stored_with_the_set_and_a_bad_value_is_one_line_naming_the_field(tmp_path):
    session = Session("S1", trials=[_clean_dowel_set("T1", "low_back"), _clean_dowel_set("T2", None)])
    path = tmp_path / "s.session.json"
    save_session(session, path)
    raw = json.loads(path.read_text())
    assert [t["felt"] for t in raw["trials"]] == ["low_back", None]
    assert [t.felt for t in load_session(path).trials] == ["low_back", None]
    raw["trials"][0]["felt"] = "left knee"
    path.write_text(json.dumps(raw))
    with pytest.raises(StationError, match=r"trials\[0\]\.felt: 'left knee' is not one of "
                                           r"hamstrings_glutes, low_back, nowhere") as err:
        load_session(path)
    assert "\n" not in str(err.value)


def test_the_question_accepts_menu_numbers_and_words_and_asks_again_otherwise():
    replies = iter(["", "my knee", "2"])
    assert ask_felt(lambda _prompt: next(replies)) == "low_back"
    assert [parse_felt(x) for x in ("1", "Hamstrings", "low-back", "none", "nowhere")] == \
        ["hamstrings_glutes", "hamstrings_glutes", "low_back", "nowhere", "nowhere"]
    assert parse_felt(None) is None and set(FELT_VALUES) == {"hamstrings_glutes", "low_back", "nowhere"}


def _screen(tmp_path, name: str, *extra: str):
    session = tmp_path / f"{name}.session.json"
    db = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    r = run_cli("screen", "--subject", "S-FELT", "--answers", "no,no,no,no", "--session", str(session),
                "--db", db, "--drill", "dowel_hinge", "--sim", "hinge", "--reps", "9", "--seed", "3", *extra)
    return r, session, db


def test_screen_low_back_blocks_the_gate_archive_and_report_say_why(tmp_path, artifacts_dir):
    r, session_path, db = _screen(tmp_path, "low", "--felt", "low_back")
    assert r.returncode == 0, r.stdout + r.stderr
    (trial,) = load_session(session_path).trials
    assert trial.felt == "low_back" and len(trial.reps) == 9 and all(rep.passed for rep in trial.reps)
    decision = GateDecision.from_json(load_session(session_path).gate)
    assert not decision.passed and "felt set T1 in the low back" in decision.reason
    assert "NOT PASSED" in r.stdout and "You felt it in your low back" in r.stdout

    engine = sa.create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT felt FROM trials WHERE subject='S-FELT'")).scalar() == "low_back"
    engine.dispose()
    # nine clean hinges would unlock the bodyweight RDL; felt in the low back they unlock nothing
    from station.archive.decisions import archived_stage
    from station.archive.station_archive import open_station_archive

    archive = open_station_archive(db, config_from_dict({}))
    try:
        assert archived_stage(archive, "S-FELT").stage == "dowel_hinge"
    finally:
        archive.dispose()

    out = artifacts_dir / "screen_felt_low_back.html"
    res = run_cli("report", str(session_path), "--out", str(out))
    assert res.returncode == 0, res.stderr
    report = parse_report(out)
    assert "NOT PASSED" in report.ids["gate"] and "in the low back" in report.ids["gate"]
    assert "Felt it in: low back" in " ".join(report.text.split())


def test_screen_nowhere_adds_a_coaching_note_and_the_wall_is_judged(tmp_path, artifacts_dir):
    r, session_path, _ = _screen(tmp_path, "nowhere", "--felt", "nowhere", "--wall-mm", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    (trial,) = load_session(session_path).trials
    assert trial.felt == "nowhere"
    assert GateDecision.from_json(load_session(session_path).gate).passed  # nowhere does not block
    assert NOWHERE_NOTE in r.stdout
    # the simulated hinge takes the hip ~100 mm behind the heel line (tests/core/test_core_target.py)
    assert all(rep.reached_target is True and rep.target_short_mm == 0.0 for rep in trial.reps)
    assert "Wall drill: your hips reached the wall on reps 1-9." in r.stdout
    out = artifacts_dir / "screen_felt_nowhere.html"
    assert run_cli("report", str(session_path), "--out", str(out)).returncode == 0
    report = parse_report(out)
    text = " ".join(report.text.split())
    assert NOWHERE_NOTE in text and "Felt it in: nowhere" in text and "Wall drill:" in text
    header, *rows = report.tables["reps"]
    assert [row[header.index("Wall")] for row in rows] == ["reached"] * 9


@pytest.mark.parametrize(("flag", "value"), [("--felt", "left knee"), ("--wall-mm", "-40")])
def test_bad_felt_or_wall_is_one_line_naming_the_flag(tmp_path, flag, value):
    r, session_path, _ = _screen(tmp_path, "bad", flag, value)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and flag in r.stderr, r.stderr
    assert not session_path.exists()
