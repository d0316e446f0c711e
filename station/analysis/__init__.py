"""Recorded data through the same core: `analyze` over any input (station .h5, RealSense .db3, other labs'
.c3d; loaders by suffix in inputs), `replay` of a trial's raw streams, the report's small series.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "analyze_path": "analyze", "analyze_blocks": "analyze", "LoadOptions": "inputs",
    "register_input": "inputs", "replay_trial": "replay", "TrialSeries": "series",
    "series_from_blocks": "series",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
