"""`export --format opensim`: OpenSim 4.x's own readers load the .trc and .mot, and the numbers are the
trial's (markers within 0.01 mm in OpenSim's axes, forces within 1e-6 N); its ExternalLoads applies them."""

from __future__ import annotations

import numpy as np
import pytest

from station.export.opensim import MOT_COLUMNS, to_opensim
from station.recording.reader import read_trial
from tests.conftest import run_cli
from tests.support.trial_fixtures import write_synthetic_trial

osim = pytest.importorskip("opensim", reason="the OpenSim 4.x Python package (dev extra) reads the files")


@pytest.fixture
def exported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # OpenSim resolves the ExternalLoads datafile from here; opensim.log too
    osim.Logger.setLevelString("error")
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=4.0)
    res = run_cli("export", str(path), "--format", "opensim", "--out", str(tmp_path / "osim"))
    assert res.returncode == 0, res.stderr
    return read_trial(path), tmp_path / "osim"


def test_axes_map_the_plate_frame_onto_opensims():
    # plate: x anterior, y left, z up -> OpenSim: X forward, Y up, Z right
    np.testing.assert_array_equal(to_opensim(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])),
                                  [[1, 0, 0], [0, 0, -1], [0, 1, 0]])


def test_opensim_reads_the_markers_in_its_axes_and_mm(exported):
    trial, out = exported
    table = osim.TimeSeriesTableVec3(str(out / "trial.trc"))
    assert list(table.getColumnLabels()) == ["hip", "knee", "ankle", "shoulder", "head"]
    assert table.getTableMetaDataAsString("Units") == "mm"
    assert table.getNumRows() == len(trial.markers)
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), trial.markers.t_s, atol=1e-6)
    hip_col = table.getDependentColumn("hip")
    got = np.array([[hip_col[i][k] for k in range(3)] for i in range(table.getNumRows())])
    x, y, z = trial.markers.positions["hip"].T * 1000.0
    err = np.abs(got - np.column_stack([x, z, -y])).max()
    assert err < 0.01, f"hip differs from the trial by {err:.4f} mm"
    knee = table.getDependentColumn("knee")  # never seen in this trial: NaN, as OpenSim marks a gap
    assert all(np.isnan(knee[i][0]) for i in range(table.getNumRows()))


def test_opensim_reads_the_ground_reaction_as_the_trial_measured_it(exported):
    trial, out = exported
    mot = out / "trial_grf.mot"
    table = osim.TimeSeriesTable(str(mot))  # STOFileAdapter
    assert tuple(table.getColumnLabels()) == MOT_COLUMNS
    assert "Fz only" in table.getTableMetaDataAsString("plate")
    assert osim.Storage(str(mot)).getSize() == len(trial.force)  # the older Storage reader agrees
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), trial.force.t_s, atol=1e-6)
    col = {c: np.array(table.getDependentColumn(c).to_numpy()) for c in MOT_COLUMNS}
    loaded = np.isfinite(trial.cop_xy_m).all(axis=1)
    assert loaded.mean() > 0.9
    err_n = np.abs(col["ground_force_vy"][loaded] - trial.fz_n[loaded]).max()
    assert err_n < 1e-6, f"vertical force differs by {err_n:.2e} N"
    np.testing.assert_allclose(col["ground_force_px"][loaded], trial.cop_xy_m[loaded, 0], atol=1e-9)
    np.testing.assert_allclose(col["ground_force_pz"][loaded], -trial.cop_xy_m[loaded, 1], atol=1e-9)
    for name in ("ground_force_vx", "ground_force_vz", "ground_force_py", "ground_torque_x",
                 "ground_torque_y", "ground_torque_z"):  # four cells: no shear, no free moment; point on top
        assert not np.any(col[name]), name
    assert not np.any(col["ground_force_vy"][~loaded])  # below the CoP gate: no force, no point


def test_opensims_external_loads_apply_the_plate_force(exported, monkeypatch):
    trial, out = exported
    monkeypatch.chdir(out)
    model = osim.Model()
    body = osim.Body("calcn_r", 1.0, osim.Vec3(0), osim.Inertia(1))
    model.addBody(body)
    model.addJoint(osim.FreeJoint("free", model.getGround(), body))
    model.addModelComponent(osim.ExternalLoads(str(out / "trial_external_loads.xml"), True))
    model.initSystem()
    forces = [osim.ExternalForce.safeDownCast(c) for c in model.getComponentsList()
              if c.getConcreteClassName() == "ExternalForce"]  # (a list: OpenSim's iterator must run out)
    assert len(forces) == 1
    force = forces[0]
    assert force.getAppliedToBodyName() == "calcn_r"
    for i in (1000, 2500):
        t = float(trial.force.t_s[i])
        f, p = force.getForceAtTime(t), force.getPointAtTime(t)
        np.testing.assert_allclose([f.get(k) for k in range(3)], [0.0, trial.fz_n[i], 0.0], atol=1e-6)
        cop = trial.cop_xy_m[i]
        np.testing.assert_allclose([p.get(k) for k in range(3)], [cop[0], 0.0, -cop[1]], atol=1e-9)


def test_existing_files_are_not_overwritten_without_force(exported, tmp_path):
    command = ("export", str(tmp_path / "trial.h5"), "--format", "opensim", "--out", str(tmp_path / "osim"))
    again = run_cli(*command)
    assert again.returncode == 2 and "trial.trc: already exists" in again.stderr
    forced = run_cli(*command, "--force")
    assert forced.returncode == 0, forced.stderr
