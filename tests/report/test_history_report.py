"""The history report (`hinge-station history SUBJECT --out history.html|.pdf`): every visit of one subject
from the archive, with trend plots. Truth: session files written here with known reps on known dates and
put in a real SQLite archive by the archive's own Indexer, so every visit's clean reps and gate are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station.archive.index import Indexer
from station.archive.queries import history
from station.archive.store import open_archive
from station.config import GateConfig, StationConfig
from station.results import AnalysisResult
from station.screening.gate import evaluate_gate
from station.screening.questions import parse_answers
from station.screening.session import Session, SessionTrial, save_session
from tests.conftest import run_cli
from tests.support.archive_files import rep
from tests.support.report_html import parse_report

SUBJECT = "S07"
# (date, [(drill, arms, load_kg, n reps, faulty rep indexes, hip back mm, foot pos, dowel gap mm)], pain rep)
VISITS = [
    ("2026-03-02", [("dowel_hinge", None, None, 8, {2, 5}, 120.0, 0.63, 31.0)], None),
    ("2026-03-09", [("dowel_hinge", None, None, 8, set(), 150.0, 0.55, 14.0),
                    ("bw_rdl", "hands_low_back", None, 10, {7}, 160.0, 0.50, None)], None),
    ("2026-03-16", [("bw_rdl", "arms_crossed", None, 10, set(), 185.0, 0.46, None),
                    ("bw_rdl", "arms_crossed", None, 10, set(), 190.0, 0.45, None)], None),
    ("2026-03-23", [("weighted_rdl", None, 20.0, 6, {5}, 200.0, 0.44, None)], 6),
]
# what the report must show per set: (date cell, set, clean/reps cell, gate cell)
EXPECTED_ROWS = [
    ("2026-03-02", "T1", "6/8 (75%)", "dowel hinge: not yet"),
    ("2026-03-09", "T1", "8/8 (100%)", "bodyweight RDL: not yet"),
    ("", "T2", "9/10 (90%)", ""),
    ("2026-03-16", "T1", "10/10 (100%)", "bodyweight RDL: \u2713 passed"),
    ("", "T2", "10/10 (100%)", ""),
    ("2026-03-23", "T1", "5/6 (83%), stopped", "weighted RDL: not yet"),
]


def _reps(n: int, bad: set[int], hip: float, foot: float, gap: float | None) -> list:
    out = []
    for i in range(n):
        faults = ("back_rounding",) if i in bad else ()
        r = rep(i, hip_back_mm=hip + (i % 3) - 1, faults=faults, foot_pos=foot)
        r.dowel_gap_mm = gap
        out.append(r)
    return out


def write_visit(folder: Path, subject: str, day: str, sets: list, pain_at_rep: int | None = None) -> Path:
    """A session file as `screen` writes it (sets, analyses, the gate judged by the station's rules)."""
    session = Session(subject, date=day)
    for drill, arms, load, n, bad, hip, foot, gap in sets:
        session.trials.append(SessionTrial(
            session.next_trial_id(), drill, parse_answers("no,no,no,no"), arms=arms,
            implement="dumbbell" if load else None, load_kg=load,
            started_at=f"{day}T10:{len(session.trials):02d}:00", source="sim:hinge",
            analysis=AnalysisResult("sim:hinge", _reps(n, bad, hip, foot, gap))))
    if pain_at_rep is not None:
        last = session.trials[-1]
        last.status, last.stop_reason, last.pain_at_rep = "stopped", "pain", pain_at_rep
    session.gate = evaluate_gate(session, GateConfig()).to_json()
    path = folder / f"{subject}_{day}.session.json"
    save_session(session, path)
    return path


def build_archive(folder: Path, visits: list = VISITS, subject: str = SUBJECT) -> tuple[str, list[Path]]:
    """A SQLite archive holding `visits` of `subject` (and one visit of another subject, never shown)."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'archive.sqlite'}"
    paths = [write_visit(folder, subject, day, sets, pain) for day, sets, pain in visits]
    other = write_visit(folder, "S99", "2026-03-04", [("dowel_hinge", None, None, 8, set(), 1.0, 0.9, None)])
    archive = open_archive(url)
    try:
        indexer = Indexer(archive, folder, "test-station")
        for path in paths + [other]:
            assert indexer.index_session_file(path) == "added"
    finally:
        archive.dispose()
    return url, paths


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory) -> str:
    return build_archive(tmp_path_factory.mktemp("history"))[0]


def _history(url: str, out: Path):
    r = run_cli("history", SUBJECT, "--db", url, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"history: {out}" in r.stdout
    return r


def test_history_html_shows_every_visit_and_set_with_its_clean_reps_and_gate(archive_url, artifacts_dir):
    out = artifacts_dir / "history_S07.html"
    _history(archive_url, out)
    report = parse_report(out)
    assert report.ids["subject"] == SUBJECT and "S99" not in report.text
    assert report.ids["visits"] == "4 visits, 6 sets, 2026-03-02 to 2026-03-23."
    # stage reached: bw passed on 03-16 unlocks weighted; the pain-stopped visit after it unlocks nothing
    assert report.ids["stage"].startswith("Stage reached: weighted RDL unlocked on 2026-03-16 (T1 reps 1-10")
    header, *rows = report.tables["history"]
    assert header == ["Date", "Set", "Drill", "Arms / load", "Clean / reps", "Hip back mm", "Foot pos",
                      "Dowel gap mm", "Faults", "Gate"]
    assert [(r[0], r[1], r[4], r[9]) for r in rows] == EXPECTED_ROWS
    first, second, third = rows[0], rows[1], rows[2]
    assert first[2] == "dowel hinge" and first[3] == "\u2013" and first[8] == "back rounding \u00d72"
    assert first[5] == "120" and first[6] == "0.63" and first[7] == "31"  # means over the set's reps
    assert second[7] == "14" and third[2] == "bodyweight RDL" and third[3] == "hands low back"
    assert third[7] == "\u2013"  # no dowel measured on that set
    assert rows[-1][2] == "weighted RDL" and rows[-1][3] == "dumbbell 20 kg"
    # self-contained: the one trend picture inlined, nothing fetched from anywhere
    assert len(report.images) == 1 and report.images[0].startswith("data:image/png;base64,")
    text = out.read_text()
    assert "<link" not in text and "<script" not in text and "url(" not in text


def test_history_pdf_first_page_reads_at_a_glance(archive_url, artifacts_dir):
    import pypdfium2

    out = artifacts_dir / "history_S07.pdf"
    _history(archive_url, out)
    pdf = pypdfium2.PdfDocument(out)
    page = pdf[0].render(scale=2.0).to_pil()
    page.save(artifacts_dir / "history_S07_page1.png")
    text = " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))
    for words in ("Hip hinge history", "Subject: S07", "4 visits, 6 sets, 2026-03-02 to 2026-03-23",
                  "weighted RDL unlocked on 2026-03-16", "2026-03-09", "6/8 (75%)", "9/10 (90%)",
                  "5/6 (83%), stopped", "bodyweight RDL: \u2713 passed", "dumbbell 20 kg"):
        assert words in text, words
    assert "S99" not in text
    assert page.size[0] > 1100 and page.convert("L").getextrema()[0] < 50  # real dark ink on the page


def test_history_json_still_prints_and_unknown_format_is_refused(archive_url, tmp_path):
    r = run_cli("history", SUBJECT, "--db", archive_url, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [v["date"] for v in doc["sessions"]] == [v[0] for v in VISITS]
    r = run_cli("history", SUBJECT, "--db", archive_url, "--out", str(tmp_path / "h.docx"))
    assert r.returncode == 2 and ".html or .pdf" in r.stderr


def test_a_hundred_visits_render_every_visit(tmp_path, artifacts_dir):
    """100 weekly visits (170 sets): every visit and set is in the HTML table and the PDF (how long that
    takes is measured by bench/archive.py, not asserted here)."""
    from station.report.history import render_history_html, write_history

    visits = []
    for k in range(100):
        day = f"{2024 + k // 48}-{1 + (k % 48) // 4:02d}-{1 + 7 * (k % 4):02d}"
        if k < 30:
            bad = set(range(0, 8, 2 + k % 5))
            sets = [("dowel_hinge", None, None, 8, bad, 110 + k, 0.62 - k / 200, 30 - k / 2)]
        else:
            sets = [("dowel_hinge", None, None, 8, set(), 150.0, 0.5, 12.0),
                    ("bw_rdl", "arms_crossed", None, 10, {k % 10} if k < 70 else set(), 160 + k / 3, 0.47,
                     None)]
        visits.append((day, sets, None))
    url, _ = build_archive(tmp_path, visits, "S100")
    archive = open_archive(url, write=False)
    try:
        doc = history(archive, "S100")
    finally:
        archive.dispose()
    assert len(doc["sessions"]) == 100
    config = StationConfig()
    html_text = render_history_html(doc, config)
    pdf = write_history(doc, artifacts_dir / "history_100_visits.pdf", config)
    assert html_text.count("<tr>") == 1 + 30 + 2 * 70

    import pypdfium2

    pdf_doc = pypdfium2.PdfDocument(pdf)
    pdf_doc[0].render(scale=2.0).to_pil().save(artifacts_dir / "history_100_visits_page1.png")
    assert len(pdf_doc) >= 4


def test_trend_steps_follow_the_gate_and_skip_what_has_no_reps():
    from datetime import date

    from station.report.history import per_drill, stage_steps

    visits = [{"date": "2026-01-05", "gate": {"current_stage": "dowel_hinge", "passed": False}, "trials": [
                  {"drill": "dowel_hinge", "reps": 8, "clean_reps": 4, "hip_back_mm_mean": 100.0,
                   "foot_pos_bottom_mean": 0.6, "dowel_gap_mm_mean": None}]},
              {"date": "2026-01-12", "gate": None, "trials": [
                  {"drill": "dowel_hinge", "status": "refused", "reps": 0, "clean_reps": 0}]},
              {"date": "2026-01-19", "gate": {"current_stage": "dowel_hinge", "passed": True}, "trials": [
                  {"drill": "dowel_hinge", "reps": 8, "clean_reps": 8, "hip_back_mm_mean": 150.0,
                   "foot_pos_bottom_mean": 0.5, "dowel_gap_mm_mean": 10.0},
                  {"drill": "dowel_hinge", "reps": 2, "clean_reps": 0, "hip_back_mm_mean": 100.0,
                   "foot_pos_bottom_mean": 0.5, "dowel_gap_mm_mean": None}]},
              {"date": "", "gate": None, "trials": []}]
    series = per_drill(visits)
    assert list(series) == ["dowel_hinge"]
    (d1, clean1, hip1, _, gap1), (d3, clean3, hip3, _, gap3) = series["dowel_hinge"]  # refused: no point
    assert (d1, clean1, hip1, gap1) == (date(2026, 1, 5), 50.0, 100.0, None)
    assert (d3, clean3, hip3, gap3) == (date(2026, 1, 19), 80.0, 140.0, 10.0)  # two sets pooled by reps
    days, reached, judged = stage_steps(visits)
    assert reached == [0, 0, 1] and judged == [(date(2026, 1, 5), 0, False), (date(2026, 1, 19), 0, True)]
    assert len(days) == 3
