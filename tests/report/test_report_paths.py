"""Paths resolve from where they were given: a trial named relative to the folder a command runs in, a
trial file named in a session (relative to the session's folder), a report written anywhere. Before, a
report of `recordings/t.h5` run from the project folder looked for `recordings/recordings/t.h5` and said
the trial it had just read was missing."""

from __future__ import annotations

import json

from station.screening.session import load_session, resolve_trial_file
from tests.conftest import run_cli
from tests.support.report_html import parse_report
from tests.support.trial_fixtures import write_synthetic_trial

MISSING = "is missing"


def test_report_of_a_trial_named_from_the_project_folder_finds_it(tmp_path):
    project = tmp_path / "project"
    (project / "recordings").mkdir(parents=True)
    write_synthetic_trial(project / "recordings" / "t.h5")
    res = run_cli("report", "recordings/t.h5", "--out", "../reports/r.html", cwd=project)
    assert res.returncode == 0, res.stderr
    report = parse_report(tmp_path / "reports" / "r.html")
    assert not [n for n in report.notes if MISSING in n or "copy kept in the session" in n], report.notes
    assert len(report.tables["reps"]) == 1 + 2  # header + the synthetic trial's two reps


def test_a_session_made_in_one_folder_reports_from_another(tmp_path):
    project = tmp_path / "project"
    (project / "recordings").mkdir(parents=True)
    write_synthetic_trial(project / "recordings" / "t.h5")
    res = run_cli("screen", "--subject", "S-PATH", "--drill", "dowel_hinge", "--answers", "no,no,no,no",
                  "--trial", "recordings/t.h5", "--session", "sessions/s.json", cwd=project)
    assert res.returncode == 0, res.stderr
    session_path = project / "sessions" / "s.json"
    stored = json.loads(session_path.read_text())["trials"][0]["trial_file"]
    assert stored == "../recordings/t.h5"  # relative to the session's folder: the two can move together
    (trial,) = load_session(session_path).trials
    assert resolve_trial_file(trial, session_path).resolve() == (project / "recordings" / "t.h5").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = run_cli("report", str(session_path), "--out", "r.html", cwd=elsewhere)
    assert res.returncode == 0, res.stderr
    report = parse_report(elsewhere / "r.html")
    assert not [n for n in report.notes if MISSING in n], report.notes
    assert len(report.tables["reps"]) == 1 + 2
