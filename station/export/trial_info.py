"""Who, what and when of an exported trial, and the de-identified copy of a trial for export.

Every export carries the trial's facts: CSV as `<base>_trial.csv` (key,value rows), C3D as the string
parameters of group HINGE_TRIAL. The subject is always the code. `export --deidentify` moves every date
by the subject's shift (station.privacy.identities: random per subject, the same in all its files) and
leaves out free text: the operator's notes, the command line and device or file names.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta
from pathlib import Path

from station.documents import DocumentValue
from station.owner_files import open_private
from station.privacy.dates import shift_dates_in
from station.recording.reader import RecordedTrial

FREE_TEXT = ("notes", "command", "plate_source", "camera_source")  # left out of de-identified exports


def _day_and_time(stamp: DocumentValue, shift_days: int) -> tuple[str, str]:
    """("YYYY-MM-DD", "HH:MM:SS+00:00") of an ISO time, moved by shift_days; ("", "") if none."""
    try:
        when = datetime.fromisoformat(str(stamp)) + timedelta(days=shift_days)
    except ValueError:
        return "", ""
    return when.date().isoformat(), when.timetz().isoformat(timespec="seconds")


def trial_info(trial: RecordedTrial, shift_days: int | None = None) -> dict[str, str]:
    """The facts an export carries; shift_days given: de-identified (dates moved, free text left out)."""
    md = trial.metadata
    day, start = _day_and_time(md.get("start_wall_time"), shift_days or 0)
    load = md.get("load_kg")
    info = {"subject": str(md.get("subject_id") or ""), "date": day, "start_time": start,
            "drill": str(md.get("drill") or ""), "arms": str(md.get("arms") or ""),
            "load_kg": "" if load is None or (isinstance(load, float) and math.isnan(load)) else f"{load:g}",
            "side": str(md.get("side") or ""), "status": "complete" if trial.complete else "interrupted",
            "stop_reason": str(md.get("stop_reason") or ""), "duration_s": f"{trial.duration_s:.3f}",
            "software_version": str(md.get("software_version") or ""),
            "deidentified": "no" if shift_days is None else "yes (dates shifted, free text left out)"}
    if shift_days is None:
        info.update({k: str(md.get(k) or "") for k in FREE_TEXT})
    return info


def deidentified(trial: RecordedTrial, shift_days: int) -> RecordedTrial:
    """A copy for export: dates moved, free text out; the data streams are the same arrays."""
    md = {k: v for k, v in trial.metadata.items() if k not in FREE_TEXT}
    for key in ("start_wall_time", "stop_wall_time"):
        if md.get(key):
            md[key] = shift_dates_in(str(md[key]), shift_days)
    events = [dict(ev, text=shift_dates_in(ev["text"], shift_days)) for ev in trial.events]
    return dataclasses.replace(trial, metadata=md, events=events)


def info_csv_path(base: Path) -> Path:
    return base.with_name(f"{base.name}_trial.csv")


def write_info_csv(path: Path, info: dict[str, str]) -> Path:
    with open_private(path) as fh:
        fh.write("key,value\n")
        for key, value in info.items():
            fh.write(f'{key},"{value.replace(chr(34), chr(39))}"\n')
    return path
