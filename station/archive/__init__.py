"""The subject archive: an index database of subjects, sessions, trials (files by relative path and
sha256), reps with metrics and faults, gate decisions and calibrations; raw data stays in the trial files.

SQLite by default (a file in the data root), PostgreSQL for a lab (`--db`, `$HINGE_ARCHIVE_URL`,
`[archive] url`). location: which URL, data root and station; store: open, migrate, one-line errors;
schema + migrations/: the tables; index: scan folders and index new files; queries: subjects, history,
stage reached; reanalysis: the core again over archived trials (process pool or Dask); audit: the
append-only audit log; identity_list: where the identity list (code -> name) lives, and refusing names.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "Archive": "store", "open_archive": "store", "ScanResult": "index", "Indexer": "index",
    "scan_folder": "index", "subjects": "queries", "history": "queries", "stage_reached": "queries",
    "StageInfo": "queries", "archive_url": "location", "data_root": "location",
    "open_station_archive": "station_archive", "index_new_file": "station_archive",
    "indexer_for": "station_archive", "check_subject": "identity_list",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
