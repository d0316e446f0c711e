"""C3D files from other labs -> the core's ForceBlock / MarkerBlock in the plate frame (ezc3d).

Frame: +z up (config c3d.lab_up_axis), +x the subject's anterior direction taken from the heel->toe
markers when the file has them, else config c3d.lab_anterior_axis; origin at the centre of the force
platforms' working surfaces (mean of their CORNERS), or the lab origin without platforms. When heel
markers exist the heel line (feet.heel_x_m) is taken from them for this file; the foot length stays the
subject's value from the config.

Force: platforms of C3D TYPE 1-4 are read by ezc3d's ForcePlatform module (TYPE 2/4 moments moved to the
surface with ORIGIN, TYPE 4 through CAL_MATRIX, TYPE 3 from its eight channels, TYPE 1 CoP as recorded)
into force and CoP in the lab frame; CoP below the force threshold (thresholds.cop_min_force_n) is
discarded; several platforms are combined (sum of vertical forces, force-weighted CoP). One door into the
core: the vertical force and CoP are turned into the four loads the station's own plate would carry
(minimum-norm loads at config.plate.channel_xy_m reproducing Fz and both CoP moments exactly), so a C3D
trial goes through the same CoP / foot_pos / heel-load code as a live one. For a rigid four-cell plate
the rear share is a function of CoP x alone, so nothing is invented by this conversion.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from station.analysis.c3d_markers import clean_label, map_markers, parse_mapping
from station.analysis.inputs import LoadOptions
from station.config import StationConfig
from station.errors import StationError
from station.markers.labels import axis as _axis  # one rule for C3D files and live mocap
from station.markers.labels import plate_frame as _plate_frame
from station.streams import ForceBlock, MarkerBlock

_UNIT_M = {"mm": 0.001, "cm": 0.01, "m": 1.0, "dm": 0.1}


def _check_size(path: Path, header: bytes) -> None:
    """The header says how many frames of what size follow; a shorter file was cut (Intel files only)."""
    words = np.frombuffer(header[:20], dtype="<u2")
    with open(path, "rb") as fh:
        fh.seek((header[0] - 1) * 512)
        param_head = fh.read(4)
    if len(param_head) < 4 or param_head[3] != 84:  # 84 = Intel (little-endian); others: trust ezc3d
        return
    n_points, n_analog, first, last = (int(w) for w in words[1:5])
    data_block = int(words[8])
    scale = float(np.frombuffer(header[12:16], dtype="<f4")[0])
    value_bytes = 4 if scale < 0 else 2
    frames = max(last - first + 1, 0)
    expected = (data_block - 1) * 512 + frames * (4 * n_points + n_analog) * value_bytes
    if data_block >= 2 and path.stat().st_size < expected:
        size = path.stat().st_size
        raise StationError(f"{path}: truncated or damaged C3D file ({size} of {expected} bytes)")


# parameters ezc3d reads the first value of without looking: it dies (segfault) when one is empty
_SCALAR_PARAMETERS = {("POINT", "USED"), ("POINT", "SCALE"), ("POINT", "RATE"), ("POINT", "FRAMES"),
                      ("ANALOG", "USED"), ("ANALOG", "GEN_SCALE"), ("ANALOG", "RATE"),
                      ("FORCE_PLATFORM", "USED"), ("ROTATION", "USED"), ("ROTATION", "DATA_START"),
                      ("ROTATION", "RATIO")}


def _check_parameters(path: Path, header: bytes) -> None:
    """Walk the parameter records as ezc3d will: it trusts them and dies (segfault) on some damaged ones
    (a dimension count of 128 or more, text without dimensions, an empty count or rate, a description 255
    long, analog channels without scale or offset) or allocates until memory runs out (a name with
    control bytes). Raises naming the parameter."""
    with open(path, "rb") as fh:
        fh.seek((header[0] - 1) * 512)
        buf = fh.read(4 + 255 * 512)  # a parameter section is at most 255 blocks
    if len(buf) < 4:
        raise StationError(f"{path}: truncated or damaged C3D file (no parameter section)")
    order = "big" if buf[3] == 86 else "little"  # 86 = MIPS; 84 Intel and 85 DEC store integers little-endian
    groups: dict[int, str] = {}
    found: dict[tuple[int, str], int] = {}  # (group id, NAME) -> where its data starts
    p = 4
    while p + 2 <= len(buf) and buf[p] != 0:  # a name length of 0 ends the section
        name_len = abs(int.from_bytes(buf[p:p + 1], "little", signed=True))
        group_id = int.from_bytes(buf[p + 1:p + 2], "little", signed=True)
        name = buf[p + 2:p + 2 + name_len].decode("latin-1").upper()
        q = p + 2 + name_len
        if q + 2 > len(buf):
            break  # ezc3d stops at the end of the section
        description_at = q + 2
        if not name.isprintable() or not name.isascii():  # ezc3d takes "ANALG\x03" and then eats all memory
            raise StationError(f"{path}: damaged C3D parameter section (record name {name!r})")
        if group_id < 0:
            groups[-group_id] = name
        elif group_id > 0:
            kind = int.from_bytes(buf[q + 2:q + 3], "little", signed=True)
            ndim = buf[q + 3] if q + 3 < len(buf) else 0
            if kind not in (-1, 1, 2, 4) or ndim > 7 or (kind == -1 and ndim == 0):
                raise StationError(f"{path}: damaged C3D parameter {name!r} (type {kind}, {ndim} dimensions)")
            found[(group_id, name)] = q + 4 + ndim
            dims = list(buf[q + 4:q + 4 + ndim])
            if 0 in dims and (groups.get(group_id), name) in _SCALAR_PARAMETERS:
                raise StationError(f"{path}: damaged C3D parameter {groups[group_id]}:{name} (no value)")
            description_at = q + 4 + ndim + int(np.prod(dims)) * abs(kind)
        if buf[description_at:description_at + 1] == b"\xff":  # ezc3d reads 255 as -1 characters
            raise StationError(f"{path}: damaged C3D parameter {name!r} (description 255 long)")
        step = int.from_bytes(buf[q:q + 2], order, signed=True)
        if step <= 0:
            break  # the last record
        p = q + step
    analog = next((g for g, n in groups.items() if n == "ANALOG"), None)
    used_at = found.get((analog, "USED"))
    analogs_used = used_at is not None and int.from_bytes(buf[used_at:used_at + 2], order) > 0
    missing = [n for n in ("SCALE", "OFFSET") if (analog, n) not in found]
    if analogs_used and missing:  # ezc3d scales every analog channel with these
        raise StationError(f"{path}: damaged C3D file (analog channels without ANALOG:{missing[0]})")


_C3D_MEMORY_BYTES = 1 << 30  # what ezc3d may allocate for a C3D file, beyond 40 times its size


@contextlib.contextmanager
def _memory_cap(extra_bytes: int):
    """Cap this process's address space at its size + extra_bytes meanwhile (Linux, RLIMIT_AS): ezc3d
    grows its vectors without end on some damaged files, and must fail (std::bad_alloc) rather than take
    the machine's memory. Process-wide for the moment of one read (analyze reads one file at a time)."""
    try:
        import resource

        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, StopIteration, ValueError):
        yield  # no way to cap here (not Linux)
        return
    cap = size + extra_bytes
    if (soft != resource.RLIM_INFINITY and soft <= cap) or (hard != resource.RLIM_INFINITY and hard < cap):
        yield  # already capped tighter
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _read(path: Path):
    import ezc3d  # only when a C3D is actually read

    if not path.is_file():
        raise StationError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if len(head) < 512 or head[1] != 0x50 or head[0] < 2:  # parameters start in block 2 or later
        raise StationError(f"{path}: not a C3D file (no C3D header)")
    _check_size(path, head)
    _check_parameters(path, head)
    warnings: list[str] = []
    budget = _C3D_MEMORY_BYTES + 40 * path.stat().st_size
    too_big = f"{path}: damaged C3D file (reading it would take more than {budget / 2**30:.1f} GB of memory)"
    with _memory_cap(budget):
        try:
            return ezc3d.c3d(str(path), extract_forceplat_data=True), warnings
        except (ValueError, RuntimeError) as exc:
            if "bad_alloc" in str(exc):
                raise StationError(too_big) from None
            first_error = exc
        except OSError as exc:
            raise StationError(f"{path}: truncated or damaged C3D file ({exc})") from None
        try:  # the platforms' parameters are what failed: keep the markers
            c3d = ezc3d.c3d(str(path), extract_forceplat_data=False)
        except Exception as exc:
            raise StationError(too_big if "bad_alloc" in str(exc) else
                               f"{path}: truncated or damaged C3D file ({exc})") from None
    warnings.append(f"force platforms unreadable ({first_error}): kinematics only")
    c3d["data"]["platform"] = []
    return c3d, warnings


