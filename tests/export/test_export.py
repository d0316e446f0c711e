"""Exports: ezc3d's own force-platform CoP from our C3D equals the station's; CSV holds every stream."""

from __future__ import annotations

import numpy as np

from station.recording.reader import read_trial
from tests.conftest import run_cli
from tests.support.trial_fixtures import write_synthetic_trial


def test_ezc3d_cop_matches_station_within_1mm(tmp_path):
    import ezc3d

    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=6.0)
    res = run_cli("export", str(path), "--format", "c3d")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "trial.c3d"
    c = ezc3d.c3d(str(out), extract_forceplat_data=True)
    point_rate = c["header"]["points"]["frame_rate"]
    analog_rate = c["header"]["analogs"]["frame_rate"]
    assert point_rate == 30.0 and analog_rate / point_rate == int(analog_rate / point_rate)
    plat = c["data"]["platform"][0]
    cop_mm = plat["center_of_pressure"][:2].T  # ezc3d's computation from CORNERS/ORIGIN and Fx..Mz
    trial = read_trial(path)
    t0 = float(c["parameters"]["TRIAL"]["STATION_T0_S"]["value"][0])
    t_analog = t0 + np.arange(cop_mm.shape[0]) / analog_rate
    station_mm = np.column_stack([np.interp(t_analog, trial.force.t_s, trial.cop_xy_m[:, i])
                                  for i in range(2)]) * 1000.0
    err = np.abs(cop_mm - station_mm).max()
    assert err < 1.0, f"ezc3d CoP differs from the station's by {err:.3f} mm"
    assert np.ptp(cop_mm[:, 0]) > 150  # the CoP really moved (heel <-> toe), so the check means something
    fz = -plat["force"][2]
    np.testing.assert_allclose(fz, np.interp(t_analog, trial.force.t_s, trial.fz_n), rtol=1e-3)
    # markers in mm, same trajectory
    hip = c["data"]["points"][:3, list(c["parameters"]["POINT"]["LABELS"]["value"]).index("hip")].T
    t_points = t0 + np.arange(hip.shape[0]) / point_rate
    want = np.column_stack([np.interp(t_points, trial.markers.t_s, trial.markers.positions["hip"][:, i])
                            for i in range(3)]) * 1000.0
    np.testing.assert_allclose(hip, want, atol=1e-2)
    labels = c["parameters"]["EVENT"]["LABELS"]["value"]
    assert labels.count("Rep start") == 2
    # never overwrite without --force
    again = run_cli("export", str(path), "--format", "c3d")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_csv_one_file_per_stream(tmp_path):
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=1.0)
    res = run_cli("export", str(path), "--format", "csv")
    assert res.returncode == 0, res.stderr
    force = np.genfromtxt(tmp_path / "trial_force.csv", delimiter=",", names=True)
    trial = read_trial(path)
    np.testing.assert_allclose(force["cop_x_m"], trial.cop_xy_m[:, 0], atol=1e-5)
    assert len(force) == 1000
    raw = np.genfromtxt(tmp_path / "trial_plate_raw.csv", delimiter=",", names=True, dtype=np.int64)
    assert raw["counts2"].tolist() == trial.plate.counts[:, 2].tolist()
    reps = (tmp_path / "trial_reps.csv").read_text().splitlines()
    assert len(reps) == 3 and reps[2].endswith("shallow,False")
    for name in ("camera_index", "markers", "events"):
        assert (tmp_path / f"trial_{name}.csv").is_file()


def test_a_long_text_does_not_break_the_c3d(tmp_path):
    """A C3D string's length is one byte: the record command line with long paths (pytest's own tmp paths
    under xdist) made a file every reader refused. Text is cut at 255 characters; the file opens."""
    import ezc3d

    from station.export.c3d_file import C3D_TEXT_MAX, export_c3d

    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=4.0)
    long = "hinge-station record --out /" + "very/long/folder/" * 30 + "trial.h5"
    assert len(long) > 300
    out = export_c3d(read_trial(path), tmp_path / "long.c3d", {"command": long, "notes": "short"})
    params = ezc3d.c3d(str(out))["parameters"]["HINGE_TRIAL"]
    command = params["COMMAND"]["value"][0]
    assert len(command) == C3D_TEXT_MAX and command.endswith("...") and long.startswith(command[:-3])
    assert params["NOTES"]["value"][0] == "short"
