"""The clinician's report: one content model (model) with its figures (figures), rendered to
self-contained HTML (html) or PDF (pdf); write picks by the output's suffix. history: one subject's
visits from the archive with trend plots; progress: the report's Progress section (this visit beside
earlier ones).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "ReportModel": "model", "build_report_model": "model", "load_for_report": "model",
    "render_to": "write", "write_report": "write", "render_html": "html", "write_pdf": "pdf",
    "write_history": "history", "progress_section": "progress",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
