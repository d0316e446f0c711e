"""The clinician's report's Progress section: this visit beside the subject's earlier visits from the archive
(`report SESSION --db URL`). Truth: the archive of test_history_report (four known visits of S07, indexed
by the archive's own Indexer); the visit reported is the third (2026-03-16), so two visits are earlier and
the fourth, later one is never shown. An archive that cannot be read, or holds nothing earlier, is one
line in the section and the report is still written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from station.config import StationConfig
from station.screening.session import load_session
from tests.conftest import run_cli
from tests.report.test_history_report import build_archive, write_visit
from tests.support.report_html import parse_report


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[str, list[Path], Path]:
    folder = tmp_path_factory.mktemp("progress")
    url, paths = build_archive(folder)
    return url, paths, folder


def _report(source: Path, out: Path, *args: str, root: Path, pdf: bool = False):
    env = dict(os.environ, HINGE_DATA_ROOT=str(root))  # where an audit entry lands without an archive
    r = run_cli("report", str(source), "--out", str(out), *(["--pdf"] if pdf else []), *args, env=env)
    assert r.returncode == 0, r.stderr
    return r


def _progress_page(pdf_path: Path, png: Path) -> str:
    """Render the PDF page that holds the Progress heading to `png`; its text, whitespace normalised."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(pdf_path)
    for i in range(len(pdf)):
        text = " ".join(pdf[i].get_textpage().get_text_range().split())
        if "Progress" in text:
            page = pdf[i].render(scale=2.0).to_pil()
            page.save(png)
            assert page.convert("L").getextrema()[0] < 50  # real dark ink
            return text
    raise AssertionError(f"{pdf_path}: no page with the Progress section")


def test_progress_puts_this_visit_beside_the_earlier_ones(built, artifacts_dir):
    url, paths, folder = built
    out = artifacts_dir / "progress_S07.html"
    r = _report(paths[2], out, "--db", url, root=folder, pdf=True)
    assert "progress: 2 earlier visits in the archive" in r.stdout
    report = parse_report(out)
    assert "Progress" in report.headings
    words = report.ids["progress"]
    assert "2 earlier visits in the archive" in words and "2026-03-02 to 2026-03-09" in words
    assert "this visit (2026-03-16) is the last row" in words
    # the same drill on the visit before, in numbers: bw set 9/10 -> 20/20 clean, hips 160 -> 187 mm back
    assert "Bodyweight RDL: clean reps 90% \u2192 100%, hip back 160 \u2192 187 mm, foot pos 0.50 \u2192 " \
           "0.46 (previous: 2026-03-09)." in words
    assert "Stage reached in the archive: weighted RDL unlocked on 2026-03-16" in words
    header, *rows = report.tables["progress"]
    assert header[0] == "Date" and header[4] == "Clean / reps"
    assert [(r[0], r[1], r[4], r[9]) for r in rows] == [
        ("2026-03-02", "T1", "6/8 (75%)", "dowel hinge: not yet"),
        ("2026-03-09", "T1", "8/8 (100%)", "bodyweight RDL: not yet"),
        ("", "T2", "9/10 (90%)", ""),
        ("2026-03-16 (this visit)", "T1", "10/10 (100%)", "bodyweight RDL: \u2713 passed"),
        ("", "T2", "10/10 (100%)", "")]
    assert "2026-03-23" not in report.text  # a later visit is not "earlier"
    assert "S99" not in report.text
    assert sum(1 for a in report.images if a.startswith("data:image/png;base64,")) == len(report.images)
    assert "Progress: trends over the visits (dotted line = this visit)" in out.read_text()
    text = _progress_page(out.with_suffix(".pdf"), artifacts_dir / "progress_S07_page.png")
    for words in ("Progress", "2 earlier visits", "2026-03-16 (this visit)", "6/8 (75%)",
                  "Bodyweight RDL: clean reps 90% \u2192 100%"):
        assert words in text, words


def test_no_earlier_visit_and_unknown_subject_are_one_line(built, tmp_path):
    url, paths, folder = built
    out = tmp_path / "first.html"
    _report(paths[0], out, "--db", url, root=folder)
    report = parse_report(out)
    assert report.ids["progress"].startswith("No earlier visits of S07 in the archive")
    assert report.ids["progress"].endswith("this is the first.")
    assert "progress" not in report.tables
    new = write_visit(tmp_path, "S50", "2026-04-01", [("dowel_hinge", None, None, 8, set(), 150.0, 0.5,
                                                        None)])
    _report(new, out, "--db", url, root=tmp_path)
    words = parse_report(out).ids["progress"]
    assert words.startswith("No earlier visits: subject S50 is not in the archive")


@pytest.mark.parametrize("db", ["missing-folder", "refused"])
def test_an_unreachable_archive_costs_one_line_never_the_report(db, built, tmp_path):
    _, paths, _ = built
    if db == "missing-folder":
        url = f"sqlite:///{tmp_path / 'nowhere' / 'archive.sqlite'}"
    else:
        url = "postgresql://nobody@127.0.0.1:9/none"  # nothing listens on the discard port
    out = tmp_path / "r.pdf"
    r = _report(paths[2], out, "--db", url, root=tmp_path)
    assert out.stat().st_size > 0
    line = next(x for x in r.stdout.splitlines() if x.startswith("progress:"))
    assert line.startswith("progress: Earlier visits not shown: ")
    html = tmp_path / "r.html"
    _report(paths[2], html, "--db", url, root=tmp_path)
    report = parse_report(html)
    assert report.ids["progress"] == line.removeprefix("progress: ") and "\n" not in report.ids["progress"]
    assert not (tmp_path / "nowhere").exists()  # looking did not create an archive


def test_a_deidentified_progress_shows_no_real_date(built):
    from station.report.progress import progress_section

    url, paths, _ = built
    session = load_session(paths[2])
    shown = progress_section(session, url, StationConfig(), deidentify_days=-100)
    words = " ".join(shown.lines + [c for row in shown.rows for c in row])
    assert "2026-03" not in words and url not in words
    assert "2025-11-22 to 2025-11-29" in words and "2025-12-06 (this visit)" in words  # 100 days earlier
    assert len(shown.figures) == 1


def test_write_report_adds_progress_only_when_asked(built, tmp_path):
    from station.report import write_report

    url, paths, _ = built
    plain = parse_report(write_report(paths[1], tmp_path / "plain.html"))
    assert "Progress" not in plain.headings and "progress" not in plain.ids
    with_progress = parse_report(write_report(paths[1], tmp_path / "p.html", progress=True, db=url))
    assert with_progress.ids["progress"].startswith("1 earlier visit in the archive")
    dates = [r[0] for r in with_progress.tables["progress"][1:]]
    assert dates == ["2026-03-02", "2026-03-09 (this visit)", ""]
