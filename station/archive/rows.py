"""Rows the archive stores, made from the station's own types (trial summaries, sessions, reps, gates).

Pure functions: no database here, so the indexer and re-analysis build rows the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from pathlib import Path

from station import __version__
from station.config import config_from_dict
from station.documents import DocumentValue
from station.errors import StationError
from station.results import RepResult

HASH_CHUNK_BYTES = 1 << 20
# analysis_version(): config sections that cannot change a rep's numbers or verdict
_NOT_ANALYSIS = ("source_path", "calibration_dir", "dashboard")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # orders rows made in one second


def new_uid() -> str:
    return uuid.uuid4().hex


def derived_uid(*parts: str) -> str:
    """A stable id for a thing without one of its own (a refused set, an older session file)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "hinge-station:" + "|".join(parts)).hex


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def config_hash(config_dict: dict) -> str:
    """8 hex digits over the settings that shape the analysis (canonical JSON; defaults filled in)."""
    data = {k: v for k, v in config_dict.items() if k not in _NOT_ANALYSIS}
    try:
        normal = config_from_dict(data, where="config").to_dict()
    except StationError:
        normal = data  # a config from a newer station: hash it as written
    for key in _NOT_ANALYSIS:
        normal.pop(key, None)
    text = json.dumps(normal, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def analysis_version(config_dict: dict, software_version: str = __version__) -> tuple[str, str]:
    """("0.1.0+3f2a9c01", "3f2a9c01"): the software and settings a set of verdicts came from."""
    h = config_hash(config_dict)
    return f"{software_version}+{h}", h


def config_dict_from_json(text: str) -> dict:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def local_date(iso_time: str | None) -> str:
    """YYYY-MM-DD of an ISO time in this station's time zone ('' when unknown)."""
    if not iso_time:
        return ""
    try:
        t = datetime.fromisoformat(iso_time)
    except ValueError:
        return iso_time[:10]
    return (t.astimezone() if t.tzinfo else t).date().isoformat()


def _number(value: DocumentValue) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


REP_COLUMNS = ("hip_back_mm", "hip_drop_mm", "hinge_ratio", "knee_flexion_deg", "trunk_inclination_deg",
               "foot_pos_bottom", "foot_pos_shift", "dowel_gap_mm")


def rep_row(analysis_uid: str, number: int, rep: RepResult) -> dict:
    """One reps row; `number` counts from 1 within the trial."""
    data = rep.to_json()
    row = {"analysis_uid": analysis_uid, "rep_index": number, "passed": rep.passed,
           "faults": ",".join(rep.faults), "rep_json": json.dumps(data, separators=(",", ":")),
           "t_start": _number(rep.t_start), "t_bottom": _number(rep.t_bottom), "t_end": _number(rep.t_end)}
    for key in REP_COLUMNS:
        row[key] = _number(data.get(key))
    return row


def rep_from_row(row: dict) -> RepResult:
    return RepResult.from_json(json.loads(row["rep_json"]))
