"""The report model as one self-contained HTML page (pictures inlined as base64 PNG)."""

from __future__ import annotations

import base64
import html

from station.report.model import NOTE_MARK, REP_COLUMNS, ReportModel

_CSS = """body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#000}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #000;padding:2px 6px;font-size:90%}
th{background:#eee}.note{border:2px dashed #000;padding:4px 8px;margin:.4em 0;font-weight:bold}
.fail{font-weight:bold}img{max-width:100%;border:1px solid #ccc;margin:4px 0}
.feedback li{margin:.2em 0}h2{border-bottom:2px solid #000}"""


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    def cell(c: str) -> str:
        bold = "\u2717" in c or c in ("YES", "NOT STARTED")
        return f'<td class="fail">{e(c)}</td>' if bold else f"<td>{e(c)}</td>"

    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _note(text: str) -> str:
    return f'<p class="note">{NOTE_MARK}: {html.escape(text)}</p>'


def render_html(m: ReportModel) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Hip hinge report {e(m.subject_id)}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>Hip hinge report</h1><p><b>Subject:</b> <span id='subject'>{e(m.subject_id)}</span> "
             f"&nbsp; <b>Date:</b> <span id='date'>{e(m.date)}</span> &nbsp; "
             f"<b>Station:</b> {e(m.station_version)}</p>"]
    parts += [_note(n) for n in m.notes]
    parts.append("<h2>Screening</h2>")
    parts.append(_table(m.screening_header, m.screening_rows, "screening") if m.screening_rows
                 else "<p>No screening recorded.</p>")
    parts.append("<h2>Progression gate</h2><div id='gate'>" + "".join(f"<p>{e(line)}</p>" for line in
                                                                      m.gate_lines) + "</div>")
    parts.append(_table(["Drill", "Gate", "Why"], m.gate_rows, "gate"))
    if m.progress is not None:  # this visit beside the earlier ones (report.progress)
        parts.append("<h2>Progress</h2><div id='progress'>" + "".join(f"<p>{e(x)}</p>" for x in
                                                                      m.progress.lines) + "</div>")
        if m.progress.rows:
            parts.append(_table(m.progress.header, m.progress.rows, "progress"))
        for f in m.progress.figures:
            parts.append(f"<figure><img alt='{e(f.title)}' src='data:image/png;base64,"
                         f"{base64.b64encode(f.png).decode('ascii')}'><figcaption>{e(f.title)}</figcaption></figure>")
    for s in m.sections:
        facts = " &nbsp; ".join(f"<b>{e(k)}:</b> {e(v)}" for k, v in s.facts)
        parts.append(f"<h2>{e(s.title)}</h2><p>{facts}</p>")
        parts += [_note(n) for n in s.notes]
        if s.feedback:
            parts.append("<ul class='feedback'>" + "".join(f"<li>{e(f)}</li>" for f in s.feedback) + "</ul>")
        if s.rep_rows:
            parts.append(_table(list(REP_COLUMNS), s.rep_rows, "reps"))
            parts += [f"<p class='usable'>{e(line)}</p>" for line in s.rep_lines]
        for f in s.figures:
            data = base64.b64encode(f.png).decode("ascii")
            parts.append(f"<figure><img alt='{e(f.title)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{e(f.title)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
