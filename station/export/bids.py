"""Trial files -> a BIDS 1.9 dataset of the motion datatype (what the BIDS validator accepts).

Layout (the session level only when the trial has a start date; `run-N` only when a session holds the same
drill more than once):

    dataset_description.json  README  participants.tsv  participants.json
    sub-<code>/ses-<YYYYMMDD>/sub-<code>_ses-<YYYYMMDD>_scans.tsv
    sub-<code>/ses-<YYYYMMDD>/motion/sub-<code>_ses-<date>_task-<drill>_tracksys-<sys>[_run-N]_motion.tsv
                                          (+ _motion.json, _channels.tsv, _channels.json)
    sub-<code>/ses-<YYYYMMDD>/motion/sub-<code>_ses-<date>_task-<drill>[_run-N]_events.tsv (+ .json): reps

Two tracking systems per trial, each at its own rate: `tracksys-camera` (the five markers x, y, z in
metres, POS channels, at the camera's frame times) and `tracksys-forceplate` (Fz, CoP x/y and the four
cells, MISC channels: BIDS motion has no force type; the plate measures vertical force only). Each has a
LATENCY channel: seconds from the trial's start (the scans.tsv acq_time), so dropped camera frames and the
two systems' different first samples are explicit; events (reps) count from the same start.
Positions are in the station's plate frame (origin at the centre of the plate's top, x anterior, y left,
z up: SpatialAxes "ALS", channels.json reference_frame "plate").

The subject is the pseudonymous code with every character outside [A-Za-z0-9] left out (BIDS labels); the
drill name likewise for the task label (TaskName keeps it as written). Nothing else about the subject is
written: participants.tsv holds the participant_id only. Dates are those of the trial given: the export
command hands in the de-identified copy under --deidentify (dates shifted).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from station import __version__
from station.documents import DocumentValue
from station.errors import StationError
from station.owner_files import make_dirs, open_private
from station.recording.reader import RecordedTrial

BIDS_VERSION = "1.9.0"
LANDMARKS = {"hip": "greater trochanter", "knee": "lateral femoral epicondyle", "ankle": "lateral malleolus",
             "shoulder": "acromion", "head": "tragus of the ear (or the dowel's top end)"}
PLATE_FRAME = {"SpatialAxes": "ALS", "RotationRule": "right-hand", "RotationOrder": "XYZ",
               "Description": "the station's plate frame: origin at the centre of the force plate's top "
                              "surface, x anterior (heel to toe), y to the subject's left, z up; metres"}
EVENT_COLUMNS = {
    "onset": "start of the rep (hip moving back from standing), seconds from the trial's start",
    "duration": "from the rep's start to its end (back at standing), seconds",
    "trial_type": "always 'rep'",
    "rep_index": "the rep's index in the trial (0-based)",
    "bottom_s": "the rep's deepest point, seconds from the trial's start",
    "hip_back_mm": "how far the hip moved back at the bottom, mm",
    "hip_drop_mm": "how far the hip moved down at the bottom, mm",
    "passed": "the station's verdict: true when the rep had no fault",
    "faults": "the rep's faults, ';'-separated (station.results.ALL_FAULTS); n/a when none",
}


def bids_label(text: str, what: str) -> str:
    """A BIDS label: the characters of text in [A-Za-z0-9]; refuses one that would be empty."""
    label = re.sub(r"[^A-Za-z0-9]", "", str(text or ""))
    if not label:
        raise StationError(f"{what} {text!r}: nothing left for a BIDS label (letters and digits only)")
    return label


@dataclass
class BidsItem:
    """One trial's place in the dataset."""

    trial: RecordedTrial
    sub: str
    ses: str | None
    task: str
    run: int | None
    start: datetime | None

    @property
    def folder(self) -> Path:
        return Path(f"sub-{self.sub}") / (f"ses-{self.ses}" if self.ses else "")

    def stem(self, tracksys: str | None = None) -> str:
        parts = [f"sub-{self.sub}"] + ([f"ses-{self.ses}"] if self.ses else []) + [f"task-{self.task}"]
        parts += [f"tracksys-{tracksys}"] if tracksys else []
        parts += [f"run-{self.run}"] if self.run is not None else []
        return "_".join(parts)


