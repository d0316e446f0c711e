"""`analyze FILE.xdf`: a LabRecorder file holding the station's own LSL streams (station.export.lsl) ->
the core's blocks, so it gives the same reps as the trial file of the same recording.

What is read (by the channel labels in each stream's header, streams recognised by the `-Cells`,
`-Camera`, `-Hip`, `-Reps` ending of their name and the `hinge-station` manufacturer):
  Cells  -> ForceBlock (the four load cells, N): CoP, force gate and heel load as live
  Camera -> MarkerBlock (five markers, plate frame m) and the virtual dowel (worst gap, region)
  Hip    -> the hip alone, only when a file has no Camera stream (a station from before it): reps and hip
            metrics, no knee/trunk, said in the warnings
  Reps   -> the trial clock: each rep is stamped at t0 + its t_end, so t0 = stamp - t_end; times then
            count from the trial's start exactly like `analyze trial.h5`. Without a rep the first sample
            is t = 0 (said in the warnings).
Stamps are used as recorded (pyxdf's clock-offset correction on, its de-jittering off: the station already
stamps each sample on the host clock through its own clock fit). LSL delivers only what was sent after
LabRecorder subscribed: a recording that started late lacks the trial's first seconds (said when the
first sample is later than 0.5 s after the trial's start).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from station.analysis.inputs import LoadOptions
from station.errors import StationError
from station.streams import MARKER_NAMES, DowelBlock, ForceBlock, MarkerBlock

KINDS = ("Cells", "Camera", "Hip", "Reps", "Force")
LATE_START_S = 0.5


def _first(info: dict, key: str, default: str = "") -> str:
    value = info.get(key) or [default]
    return str(value[0]) if isinstance(value, list) else str(value)


def _labels(info: dict) -> list[str]:
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
        return [_first(ch, "label") for ch in channels]
    except (KeyError, IndexError, TypeError):
        return []


def _manufacturer(info: dict) -> str:
    try:
        return _first(info["desc"][0], "manufacturer")
    except (KeyError, IndexError, TypeError):
        return ""


def station_streams(streams: list[dict], path: Path) -> dict[str, dict]:
    """kind -> stream of the one station in the file (error naming them when there are several)."""
    found: dict[str, dict[str, dict]] = {}  # source prefix -> kind -> stream
    for s in streams:
        info = s["info"]
        name, source = _first(info, "name"), _first(info, "source_id")
        for kind in KINDS:
            if name.endswith(f"-{kind}") and (_manufacturer(info) == "hinge-station"
                                              or source.endswith(f"-{kind}")):
                found.setdefault(source.removesuffix(f"-{kind}"), {})[kind] = s
    if not found:
        names = ", ".join(sorted(_first(s["info"], "name") for s in streams)) or "none"
        raise StationError(f"{path}: no hinge-station LSL streams in this XDF file (streams: {names})")
    if len(found) > 1:
        raise StationError(f"{path}: streams of several stations ({', '.join(sorted(found))}); "
                           "this build reads one station per file")
    return next(iter(found.values()))


def _columns(stream: dict, wanted: list[str], path: Path) -> np.ndarray:
    labels = _labels(stream["info"])
    missing = [w for w in wanted if w not in labels]
    if missing:
        raise StationError(f"{path}: stream {_first(stream['info'], 'name')} lacks channel(s) "
                           f"{', '.join(missing)}")
    data = np.asarray(stream["time_series"], float).reshape(len(stream["time_stamps"]), len(labels))
    return data[:, [labels.index(w) for w in wanted]]


def _trial_t0(streams: dict[str, dict], warnings: list[str]) -> float:
    """The trial's t = 0 on the recording's clock: from the Reps stream, else the first sample."""
    import json

    reps = streams.get("Reps")
    if reps is not None and len(reps["time_stamps"]):
        t0 = []
        for stamp, row in zip(reps["time_stamps"], reps["time_series"], strict=True):
            try:
                t0.append(float(stamp) - float(json.loads(row[0])["t_end"]))
            except (ValueError, KeyError, TypeError, IndexError):
                continue
        if t0:
            return float(np.median(t0))
    firsts = [float(s["time_stamps"][0]) for s in streams.values() if len(s["time_stamps"])]
    warnings.append("no rep in the Reps stream: times count from the first sample, not the trial's start")
    return min(firsts) if firsts else 0.0


def load_xdf(path: str | os.PathLike, options: LoadOptions
             ) -> tuple[ForceBlock | None, MarkerBlock | None, dict]:
    """(ForceBlock, MarkerBlock, meta) from the station's streams in a LabRecorder .xdf file."""
    try:
        import pyxdf
    except ImportError:
        raise StationError(f"{path}: reading .xdf needs the pyxdf package (pip install pyxdf)") from None
    p = Path(path)
    if not p.is_file():
        raise StationError(f"{p}: no such file")
    try:
        raw, _header = pyxdf.load_xdf(str(p), dejitter_timestamps=False)
    except Exception as exc:  # pyxdf raises plain Exceptions/struct errors for damaged files
        raise StationError(f"{p}: not a readable XDF file ({exc})") from None
    streams = station_streams(raw, p)
    warnings: list[str] = []
    notes: dict = {"input": "XDF (LabRecorder) of the station's LSL streams: "
                            + ", ".join(_first(s["info"], "name") for s in streams.values())}
    t0 = _trial_t0(streams, warnings)
    force = markers = None
    meta: dict = {"t_origin_s": 0.0}
    if "Cells" in streams and len(streams["Cells"]["time_stamps"]):
        s = streams["Cells"]
        cells = _columns(s, [f"cell{i}" for i in range(4)], p)
        force = ForceBlock(np.asarray(s["time_stamps"], float) - t0, cells)
    elif "Force" in streams:
        warnings.append("no Cells stream (per-cell forces were not streamed by this station version): "
                        "CoP, foot_pos and heel load not computed")
    if "Camera" in streams and len(streams["Camera"]["time_stamps"]):
        s = streams["Camera"]
        t = np.asarray(s["time_stamps"], float) - t0
        labels = [f"{m}_{a}" for m in MARKER_NAMES for a in "xyz"] + ["dowel_gap_mm", "dowel_region"]
        cols = _columns(s, labels, p)
        markers = MarkerBlock(t, {m: cols[:, 3 * i:3 * i + 3] for i, m in enumerate(MARKER_NAMES)})
        ran = np.isfinite(cols[:, -1])  # frames the virtual dowel ran on
        if np.any(ran):
            region = cols[ran, -1].astype(np.int64)
            meta["dowel"] = DowelBlock(t[ran], cols[ran, -2], np.where(region < 0, 0, region))
            notes["dowel"] = "virtual dowel series as streamed"
    elif "Hip" in streams and len(streams["Hip"]["time_stamps"]):
        s = streams["Hip"]
        hip = _columns(s, ["hip_x", "hip_y", "hip_z"], p)
        markers = MarkerBlock(np.asarray(s["time_stamps"], float) - t0, {"hip": hip})
        warnings.append("no Camera stream (this station version streamed the hip only): knee, trunk and "
                        "dowel not computed")
    firsts = [b.t_s[0] for b in (force, markers) if b is not None and len(b)]
    if firsts and min(firsts) > LATE_START_S:
        warnings.append(f"the XDF starts {min(firsts):.2f} s after the trial's start (LabRecorder subscribed "
                        "late): the trial's first seconds are not in it")
    meta["warnings"] = warnings
    meta["notes"] = notes
    return force, markers, meta
