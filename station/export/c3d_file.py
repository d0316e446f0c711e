"""A trial file -> C3D: markers (mm) + one TYPE-2 force platform that any C3D reader turns into its CoP.

Per-rep values of the lockout, neck, bottom hold, form break, the step's hip/knee ratio, the swing's hip
snap and peak force and the wall drill's verdict go in parameter group HINGE_REPS (REP_PARAMETERS), beside the
Rep start / bottom / end events. C3D has no boolean or null: REACHED_TARGET is 1 (the hip reached the wall),
0 (it stayed short) or NaN (no wall set, or not measured), as every other value is NaN when not measured. The
trial's wall is HINGE_TRIAL:WALL_MM (mm behind the heel line; NaN: recorded without a wall).

The lab frame of the file is the plate frame. The platform's CORNERS are the plate's top corners in
the order the C3D standard asks (+x+y, -x+y, -x-y, +x-y of the platform's own axes), so its axes are
the plate's and its centre is the plate origin; ORIGIN is (0, 0, 0) because moments are taken about
the top-surface centre. Channels carry the load the subject puts ON the plate (Fz < 0, z up):
Fx Fy Fz [N], Mx My Mz [N.mm], then the four cells [N]. A reader's CoP = (-My/Fz, Mx/Fz) is then
sum(F_i x_i)/sum(F_i), exactly the station's CoP. Fx, Fy and Mz are 0 from a four-cell plate (it measures
no shear; HINGE_TRIAL:PLATE_COMPONENTS says "4-cell"); a six-component plate's shear is applied at the top
surface, so Mz = Tz + COPx·Fy - COPy·Fx and a reader's free moment is the station's Tz.

C3D needs the analog rate to be an integer multiple of the point rate: the point rate is the
camera's (rounded to an integer), the analog rate the nearest multiple of it to the plate rate, and
both streams are linearly resampled onto that common grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from station.owner_files import prepare
from station.recording.reader import RecordedTrial

if TYPE_CHECKING:
    import ezc3d

FP_LABELS = ("Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1")
# per-rep values as REAL parameters of group HINGE_REPS, one entry per rep in rep order (NaN = not measured)
REP_PARAMETERS = {"INDEX": "index", "T_END_S": "t_end", "LOCKOUT_TRUNK_DEG": "lockout_trunk_deg",
                  "LOCKOUT_HIP_BACK_MM": "lockout_hip_back_mm", "NECK_EXT_DEG": "neck_extension_deg",
                  "BOTTOM_HOLD_S": "bottom_hold_s", "FORM_BREAK_TRUNK_DEG": "form_break_trunk_deg",
                  # the step tap-down and the kettlebell swing (issue 19 item 8; NaN for other movements)
                  "HIP_KNEE_RATIO": "hip_knee_ratio", "HIP_SNAP_MPS": "hip_snap_mps",
                  "PEAK_FZ_BW": "peak_fz_bw",
                  # the wall drill (issue 19 item 7): 1 reached / 0 short / NaN no wall; mm short (0: reached)
                  "REACHED_TARGET": "reached_target", "TARGET_SHORT_MM": "target_short_mm"}
CELL_LABELS = ("F_cell0", "F_cell1", "F_cell2", "F_cell3")
C3D_TEXT_MAX = 255  # characters in one C3D string parameter (its length is a byte)


def _rate_hz(t_s: np.ndarray, declared: float | None) -> float:
    """The stream's rate: the declared one unless the samples say otherwise (a descriptor written from
    the config while the device ran at another rate would leave every C3D frame empty)."""
    ok = isinstance(declared, (int, float)) and declared > 0
    if len(t_s) < 2:
        return float(declared) if ok else 0.0
    measured = float(1.0 / np.median(np.diff(t_s)))
    return float(declared) if ok and abs(declared / measured - 1.0) < 0.05 else measured


def resample_markers(t_src: np.ndarray, pos: np.ndarray, t_out: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linear resampling of (M,3) positions; NaN where a neighbour is missing or samples are too far apart."""
    out = np.full((len(t_out), 3), np.nan)
    if len(t_src) < 2:
        return out
    idx = np.clip(np.searchsorted(t_src, t_out), 1, len(t_src) - 1)
    t_lo, t_hi = t_src[idx - 1], t_src[idx]
    w = np.where(t_hi > t_lo, (t_out - t_lo) / np.where(t_hi > t_lo, t_hi - t_lo, 1.0), 0.0)
    val = pos[idx - 1] * (1 - w)[:, None] + pos[idx] * w[:, None]
    ok = (t_hi - t_lo <= max_gap_s) & (t_out >= t_src[0]) & (t_out <= t_src[-1])
    out[ok] = val[ok]
    return out


