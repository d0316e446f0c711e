"""`screen --trial FILE.h5` and `report FILE.h5`: a recorded station trial as a screened set.

The synthetic trial (tests/support/trial_fixtures.py) holds two reps with the hip 150 mm back and 45 mm down.
"""

from __future__ import annotations

import numpy as np

from station.screening.session import load_session
from tests.conftest import run_cli
from tests.support.report_html import parse_report
from tests.support.trial_fixtures import write_synthetic_trial


def test_screen_and_report_from_a_recorded_trial(tmp_path):
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path)
    session_path = tmp_path / "s.json"
    res = run_cli("screen", "--subject", "S01", "--drill", "dowel_hinge", "--answers", "no,no,no,no",
                  "--trial", str(path), "--session", str(session_path))
    assert res.returncode == 0, res.stderr
    (trial,) = load_session(session_path).trials
    assert trial.trial_file == str(path) and trial.source == f"h5:{path}"
    assert len(trial.reps) == 2
    np.testing.assert_allclose([r.hip_back_mm for r in trial.reps], [150.0, 150.0], atol=10.0)
    np.testing.assert_allclose([r.hip_drop_mm for r in trial.reps], [45.0, 45.0], atol=10.0)
    assert trial.calibration == {"plate": "synthetic"}  # the trial's plate calibration, not defaults

    # --pain-at-rep 2: the set ends at rep 2's bottom, only rep 1 is judged
    res = run_cli("screen", "--subject", "S01", "--drill", "dowel_hinge", "--answers", "no,no,no,no",
                  "--trial", str(path), "--session", str(session_path), "--pain-at-rep", "2")
    assert res.returncode == 0, res.stderr
    second = load_session(session_path).trials[1]
    assert second.status == "stopped" and len(second.reps) == 1

    out = tmp_path / "r.html"
    res = run_cli("report", str(path), "--out", str(out))
    assert res.returncode == 0, res.stderr
    rep = parse_report(out)
    assert rep.ids["subject"] == "S01"  # from the trial's metadata
    header, *rows = rep.tables["reps"]
    assert len(rows) == 2
    back = [float(r[header.index("Back mm")]) for r in rows]
    np.testing.assert_allclose(back, [150.0, 150.0], atol=10.0)
