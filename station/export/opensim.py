"""A trial file -> OpenSim 4.x: markers as `.trc`, the plate's ground reaction as `.mot`, and an
ExternalLoads `.xml` that applies it (what Inverse Dynamics and CMC read).

Axes. The station's plate frame is x anterior (toward the toes), y to the subject's left, z up, origin at
the centre of the plate's top surface. OpenSim's ground is X forward, Y up, Z to the subject's right.
Both are right-handed; the mapping (a -90 degree turn about x) is

    X_opensim =  x_plate      (forward)
    Y_opensim =  z_plate      (up)
    Z_opensim = -y_plate      (right = minus left)

so OpenSim's ground origin is the plate's top-surface centre and its floor (Y = 0) the plate's top.

`.trc`: the five markers (hip, knee, ankle, shoulder, head) in mm at the camera's frame times (the Time
column is the trial clock, t = 0 at the recording's start; frames are not resampled, so a dropped camera
frame is a longer step, not an invented sample). A marker not seen on a frame is an empty field, which
OpenSim reads as NaN.

`.mot`: one ground reaction (the force the plate puts on the subject) on the plate's sample times, with
the column names OpenSim's ExternalLoads and its examples use: ground_force_vx/vy/vz [N] (force),
ground_force_px/py/pz [m] (point of application = the centre of pressure, on the plate top, Y = 0),
ground_torque_x/y/z [N*m] (free moment about that point). The station's plate is four vertical load
cells: it measures Fz only, so the shear (vx, vz) is written as 0 and so is the free moment (it needs
shear); the header says so. Below the station's CoP gate (max(50 N, 10% body weight): stepping on or
off) the CoP is undefined: those rows carry force 0 and the point at the plate origin, as OpenSim's own
conversion scripts do below their threshold. Both feet stand on the one plate, so the reaction is the
sum of both feet's; the ExternalLoads file applies it to one body (`calcn_r` by default): split it per
foot before running per-leg inverse dynamics.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from station.documents import DocumentValue
from station.owner_files import open_private
from station.recording.reader import RecordedTrial

# plate frame (x anterior, y left, z up) -> OpenSim ground (X forward, Y up, Z right): v_os = R @ v_plate
PLATE_TO_OPENSIM = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
MOT_COLUMNS = ("ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py",
               "ground_force_pz", "ground_torque_x", "ground_torque_y", "ground_torque_z")
FOUR_CELL_NOTE = ("four vertical load cells measure Fz only: shear (ground_force_vx, ground_force_vz) and "
                  "the free moment (ground_torque_*) are written as 0, not measured")
SIX_COMPONENT_NOTE = ("six-component plate: shear (ground_force_vx, ground_force_vz) and the free moment "
                      "(ground_torque_y, about the vertical through the CoP) as measured")


def to_opensim(xyz_plate: np.ndarray) -> np.ndarray:
    """(..., 3) plate-frame vectors -> OpenSim ground axes (same units)."""
    return np.asarray(xyz_plate, float) @ PLATE_TO_OPENSIM.T


def opensim_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    """The files export_opensim writes: markers .trc, ground reaction .mot, ExternalLoads .xml."""
    return {"trc": out_dir / f"{stem}.trc", "mot": out_dir / f"{stem}_grf.mot",
            "xml": out_dir / f"{stem}_external_loads.xml"}


def _rate_hz(t_s: np.ndarray, declared: DocumentValue) -> float:
    """The declared rate when the samples agree with it (within 5%), else the measured median rate."""
    if len(t_s) < 2:
        return float(declared) if isinstance(declared, (int, float)) and declared > 0 else 0.0
    measured = float(1.0 / np.median(np.diff(t_s)))
    if isinstance(declared, (int, float)) and declared > 0 and abs(declared / measured - 1.0) < 0.05:
        return float(declared)
    return measured


def _num(value: float, fmt: str) -> str:
    return "NaN" if math.isnan(value) else format(value, fmt)


def write_trc(trial: RecordedTrial, path: Path) -> Path:
    """Markers in OpenSim's axes and mm, one row per recorded camera frame (OpenSim TRCFileAdapter layout)."""
    names = list(trial.markers.positions)
    t = np.asarray(trial.markers.t_s, float)
    rate = _rate_hz(t, trial.descriptors.get("camera", {}).get("rate_hz"))
    xyz = np.stack([to_opensim(trial.markers.positions[n]) * 1000.0 for n in names], axis=1)  # (M, K, 3)
    with open_private(path) as fh:
        fh.write(f"PathFileType\t4\t(X/Y/Z)\t{path.name}\n")
        fh.write("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame"
                 "\tOrigNumFrames\n")
        fh.write(f"{rate:.4f}\t{rate:.4f}\t{len(t)}\t{len(names)}\tmm\t{rate:.4f}\t1\t{len(t)}\n")
        fh.write("Frame#\tTime\t" + "\t".join(f"{n}\t\t" for n in names).rstrip("\t") + "\n")
        fh.write("\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, len(names) + 1)) + "\n")
        fh.write("\n")
        for k in range(len(t)):
            values = "\t".join(_num(v, ".6f") for v in xyz[k].ravel())
            fh.write(f"{k + 1}\t{t[k]:.6f}\t{values}\n")
    return path


def ground_reaction(trial: RecordedTrial) -> np.ndarray:
    """(N, 9) rows of MOT_COLUMNS in OpenSim's axes: the force on the subject, its point (the CoP), torque."""
    fz = np.asarray(trial.fz_n, float)
    cop = np.asarray(trial.cop_xy_m, float)
    loaded = np.isfinite(cop).all(axis=1) & np.isfinite(fz)
    force_plate = np.zeros((len(fz), 3))
    force_plate[loaded, 2] = fz[loaded]  # the plate pushes up on the subject with the load it carries
    point_plate = np.zeros((len(fz), 3))
    point_plate[loaded, :2] = cop[loaded]  # on the top surface: z = 0
    torque_plate = np.zeros((len(fz), 3))
    shear, tz = trial.force.shear_n, trial.force.free_moment_nm
    if shear is not None and tz is not None:  # six-component: the reaction's shear and free moment too
        force_plate[loaded, :2] = -shear[loaded]  # shear_n is the force ON the plate; the subject gets -
        torque_plate[loaded, 2] = -np.nan_to_num(tz[loaded])
    out = np.zeros((len(fz), 9))
    out[:, 0:3] = to_opensim(force_plate)
    out[:, 3:6] = to_opensim(point_plate)
    out[:, 6:9] = to_opensim(torque_plate)
    return out  # a four-cell plate: torques stay 0, it has no shear, so no free moment is measured


def write_mot(trial: RecordedTrial, path: Path) -> Path:
    """The ground reaction as an OpenSim storage file (STOFileAdapter / Storage read it)."""
    t = np.asarray(trial.force.t_s, float)
    rows = ground_reaction(trial)
    with open_private(path) as fh:
        fh.write(f"{path.name}\n")
        fh.write("version=1\n")
        fh.write(f"nRows={len(t)}\n")
        fh.write(f"nColumns={len(MOT_COLUMNS) + 1}\n")
        fh.write("inDegrees=no\n")
        fh.write("units=force N, point m, torque N*m; OpenSim ground axes (X forward, Y up, Z right)\n")
        six = trial.force.shear_n is not None
        fh.write(f"plate={SIX_COMPONENT_NOTE if six else FOUR_CELL_NOTE}\n")
        fh.write("gate=below the CoP gate (stepping on/off) force and point are 0\n")
        fh.write("endheader\n")
        fh.write("time\t" + "\t".join(MOT_COLUMNS) + "\n")
        for k in range(len(t)):
            fh.write(f"{t[k]:.6f}\t" + "\t".join(format(v, ".10g") for v in rows[k]) + "\n")
    return path


def write_external_loads(path: Path, mot: Path, body: str = "calcn_r") -> Path:
    """OpenSim 4 ExternalLoads: the .mot's force, point and torque, in ground, applied to `body`."""
    text = f"""<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000">
\t<!-- hinge-station: one force plate under both feet; the whole reaction is applied to {body}.
\t     {FOUR_CELL_NOTE}. -->
\t<ExternalLoads name="hinge_station_plate">
\t\t<objects>
\t\t\t<ExternalForce name="plate">
\t\t\t\t<applied_to_body>{body}</applied_to_body>
\t\t\t\t<force_expressed_in_body>ground</force_expressed_in_body>
\t\t\t\t<point_expressed_in_body>ground</point_expressed_in_body>
\t\t\t\t<force_identifier>ground_force_v</force_identifier>
\t\t\t\t<point_identifier>ground_force_p</point_identifier>
\t\t\t\t<torque_identifier>ground_torque_</torque_identifier>
\t\t\t\t<data_source_name>{mot.name}</data_source_name>
\t\t\t</ExternalForce>
\t\t</objects>
\t\t<groups />
\t\t<datafile>{mot.name}</datafile>
\t</ExternalLoads>
</OpenSimDocument>
"""
    with open_private(path) as fh:
        fh.write(text)
    return path


def export_opensim(trial: RecordedTrial, out_dir: Path, stem: str) -> list[Path]:
    """Write the .trc (when the trial has markers) and the .mot + ExternalLoads .xml (when it has force)."""
    paths = opensim_paths(out_dir, stem)
    written = []
    if len(trial.markers):
        written.append(write_trc(trial, paths["trc"]))
    if len(trial.force):
        written.append(write_mot(trial, paths["mot"]))
        written.append(write_external_loads(paths["xml"], paths["mot"]))
    return written
