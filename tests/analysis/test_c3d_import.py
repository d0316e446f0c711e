"""C3D import: a trial written to C3D (lab frame rotated and shifted, mm, TYPE 2 / TYPE 4 platform)
analyses to the same reps as the trial itself; Plug-in Gait hip joint centre; bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.analysis.analyze import LoadOptions, analyze_blocks, analyze_path
from station.analysis.c3d_markers import harrington_hjc
from station.config import StationConfig
from station.errors import StationError
from tests.conftest import run_cli
from tests.support.c3d_writer import write_c3d
from tests.support.synthetic_trial import SynthRep, make_trial

REPS = [SynthRep(3.0, 4.6, 6.3, back_m=0.16, drop_m=0.03),
        SynthRep(9.0, 10.6, 12.2, back_m=0.12, drop_m=0.18),
        SynthRep(15.0, 16.5, 18.0, back_m=0.10, drop_m=0.02, cop_shift_m=0.06)]
KEYS_TOL = {"t_start": 0.1, "t_bottom": 0.1, "t_end": 0.1, "hip_back_mm": 10, "hip_drop_mm": 10,
            "knee_flexion_deg": 3, "trunk_inclination_deg": 3, "foot_pos_bottom": 0.02,
            "foot_pos_shift": 0.02, "heel_load_pct": 2.0}


@pytest.fixture(scope="module")
def trial():
    force, markers, truth = make_trial(REPS, 21.0, seed=11)
    xy = StationConfig().plate.channel_xy
    fz = force.cells_n.sum(axis=1)
    cop = (force.cells_n @ xy) / fz[:, None]
    return force, markers, truth, fz, cop


def _feet(n: int) -> dict[str, np.ndarray]:
    return {"heel": np.tile([-0.13, -0.10, 0.03], (n, 1)), "toe": np.tile([0.08, -0.10, 0.03], (n, 1))}


@pytest.mark.parametrize("plate_type,heading_deg", [(2, 30.0), (4, -90.0)])
def test_c3d_round_trip_matches_direct_analysis(tmp_path, trial, plate_type, heading_deg):
    force, markers, truth, fz, cop = trial
    labels = {k: v for k, v in markers.positions.items()} | _feet(len(markers))
    path = tmp_path / f"trial_type{plate_type}.c3d"
    write_c3d(path, markers=labels, marker_rate=30.0, fz_n=fz, cop_xy_m=cop, heading_deg=heading_deg,
              plate_type=plate_type)
    direct = analyze_blocks(force, markers, StationConfig(), source="direct")
    imported = analyze_path(path, LoadOptions(config=StationConfig()))
    assert imported.summary["input"]["anterior_from"] == "heel->toe markers"
    assert len(imported.reps) == len(direct.reps) == len(REPS)
    for a, b, tr in zip(imported.reps, direct.reps, truth.reps, strict=True):
        ja, jb = a.to_json(), b.to_json()
        for key, tol in KEYS_TOL.items():
            assert abs(ja[key] - jb[key]) <= tol / 2, key  # same data, frame change only
            assert abs(ja[key] - tr[key]) <= tol, key
        assert ja["faults"] == jb["faults"]


def test_anterior_axis_from_config_without_feet_markers(tmp_path, trial):
    force, markers, truth, fz, cop = trial
    path = tmp_path / "nofeet.c3d"
    write_c3d(path, markers=markers.positions, marker_rate=30.0, fz_n=fz, cop_xy_m=cop, heading_deg=-90.0)
    config = StationConfig()
    config.c3d.lab_anterior_axis = "-y"
    result = analyze_path(path, LoadOptions(config=config))
    assert result.summary["input"]["anterior_from"] == "config c3d.lab_anterior_axis"
    errors = [abs(r.hip_back_mm - t["hip_back_mm"]) for r, t in zip(result.reps, truth.reps, strict=True)]
    assert len(errors) == 3 and max(errors) < 10
    assert abs(result.reps[2].foot_pos_bottom - truth.reps[2]["foot_pos_bottom"]) < 0.02


def test_plug_in_gait_hip_joint_centre_follows_the_pelvis():
    # a pelvis of width 240 mm, depth 160 mm around a known right hip joint centre, tilted 0..80 deg
    pw, pd = 0.240, 0.160
    local_hjc = np.array([-0.24 * pd * 1000 - 9.9, -0.30 * pw * 1000 - 10.9, 0.33 * pw * 1000 + 7.3]) / 1000
    hjc_true = np.array([0.0, -0.1, 0.9])
    rows = {k: [] for k in ("LASI", "RASI", "LPSI", "RPSI")}
    tilts = np.radians(np.linspace(0, 80, 9))
    for tilt in tilts:
        fwd = np.array([np.cos(tilt), 0.0, -np.sin(tilt)])  # pelvis X (anterior) tips down in a hinge
        up = np.array([np.sin(tilt), 0.0, np.cos(tilt)])
        right = np.array([0.0, -1.0, 0.0])
        mid_asis = hjc_true - (local_hjc[0] * fwd + local_hjc[1] * up + local_hjc[2] * right)
        rows["RASI"].append(mid_asis + pw / 2 * right)
        rows["LASI"].append(mid_asis - pw / 2 * right)
        rows["RPSI"].append(mid_asis - pd * fwd + 0.04 * right)
        rows["LPSI"].append(mid_asis - pd * fwd - 0.04 * right)
    p = {k: np.array(v) for k, v in rows.items()}
    hjc = harrington_hjc(p["LASI"], p["RASI"], p["LPSI"], p["RPSI"], "R")
    assert np.max(np.linalg.norm(hjc - hjc_true, axis=1)) < 1e-6
    centroid = (p["LASI"] + p["RASI"] + p["LPSI"] + p["RPSI"]) / 4
    assert np.ptp(centroid[:, 0]) > 0.1  # the pelvis centroid swings 10+ cm: not a hip


def test_plug_in_gait_file_uses_the_hjc_and_reports_it(tmp_path):
    n = 60
    t = np.arange(n) / 30
    base = {"RASI": [0.10, -0.12, 1.0], "LASI": [0.10, 0.12, 1.0], "RPSI": [-0.06, -0.04, 1.02],
            "LPSI": [-0.06, 0.04, 1.02], "RKNE": [0.02, -0.12, 0.5], "RANK": [0.0, -0.12, 0.08],
            "RSHO": [0.0, -0.18, 1.45]}
    markers = {k: np.tile(v, (n, 1)) + 0.001 * t[:, None] for k, v in base.items()}
    path = tmp_path / "pig.c3d"
    write_c3d(path, markers=markers, marker_rate=30.0, with_platform=False)
    result = analyze_path(path, LoadOptions(config=StationConfig()))
    assert "Harrington 2007" in result.summary["hip_source"]
    assert result.summary["input"]["side"] == "right"
    assert any("no force platforms" in w for w in result.warnings)


def test_bad_c3d_inputs_name_what_is_missing(tmp_path, trial):
    force, markers, _, fz, cop = trial
    not_c3d = tmp_path / "notes.c3d"
    not_c3d.write_text("hello, not a motion file\n" * 40)
    with pytest.raises(StationError, match="not a C3D file"):
        analyze_path(not_c3d, LoadOptions(config=StationConfig()))
    good = tmp_path / "good.c3d"
    write_c3d(good, markers=markers.positions, marker_rate=30.0, fz_n=fz, cop_xy_m=cop)
    truncated = tmp_path / "truncated.c3d"
    truncated.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(StationError, match="truncated or damaged"):
        analyze_path(truncated, LoadOptions(config=StationConfig()))
    no_hip = tmp_path / "nohip.c3d"
    write_c3d(no_hip, markers={"knee": markers.positions["knee"]}, marker_rate=30.0, fz_n=fz, cop_xy_m=cop)
    result = analyze_path(no_hip, LoadOptions(config=StationConfig()))
    assert result.reps == [] and any("no hip marker" in w for w in result.warnings)
    assert abs(result.summary["force"]["foot_pos_mean"] - 0.42) < 0.03  # CoP still computed


def test_cli_analyze_json_and_table(tmp_path, trial):
    force, markers, truth, fz, cop = trial
    path = tmp_path / "cli.c3d"
    write_c3d(path, markers=markers.positions | _feet(len(markers)), marker_rate=30.0, fz_n=fz, cop_xy_m=cop)
    proc = run_cli("analyze", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["rep_count"] == 3 and data["summary"]["rep_count"] == 3
    assert list(data["reps"][0])[:16] == ["index", "t_start", "t_bottom", "t_end", "hip_back_mm",
                                          "hip_drop_mm", "hinge_ratio", "knee_flexion_deg",
                                          "knee_flexion_change_deg",
                                          "trunk_inclination_deg", "foot_pos_bottom", "foot_pos_shift",
                                          "heel_load_pct", "descent_s", "ascent_s", "dowel_gap_mm"]
    assert [r["pass"] for r in data["reps"]] == [True, False, False]
    table = run_cli("analyze", str(path))
    assert table.returncode == 0 and "PASS" in table.stdout and "FAIL squat_pattern" in table.stdout
    h5 = run_cli("analyze", str(tmp_path / "trial.h5"))
    assert h5.returncode == 2 and len(h5.stderr.strip().splitlines()) == 1 and ".h5" in h5.stderr
