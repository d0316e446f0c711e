"""The swing's and the step's values (issue 19 item 8) under a set's rep table in the report, and in the
dashboard's rep table, from a real analysis of the virtual subject's swings and step-downs."""

from __future__ import annotations

import html

import pytest

from station.report.html import render_html
from station.report.model import ReportModel, TrialSection, rep_rows
from station.report.movement import movement_lines
from tests.core.test_core_movements import _run


@pytest.mark.parametrize("pattern", ["swing", "step_down_knee"])
def test_report_and_dashboard_show_the_movement_values(pattern):
    from station.dashboard.rep_table import COLUMNS, _cells

    _, result = _run(pattern, "right", 6 if pattern == "swing" else 4)
    lines = movement_lines(result)
    rep_lines = [line for line in lines if line.startswith("Rep ")]
    assert len(rep_lines) == len(result.reps)
    for line, rep in zip(rep_lines, result.reps, strict=True):
        if pattern == "swing":
            assert f"hip snap {rep.hip_snap_mps:.2f} m/s" in line
            assert f"peak force {rep.peak_fz_bw:.2f} x body weight" in line
        else:
            assert f"hip/knee flexion {rep.hip_knee_ratio:.2f} (knee led)" in line
        shown = dict(zip([c[0] for c in COLUMNS], _cells(rep, rep.index), strict=True))
        assert shown["hip/knee"] == ("-" if rep.hip_knee_ratio is None else f"{rep.hip_knee_ratio:.2f}")
        assert shown["snap m/s"] == ("-" if rep.hip_snap_mps is None else f"{rep.hip_snap_mps:.2f}")
    swing_rate = [line for line in lines if line.startswith("Swing rate")]
    assert len(swing_rate) == (1 if pattern == "swing" else 0)

    class _Trial:
        reps = result.reps

    section = TrialSection("set 1", [], rep_rows(_Trial()), [], rep_lines=lines)
    page = render_html(ReportModel("S1", "2025-01-01", "test", [], [], [], [section], [], []))
    assert all(html.escape(line) in page for line in lines)
