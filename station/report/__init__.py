"""The clinician's report: one content model (model) with its figures (figures), rendered to
self-contained HTML (html) or PDF (pdf); write picks by the output's suffix.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "ReportModel": "model", "build_report_model": "model", "load_for_report": "model",
    "render_to": "write", "write_report": "write", "render_html": "html", "write_pdf": "pdf",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
