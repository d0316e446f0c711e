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

from pathlib import Path

import numpy as np

from station.analysis.c3d_markers import clean_label, map_markers, parse_mapping
from station.analysis.inputs import LoadOptions
from station.config import StationConfig
from station.errors import StationError
from station.streams import ForceBlock, MarkerBlock

_UNIT_M = {"mm": 0.001, "cm": 0.01, "m": 1.0, "dm": 0.1}


def _axis(text: str, where: str) -> np.ndarray:
    text = text.strip().lower()
    sign = -1.0 if text.startswith("-") else 1.0
    letter = text.lstrip("+-")
    if letter not in ("x", "y", "z"):
        raise StationError(f"{where}: expected an axis like +x or -y, got {text!r}")
    v = np.zeros(3)
    v["xyz".index(letter)] = sign
    return v


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


def _read(path: Path):
    import ezc3d  # only when a C3D is actually read

    if not path.is_file():
        raise StationError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if len(head) < 512 or head[1] != 0x50:
        raise StationError(f"{path}: not a C3D file (no C3D header)")
    _check_size(path, head)
    warnings: list[str] = []
    try:
        return ezc3d.c3d(str(path), extract_forceplat_data=True), warnings
    except (ValueError, RuntimeError) as exc:
        first_error = exc
    except OSError as exc:
        raise StationError(f"{path}: truncated or damaged C3D file ({exc})") from None
    try:  # the platforms' parameters are what failed: keep the markers
        c3d = ezc3d.c3d(str(path), extract_forceplat_data=False)
    except Exception as exc:
        raise StationError(f"{path}: truncated or damaged C3D file ({exc})") from None
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


def _plate_frame(markers: dict[str, np.ndarray], config: StationConfig) -> tuple[np.ndarray, str]:
    """Rotation R (rows: plate x, y, z in lab axes) and where the anterior direction came from."""
    up = _axis(config.c3d.lab_up_axis, "c3d.lab_up_axis")
    source = "config c3d.lab_anterior_axis"
    anterior = _axis(config.c3d.lab_anterior_axis, "c3d.lab_anterior_axis")
    if "heel" in markers and "toe" in markers:
        foot = np.nanmedian(markers["toe"] - markers["heel"], axis=0)
        if np.all(np.isfinite(foot)):
            anterior, source = foot, "heel->toe markers"
    anterior = anterior - np.dot(anterior, up) * up
    if np.linalg.norm(anterior) < 1e-9:
        raise StationError("c3d.lab_anterior_axis: must not be the up axis")
    anterior /= np.linalg.norm(anterior)
    return np.vstack([anterior, np.cross(up, anterior), up]), source


def _force(c3d, scale_m: float, config: StationConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
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
    rate = float(c3d["header"]["analogs"]["frame_rate"])
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
    units = str(c3d["parameters"]["POINT"].get("UNITS", {"value": ["mm"]})["value"][0]).strip().lower()
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
    point_rate = float(c3d["header"]["points"]["frame_rate"])
    n_frames = next(iter(points.values())).shape[0] if points else 0
    markers = None
    core_names = {k: v for k, v in to_plate.items() if k in ("hip", "knee", "ankle", "shoulder", "head")}
    if "hip" not in core_names:
        warnings.append(f"{path.name}: no hip marker (labels: {', '.join(sorted(points)) or 'none'}): "
                        "CoP only, no reps")
    elif n_frames:
        markers = MarkerBlock(np.arange(n_frames) / point_rate, core_names)
    force = None
    combined = _force(c3d, scale_m, config) if platforms else None
    if combined is not None:
        t_f, fv, cop_lab = combined
        cop_plate = (cop_lab - origin) @ rot.T
        force = ForceBlock(t_f, equivalent_cells(fv, cop_plate[:, :2], config.plate.channel_xy))
    return force, markers, meta
