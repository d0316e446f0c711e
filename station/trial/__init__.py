"""A live trial: the runner, its per-chunk steps, and the documents it hands to its consumers.

TrialRunner (runner) is the one live path: sources -> one clock, one frame (steps) -> the core ->
documents (documents) for each consumer in its list: the trial file and LSL (consumers), the live view
the dashboard peeks at (live). The camera-to-plate sync check runs at its end (sync_check); what
reached the station and what it processed is counted in delivery (`--stats`).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "TrialRunner": "runner", "TrialConsumer": "documents", "StopTrial": "documents",
    "TrialStart": "documents", "PlateData": "documents", "FrameData": "documents", "MarkerData": "documents",
    "MocapStep": "mocap",
    "TrialEvent": "documents", "TrialEnd": "documents", "TrialFileConsumer": "consumers",
    "LslConsumer": "consumers", "RepCallback": "consumers", "LiveView": "live", "LiveSnapshot": "live",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
