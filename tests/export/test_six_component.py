"""Six-component plates through the recorder and the exports: shear (Fx, Fy) and the free moment Tz are
kept when the plate measured them (HDF5, CSV, C3D type-2 channels read back by ezc3d, OpenSim .mot), and a
four-cell plate says it has none (plate_components, no columns, zeros marked as not measured)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drivers.samples import PlateChunk
from station.config import StationConfig
from station.core.cop import cop_and_foot_pos
from station.core.shear import shear_and_free_moment
from station.export.c3d_file import export_c3d
from station.export.csv_files import export_csv
from station.export.opensim import MOT_COLUMNS, export_opensim
from station.recording.reader import read_trial
from station.recording.writer import TrialWriter
from station.trial.steps import ForceStep
from tests.support.trial_fixtures import CAMERA_FPS, PLATE_HZ, hip_truth, truth_cells, write_synthetic_trial

DZ = 0.041


def _shear(t: np.ndarray) -> np.ndarray:
    """Fx (swing-like drive), Fy, Mz: what the plate sends besides Fz, Mx, My."""
    return np.column_stack([40.0 * np.sin(2 * np.pi * 0.5 * t), -15.0 + 5.0 * np.cos(2 * np.pi * 0.3 * t),
                            2.0 + np.sin(2 * np.pi * 0.7 * t)])


def write_six_trial(path: Path, duration_s: float = 4.0) -> dict:
    """A trial the way the runner writes one from a six-component plate (drivers.lsl_plate + runner)."""
    config = StationConfig()
    config.lsl_plate.origin_depth_m = DZ
    step = ForceStep(config, None)
    writer = TrialWriter(path, config=config, metadata={"subject_id": "S06", "drill": "bw_rdl"})
    writer.start(t0_host_ns=0)
    writer.descriptor("plate", rate=PLATE_HZ, units="counts")
    writer.descriptor("camera", rate=CAMERA_FPS)
    n = int(duration_s * PLATE_HZ)
    t = np.arange(n) / PLATE_HZ
    cells = truth_cells(t, config)
    fz = cells.sum(axis=1)
    cop = cells @ config.plate.channel_xy / fz[:, None]
    fx, fy, mz = _shear(t).T
    six = np.column_stack([fx, fy, fz, fz * cop[:, 1] + fy * DZ, -fz * cop[:, 0] - fx * DZ, mz])
    for a in range(0, n, 100):
        sl = slice(a, a + 100)
        chunk = PlateChunk(np.arange(a, a + 100), t[sl], (t[sl] * 1e9).astype(np.int64),
                           np.round(cells[sl] * 1000).astype(np.int32), np.zeros(100, np.uint8), six=six[sl])
        writer.append_plate(chunk)
        f, c, fp = cop_and_foot_pos(cells[sl], config, step.min_force_n)
        shear, tz = shear_and_free_moment(six[sl], DZ, step.min_force_n)
        writer.append_force(t[sl], f, c, fp, cells[sl], shear_n=shear, free_moment_nm=tz)
    mt = np.arange(int(duration_s * CAMERA_FPS)) / CAMERA_FPS
    hip = hip_truth(mt)
    for k, tk in enumerate(mt):
        writer.append_camera_index(k, tk * 1000.0, int(tk * 1e9), tk, 0)
        writer.append_markers(tk, {"hip": hip[k:k + 1]})
    writer.stop("duration reached", {})
    tz_truth = mz - cop[:, 0] * fy + cop[:, 1] * fx  # the free moment about the vertical through the CoP
    return {"t": t, "fx": fx, "fy": fy, "tz": tz_truth, "six": six, "cop": cop}


def test_shear_and_free_moment_from_the_components():
    t = np.arange(500) / PLATE_HZ
    fz = 600.0 + 0 * t
    cop = np.column_stack([0.05 + 0 * t, -0.02 + 0 * t])
    fx, fy, mz = _shear(t).T
    six = np.column_stack([fx, fy, fz, fz * cop[:, 1] + fy * DZ, -fz * cop[:, 0] - fx * DZ, mz])
    shear, tz = shear_and_free_moment(six, DZ, 50.0)
    np.testing.assert_allclose(shear, np.column_stack([fx, fy]))
    np.testing.assert_allclose(tz, mz - 0.05 * fy - 0.02 * fx, atol=1e-9)
    six[:10, 2] = 20.0  # stepping off: below the gate the free moment is undefined, the shear is not
    shear, tz = shear_and_free_moment(six, DZ, 50.0)
    assert np.isnan(tz[:10]).all() and np.isfinite(shear[:10]).all()
    # the core carries them to its live read-outs; a four-cell block leaves them None
    from station.core.hinge_core import HingeCore
    from station.streams import ForceBlock

    config = StationConfig()
    cells = truth_cells(t, config)
    core = HingeCore(config)
    core.push_force(ForceBlock(t, cells))
    assert core.live.shear_n is None and core.live.free_moment_nm is None
    core.push_force(ForceBlock(t + 1.0, cells, shear, tz))
    assert core.live.shear_n == (fx[-1], fy[-1]) and core.live.free_moment_nm == tz[-1]


def test_recorder_keeps_six_components_and_four_cells_say_they_have_none(tmp_path):
    truth = write_six_trial(tmp_path / "six.h5")
    trial = read_trial(tmp_path / "six.h5")
    assert trial.metadata["plate_components"] == "six-component"
    np.testing.assert_allclose(trial.force.shear_n, np.column_stack([truth["fx"], truth["fy"]]))
    np.testing.assert_allclose(trial.force.free_moment_nm, truth["tz"], atol=1e-6)
    import h5py

    with h5py.File(tmp_path / "six.h5", "r") as f:
        np.testing.assert_allclose(f["plate/raw/six"][:], truth["six"])
        assert "N" in f["force/shear_n"].attrs["units"]
    write_synthetic_trial(tmp_path / "four.h5", duration_s=1.0)
    four = read_trial(tmp_path / "four.h5")
    assert four.metadata["plate_components"] == "4-cell"
    assert four.force.shear_n is None and four.force.free_moment_nm is None
    assert four.force.between(0.1, 0.2).shear_n is None


def test_csv_has_shear_columns_only_from_a_six_component_plate(tmp_path):
    truth = write_six_trial(tmp_path / "six.h5")
    export_csv(read_trial(tmp_path / "six.h5"), tmp_path / "six")
    force = np.genfromtxt(tmp_path / "six_force.csv", delimiter=",", names=True)
    np.testing.assert_allclose(force["fx_n"], truth["fx"], atol=1e-3)
    np.testing.assert_allclose(force["free_moment_nm"], truth["tz"], atol=1e-4)
    write_synthetic_trial(tmp_path / "four.h5", duration_s=1.0)
    export_csv(read_trial(tmp_path / "four.h5"), tmp_path / "four")
    header = (tmp_path / "four_force.csv").read_text().splitlines()[0]
    assert "fx_n" not in header and "cell3_n" in header


def test_c3d_type2_plate_carries_fx_fy_and_the_free_moment(tmp_path):
    import ezc3d

    truth = write_six_trial(tmp_path / "six.h5")
    trial = read_trial(tmp_path / "six.h5")
    export_c3d(trial, tmp_path / "six.c3d")
    c = ezc3d.c3d(str(tmp_path / "six.c3d"), extract_forceplat_data=True)
    plat = c["data"]["platform"][0]
    rate = c["header"]["analogs"]["frame_rate"]
    t0 = float(c["parameters"]["TRIAL"]["STATION_T0_S"]["value"][0])
    t = t0 + np.arange(plat["force"].shape[1]) / rate
    fx, fy, tz = (np.interp(t, truth["t"], truth[k]) for k in ("fx", "fy", "tz"))
    np.testing.assert_allclose(plat["force"][0], fx, atol=0.05)  # N, the load on the plate
    np.testing.assert_allclose(plat["force"][1], fy, atol=0.05)
    cop_mm = np.column_stack([np.interp(t, truth["t"], truth["cop"][:, i]) for i in range(2)]) * 1000.0
    assert np.abs(plat["center_of_pressure"][:2].T - cop_mm).max() < 1.0  # shear at the top: CoP unchanged
    np.testing.assert_allclose(plat["Tz"][2] / 1000.0, tz, atol=0.02)  # ezc3d's free moment (N.mm), z up
    assert list(c["parameters"]["HINGE_TRIAL"]["PLATE_COMPONENTS"]["value"]) == ["six-component"]


def test_opensim_mot_has_the_reactions_shear_and_free_moment(tmp_path):
    truth = write_six_trial(tmp_path / "six.h5")
    trial = read_trial(tmp_path / "six.h5")
    paths = export_opensim(trial, tmp_path / "osim", "six")
    mot = next(p for p in paths if p.name.endswith(".mot"))
    lines = mot.read_text().splitlines()
    head = lines.index("endheader")
    assert "six-component" in next(x for x in lines[:head] if x.startswith("plate="))
    data = np.loadtxt(lines[head + 2:])
    col = {c: data[:, 1 + i] for i, c in enumerate(MOT_COLUMNS)}
    # the reaction on the subject in OpenSim axes (X forward, Y up, Z right): -Fx, +Fz, +Fy; torque -Tz
    np.testing.assert_allclose(col["ground_force_vx"], -truth["fx"], atol=1e-6)
    np.testing.assert_allclose(col["ground_force_vz"], truth["fy"], atol=1e-6)
    np.testing.assert_allclose(col["ground_torque_y"], -truth["tz"], atol=1e-6)


def test_bids_forceplate_has_shear_and_free_moment_channels(tmp_path):
    from station.export.bids import export_bids
    from tests.export.test_bids import validate

    truth = write_six_trial(tmp_path / "six.h5")
    trial = read_trial(tmp_path / "six.h5")
    export_bids([trial], tmp_path / "ds")
    motion = next((tmp_path / "ds").glob("sub-*/ses-*/motion"))
    rows = next(motion.glob("*forceplate_channels.tsv")).read_text().splitlines()
    names = [row.split("\t")[0] for row in rows[1:]]
    assert names[-4:] == ["fx", "fy", "tz", "latency"]
    plate = np.genfromtxt(next(motion.glob("*forceplate_motion.tsv")), delimiter="\t", missing_values="n/a")
    assert plate.shape[1] == len(names)
    np.testing.assert_allclose(plate[:, names.index("fx")], truth["fx"], atol=1e-3)
    np.testing.assert_allclose(plate[:, names.index("tz")], truth["tz"], atol=1e-4)
    validate(tmp_path / "ds")  # the BIDS validator accepts the extra channels (skipped where it is absent)
