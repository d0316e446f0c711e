"""The report model laid out on A4 pages with matplotlib's PDF backend (no extra dependency).

A tiny flow layout: a cursor moves down the page; text wraps, tables wrap cells (and repeat their header
on a new page), images keep their aspect and a block that does not fit starts a new page. The sets' rep
tables are laid out by station.report.pdf_reps.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from station.report.model import NOTE_MARK, ReportModel
from station.report.pdf_reps import rep_tables

PAGE_W_IN, PAGE_H_IN = 8.27, 11.69  # A4
MARGIN_IN = 0.6
CHAR_W_EM = 0.56  # average glyph width of DejaVu Sans in em, for wrapping estimates
CHAR_W_EM_BOLD = 0.64
REP_TABLE_PT = 8.0  # the rep tables' text: split in two (pdf_reps), they have room for more than 7.5 pt


def _wrap(text: str, width_in: float, size_pt: float, bold: bool = False) -> list[str]:
    """Lines of text wrapped to width_in; a "\n" in the text always starts a new line (units in headers)."""
    chars = max(4, int(width_in * 72 / (size_pt * (CHAR_W_EM_BOLD if bold else CHAR_W_EM))))
    return [line for part in text.split("\n")
            for line in (textwrap.wrap(part, chars, break_long_words=True) or [""])]


class _Pages:
    def __init__(self, pdf, footer: str) -> None:
        self.pdf, self.footer, self.fig, self.page = pdf, footer, None, 0
        self.width_in = PAGE_W_IN - 2 * MARGIN_IN
        self._new_page()

    def _new_page(self) -> None:
        from matplotlib.figure import Figure

        if self.fig is not None:
            self._finish_page()
        self.fig = Figure(figsize=(PAGE_W_IN, PAGE_H_IN))
        self.page += 1
        self.y_in = PAGE_H_IN - MARGIN_IN

    def _finish_page(self) -> None:
        self._put(MARGIN_IN, MARGIN_IN * 0.6, f"{self.footer}   page {self.page}", 7, color="0.3")
        self.pdf.savefig(self.fig)

    def close(self) -> None:
        self._finish_page()

    def _put(self, x_in: float, y_in: float, s: str, size: float, bold: bool = False, **kw) -> None:
        self.fig.text(x_in / PAGE_W_IN, y_in / PAGE_H_IN, s, fontsize=size, va="top",
                      fontweight="bold" if bold else "normal", parse_math=False, **kw)

    def ensure(self, height_in: float) -> None:
        if self.y_in - height_in < MARGIN_IN + 0.2:
            self._new_page()

    def space(self, h_in: float) -> None:
        self.y_in -= h_in

    def text(self, s: str, size: float = 9.5, bold: bool = False, indent_in: float = 0.0,
             boxed: bool = False) -> None:
        lines = _wrap(s, self.width_in - indent_in - (0.2 if boxed else 0), size, bold)
        line_h = size * 1.35 / 72
        self.ensure(line_h * len(lines) + 0.05)
        if boxed:
            from matplotlib.patches import Rectangle

            h = line_h * len(lines) + 0.08
            self.fig.add_artist(Rectangle((MARGIN_IN / PAGE_W_IN, (self.y_in - h) / PAGE_H_IN),
                                          self.width_in / PAGE_W_IN, h / PAGE_H_IN, fill=False,
                                          ls="--", lw=1.2, transform=self.fig.transFigure))
            self.y_in -= 0.04
            indent_in += 0.1
        for line in lines:
            self._put(MARGIN_IN + indent_in, self.y_in, line, size, bold)
            self.y_in -= line_h
        self.y_in -= 0.12 if boxed else 0.03

    def table(self, header: list[str], rows: list[list[str]], size: float = 7.5,
              widths: list[float] | None = None) -> None:
        if widths is None:  # proportional to content, long columns capped (they wrap)
            longest = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(len(header))]
            weights = [min(n, 40) + 2 for n in longest]
            widths = [w / sum(weights) * self.width_in for w in weights]
        line_h = size * 1.3 / 72

        def wrapped(row: list[str], bold: bool) -> tuple[list[list[str]], float]:
            cells = [_wrap(c, w - 0.08, size, bold=bold) for c, w in zip(row, widths, strict=True)]
            return cells, line_h * max(len(c) for c in cells) + 0.06

        head, head_h = wrapped(header, True)
        self.ensure(head_h + line_h * 2 + 0.06)  # the header never stands alone at a page's foot
        self._table_row(head, head_h, widths, size, line_h, header=True)
        for row in rows:
            cells, h = wrapped(row, False)
            if self.y_in - h < MARGIN_IN + 0.2:  # a new page repeats the header
                self._new_page()
                self._table_row(head, head_h, widths, size, line_h, header=True)
            self._table_row(cells, h, widths, size, line_h, header=False)
        self.y_in -= 0.08

    def _table_row(self, cells: list[list[str]], h: float, widths: list[float], size: float, line_h: float,
                   *, header: bool) -> None:
        from matplotlib.lines import Line2D

        x = MARGIN_IN
        for c, w in zip(cells, widths, strict=True):
            for k, line in enumerate(c):
                bold = header or "\u2717" in line or line in ("YES", "NOT STARTED")
                self._put(x + 0.04, self.y_in - 0.03 - k * line_h, line, size, bold)
            x += w
        y0, y1 = self.y_in / PAGE_H_IN, (self.y_in - h) / PAGE_H_IN
        x0, x1 = MARGIN_IN / PAGE_W_IN, (MARGIN_IN + sum(widths)) / PAGE_W_IN
        lw = 1.0 if header else 0.5
        self.fig.add_artist(Line2D([x0, x1], [y1, y1], lw=lw, color="black"))
        if header:
            self.fig.add_artist(Line2D([x0, x1], [y0, y0], lw=lw, color="black"))
        self.y_in -= h

    def image(self, png: bytes, width_in: float, caption: str) -> None:
        import matplotlib.image as mpimg

        img = mpimg.imread(io.BytesIO(png), format="png")
        h_in = width_in * img.shape[0] / img.shape[1]
        self.ensure(h_in + 0.25)
        ax = self.fig.add_axes((MARGIN_IN / PAGE_W_IN, (self.y_in - h_in) / PAGE_H_IN, width_in / PAGE_W_IN,
                                h_in / PAGE_H_IN))
        ax.imshow(img, interpolation="lanczos")
        ax.set_axis_off()
        self.y_in -= h_in + 0.02
        self._put(MARGIN_IN, self.y_in, caption, 7.5, color="0.2")
        self.y_in -= 0.2


def write_pdf(model: ReportModel, out: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    when = {"CreationDate": None} if model.deidentified else {}  # the day it was made may be the visit's
    with PdfPages(out, metadata={"Title": f"Hip hinge report {model.subject_id}",
                                 "Creator": f"hinge-station {model.station_version}", **when}) as pdf:
        p = _Pages(pdf, f"Hip hinge report: {model.subject_id}, {model.date}")
        p.text("Hip hinge report", 18, bold=True)
        p.space(0.05)
        p.text(f"Subject: {model.subject_id}     Date: {model.date}     Station: {model.station_version}", 10)
        for note in model.notes:
            p.text(f"{NOTE_MARK}: {note}", 9, bold=True, boxed=True)
        p.space(0.1)
        p.text("Screening", 13, bold=True)
        if model.screening_rows:
            p.table(model.screening_header, model.screening_rows)
        else:
            p.text("No screening recorded.")
        p.text("Progression gate", 13, bold=True)
        for line in model.gate_lines:
            p.text(line, 9.5, bold=line.startswith("Gate"))
        p.table(["Drill", "Gate", "Why"], model.gate_rows,
                widths=[1.1, 0.9, p.width_in - 2.0])
        if model.progress is not None:  # this visit beside the earlier ones (report.progress)
            p.space(0.1)
            p.text("Progress", 13, bold=True)
            for line in model.progress.lines:
                p.text(line, 9)
            if model.progress.rows:
                p.table(model.progress.header, model.progress.rows, size=7,
                        widths=[w * p.width_in for w in model.progress.widths] or None)
            for f in model.progress.figures:
                p.image(f.png, p.width_in, f.title)
        for s in model.sections:
            p.ensure(1.5)
            p.space(0.1)
            p.text(s.title, 12, bold=True)
            p.text("   ".join(f"{k}: {v}" for k, v in s.facts), 8.5)
            for note in s.notes:
                p.text(f"{NOTE_MARK}: {note}", 8.5, bold=True, boxed=True)
            for line in s.feedback:
                p.text(f"\u2022 {line}", 9.5, indent_in=0.1)
            if s.rep_rows:
                tables, key = rep_tables(s.rep_rows, p.width_in, REP_TABLE_PT)
                for t in tables:
                    p.ensure(0.9)  # the title with the header and a row or two
                    p.text(t.title, 8.5, bold=True)
                    p.table(t.header, t.rows, size=REP_TABLE_PT, widths=t.widths_in)
                for line in key:  # what was not measured, and what the columns mean
                    p.text(line, 7.5)
                for line in s.rep_lines:  # usable range; the swing's and the step's values (as in the HTML)
                    p.text(line, 8.5)
            for f in s.figures:
                width = (4.6 if "camera still" in f.title else 3.4) if f.title.startswith("Deepest rep") \
                    else (6.2 if f.title.startswith("Foot") else 5.0)
                p.image(f.png, width, f.title)
        p.close()