def _labels(group: dict) -> list[str]:
    labels = list(group["LABELS"]["value"]) if "LABELS" in group else []
    k = 2
    while f"LABELS{k}" in group:
        labels += list(group[f"LABELS{k}"]["value"])
        k += 1
    return labels


def _points(c3d, scale_m: float) -> dict[str, np.ndarray]:
    data = c3d["data"]["points"]  # (4, P, F)
    labels = _labels(c3d["parameters"]["POINT"])[:data.shape[1]]
    residuals = c3d["data"]["meta_points"]["residuals"]  # (1, P, F); < 0 = invalid
    out = {}
    for k, label in enumerate(labels):
        xyz = data[:3, k, :].T * scale_m
        bad = (residuals[0, k, :] < 0) | np.all(xyz == 0.0, axis=1)
        xyz[bad] = np.nan
        out.setdefault(clean_label(label), xyz)
    return out


def _rate(value, what: str, path: Path) -> float:
    """A header frame rate a capture system could have used (a damaged one can be 1e-30 Hz or NaN)."""
    rate = float(value)
    if not 1.0 <= rate <= 1e6:
        raise StationError(f"{path}: {what} frame rate {rate:g} Hz is not a capture rate (damaged C3D file?)")
    return rate


def _force(c3d, scale_m: float, config: StationConfig,
           path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(t_s, vertical force N, CoP lab metres (N, 3) NaN below threshold) of all platforms combined."""
    platforms = c3d["data"].get("platform") or []
    if not platforms:
        return None
    up = _axis(config.c3d.lab_up_axis, "c3d.lab_up_axis")
    threshold = config.thresholds.cop_min_force_n
    fv_total = None
    moment = None
    loaded_sum = None
    for pf in platforms:
        pos_scale = _UNIT_M.get(str(pf.get("unit_position", "mm")).strip().lower(), scale_m)
        fv = up @ pf["force"]
        strong = np.abs(fv) > threshold
        if np.any(strong) and np.median(fv[strong]) < 0:
            fv = -fv  # action vs reaction convention: make standing load positive
        cop = pf["center_of_pressure"].T * pos_scale
        loaded = (fv > threshold) & np.all(np.isfinite(cop), axis=1)
        w = np.where(loaded, fv, 0.0)
        fv_total = fv if fv_total is None else fv_total + fv
        contrib = np.where(loaded[:, None], cop, 0.0) * w[:, None]
        moment = contrib if moment is None else moment + contrib
        loaded_sum = w if loaded_sum is None else loaded_sum + w
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_lab = np.where((loaded_sum > 0)[:, None], moment / loaded_sum[:, None], np.nan)
    rate = _rate(c3d["header"]["analogs"]["frame_rate"], "analog", path)
    return np.arange(fv_total.size) / rate, fv_total, cop_lab


def equivalent_cells(fz_n: np.ndarray, cop_xy_m: np.ndarray, channel_xy_m: np.ndarray) -> np.ndarray:
    """(N, 4) loads at the channel positions with the given total and CoP (equal shares where CoP is NaN)."""
    a = np.vstack([np.ones(4), channel_xy_m[:, 0], channel_xy_m[:, 1]])
    ok = np.all(np.isfinite(cop_xy_m), axis=1)
    cop = np.where(ok[:, None], cop_xy_m, 0.0)
    rhs = np.vstack([fz_n, fz_n * cop[:, 0], fz_n * cop[:, 1]])
    cells = (np.linalg.pinv(a) @ rhs).T
    cells[~ok] = (fz_n[~ok] / 4.0)[:, None]
    return cells


def load_c3d(path: str | Path, options: LoadOptions) -> tuple[ForceBlock | None, MarkerBlock | None, dict]:
    """The registered `.c3d` loader. options: config, preset, markers (mapping text), side."""
    path = Path(path)
    config: StationConfig = options.config
    c3d, warnings = _read(path)
    units_value = c3d["parameters"]["POINT"].get("UNITS", {"value": ["mm"]})["value"]
    units = str(units_value[0] if len(units_value) else "mm").strip().lower()  # empty: as if absent
    scale_m = _UNIT_M.get(units)
    if scale_m is None:
        raise StationError(f"{path}: POINT:UNITS {units!r} not understood (mm, cm, m)")
    points = _points(c3d, scale_m)
    lab_markers, notes = map_markers(points, options.preset, parse_mapping(options.markers), options.side,
                                     config.camera.side)
    platforms = c3d["data"].get("platform") or []
    if platforms:
        corners = np.hstack([pf["corners"] for pf in platforms]).T
        pos_scale = _UNIT_M.get(str(platforms[0].get("unit_position", units)).strip().lower(), scale_m)
        origin = corners.mean(axis=0) * pos_scale
    else:
        origin = np.zeros(3)
        warnings.append(f"{path.name}: no force platforms: kinematics only (no CoP, foot_pos or heel load)")
    rot, anterior_source = _plate_frame(lab_markers, config)
    notes["anterior_from"] = anterior_source
    to_plate = {name: (xyz - origin) @ rot.T for name, xyz in lab_markers.items()}
    meta: dict = {"notes": notes, "warnings": warnings, "units": units}
    trial_group = c3d["parameters"].get("TRIAL", {})
    if "STATION_T0_S" in trial_group:  # exported by this station: rep times on the trial's own clock
        meta["t_origin_s"] = -float(np.ravel(trial_group["STATION_T0_S"]["value"])[0])
        notes["time_origin"] = "station trial clock (TRIAL:STATION_T0_S)"
    if "heel" in to_plate and np.any(np.isfinite(to_plate["heel"][:, 0])):
        meta["feet"] = {"heel_x_m": float(np.nanmedian(to_plate["heel"][:, 0]))}
        notes["heel_line_from"] = "heel marker"
    point_rate = _rate(c3d["header"]["points"]["frame_rate"], "point", path)
    n_frames = next(iter(points.values())).shape[0] if points else 0
    markers = None
    core_names = {k: v for k, v in to_plate.items() if k in ("hip", "knee", "ankle", "shoulder", "head")}
    if "hip" not in core_names:
        warnings.append(f"{path.name}: no hip marker (labels: {', '.join(sorted(points)) or 'none'}): "
                        "CoP only, no reps")
    elif n_frames:
        markers = MarkerBlock(np.arange(n_frames) / point_rate, core_names)
    force = None
    combined = _force(c3d, scale_m, config, path) if platforms else None
    if combined is not None:
        t_f, fv, cop_lab = combined
        cop_plate = (cop_lab - origin) @ rot.T
        force = ForceBlock(t_f, equivalent_cells(fv, cop_plate[:, :2], config.plate.channel_xy))
    return force, markers, meta
