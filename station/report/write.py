"""Write a report file: .html (self-contained) or .pdf, chosen by the output's suffix."""

from __future__ import annotations

from pathlib import Path

from station.config import StationConfig, load_config
from station.errors import StationError
from station.report.html import render_html
from station.report.model import ReportModel, build_report_model, load_for_report
from station.screening.session import Session


def render_to(model: ReportModel, out: Path) -> None:
    """Write the model as .html (self-contained) or .pdf, by the suffix of `out`."""
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise StationError(f"--out {out}: use a .html or .pdf name")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".pdf":
        from station.report.pdf import write_pdf

        write_pdf(model, out)
    else:
        out.write_text(render_html(model))


def write_report(session_or_path: Session | str | Path, out: str | Path,
                 config: StationConfig | None = None) -> Path:
    """Write `out` as .html (self-contained) or .pdf; returns the path written."""
    out = Path(out)
    config = config or load_config()
    session_path = None if isinstance(session_or_path, Session) else Path(session_or_path)
    session = (session_or_path if isinstance(session_or_path, Session)
               else load_for_report(session_path, config))
    render_to(build_report_model(session, session_path, config), out)
    return out
