"""The report's and the dashboard's rep tables show lockout, neck, bottom hold and form break; the report
says "usable range: to N deg" under the table for each rep whose dowel lost a contact on the way down."""

from __future__ import annotations

from station.report.html import render_html
from station.report.model import REP_COLUMNS, ReportModel, TrialSection, usable_range_lines
from station.results import RepResult


def _reps() -> list[RepResult]:
    return [RepResult(0, 1.0, 2.0, 3.0, hip_back_mm=150.0, lockout_trunk_deg=3.4, lockout_hip_back_mm=2.0,
                      neck_extension_deg=4.0, bottom_hold_s=1.2),
            RepResult(1, 5.0, 6.0, 7.0, hip_back_mm=160.0, lockout_trunk_deg=-15.0, lockout_hip_back_mm=-70.0,
                      neck_extension_deg=31.0, bottom_hold_s=2.3, form_break_trunk_deg=54.6,
                      faults=["neck_extension", "lean_back"])]


def test_report_rep_table_and_usable_range():
    from station.report.model import rep_rows

    class _Trial:
        reps = _reps()

    rows = rep_rows(_Trial())
    cells = [dict(zip(REP_COLUMNS, row, strict=True)) for row in rows]
    assert cells[0]["Hold s"] == "1.2" and cells[0]["Neck \u00b0"] == "+4"
    assert cells[0]["Lockout \u00b0"] == "3"
    assert cells[0]["Break \u00b0"] == "\u2013" and cells[1]["Break \u00b0"] == "55"
    assert cells[1]["Lockout \u00b0"] == "-15" and cells[1]["Faults"] == "neck extension, lean back"
    lines = usable_range_lines(_reps())
    assert len(lines) == 1 and lines[0].startswith("Rep 2: usable range: to 55 deg")
    section = TrialSection("set 1", [], rows, [], rep_lines=lines)
    model = ReportModel("S1", "2025-01-01", "test", [], [], [], [section], [], [])
    page = render_html(model)
    assert "usable range: to 55 deg" in page and "Lockout \u00b0" in page


def test_dashboard_rep_table_and_coach_line():
    from station.dashboard.rep_table import COLUMNS, _cells, form_text

    good, leaning = _reps()
    shown = dict(zip([c[0] for c in COLUMNS], _cells(leaning, 2), strict=True))
    assert shown["lockout \u00b0"] == "-15" and shown["neck \u00b0"] == "31" and shown["hold s"] == "2.3"
    assert shown["break \u00b0"] == "55" and shown["lockout mm"] == "-70"
    assert form_text(good) == "lockout 3\u00b0  \u00b7  neck +4\u00b0  \u00b7  hold 1.2 s"
    assert form_text(leaning).endswith("usable to 55\u00b0")
    assert form_text(RepResult(0, 0.0, 1.0, 2.0)) == ""