def c3d_grid(trial: RecordedTrial) -> tuple[float, int, np.ndarray, np.ndarray]:
    """(point_rate_hz, analog_per_frame, t_points, t_analog) covering the span both streams share."""
    mt, ft = trial.markers.t_s, trial.force.t_s
    cam_rate = _rate_hz(mt, trial.descriptors.get("camera", {}).get("rate_hz"))
    plate_rate = _rate_hz(ft, trial.descriptors.get("plate", {}).get("rate_hz"))
    point_rate = float(max(1, round(cam_rate))) if cam_rate else 0.0
    if not point_rate:  # force only: points at 100 Hz carrying no markers, analog close to the plate rate
        point_rate = 100.0
    ratio = max(1, int(round(plate_rate / point_rate))) if plate_rate else 1
    spans = [(a[0], a[-1]) for a in (mt, ft) if len(a)]
    t_start = max(s[0] for s in spans)
    t_end = min(s[1] for s in spans)
    n_frames = max(int(np.floor((t_end - t_start) * point_rate)) + 1, 1)
    t_points = t_start + np.arange(n_frames) / point_rate
    t_analog = t_start + np.arange(n_frames * ratio) / (point_rate * ratio)
    return point_rate, ratio, t_points, t_analog


def plate_corners_mm(trial: RecordedTrial) -> np.ndarray:
    """(3, 4) corners in C3D order (+x+y, -x+y, -x-y, +x-y), top surface z = 0, mm."""
    hx, hy = trial.config.plate.size_x_m * 500.0, trial.config.plate.size_y_m * 500.0
    return np.array([[hx, -hx, -hx, hx], [hy, hy, -hy, -hy], [0.0, 0.0, 0.0, 0.0]])


def _int_param(c: ezc3d.c3d, group: str, name: str, values: Iterable[int], dims: list[int]) -> None:
    """An INT parameter (c3d.add_parameter turns Python ints into floats, which readers reject here)."""
    import ezc3d

    param = ezc3d.ezc3d.Parameter(name)
    param.set(ezc3d.ezc3d.VecInt([int(v) for v in values]), dims)
    c["parameters"].add_parameter(group, param)


def c3d_text(value: object) -> str:
    """A C3D string parameter's text: its length is one byte in the file, so at most C3D_TEXT_MAX
    characters (ezc3d writes a longer one with the length wrapped past 255, and every reader then refuses
    the whole file: the record command line with long paths did). Cut, with an ellipsis to say so."""
    text = str(value)
    return text if len(text) <= C3D_TEXT_MAX else text[:C3D_TEXT_MAX - 3] + "..."


def _wall_mm(value: object) -> float:
    """The recorded wall (mm behind the heel line) as a REAL; NaN without one (or in older files)."""
    try:
        wall = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return wall if math.isfinite(wall) and wall > 0 else math.nan


