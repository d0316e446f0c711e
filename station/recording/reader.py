"""Read a trial file back into the station's own types; one-line errors for files it cannot trust."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from drivers.samples import PlateChunk
from station.config import StationConfig, config_from_dict
from station.errors import StationError
from station.recording.format import (
    DATASETS,
    DOWEL_DATASETS,
    FORMAT_NAME,
    N_MARKERS,
    REQUIRED_GROUPS,
    SCHEMA_VERSION,
    SIX_DATASETS,
)
from station.recording.stills import read_stills
from station.results import RepResult
from station.streams import MARKER_NAMES, ForceBlock, MarkerBlock


@dataclass
class RecordedTrial:
    """Everything a trial file holds. Times: t_s on the trial clock (s since t0_host_ns)."""

    path: Path
    schema_version: int
    metadata: dict
    config: StationConfig
    calibration: dict
    plate: PlateChunk
    plate_gaps: np.ndarray  # (G, 3) int64: t_host_ns, seq before the gap, samples lost
    force: ForceBlock  # stored calibrated per-cell newtons
    fz_n: np.ndarray
    cop_xy_m: np.ndarray
    foot_pos: np.ndarray
    camera_index: dict[str, np.ndarray]
    markers: MarkerBlock
    marker_pixels: dict[str, np.ndarray]
    reps: list[RepResult]
    events: list[dict]
    sync: dict
    descriptors: dict
    complete: bool
    warnings: list[str] = field(default_factory=list)
    # the virtual dowel per frame (/dowel: t_s, gap_mm (K,3) [sacrum, upper_back, head], worst_gap_mm,
    # worst_region, lumbar_curve_mm, reason bytes); None for a file without the optional group
    dowel: dict[str, np.ndarray] | None = None
    # one camera frame per rep bottom (/stills, recording.stills.Still); None without the group
    stills: list | None = None

    @property
    def t0_host_ns(self) -> int:
        return int(self.metadata["t0_host_ns"])

    @property
    def duration_s(self) -> float:
        ends = [a[-1] for a in (self.force.t_s, self.markers.t_s) if len(a)]
        return float(max(ends)) if ends else 0.0


def _attr(obj: h5py.HLObject, key: str, default: Any = None) -> Any:  # h5py attributes are Any
    value = obj.attrs.get(key, default)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic | np.ndarray):  # an array where a value belongs (damage): a plain list
        return value.tolist()
    return value


def _json_attr(obj: h5py.HLObject, key: str, path: Path) -> dict:
    """A JSON object stored as a string attribute ({} when absent)."""
    text = _attr(obj, key)
    if not text:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError) as exc:
        raise StationError(f"{path}: attribute {obj.name} {key} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise StationError(f"{path}: attribute {obj.name} {key} is not a JSON object")
    return value


def _rep_rows(f: h5py.File, complete: bool, path: Path) -> list[RepResult]:
    rows = f["reps/json" if complete else "reps/live_json"][:]
    try:
        reps = [RepResult.from_json(json.loads(raw.rstrip(b"\0").decode())) for raw in rows]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise StationError(f"{path}: /reps rows are not valid rep JSON ({exc})") from None
    # live rows: a rep given at its end without its lockout is given again once judged; the last one counts
    return list({rep.index: rep for rep in reps}.values())


@contextlib.contextmanager
def _damaged(path: Path):
    """What h5py raises for a damaged object header, chunk or link (KeyError, OSError, RuntimeError) as
    one line naming the file."""
    try:
        yield
    except (KeyError, OSError, RuntimeError) as exc:
        raise StationError(f"{path}: damaged trial file ({' '.join(str(exc).split())})") from None


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise StationError(f"{path}: no such trial file")
    try:
        return h5py.File(path, "r")
    except (OSError, RuntimeError) as exc:  # HDF5 raises RuntimeError for some damaged superblocks
        first = exc
    cut = re.search(r"truncated file: eof = \d+, .*stored_eof = (\d+)", str(first))
    try:
        if cut:  # cut short (a full disk): what was written before the cut reads; the rest reads as zeros
            return h5py.File(_ZeroPadded(path, int(cut[1])), "r")
        if "already open for" in str(first):  # being written (SWMR), or killed while writing: follow it
            return h5py.File(path, "r", swmr=True)
    except (OSError, RuntimeError) as exc:
        raise StationError(f"{path}: not a readable HDF5 trial file ({exc})") from None
    # not as a SWMR reader on any other damage: that retries a bad checksum for minutes
    raise StationError(f"{path}: not a readable HDF5 trial file ({first})") from None


class _ZeroPadded(io.RawIOBase):
    """A file cut short, read as if it had its full size (zeros past the cut): HDF5 then reports what is
    missing as damaged objects, where as a SWMR reader (which ignores the size) it retries for minutes."""

    def __init__(self, path: Path, size: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # closed with this object
        self._real = path.stat().st_size
        self._size = max(size, self._real)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence] + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        with memoryview(buffer) as view:
            n = max(0, min(len(view), self._size - self._pos))
            got = 0
            if self._pos < self._real:
                self._file.seek(self._pos)
                got = self._file.readinto(view[:min(n, self._real - self._pos)]) or 0
            view[got:n] = bytes(n - got)
        self._pos += n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def check_trial_file(f: h5py.File, path: Path) -> int:
    """Raise one line naming what is wrong with this file's schema; return its schema_version."""
    if _attr(f, "format") != FORMAT_NAME:
        raise StationError(f"{path}: not a hinge-station trial (no format={FORMAT_NAME!r} attribute)")
    version = _attr(f, "schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version != SCHEMA_VERSION:
        raise StationError(f"{path}: schema_version {version!r} is not supported (this station reads "
                           f"{SCHEMA_VERSION})")
    missing = [g for g in REQUIRED_GROUPS if g not in f]
    missing += [d.path for d in DATASETS if d.path not in f and d.path.rsplit("/", 1)[0] not in missing]
    if missing:
        raise StationError(f"{path}: missing group(s)/dataset(s) {', '.join('/' + m for m in missing)}")
    for spec in DATASETS + tuple(d for d in DOWEL_DATASETS + SIX_DATASETS if d.path in f):
        ds = f[spec.path]
        if not isinstance(ds, h5py.Dataset) or ds.dtype != spec.dtype or ds.shape[1:] != spec.row_shape \
                or ds.ndim != 1 + len(spec.row_shape):
            what = f"{ds.dtype} {ds.shape}" if isinstance(ds, h5py.Dataset) else "a group"
            raise StationError(f"{path}: /{spec.path} is {what}, expected {spec.dtype} rows of "
                               f"{spec.row_shape or 'one value'}")
    return int(version)


def _is_set(value: Any) -> bool:
    """A stored flag (True/1); anything else, an array of damage included, is not set."""
    return isinstance(value, bool | int) and bool(value)


def _config_from_json(text: str, path: Path) -> StationConfig:
    """The config the trial was recorded with; the defaults when it is not a config (as when invalid)."""
    try:
        data = json.loads(text) if text and isinstance(text, str) else {}
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return StationConfig()
    data.pop("source_path", None)
    try:
        return config_from_dict(data, where=f"{path} station_config_json")
    except StationError:
        return StationConfig()


def read_trial(path: str | os.PathLike) -> RecordedTrial:
    """Open a trial (complete, interrupted or still recording) and return its contents."""
    p = Path(path)
    with _damaged(p), _open(p) as f:
        version = check_trial_file(f, p)
        n = _consistent_rows(f)

        def col(name: str, group: str = "") -> np.ndarray:
            full = f"{group}/{name}" if group else name
            return f[full][: n.get(group or full.rsplit("/", 1)[0], None)]

        keys = ("subject_id", "drill", "load_kg", "arms", "side", "notes", "start_wall_time", "t0_host_ns",
                "software_version", "plate_source", "camera_source", "frames_storage", "stop_reason",
                "stop_wall_time", "wall_mm",  # wall_mm: None in files from before the wall drill
                "plate_components",  # "six-component", "4-cell", "none"; None in files from before it
                "markers_method",  # "markerless (estimated)" with --markers depth; None before issue 23
                "faces_kept", "faces_consent_operator")  # consent to keep faces (privacy.faces); None before
        metadata = {k: _attr(f, k) for k in keys}
        metadata.update(_json_attr(f, "metadata_json", p))
        metadata["counts"] = _json_attr(f, "counts_json", p)
        cal_group = f["calibration"]
        calibration = {"status": _attr(cal_group, "status", "unknown"),
                       "plate": _json_attr(cal_group, "plate_json", p),
                       "clocks": _json_attr(cal_group, "clocks_json", p),
                       "files": _json_attr(cal_group, "files_json", p)}
        if "camera_T_plate_from_camera" in cal_group.attrs:
            calibration["camera_T"] = np.asarray(cal_group.attrs["camera_T_plate_from_camera"])
        plate = PlateChunk(*(col(k, "plate/raw")
                             for k in ("seq", "t_device_s", "t_host_ns", "counts", "flags")))
        force_t = col("t_s", "force")
        force = ForceBlock(t_s=force_t, cells_n=col("cells_n", "force"), **_read_six(f, len(force_t)))
        mt = col("t_s", "markers")
        pos = col("positions_m", "markers")
        pix = col("pixels", "markers")
        bridged = col("bridged", "markers")
        names = _marker_names(f["markers"], p)
        markers = MarkerBlock(t_s=mt, positions={nm: pos[:, i] for i, nm in enumerate(names)},
                              bridged={nm: bridged[:, i] for i, nm in enumerate(names)})
        camera_index = {k: col(k, "camera/index") for k in
                        ("frame_number", "t_device_ms", "t_host_ns", "t_s", "dropped_before")}
        complete = _is_set(_attr(f, "complete", False))
        reps = _rep_rows(f, complete, p)
        events = [{"t_s": float(e["t_s"]), "kind": e["kind"].decode("utf-8", "replace"),
                   "text": e["text"].decode("utf-8", "replace")} for e in f["events"][:]]
        sync = {k: _attr(f["sync"], k) for k in f["sync"].attrs}
        descriptors = {g: {k.removeprefix("descriptor_"): _attr(f[g], k)
                           for k in f[g].attrs if k.startswith("descriptor_")}
                       for g in ("plate", "force", "camera", "markers") if g in f}
        trial = RecordedTrial(
            path=p, schema_version=version, metadata=metadata,
            config=_config_from_json(_attr(f, "station_config_json"), p), calibration=calibration,
            plate=plate, plate_gaps=f["plate/gaps"][:], force=force, fz_n=col("fz_n", "force"),
            cop_xy_m=col("cop_xy_m", "force"), foot_pos=col("foot_pos", "force"), camera_index=camera_index,
            markers=markers, marker_pixels={nm: pix[:, i] for i, nm in enumerate(names)}, reps=reps,
            events=events, sync=sync, descriptors=descriptors, complete=complete, dowel=_read_dowel(f),
            stills=read_stills(f))
    if not complete:
        trial.warnings.append(f"{p}: no stop record (recording was interrupted); data up to "
                              f"t={trial.duration_s:.2f} s")
    return trial


@dataclass
class TrialSummary:
    """What an index needs from a trial, read without its raw streams (attributes and the rep rows)."""

    path: Path
    metadata: dict
    reps: list[RepResult]
    complete: bool
    duration_s: float
    calibration: dict  # status, plate, clocks, files (the JSON parts; no arrays)
    config_json: str


def read_trial_summary(path: str | os.PathLike) -> TrialSummary:
    """Metadata, reps and calibration of a trial; raw streams are not read (fast enough to index 1,000s)."""
    p = Path(path)
    with _damaged(p), _open(p) as f:
        check_trial_file(f, p)
        metadata = {k: _attr(f, k) for k in f.attrs if not k.endswith("_json")}
        metadata.update(_json_attr(f, "metadata_json", p))
        complete = _is_set(_attr(f, "complete", False))
        reps = _rep_rows(f, complete, p)
        t = f["force/t_s"]
        mt = f["markers/t_s"]
        ends = [float(d[d.shape[0] - 1]) for d in (t, mt) if d.shape[0]]
        cal = f["calibration"]
        calibration = {"status": _attr(cal, "status", "unknown"), "plate": _json_attr(cal, "plate_json", p),
                       "clocks": _json_attr(cal, "clocks_json", p), "files": _json_attr(cal, "files_json", p)}
        return TrialSummary(path=p, metadata=metadata, reps=reps, complete=complete,
                            duration_s=max(ends) if ends else 0.0, calibration=calibration,
                            config_json=_text(_attr(f, "station_config_json")))


def read_trial_stills(path: str | os.PathLike) -> list | None:
    """Only the optional /stills of a trial file (a list of recording.stills.Still; None without it)."""
    with _damaged(Path(path)), _open(Path(path)) as f:
        return read_stills(f)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _marker_names(group: h5py.Group, path: Path) -> list[str]:
    """The marker columns' names (the `names` attribute, a JSON list; MARKER_NAMES when absent)."""
    text = _attr(group, "names")
    if not text:
        return list(MARKER_NAMES)
    try:
        names = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        names = None
    if not isinstance(names, list) or len(names) > N_MARKERS or not all(isinstance(n, str) for n in names):
        raise StationError(f"{path}: attribute /markers names is not a list of at most {N_MARKERS} names")
    return names


def _read_six(f: h5py.File, n_force: int) -> dict[str, np.ndarray | None]:
    """A six-component plate's shear_n and free_moment_nm (ForceBlock fields), None for a four-cell plate
    or a file from before them; rows beyond the force rows (a kill mid-write) are cut, fewer pad NaN."""
    paths = ("force/shear_n", "force/free_moment_nm")
    if not all(p in f for p in paths) or f[paths[0]].shape[0] == 0:
        return {"shear_n": None, "free_moment_nm": None}
    out = {}
    for p in paths:
        rows = f[p][:n_force]
        if rows.shape[0] < n_force:
            rows = np.concatenate([rows, np.full((n_force - rows.shape[0], *rows.shape[1:]), np.nan)])
        out[p.split("/", 1)[1]] = rows
    return out


def _read_dowel(f: h5py.File) -> dict[str, np.ndarray] | None:
    """The optional /dowel group (absent in older files), cut to the rows every column holds."""
    if not all(d.path in f for d in DOWEL_DATASETS):
        return None
    n = min(f[d.path].shape[0] for d in DOWEL_DATASETS)
    return {d.path.split("/", 1)[1]: f[d.path][:n] for d in DOWEL_DATASETS}


def _consistent_rows(f: h5py.File) -> dict[str, int]:
    """Rows usable per group: a kill between two column writes can leave columns of unequal length."""
    out = {}
    for group in ("plate/raw", "force", "camera/index", "markers"):
        lengths = [f[d.path].shape[0] for d in DATASETS if d.path.rsplit("/", 1)[0] == group]
        out[group] = min(lengths)
    return out
