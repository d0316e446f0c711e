"""Dated, versioned calibration files (JSON), validated field by field on load.

Every file has the same envelope::

    {"kind": "plate", "version": 1, "created": "2025-01-31T10:12:03+00:00",
     "device_id": "plate fw=1.0 ...", "software_version": "0.1.0",
     "result": {...}, "residuals": {...}}

`kind` says what it calibrates (plate, camera, feet), `version` is the file layout version for that
kind, `created` is the wall clock when it was made (the only wall-clock time a calibration carries),
`device_id` names what it belongs to (plate id from its `# plate ...` info line or its port, camera
serial, subject id). Default place: ``config.calibration_dir/<kind>-<device>-<YYYYmmdd-HHMMSS>.json``.

A file older than ``max_age_days`` still loads, with a `StaleCalibrationWarning` that says its age:
a stale calibration is a reason to recalibrate, not to stop a session.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path

from station import __version__
from station.documents import read_document
from station.errors import StationError
from station.owner_files import write_atomic

# layout version per kind: bump when a kind's `result` changes incompatibly
VERSIONS: dict[str, int] = {"plate": 1, "camera": 1, "feet": 1}
DEFAULT_MAX_AGE_DAYS: dict[str, float] = {"plate": 30.0, "camera": 7.0, "feet": 365.0}
ENVELOPE_FIELDS = ("kind", "version", "created", "device_id", "software_version", "result", "residuals")


class StaleCalibrationWarning(UserWarning):
    """A calibration file is older than the age the station trusts for its kind."""


def safe_name(text: str) -> str:
    """A device id or subject id turned into something safe inside a file name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned[:60] or "device"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone()


def save_calibration(kind: str, result: dict, *, device_id: str, residuals: dict | None = None,
                     out: str | Path | None = None, config=None,
                     created: dt.datetime | None = None) -> Path:
    """Write a calibration file; returns its path. `out` overrides the default folder and name."""
    if kind not in VERSIONS:
        raise StationError(f"calibration kind {kind!r} unknown (known: {', '.join(VERSIONS)})")
    created = created or _now()
    doc = {
        "kind": kind,
        "version": VERSIONS[kind],
        "created": created.isoformat(timespec="seconds"),
        "device_id": str(device_id),
        "software_version": __version__,
        "result": result,
        "residuals": residuals or {},
    }
    _validate_result(kind, doc["result"], "<new>")  # never write what load would refuse
    if out is None:
        folder = Path(config.calibration_dir if config is not None else "calibration-data")
        out = folder / f"{kind}-{safe_name(str(device_id))}-{created.strftime('%Y%m%d-%H%M%S')}.json"
    path = Path(out)
    # owner-only (station.privacy); a crash mid-write never leaves a half file under the real name
    write_atomic(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return path


def load_calibration(path: str | Path, kind: str, *, max_age_days: float | None = None,
                     now: dt.datetime | None = None) -> dict:
    """Read and validate a calibration file; any problem is one StationError naming file and field."""
    p = Path(path)
    doc = read_document(p, "calibration file", invalid="not a calibration file (invalid JSON: {error})")
    if not isinstance(doc, dict):
        raise StationError(f"{p}: not a calibration file (top level is not an object)")
    for name in ENVELOPE_FIELDS:
        if name not in doc:
            raise StationError(f"{p}: field '{name}' missing")
    if doc["kind"] != kind:
        raise StationError(f"{p}: field 'kind' is {doc['kind']!r}, expected {kind!r}")
    if doc["version"] != VERSIONS.get(kind):
        raise StationError(f"{p}: field 'version' {doc['version']!r} unknown for {kind} "
                           f"(this software reads version {VERSIONS[kind]})")
    try:
        created = dt.datetime.fromisoformat(str(doc["created"]))
        if created.tzinfo is None:
            created = created.astimezone()  # a naive stamp is taken as local time ("0001-01-01": ValueError)
    except ValueError:
        raise StationError(f"{p}: field 'created' is not an ISO date: {doc['created']!r}") from None
    if not isinstance(doc["device_id"], str) or not doc["device_id"]:
        raise StationError(f"{p}: field 'device_id' must be a non-empty string")
    for name in ("result", "residuals"):
        if not isinstance(doc[name], dict):
            raise StationError(f"{p}: field '{name}' must be an object")
    _validate_result(kind, doc["result"], str(p))
    limit = DEFAULT_MAX_AGE_DAYS[kind] if max_age_days is None else max_age_days
    age_days = ((now or _now()) - created).total_seconds() / 86400.0
    if age_days > limit:
        warnings.warn(f"{p}: {kind} calibration is {age_days:.0f} days old (older than {limit:g} days): "
                      "recalibrate", StaleCalibrationWarning, stacklevel=2)
    doc["stale"] = age_days > limit
    doc["path"] = str(p)
    return doc


def latest_calibration(kind: str, device_id: str, config) -> Path | None:
    """Newest file of `kind` for `device_id` in config.calibration_dir (by its `created` field)."""
    folder = Path(config.calibration_dir)
    best: tuple[dt.datetime, Path] | None = None
    for p in folder.glob(f"{kind}-{safe_name(device_id)}-*.json"):
        try:
            doc = json.loads(p.read_text())
            created = dt.datetime.fromisoformat(doc["created"])
            if created.tzinfo is None:
                created = created.astimezone()
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a broken file is reported when someone loads it by name, not here
        mine = doc.get("kind") == kind and doc.get("device_id") == device_id
        if mine and (best is None or created > best[0]):
            best = (created, p)
    return best[1] if best else None


# --- per-kind checks of `result` ----------------------------------------------------------------

def _number_list(result: dict, name: str, n: int, where: str, *, nonzero: bool = False) -> None:
    value = result.get(name)
    if value is None:
        raise StationError(f"{where}: field 'result.{name}' missing")
    if (not isinstance(value, list) or len(value) != n
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       for v in value)):
        raise StationError(f"{where}: field 'result.{name}' must be {n} finite numbers")
    if nonzero and any(v == 0 for v in value):
        raise StationError(f"{where}: field 'result.{name}' has a zero entry")


