"""Simulated screening sessions end to end: virtual subject -> core -> gate -> report (HTML and PDF).

Known truth: the virtual subject's own rep list (count, timing, backward hip travel) and its pattern
(clean hinges, or a squat on every rep).
"""

import pytest

from tests.conftest import run_cli

pytest.importorskip("station.analysis.analyze", reason="needs the core (analyze_blocks)")
pytest.importorskip("drivers.sim.subject", reason="needs the virtual subject")

from drivers.sim.subject import VirtualSubject  # noqa: E402
from station.screening.gate import GateDecision  # noqa: E402
from station.screening.session import load_session  # noqa: E402
from tests.support.report_html import parse_report  # noqa: E402

HIP_BACK_TOL_MM = 15.0  # marker noise 3 mm + 6 Hz filtering + the core's stated hip accuracy


def _screen(session, *args):
    r = run_cli("screen", "--subject", "S-SIM", "--answers", "no,no,no,no", "--session", str(session),
                "--seed", "3", "--db", f"sqlite:///{session.parent / 'archive.sqlite'}", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _truth(pattern, reps, arms="dowel"):
    return VirtualSubject(pattern, reps=reps, arms=arms, seed=3).truth


def test_dowel_gate_passes_on_clean_hinges_and_report_shows_it(tmp_path, artifacts_dir):
    session_path = tmp_path / "pass.json"
    _screen(session_path, "--drill", "dowel_hinge", "--sim", "hinge", "--reps", "9")
    truth = _truth("hinge", 9)
    session = load_session(session_path)
    (trial,) = session.trials
    assert len(trial.reps) == len(truth.reps) == 9
    for rep, true in zip(trial.reps, truth.reps, strict=True):
        assert abs(rep.hip_back_mm - true.hip_back_mm) < HIP_BACK_TOL_MM
        assert abs(rep.t_start - true.t_start) < 0.2 and abs(rep.t_end - true.t_end) < 0.2
    decision = GateDecision.from_json(session.gate)
    assert decision.passed and decision.unlocked == "bw_rdl" and decision.current_stage == "dowel_hinge"
    assert decision.evidence == [("T1", list(range(1, 9)))]

    r = run_cli("report", str(session_path), "--out", str(artifacts_dir / "screen_pass.html"), "--pdf")
    assert r.returncode == 0, r.stderr
    rep = parse_report(artifacts_dir / "screen_pass.html")
    assert rep.ids["subject"] == "S-SIM"
    assert rep.tables["screening"][1][-1] == "cleared"
    rows = rep.tables["reps"][1:]
    assert [row[0] for row in rows] == [str(n) for n in range(1, 10)]
    assert all(row[-2] == "\u2713 pass" for row in rows)
    for row, true in zip(rows, truth.reps, strict=True):
        assert abs(float(row[1]) - true.hip_back_mm) < HIP_BACK_TOL_MM
    assert "All 9 reps looked good" in rep.text
    assert "PASSED" in rep.ids["gate"] and "NOT PASSED" not in rep.ids["gate"]
    assert "Unlocked: bodyweight RDL" in rep.ids["gate"] and "T1 reps 1-8" in rep.ids["gate"]
    assert len(rep.images) == 3  # hip path, foot position, deepest-rep still
    assert not rep.notes  # simulated calibration is exact: nothing to mark

    import pypdfium2  # renders the PDF as a person would see it

    pdf = pypdfium2.PdfDocument(artifacts_dir / "screen_pass.pdf")
    page = pdf[0].render(scale=2.0).to_pil()
    page.save(artifacts_dir / "screen_pass_page1.png")
    text = pdf[0].get_textpage().get_text_range()
    assert "S-SIM" in text and "PASSED" in text and "8 clean dowel hinges in a row" in text
    assert page.size[0] > 1100 and page.convert("L").getextrema()[0] < 50  # real dark ink on the page


def test_squat_pattern_blocks_the_dowel_gate(tmp_path, artifacts_dir):
    session_path = tmp_path / "squat.json"
    out = _screen(session_path, "--drill", "dowel_hinge", "--sim", "squat", "--reps", "8").stdout
    truth = _truth("squat", 8)
    assert all("squat_pattern" in t.faults for t in truth.reps)
    session = load_session(session_path)
    reps = session.trials[0].reps
    assert len(reps) == 8 and all("squat_pattern" in r.faults for r in reps)
    decision = GateDecision.from_json(session.gate)
    assert not decision.passed and decision.unlocked is None
    assert decision.evidence == [("T1", list(range(1, 9)))]  # every rep failed
    assert "no dowel hinge was clean" in decision.reason and "NOT PASSED" in out

    r = run_cli("report", str(session_path), "--out", str(artifacts_dir / "screen_squat.html"))
    assert r.returncode == 0, r.stderr
    rep = parse_report(artifacts_dir / "screen_squat.html")
    assert "Your hips dropped like a squat on reps 1-8" in rep.text
    assert all(row[-2] == "\u2717 FAIL" and "squat pattern" in row[-1] for row in rep.tables["reps"][1:])
    assert "NOT PASSED" in rep.ids["gate"]


def test_pain_during_a_set_stops_it_and_blocks_progression(tmp_path):
    session_path = tmp_path / "pain.json"
    _screen(session_path, "--drill", "bw_rdl", "--arms", "arms_crossed", "--sim", "hinge", "--reps", "10",
            "--pain-at-rep", "4", "--override-reason", "dowel passed at the referring clinic")
    session = load_session(session_path)
    (stopped,) = session.trials
    truth = _truth("hinge", 10, arms="crossed")
    assert stopped.status == "stopped" and stopped.pain_at_rep == 4
    assert stopped.stop_reason == "pain reported during rep 4"
    assert len(stopped.reps) == 3 and all(r.t_end <= truth.reps[3].t_bottom + 0.1 for r in stopped.reps)
    decision = GateDecision.from_json(session.gate)
    assert not decision.passed and decision.unlocked is None and "pain during rep 4" in decision.reason
