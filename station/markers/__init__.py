"""Retroreflective markers from the depth camera: detection in IR + depth (detect), naming and tracking
frame to frame with short gaps bridged (tracking), handed on as the core's MarkerBlock in the plate frame.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "Detections": "detect", "detect_markers": "detect", "to_plate": "detect", "MarkerTracker": "tracking",
    "track_frames": "tracking", "bridge_gaps": "tracking",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
