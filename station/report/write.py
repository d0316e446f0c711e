"""Write a report file: .html (self-contained) or .pdf, chosen by the output's suffix."""

from __future__ import annotations

from pathlib import Path

from station.config import StationConfig, load_config
from station.errors import StationError
from station.owner_files import prepare, write_text
from station.report.html import render_html
from station.report.model import ReportModel, build_report_model, load_for_report
from station.screening.session import Session


def render_to(model: ReportModel, out: Path) -> None:
    """Write the model as .html (self-contained) or .pdf, by the suffix of `out`."""
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise StationError(f"--out {out}: use a .html or .pdf name")
    prepare(out)  # owner-only (or the [privacy] group) before a byte of it is written
    if out.suffix.lower() == ".pdf":
        from station.report.pdf import write_pdf

        write_pdf(model, out)
    else:
        write_text(out, render_html(model))


def write_report(session_or_path: Session | str | Path, out: str | Path,
                 config: StationConfig | None = None, *, progress: bool = False,
                 db: str | None = None) -> Path:
    """Write `out` as .html (self-contained) or .pdf; returns the path written. progress=True adds the
    Progress section (earlier visits from the archive `db`, default as every command finds it)."""
    out = Path(out)
    config = config or load_config()
    session_path = None if isinstance(session_or_path, Session) else Path(session_or_path)
    session = (session_or_path if isinstance(session_or_path, Session)
               else load_for_report(session_path, config))
    model = build_report_model(session, session_path, config)
    if progress:
        from station.report.progress import progress_section

        model.progress = progress_section(session, db, config)
    render_to(model, out)
    return out