def _start(trial: RecordedTrial) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(trial.metadata.get("start_wall_time") or ""))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when


def plan(trials: list[RecordedTrial]) -> list[BidsItem]:
    """Subject, session, task and run of each trial (runs numbered in the order given)."""
    items = []
    for trial in trials:
        md = trial.metadata
        start = _start(trial)
        items.append(BidsItem(trial, bids_label(md.get("subject_id"), "subject code"),
                              start.strftime("%Y%m%d") if start else None,
                              bids_label(md.get("drill") or "hinge", "drill"), None, start))
    keys = [(i.sub, i.ses, i.task) for i in items]
    seen: dict[tuple, int] = {}
    for item, key in zip(items, keys, strict=True):
        if keys.count(key) > 1:
            seen[key] = seen.get(key, 0) + 1
            item.run = seen[key]
    return items


def _cell(value: DocumentValue, fmt: str = "") -> str:
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    return format(value, fmt) if fmt else str(value)


def _write_tsv(path: Path, header: list[str] | None, rows: list[list[str]]) -> Path:
    with open_private(path) as fh:
        if header:
            fh.write("\t".join(header) + "\n")
        for row in rows:
            fh.write("\t".join(row) + "\n")
    return path


def _merge_tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Rows keyed by their first column, added to those of an existing file with the same header."""
    merged: dict[str, list[str]] = {}
    if path.is_file():
        lines = path.read_text().splitlines()
        if lines and lines[0].split("\t") == header:
            for line in lines[1:]:
                if line.strip():
                    merged[line.split("\t")[0]] = line.split("\t")
    for row in rows:
        merged[row[0]] = row
    return _write_tsv(path, header, list(merged.values()))


def _write_json(path: Path, data: dict) -> Path:
    with open_private(path) as fh:
        fh.write(json.dumps(data, indent=2) + "\n")
    return path


def _rate(t_s: np.ndarray, declared: DocumentValue) -> tuple[float, float]:
    """(nominal, effective) Hz: the declared rate (else the median) and the frames per second of the span."""
    measured = float(1.0 / np.median(np.diff(t_s))) if len(t_s) > 1 else 0.0
    nominal = float(declared) if isinstance(declared, (int, float)) and declared > 0 else measured
    effective = (len(t_s) - 1) / float(t_s[-1] - t_s[0]) if len(t_s) > 1 and t_s[-1] > t_s[0] else nominal
    return nominal, effective


def _motion_json(item: BidsItem, system: str, model: str, nominal: float, effective: float,
                 duration_s: float, counts: dict[str, int], tracked: int) -> dict:
    md = item.trial.metadata
    data = {"TaskName": str(md.get("drill") or item.task),
            "TaskDescription": "hip-hinge drill on the hinge-station (force plate + depth camera)",
            "TrackingSystemName": system, "Manufacturer": "hinge-station", "ManufacturersModelName": model,
            "SoftwareVersions": f"hinge-station {md.get('software_version') or __version__}",
            "SamplingFrequency": round(nominal, 6), "SamplingFrequencyEffective": round(effective, 6),
            "RecordingDuration": round(duration_s, 6), "RecordingType": "continuous",
            "MotionChannelCount": sum(counts.values()), "MissingValues": "n/a"}
    data.update({f"{kind}ChannelCount": n for kind, n in counts.items()})
    if tracked:
        data["TrackedPointsCount"] = tracked
    return data


CHANNEL_HEADER = ["name", "component", "type", "tracked_point", "units", "reference_frame", "description"]


def _camera_files(item: BidsItem, motion_dir: Path) -> list[Path]:
    trial = item.trial
    names = list(trial.markers.positions)
    t = np.asarray(trial.markers.t_s, float)
    cols = [trial.markers.positions[n][:, a] for n in names for a in range(3)] + [t]
    rows = [[_cell(v, ".6f") for v in row] for row in zip(*cols, strict=True)]
    channels = [[f"{n}_{a}", a, "POS", n, "m", "plate", f"{n} marker ({LANDMARKS.get(n, n)})"]
                for n in names for a in "xyz"]
    channels.append(["latency", "n/a", "LATENCY", "n/a", "s", "n/a", "frame time, s from the trial start"])
    source = str(trial.metadata.get("camera_source") or "")
    model = ("simulated stand-in (drivers.sim)" if source.startswith("sim:")
             else "Intel RealSense D4xx class depth camera, retroreflective markers tracked in IR + depth")
    if trial.metadata.get("markers_source"):  # `--markers lsl:NAME`: the lab's mocap gave the markers
        model = (f"the lab's motion capture over Lab Streaming Layer ({trial.metadata['markers_source']}), "
                 "mapped to the plate frame")
    nominal, effective = _rate(t, trial.descriptors.get("camera", {}).get("rate_hz"))
    stem = motion_dir / item.stem("camera")
    return [_write_tsv(Path(f"{stem}_motion.tsv"), None, rows),
            _write_json(Path(f"{stem}_motion.json"), _motion_json(
                item, "hinge-station depth camera markers", model, nominal, effective, trial.duration_s,
                {"POS": 3 * len(names), "LATENCY": 1}, len(names))),
            _write_tsv(Path(f"{stem}_channels.tsv"), CHANNEL_HEADER, channels),
            _write_json(Path(f"{stem}_channels.json"), {"reference_frame": {
                "Description": "the frame the positions are in", "Levels": {"plate": PLATE_FRAME}}})]


def _plate_files(item: BidsItem, motion_dir: Path) -> list[Path]:
    trial = item.trial
    t = np.asarray(trial.force.t_s, float)
    cells = np.asarray(trial.force.cells_n, float)
    six = trial.force.shear_n is not None and trial.force.free_moment_nm is not None  # a six-component plate
    extra = [*trial.force.shear_n.T, trial.force.free_moment_nm] if six else []
    cols = [trial.fz_n, trial.cop_xy_m[:, 0], trial.cop_xy_m[:, 1], *cells.T, *extra, t]
    fmts = [".3f", ".5f", ".5f", ".3f", ".3f", ".3f", ".3f"] + [".3f", ".3f", ".4f"] * six + [".6f"]
    rows = [[_cell(v, f) for v, f in zip(row, fmts, strict=True)] for row in zip(*cols, strict=True)]
    xy = trial.config.plate.channel_xy
    channels = [["fz", "z", "MISC", "plate", "N", "plate", "vertical force (the sum of the four cells)"],
                ["cop_x", "x", "MISC", "cop", "m", "plate",
                 "centre of pressure x; n/a below the CoP gate (max(50 N, 10% body weight))"],
                ["cop_y", "y", "MISC", "cop", "m", "plate", "centre of pressure y; n/a below the CoP gate"]]
    channels += [[f"cell{i}", "z", "MISC", f"cell{i}", "N", "plate",
                  f"load cell {i} at plate (x, y) = ({xy[i, 0]:+.3f}, {xy[i, 1]:+.3f}) m"] for i in range(4)]
    if six:
        channels += [["fx", "x", "MISC", "shear", "N", "plate", "shear Fx, the force on the plate"],
                     ["fy", "y", "MISC", "shear", "N", "plate", "shear Fy, the force on the plate"],
                     ["tz", "z", "MISC", "free_moment", "N*m", "plate",
                      "free moment about the vertical through the CoP; n/a below the CoP gate"]]
    channels.append(["latency", "n/a", "LATENCY", "n/a", "s", "n/a", "sample time, s from the trial start"])
    nominal, effective = _rate(t, trial.descriptors.get("plate", {}).get("rate_hz"))
    stem = motion_dir / item.stem("forceplate")
    return [_write_tsv(Path(f"{stem}_motion.tsv"), None, rows),
            _write_json(Path(f"{stem}_motion.json"), _motion_json(
                item, "six-component force plate" if six else "hinge-station four-cell force plate",
                "Fx Fy Fz Mx My Mz: vertical force, centre of pressure, shear and free moment" if six else
                "four vertical load cells: vertical force and centre of pressure only (no shear, no free "
                "moment)", nominal, effective, trial.duration_s, {"MISC": 10 if six else 7, "LATENCY": 1},
                0)),
            _write_tsv(Path(f"{stem}_channels.tsv"), CHANNEL_HEADER, channels),
            _write_json(Path(f"{stem}_channels.json"), {"reference_frame": {
                "Description": "the frame the CoP and forces are in", "Levels": {"plate": PLATE_FRAME}}})]


def _events_files(item: BidsItem, motion_dir: Path) -> list[Path]:
    rows = [[f"{rep.t_start:.4f}", f"{rep.t_end - rep.t_start:.4f}", "rep", str(rep.index),
             f"{rep.t_bottom:.4f}", _cell(rep.hip_back_mm, ".1f"), _cell(rep.hip_drop_mm, ".1f"),
             _cell(bool(rep.passed)), ";".join(rep.faults) or "n/a"] for rep in item.trial.reps]
    stem = motion_dir / item.stem()
    return [_write_tsv(Path(f"{stem}_events.tsv"), list(EVENT_COLUMNS), rows),
            _write_json(Path(f"{stem}_events.json"), {k: {"Description": v} for k, v in EVENT_COLUMNS.items()
                                                      if k not in ("onset", "duration")})]


README = """# hinge-station recordings (BIDS motion)

