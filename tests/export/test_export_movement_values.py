"""The step tap-down's and the kettlebell swing's per-rep values (issue 19 item 8) reach the CSV reps table,
the C3D's HINGE_REPS group and `analyze --json`, null / empty / NaN where a rep has none."""

from __future__ import annotations

import math

from station.export.c3d_file import REP_PARAMETERS, export_c3d
from station.export.csv_files import export_csv
from station.recording.reader import read_trial
from station.results import MOVEMENT_METRIC_KEYS
from tests.support.trial_fixtures import write_synthetic_trial

VALUES = [{"hip_knee_ratio": 1.58, "hip_snap_mps": None, "peak_fz_bw": None},
          {"hip_knee_ratio": None, "hip_snap_mps": 0.62, "peak_fz_bw": 1.91}]


def _trial(tmp_path):
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=8.0)
    trial = read_trial(path)
    for rep, values in zip(trial.reps, VALUES, strict=True):
        for key, value in values.items():
            setattr(rep, key, value)
    return trial


def test_csv_json_and_c3d_carry_the_movement_values(tmp_path):
    import ezc3d

    trial = _trial(tmp_path)
    export_csv(trial, tmp_path / "out")
    lines = (tmp_path / "out_reps.csv").read_text().splitlines()
    header = lines[0].split(",")
    for line, values, rep in zip(lines[1:], VALUES, trial.reps, strict=True):
        row = dict(zip(header, line.split(","), strict=True))
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
