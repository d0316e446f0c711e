"""Retroreflective markers from the depth camera: detection in IR + depth (detect), naming and tracking
frame to frame with short gaps bridged (tracking), handed on as the core's MarkerBlock in the plate frame;
other labs' marker labels -> station names and their lab frame -> the plate frame (labels: C3D import and
live mocap share it).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "Detections": "detect", "detect_markers": "detect", "to_plate": "detect", "MarkerTracker": "tracking",
    "track_frames": "tracking", "bridge_gaps": "tracking", "map_markers": "labels", "parse_mapping": "labels",
    "plate_frame": "labels",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