def export_c3d(trial: RecordedTrial, out: Path, info: dict[str, str] | None = None) -> Path:
    import ezc3d  # only the exporter needs it

    point_rate, ratio, t_points, t_analog = c3d_grid(trial)
    names = list(trial.markers.positions)
    points = np.zeros((4, len(names), len(t_points)))
    max_gap = 1.5 / point_rate
    for j, name in enumerate(names):
        xyz = resample_markers(trial.markers.t_s, trial.markers.positions[name], t_points, max_gap) * 1000.0
        points[:3, j, :] = xyz.T
        points[3, j, :] = 1.0
    cells = np.zeros((len(t_analog), 4))
    for i in range(4 if len(trial.force) else 0):
        cells[:, i] = np.interp(t_analog, trial.force.t_s, trial.force.cells_n[:, i])
    xy_mm = trial.config.plate.channel_xy * 1000.0
    fz = cells.sum(axis=1)
    # load applied to the plate (z up => pushing down is negative); moments about the top-surface centre
    analogs = np.zeros((1, len(FP_LABELS) + len(CELL_LABELS), len(t_analog)))
    analogs[0, 2] = -fz
    analogs[0, 3] = -(cells @ xy_mm[:, 1])
    analogs[0, 4] = cells @ xy_mm[:, 0]
    analogs[0, 6:10] = cells.T
    shear, tz = trial.force.shear_n, trial.force.free_moment_nm
    if shear is not None and tz is not None and len(trial.force):  # a six-component plate's own
        fx = np.interp(t_analog, trial.force.t_s, shear[:, 0])
        fy = np.interp(t_analog, trial.force.t_s, shear[:, 1])
        free = np.interp(t_analog, trial.force.t_s, np.nan_to_num(tz))
        with np.errstate(divide="ignore", invalid="ignore"):
            cop_mm = np.where(fz[:, None] > 0, (cells @ xy_mm) / fz[:, None], 0.0)
        analogs[0, 0], analogs[0, 1] = fx, fy  # the load ON the plate, plate axes (applied at the top)
        # about the top-surface centre: the free moment plus the shear acting at the CoP (N.mm)
        analogs[0, 5] = free * 1000.0 + cop_mm[:, 0] * fy - cop_mm[:, 1] * fx

    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [point_rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = names
    c["parameters"]["ANALOG"]["RATE"]["value"] = [point_rate * ratio]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = list(FP_LABELS + CELL_LABELS)
    c["data"]["points"] = points
    c["data"]["analogs"] = analogs
    c.add_parameter("POINT", "UNITS", ["mm"])
    c.add_parameter("ANALOG", "UNITS", ["N"] * 3 + ["Nmm"] * 3 + ["N"] * 4)
    _int_param(c, "FORCE_PLATFORM", "USED", [1], [1])
    _int_param(c, "FORCE_PLATFORM", "TYPE", [2], [1])
    _int_param(c, "FORCE_PLATFORM", "ZERO", [0, 0], [2])
    c.add_parameter("FORCE_PLATFORM", "CORNERS", plate_corners_mm(trial)[:, :, None])
    c.add_parameter("FORCE_PLATFORM", "ORIGIN", np.zeros((3, 1)))
    _int_param(c, "FORCE_PLATFORM", "CHANNEL", range(1, 7), [6, 1])
    md = trial.metadata
    c.add_parameter("SUBJECTS", "NAMES", [c3d_text(md.get("subject_id") or "unknown")])
    c.add_parameter("MANUFACTURER", "SOFTWARE", [f"hinge-station {md.get('software_version', '')}"])
    c.add_parameter("TRIAL", "STATION_T0_S", [float(t_points[0])])  # trial-clock time of frame 1
    # what the plate measured: Fx, Fy, Mz are 0 (not measured) from a four-cell plate
    c.add_parameter("HINGE_TRIAL", "PLATE_COMPONENTS",
                    ["six-component" if trial.force.shear_n is not None else "4-cell"])
    c.add_parameter("HINGE_TRIAL", "WALL_MM", [_wall_mm(md.get("wall_mm"))])
    for rep in trial.reps:
        for label, t in (("Rep start", rep.t_start), ("Rep bottom", rep.t_bottom), ("Rep end", rep.t_end)):
            rel = float(t - t_points[0])
            if 0 <= rel <= t_points[-1] - t_points[0]:
                c.add_event([int(rel // 60), rel % 60], context="General", label=label,
                            description=f"rep {rep.index}")
    if trial.reps:  # rep times as station-trial seconds (STATION_T0_S is frame 1)
        for name, key in REP_PARAMETERS.items():
            values = [getattr(rep, key) for rep in trial.reps]
            c.add_parameter("HINGE_REPS", name, [math.nan if v is None else float(v) for v in values])
    for key, value in (info or {}).items():  # trial_info.trial_info(): date, drill, ... (de-identified)
        c.add_parameter("HINGE_TRIAL", key.upper(), [c3d_text(value)])
    prepare(out)  # owner-only before ezc3d writes it (station.privacy)
    c.write(str(out))
    return out
