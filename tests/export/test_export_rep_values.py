"""The lockout, neck, bottom-hold and form-break values of each rep reach the CSV reps table and the C3D."""

from __future__ import annotations

import math

import numpy as np

from station.export.c3d_file import REP_PARAMETERS, export_c3d
from station.results import FORM_METRIC_KEYS
from tests.support.rep_values import csv_rep_rows, trial_with_rep_values

VALUES = [{"lockout_trunk_deg": 3.5, "lockout_hip_back_mm": 4.0, "neck_extension_deg": 2.0,
           "bottom_hold_s": 1.2, "form_break_trunk_deg": None},
          {"lockout_trunk_deg": -14.5, "lockout_hip_back_mm": -70.0, "neck_extension_deg": 31.0,
           "bottom_hold_s": 2.3, "form_break_trunk_deg": 38.0}]


def test_csv_reps_table_has_the_new_columns(tmp_path):
    header, rows = csv_rep_rows(trial_with_rep_values(tmp_path, VALUES), tmp_path)
    assert header[-2:] == ["faults", "pass"]
    assert header.index("dowel_gap_mm") < header.index("lockout_trunk_deg")
    for row, values in zip(rows, VALUES, strict=True):
        for key in FORM_METRIC_KEYS:
            want = values[key]
            assert row[key] == ("" if want is None else str(float(want))), key


def test_c3d_carries_the_rep_values(tmp_path):
    import ezc3d

    trial = trial_with_rep_values(tmp_path, VALUES)
    out = export_c3d(trial, tmp_path / "trial.c3d")
    group = ezc3d.c3d(str(out))["parameters"]["HINGE_REPS"]
    assert np.allclose(group["INDEX"]["value"], [r.index for r in trial.reps])
    for name, key in REP_PARAMETERS.items():
        got = list(group[name]["value"])
        want = [getattr(r, key) for r in trial.reps]
        assert len(got) == len(want), name
        for g, w in zip(got, want, strict=True):
            assert (math.isnan(g) if w is None else abs(g - w) < 1e-4), (name, got, want)
