"""The report's camera picture with the head masked (station.privacy.faces), and the words saying so.

Stills recorded by this station are stored masked already; the report masks again when it draws them, so a
trial recorded before masking existed, or with `--keep-faces`, never prints a face unless the report is
asked to keep it (`report --keep-faces`) AND the trial recorded the subject's consent (`faces_kept`).
The frame's own intrinsics are not in the file: a D4xx-nominal focal length gives the disc's size (a few
% larger than the sim's: the safe side), the trial's camera pose the silhouette fallback.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from station.config import StationConfig, config_from_dict
from station.documents import DocumentValue
from station.errors import StationError
from station.privacy.faces import FaceMasker, nominal_geometry, other_markers
from station.recording.stills import Still

MASKED_WORDS = "head masked for privacy"
KEPT_WORDS = "face kept: research consent recorded in the trial"


def face_consent(path: Path | None) -> tuple[bool, np.ndarray | None]:
    """(the trial recorded consent to keep faces, its T_plate_from_camera or None); (False, None) when the
    file cannot tell (no consent is ever assumed)."""
    if path is None:
        return False, None
    try:
        try:
            f = h5py.File(path, "r")
        except OSError:
            f = h5py.File(path, "r", swmr=True)  # being written, or killed while writing
        with f:
            kept = bool(f.attrs.get("faces_kept", False))
            cal = f["calibration"].attrs if "calibration" in f else {}
            T = np.asarray(cal["camera_T_plate_from_camera"], float) if "camera_T_plate_from_camera" in cal \
                else _config_T(f.attrs.get("station_config_json"))
    except (OSError, RuntimeError, KeyError, ValueError):
        return False, None
    return kept, T


def _config_T(text: DocumentValue) -> np.ndarray:
    """The recorded config's nominal camera pose (the station's defaults when it is not readable)."""
    try:
        data = json.loads(text) if isinstance(text, str) else {}
        data.pop("source_path", None)
        return config_from_dict(data, where="station_config_json").camera.T_plate_from_camera()
    except (ValueError, TypeError, AttributeError, StationError, RecursionError):
        return StationConfig().camera.T_plate_from_camera()


def still_ir_for_report(still: Still, path: Path | None, keep_faces: bool = False) -> tuple[np.ndarray, str]:
    """(the IR picture to draw, the words for its caption): masked unless consented and asked."""
    consented, T = face_consent(path)
    if keep_faces and consented:
        return still.ir, KEPT_WORDS
    h, w = still.ir.shape[:2]
    masker = FaceMasker(nominal_geometry(w, h, T))
    ir, _, _ = masker.apply(still.ir, still.depth, still.marker_pixels.get("head"),
                            other_markers(still.marker_pixels))
    return ir, MASKED_WORDS
