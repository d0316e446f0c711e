"""A trial for other tools: CSV files (csv_files), C3D with a force platform (c3d_file), and live Lab
Streaming Layer outlets (lsl).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "export_csv": "csv_files", "csv_paths": "csv_files", "export_c3d": "c3d_file", "LslOutlets": "lsl",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
