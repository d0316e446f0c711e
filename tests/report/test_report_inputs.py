"""Report and screen on bad or partial inputs: contraindication, newer session file, missing trial file."""

import json

import numpy as np

from station.analysis.series import TrialSeries
from station.results import AnalysisResult, RepResult
from station.screening.questions import parse_answers
from station.screening.session import Session, SessionTrial, load_session, save_session
from tests.conftest import run_cli
from tests.support.report_html import parse_report


def _hand_made_trial(tid: str, faults: list[list[str]], **kw) -> SessionTrial:
    """A set written down by hand: what the report must show is exactly what we put in."""
    t = np.arange(0.0, 3.0 * len(faults) + 2.0, 0.04)
    back, drop = np.zeros_like(t), np.zeros_like(t)
    reps = []
    for i, f in enumerate(faults):
        t0 = 1.0 + 3.0 * i
        m = (t >= t0) & (t <= t0 + 2.5)
        back[m] = np.sin(np.pi * (t[m] - t0) / 2.5) * 150.0
        drop[m] = np.sin(np.pi * (t[m] - t0) / 2.5) * 30.0
        reps.append(RepResult(i, t0, t0 + 1.25, t0 + 2.5, hip_back_mm=150.0 + i, hip_drop_mm=30.0,
                              hinge_ratio=5.0, faults=list(f)))
    series = TrialSeries(t.tolist(), back.tolist(), drop.tolist(), [0.45] * len(t),
                         heel_x_m=-0.13, foot_length_m=0.26)
    return SessionTrial(tid, "dowel_hinge", parse_answers("no,no,no,no"),
                        analysis=AnalysisResult("hand", reps), series=series, source="hand-made", **kw)


def test_contraindication_stops_the_test_and_report_says_why(tmp_path):
    r = run_cli("screen", "--subject", "S-CI", "--drill", "dowel_hinge", "--answers", "yes,no,no,no",
                "--sim", "hinge", "--session", str(tmp_path / "s.json"))
    assert r.returncode == 3, r.stderr
    assert "acute low-back pain" in r.stdout
    session = load_session(tmp_path / "s.json")
    (trial,) = session.trials
    assert trial.status == "refused" and trial.analysis is None
    assert trial.screening.answers["acute_low_back_pain"] is True
    assert "acute low-back pain now" in trial.stop_reason
    assert session.gate["passed"] is False and session.gate["unlocked"] is None

    r = run_cli("report", str(tmp_path / "s.json"), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    rep = parse_report(tmp_path / "r.html")
    assert rep.ids["subject"] == "S-CI"
    header, row = rep.tables["screening"]
    assert row[header.index("Low-back pain now?")] == "YES"
    assert row[header.index("Hamstring injury?")] == "no" and row[-1] == "NOT STARTED"
    assert "NOT PASSED" in rep.ids["gate"] and "acute low-back pain now" in rep.ids["gate"]
    assert "reps" not in rep.tables  # no set was done, so no rep table


def test_newer_session_version_refused_by_screen_but_report_still_renders(tmp_path):
    s = Session("S-NEW", trials=[_hand_made_trial("T1", [[]] * 3, calibration={"plate": "cal-1"})])
    save_session(s, tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    data["session_schema_version"] = 7
    data["future_field"] = {"x": 1}
    (tmp_path / "s.json").write_text(json.dumps(data))
    before = (tmp_path / "s.json").read_bytes()

    r = run_cli("screen", "--subject", "S-NEW", "--drill", "dowel_hinge", "--answers", "no,no,no,no",
                "--sim", "hinge", "--session", str(tmp_path / "s.json"))
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "s.json" in err[0] and "session_schema_version 7 is newer" in err[0]
    assert (tmp_path / "s.json").read_bytes() == before  # nothing recorded lost

    r = run_cli("report", str(tmp_path / "s.json"), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    rep = parse_report(tmp_path / "r.html")
    assert any("session_schema_version 7" in n for n in rep.notes)
    assert len(rep.tables["reps"]) == 1 + 3  # header + the three reps still shown


def test_missing_trial_file_and_missing_calibration_are_marked(tmp_path):
    s = Session("S-MISS", trials=[
        _hand_made_trial("T1", [[], ["squat_pattern"], ["squat_pattern"], []], trial_file="gone.h5"),
        SessionTrial("T2", "dowel_hinge", parse_answers("no,no,no,no"), trial_file="also_gone.h5",
              calibration={"plate": "cal-1"})])
    save_session(s, tmp_path / "s.json")
    r = run_cli("report", str(tmp_path / "s.json"), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    rep = parse_report(tmp_path / "r.html")
    notes = " | ".join(rep.notes)
    assert "gone.h5 is missing: numbers and pictures below come from the copy kept" in notes
    assert "also_gone.h5 is missing: this set cannot be shown" in notes
    assert "No calibration recorded for this set" in notes  # T1 has none; T2 does
    assert notes.count("No calibration recorded") == 1
    header, *rows = rep.tables["reps"]
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    verdicts = [row[header.index("Result")] for row in rows]
    assert verdicts == ["\u2713 pass", "\u2717 FAIL", "\u2717 FAIL", "\u2713 pass"]
    assert "hips dropped like a squat on reps 2 and 3" in rep.text
    assert len(rep.images) == 2 and all(src.startswith("data:image/png;base64,") for src in rep.images)


def test_report_refuses_unknown_output_suffix_in_one_line(tmp_path):
    save_session(Session("S"), tmp_path / "s.json")
    r = run_cli("report", str(tmp_path / "s.json"), "--out", str(tmp_path / "r.docx"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "r.docx" in r.stderr