Hip-hinge trials recorded on a hinge-station: a four-cell force plate under both feet and a depth camera
beside the subject tracking five retroreflective markers (hip = greater trochanter, knee, ankle, shoulder,
head). Written by `hinge-station export --format bids`.

Each trial has two tracking systems: `tracksys-camera` (marker positions, m) and `tracksys-forceplate`
(vertical force, centre of pressure and the four load cells; the plate measures no shear). Positions are in
the plate frame: origin at the centre of the plate's top, x anterior, y to the subject's left, z up. Each
file's `latency` channel is seconds from the trial's start (scans.tsv acq_time, UTC); the events files list
the reps the station found, timed from the same start.
Subjects are pseudonymous station codes; dates are shifted per subject when exported with --deidentify.
"""


def export_bids(trials: list[RecordedTrial], out_dir: Path) -> list[Path]:
    """Write the trials into the dataset folder out_dir (made if missing; the caller checks --force)."""
    items = plan(trials)
    make_dirs(out_dir)
    written: list[Path] = []
    scans: dict[Path, list[list[str]]] = {}
    for item in items:
        motion_dir = make_dirs(out_dir / item.folder / "motion")
        files = []
        if len(item.trial.markers):
            files += _camera_files(item, motion_dir)
        if len(item.trial.force):
            files += _plate_files(item, motion_dir)
        if not files:
            raise StationError(f"{item.trial.path}: no marker frames and no force samples to export")
        files += _events_files(item, motion_dir)
        acq = item.start.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if item.start.tzinfo else "") if item.start \
            else "n/a"
        scans.setdefault(out_dir / item.folder / f"{item.stem().split('_task-')[0]}_scans.tsv", []).extend(
            [f"motion/{f.name}", acq] for f in files if f.name.endswith("_motion.tsv"))
        written += files
    for path, rows in scans.items():
        written.append(_merge_tsv(path, ["filename", "acq_time"], rows))
    written.append(_merge_tsv(out_dir / "participants.tsv", ["participant_id"],
                              [[f"sub-{s}"] for s in dict.fromkeys(i.sub for i in items)]))
    written.append(_write_json(out_dir / "participants.json", {"participant_id": {
        "Description": "the subject's pseudonymous station code (letters and digits only)"}}))
    description = out_dir / "dataset_description.json"
    if not description.is_file():  # a lab's own dataset description is kept when adding to its dataset
        written.append(_write_json(description, {
            "Name": "hinge-station hip-hinge recordings", "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
            "GeneratedBy": [{"Name": "hinge-station", "Version": __version__,
                             "Description": "hinge-station export --format bids"}]}))
    readme = out_dir / "README"
    if not readme.is_file():
        with open_private(readme) as fh:
            fh.write(README)
        written.append(readme)
    return written
