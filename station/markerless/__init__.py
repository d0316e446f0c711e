"""Markerless landmarks from depth alone (`--markers depth`, `[camera] markers = "depth"`): hip, knee,
ankle, shoulder and head estimated from the subject's side silhouette over the plate (silhouette), a planar
chain fitted to it (limbs for the legs, told apart from hands hanging over them by the lateral plane of what
is seen, with the legs' thickness from limb_profile; chain for the trunk and head) with body proportions from
the standing pose (body), handed on in the IR marker path's shape (tracker.DepthMarkerTracker). Every number
from it is an estimate and says so (SOURCE_LABEL, EXPECTED_ERROR).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "DepthMarkerTracker": "tracker", "DepthTrack": "tracker", "SOURCE_LABEL": "tracker",
    "EXPECTED_ERROR": "tracker", "SilhouetteMaker": "silhouette", "Proportions": "body",
    "method_label": "labels", "expected_error_text": "labels", "uses_depth": "labels",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
