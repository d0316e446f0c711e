"""The step tap-down's and the kettlebell swing's per-rep values (issue 19 item 8) reach the CSV reps table,
the C3D's HINGE_REPS group and `analyze --json`, null / empty / NaN where a rep has none."""

from __future__ import annotations

import math

from station.export.c3d_file import REP_PARAMETERS, export_c3d
from station.results import MOVEMENT_METRIC_KEYS
from tests.support.rep_values import csv_rep_rows, trial_with_rep_values

VALUES = [{"hip_knee_ratio": 1.58, "hip_snap_mps": None, "peak_fz_bw": None},
          {"hip_knee_ratio": None, "hip_snap_mps": 0.62, "peak_fz_bw": 1.91}]


def test_csv_json_and_c3d_carry_the_movement_values(tmp_path):
    import ezc3d

    trial = trial_with_rep_values(tmp_path, VALUES)
    _, rows = csv_rep_rows(trial, tmp_path)
    for row, values, rep in zip(rows, VALUES, trial.reps, strict=True):
        data = rep.to_json()
        for key in MOVEMENT_METRIC_KEYS:
            want = values[key]
            assert row[key] == ("" if want is None else str(float(want))), key
            assert data[key] == want, key
    group = ezc3d.c3d(str(export_c3d(trial, tmp_path / "trial.c3d")))["parameters"]["HINGE_REPS"]
    names = {key: name for name, key in REP_PARAMETERS.items()}
    for key in MOVEMENT_METRIC_KEYS:
        got = list(group[names[key]]["value"])
        for g, values in zip(got, VALUES, strict=True):
            want = values[key]
            assert (math.isnan(g) if want is None else abs(g - want) < 1e-4), (key, got)