def _check_plate(result: dict, where: str) -> None:
    _number_list(result, "offsets_counts", 4, where)
    _number_list(result, "gains_n_per_count", 4, where, nonzero=True)


def _check_camera(result: dict, where: str) -> None:
    T = result.get("T_plate_from_camera")
    if T is None:
        raise StationError(f"{where}: field 'result.T_plate_from_camera' missing")
    rows_ok = isinstance(T, list) and len(T) == 4 and all(
        isinstance(r, list) and len(r) == 4 and all(isinstance(v, (int, float)) for v in r) for r in T)
    if not rows_ok:
        raise StationError(f"{where}: field 'result.T_plate_from_camera' must be a 4x4 list of numbers")
    import numpy as np

    M = np.asarray(T, dtype=float)
    R = M[:3, :3]
    if (not np.all(np.isfinite(M)) or not np.allclose(R @ R.T, np.eye(3), atol=1e-4)
            or not np.isclose(np.linalg.det(R), 1.0, atol=1e-4) or not np.allclose(M[3], [0, 0, 0, 1])):
        raise StationError(f"{where}: field 'result.T_plate_from_camera' is not a rigid transform")


def _check_feet(result: dict, where: str) -> None:
    for name in ("heel_x_m", "foot_length_m"):
        v = result.get(name)
        if v is None:
            raise StationError(f"{where}: field 'result.{name}' missing")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise StationError(f"{where}: field 'result.{name}' must be a number")
    if not 0.05 < result["foot_length_m"] < 0.5:
        raise StationError(f"{where}: field 'result.foot_length_m' {result['foot_length_m']} m is not a foot")


_CHECKS: dict[str, Callable[[dict, str], None]] = {
    "plate": _check_plate, "camera": _check_camera, "feet": _check_feet,
}


def _validate_result(kind: str, result: dict, where: str) -> None:
    if not isinstance(result, dict):
        raise StationError(f"{where}: field 'result' must be an object")
    _CHECKS[kind](result, where)
