"""`analyze trial.h5`: a station trial goes through the same core as the live recording.

The synthetic trial (tests/support/trial_fixtures.py) has a known answer: the hip moves back 150 mm and down
45 mm with bottoms at t = 2 s and 6 s, while 700 N rocks heel <-> toe.
"""

from __future__ import annotations

import json

import numpy as np

from calibration.store import save_calibration
from tests.conftest import run_cli
from tests.support.trial_fixtures import GAINS, OFFSETS, write_synthetic_trial


def test_analyze_h5_json_gives_the_known_reps(tmp_path):
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path)
    res = run_cli("analyze", str(path), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["rep_count"] == 2
    # times count from the trial's start, like the live recording's
    np.testing.assert_allclose([r["t_bottom"] for r in data["reps"]], [2.0, 6.0], atol=0.1)
    np.testing.assert_allclose([r["hip_back_mm"] for r in data["reps"]], [150.0, 150.0], atol=10.0)
    np.testing.assert_allclose([r["hip_drop_mm"] for r in data["reps"]], [45.0, 45.0], atol=10.0)
    assert data["summary"]["input"]["config"] == "as recorded in the file"
    fz_stored = data["summary"]["force"]["fz_mean_n"]
    assert abs(fz_stored - 700.0) < 5.0

    # --plate-cal: the force is re-derived from the raw counts with that file's gains (10 % higher)
    cal = save_calibration("plate", {"offsets_counts": OFFSETS.tolist(),
                                     "gains_n_per_count": (GAINS * 1.1).tolist()},
                           device_id="test-plate", out=tmp_path / "plate.json")
    res = run_cli("analyze", str(path), "--json", "--plate-cal", str(cal))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert abs(data["summary"]["force"]["fz_mean_n"] / fz_stored - 1.1) < 1e-3
    assert "re-derived from the raw counts" in data["summary"]["input"]["plate_calibration"]
