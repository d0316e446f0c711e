"""The PDF report's rep tables are readable as filed (station/report/pdf_reps.py): every rep column of the
model is in a table, with its unit in the header; no word is broken across lines and no line runs into the
next column, measured with the font's real glyph widths (matplotlib's, the renderer's own); columns that
no rep of the set has are named instead of shown as a row of dashes; and the rendered page reads back
whole words. The worst case fills every column: long fault lists, a dowel note, the wall, a step-up set."""

from __future__ import annotations

import pytest

from station.report.model import REP_COLUMNS, ReportModel, TrialSection, rep_rows
from station.report.pdf import MARGIN_IN, PAGE_W_IN, REP_TABLE_PT, _wrap, write_pdf
from station.report.pdf_reps import COLUMN_TEXT, rep_tables
from station.results import RepResult

WIDTH_IN = PAGE_W_IN - 2 * MARGIN_IN
CELL_INSET_IN = 0.04  # pdf._Pages.table puts text 0.04 in inside its column


def _hinge_reps() -> list[RepResult]:
    def rep(i: int, **kw) -> RepResult:
        values = dict(hip_back_mm=182.0 + i, hip_drop_mm=148.0, hinge_ratio=1.2, knee_flexion_deg=47.0,
                      trunk_inclination_deg=58.0, foot_pos_bottom=0.63, heel_load_pct=38.0, descent_s=1.4,
                      ascent_s=1.1, bottom_hold_s=0.8, neck_extension_deg=27.0, lockout_trunk_deg=-13.0,
                      dowel_gap_mm=48.0, form_break_trunk_deg=41.0, reached_target=False,
                      target_short_mm=135.0,
                      faults=["squat_pattern", "toe_shift", "back_rounding", "neck_extension", "lean_back"],
                      notes={"dowel_region": "upper_back"})
        values.update(kw)
        return RepResult(i, 1.0 + 4 * i, 2.5 + 4 * i, 4.0 + 4 * i, **values)

    return [rep(0), rep(1, dowel_gap_mm=None, reached_target=True, target_short_mm=0.0,
                        notes={"dowel": "not measured: back not seen for enough frames in a row"},
                        faults=["incomplete_lockout"]),
            rep(2, faults=[]), rep(3, form_break_trunk_deg=None, faults=["too_fast", "incomplete_tracking"])]


def _step_reps() -> list[RepResult]:
    return [RepResult(i, 3.0 + 5 * i, 5.0 + 5 * i, 6.5 + 5 * i, hip_back_mm=-190.0, hip_drop_mm=-141.0,
                      knee_flexion_deg=4.0, trunk_inclination_deg=46.0, foot_pos_bottom=0.45,
                      heel_load_pct=51.0, descent_s=1.6, ascent_s=1.5, hip_knee_ratio=0.73,
                      faults=["knee_dominant"])
            for i in range(3)]


class _Trial:
    def __init__(self, reps: list[RepResult]) -> None:
        self.reps = reps


def _rows(reps: list[RepResult]) -> list[list[str]]:
    return rep_rows(_Trial(reps))


def _width_in(text: str, bold: bool) -> float:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(size=REP_TABLE_PT, weight="bold" if bold else "normal")
    width_pt, _, _ = TextToPath().get_text_width_height_descent(text, font, ismath=False)
    return width_pt / 72.0


@pytest.mark.parametrize("reps", [_hinge_reps(), _step_reps()], ids=["hinge", "step"])
def test_no_word_is_broken_and_no_line_runs_into_the_next_column(reps):
    tables, _ = rep_tables(_rows(reps), WIDTH_IN, REP_TABLE_PT)
    for table in tables:
        assert sum(table.widths_in) <= WIDTH_IN + 1e-9  # on the page
        for row, bold in [(table.header, True)] + [(r, False) for r in table.rows]:
            for cell, width in zip(row, table.widths_in, strict=True):
                lines = _wrap(cell, width - 0.08, REP_TABLE_PT, bold=bold)
                assert [w for line in lines for w in line.split()] == cell.split(), (cell, lines)
                for line in lines:
                    assert _width_in(line, bold) <= width - CELL_INSET_IN, (line, width)


def test_every_rep_column_is_shown_once_with_the_models_values():
    """Split in two tables, each repeating the rep number: every other column in exactly one, its cells
    the model's (the values the HTML and the dashboard show)."""
    rows = _rows(_hinge_reps())
    tables, lines = rep_tables(rows, WIDTH_IN, REP_TABLE_PT)
    assert len(tables) == 2
    header_of = {"\n".join(x for x in COLUMN_TEXT[c][:2] if x): c for c in REP_COLUMNS}
    seen: list[str] = []
    for table in tables:
        cols = [header_of.get(h.replace("(", "").replace(")", "")) for h in table.header]
        assert cols[0] == "Rep" and None not in cols, table.header
        seen += cols[1:]
        for row, model_row in zip(table.rows, rows, strict=True):
            assert row == [model_row[REP_COLUMNS.index(c)] for c in cols]
    assert sorted(seen) == sorted(c for c in REP_COLUMNS if c != "Rep")  # none lost, none twice
    assert not any(line.startswith("Not measured") for line in lines)  # every column has a value here
    assert any("0 = heel, 1 = toe" in line for line in lines)  # the key says what foot pos. means


def test_units_are_in_the_headers():
    tables, _ = rep_tables(_rows(_hinge_reps()), WIDTH_IN, REP_TABLE_PT)
    headers = [h for t in tables for h in t.header]
    for name, unit in (("Hips back", "(mm)"), ("Knee flexion", "(\u00b0)"), ("Heel load", "(%)"),
                       ("Down / up", "(s)"), ("Dowel gap", "(mm)"), ("Lockout trunk", "(\u00b0)")):
        assert f"{name}\n{unit}" in headers


def test_a_step_set_names_the_hinge_columns_it_has_no_values_for():
    """A step set has no back/down ratio, hold, neck, lockout, dowel, form break or wall: those columns
    are named once under one table instead of filling it with dashes."""
    tables, lines = rep_tables(_rows(_step_reps()), WIDTH_IN, REP_TABLE_PT)
    assert len(tables) == 1
    header = " ".join(tables[0].header)
    for gone in ("Back/down", "Hold", "Neck", "Lockout", "Dowel", "Form break", "Wall"):
        assert gone not in header
    assert lines[0] == ("Not measured in this set: back/down ratio, bottom hold, neck extension, lockout, "
                        "dowel gap, form break, wall.")
    assert all(row[-1] == "knee dominant" and row[-2] == "\u2717 FAIL" for row in tables[0].rows)


def test_the_rendered_pdf_reads_back_whole_words(tmp_path, artifacts_dir):
    import pypdfium2

    sections = [TrialSection("T1: Dowel hinge", [], _rows(_hinge_reps()), []),
                TrialSection("T2: Step-up", [], _rows(_step_reps()), [])]
    out = tmp_path / "reps.pdf"
    write_pdf(ReportModel("S-PDF", "2025-01-01", "test", [], [], [], sections, [], []), out)
    pdf = pypdfium2.PdfDocument(out)
    pdf[0].render(scale=2.0).to_pil().save(artifacts_dir / "report_rep_tables_page1.png")
    words = set(" ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).split())
    for word in ("Lockout", "reached", "Result", "Faults", "FAIL", "flexion", "(mm)", "135", "dominant",
                 "seen", "1.4/1.1"):
        assert word in words, word
