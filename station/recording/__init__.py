"""The trial file (HDF5, docs/trial-format.md): its layout (format), the writer (writer, with rows and
the optional depth + IR frames in frames), one camera still per rep (stills) and the reader (reader).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "TrialWriter": "writer", "RecordedTrial": "reader", "read_trial": "reader",
    "check_trial_file": "reader", "read_trial_stills": "reader",
    "TrialSummary": "reader", "read_trial_summary": "reader", "Still": "stills",
    "SCHEMA_VERSION": "format", "FORMAT_NAME": "format",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
