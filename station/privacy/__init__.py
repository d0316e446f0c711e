"""Health data kept safe: the identity list that alone maps subject codes to names (identities), moving
dates for de-identified exports and reports (dates), and the head masked in every stored or printed camera
picture (faces). Owner-only files are station.owner_files, a base module the devices and calibration
layers use too.

Part of the station base (any layer may use it); the audit log, which needs the archive, is
station.archive.audit.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "IdentityList": "identities", "Identity": "identities", "name_like": "identities",
    "shift_dates_in": "dates",
    "FaceMasker": "faces", "CameraGeometry": "faces", "nominal_geometry": "faces",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
