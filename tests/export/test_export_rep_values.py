"""The lockout, neck, bottom-hold and form-break values of each rep reach the CSV reps table and the C3D."""

from __future__ import annotations

import math

import numpy as np

from station.export.c3d_file import REP_PARAMETERS, export_c3d
from station.export.csv_files import export_csv
from station.recording.reader import read_trial
from station.results import FORM_METRIC_KEYS
from tests.support.trial_fixtures import write_synthetic_trial

VALUES = [{"lockout_trunk_deg": 3.5, "lockout_hip_back_mm": 4.0, "neck_extension_deg": 2.0,
           "bottom_hold_s": 1.2, "form_break_trunk_deg": None},
          {"lockout_trunk_deg": -14.5, "lockout_hip_back_mm": -70.0, "neck_extension_deg": 31.0,
           "bottom_hold_s": 2.3, "form_break_trunk_deg": 38.0}]


def _trial(tmp_path):
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=8.0)
    trial = read_trial(path)
    for rep, values in zip(trial.reps, VALUES, strict=True):
        for key, value in values.items():
            setattr(rep, key, value)
    return trial


def test_csv_reps_table_has_the_new_columns(tmp_path):
    trial = _trial(tmp_path)
    export_csv(trial, tmp_path / "out")
    lines = (tmp_path / "out_reps.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[-2:] == ["faults", "pass"]
    assert header.index("dowel_gap_mm") < header.index("lockout_trunk_deg")
    for line, values in zip(lines[1:], VALUES, strict=True):
        row = dict(zip(header, line.split(","), strict=True))
        for key in FORM_METRIC_KEYS:
            want = values[key]
            assert row[key] == ("" if want is None else str(float(want))), key


def test_c3d_carries_the_rep_values(tmp_path):
    import ezc3d

    trial = _trial(tmp_path)
    out = export_c3d(trial, tmp_path / "trial.c3d")
    group = ezc3d.c3d(str(out))["parameters"]["HINGE_REPS"]
    assert np.allclose(group["INDEX"]["value"], [r.index for r in trial.reps])
    for name, key in REP_PARAMETERS.items():
        got = list(group[name]["value"])
        want = [getattr(r, key) for r in trial.reps]
        assert len(got) == len(want), name
        for g, w in zip(got, want, strict=True):
            assert (math.isnan(g) if w is None else abs(g - w) < 1e-4), (name, got, want)
