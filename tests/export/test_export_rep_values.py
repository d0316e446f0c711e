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


def test_c3d_carries_the_wall_drill_verdict_as_numbers(tmp_path):
    """C3D has no boolean or null: reached 1, short 0, no wall NaN (its shortfall NaN too), beside the other
    rep values; a trial recorded without a wall has HINGE_TRIAL:WALL_MM NaN."""
    import ezc3d

    wall = [{"reached_target": True, "target_short_mm": 0.0},
            {"reached_target": False, "target_short_mm": 35.5}]
    trial = trial_with_rep_values(tmp_path, wall)
    params = ezc3d.c3d(str(export_c3d(trial, tmp_path / "wall.c3d")))["parameters"]
    assert list(params["HINGE_REPS"]["REACHED_TARGET"]["value"]) == [1.0, 0.0]
    assert list(params["HINGE_REPS"]["TARGET_SHORT_MM"]["value"]) == [0.0, 35.5]
    assert math.isnan(params["HINGE_TRIAL"]["WALL_MM"]["value"][0])
    (tmp_path / "none").mkdir()
    none = trial_with_rep_values(tmp_path / "none", [{}, {}])  # no wall set: both null in the JSON
    group = ezc3d.c3d(str(export_c3d(none, tmp_path / "none" / "none.c3d")))["parameters"]["HINGE_REPS"]
    assert all(math.isnan(v) for v in [*group["REACHED_TARGET"]["value"], *group["TARGET_SHORT_MM"]["value"]])
