"""Issue 23's acceptance on depth recordings the simulator did not make (tests/support/independent_depth.py:
another body, another ray-caster, D455-like noise, another camera's intrinsics): a good hinge, a squat and a
rounded back through the markerless path and the core. Reps exact, each rep's hip back within 25 mm of the
truth from the exact joints, faults as the movement is (the squat as a squat pattern, the rounded back as
back rounding by the virtual dowel, none of those on the good hinge). One case goes through a .db3 written
by the real pyrealsense2 software device and `analyze FILE.db3 --markers depth --plate PLATE.h5 --json`.

Cases spread camera side and body over the movements (not every combination: ~13.5 s of frames at 30 fps each;
about 60 s of CPU for the file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from station.analysis.analyze import analyze_blocks
from station.dowel.series import dowel_block
from station.dowel.tracker import DowelTracker
from station.markerless.tracker import DepthMarkerTracker
from station.results import AnalysisResult
from station.streams import MARKER_NAMES, MarkerBlock
from tests.support.independent_depth import DepthTrial, make_depth_trial

HIP_BACK_TOL_MM = 25.0  # issue 23: hip back per rep within 25 mm on independent recordings
HIP_TRAVEL_RMS_M = 0.015  # issue 23's frame-by-frame hip limit, on the hip's travel
MOVEMENT_FAULTS = ("squat_pattern", "back_rounding", "back_arching")
# The deep squat (knees ~100 deg, thighs ~70 deg from vertical) read +33-35 mm hip back here until the knee's
# standing correction turned with the shank (station.markerless.limbs.read_legs): this body's calf bulges
# behind the bones and tilts the shank's midline ~3 deg off the tibia.

# (movement, body, camera side): each movement, each body and each side at least once
IN_PROCESS = [("good", "short", "right"), ("squat", "tall", "left"), ("rounding", "short", "left")]
THROUGH_DB3 = ("rounding", "tall", "right")


def run_markerless(trial: DepthTrial) -> tuple[AnalysisResult, dict[str, np.ndarray]]:
    """The frames through DepthMarkerTracker and the virtual dowel, then the core with the plate force,
    as tests/markerless/helpers.both_paths feeds the simulator's: (result, estimated positions (M, 3))."""
    cfg = trial.config
    T = cfg.camera.T_plate_from_camera()
    tracker = DepthMarkerTracker(T, config=cfg)
    dowel = DowelTracker(cfg, T)
    dowel_frames = []
    for frame, t in zip(trial.frames(), trial.t_s, strict=True):
        positions = tracker.update(frame, float(t))
        dowel_frames.append(dowel.update(frame, positions, float(t)))
    block = tracker.block()
    n = len(trial.t_s)
    block = MarkerBlock(trial.t_s.copy(), {k: block.positions[k] for k in MARKER_NAMES},
                        {k: block.bridged.get(k, np.zeros(n, bool)) for k in MARKER_NAMES})
    result = analyze_blocks(trial.force, block, cfg, source="depth", dowel=dowel_block(dowel_frames),
                            body_mass_kg=trial.body.mass_kg, t_origin_s=0.0)
    for rep in result.reps:  # what the markerless path says beside each rep (as both_paths does)
        tracker.explain(rep)
    return result, block.positions


@pytest.fixture(scope="module", params=IN_PROCESS, ids=["-".join(c) for c in IN_PROCESS])
def in_process(request) -> tuple[DepthTrial, AnalysisResult, dict[str, np.ndarray]]:
    variant, body, side = request.param
    trial = make_depth_trial(variant, body, side=side, n_reps=2, seed=IN_PROCESS.index(request.param))
    result, positions = run_markerless(trial)
    return trial, result, positions


def _check_reps(trial: DepthTrial, reps: list[dict]) -> None:
    """Reps exact, hip back within the tolerance, faults as the truth of the movement has them."""
    assert len(reps) == len(trial.reps) == len(trial.truth)
    for got, want in zip(reps, trial.truth, strict=True):
        assert abs(got["t_bottom"] - want["t_bottom"]) < 0.3, (got["t_bottom"], want["t_bottom"])
        err = got["hip_back_mm"] - want["hip_back_mm"]
        assert abs(err) <= HIP_BACK_TOL_MM, \
            f"hip back {got['hip_back_mm']:.0f} vs {want['hip_back_mm']:.0f} mm"
        found = sorted(f for f in got["faults"] if f in MOVEMENT_FAULTS)
        expected = sorted(f for f in want["faults"] if f in MOVEMENT_FAULTS)
        assert found == expected, (got["faults"], want["faults"], got.get("dowel_gap_mm"),
                                   want["dowel_gap_mm"])


def _movement_is_what_it_says(trial: DepthTrial) -> None:
    """The truth itself (not the station) has the movement's faults: the script made what it claims."""
    for want in trial.truth:
        has = {f for f in want["faults"] if f in MOVEMENT_FAULTS}
        expected = {"good": set(), "squat": {"squat_pattern"}, "rounding": {"back_rounding"}}
        assert has == expected[trial.variant], (trial.variant, want["faults"])


def test_reps_hip_back_and_faults_in_process(in_process) -> None:
    trial, result, _ = in_process
    _movement_is_what_it_says(trial)
    _check_reps(trial, [r.to_json() for r in result.reps])
    for rep in result.reps:
        assert rep.notes["markers"].startswith("markerless (estimated)")


def test_hip_follows_the_trochanter(in_process) -> None:
    """Frame by frame, the estimated hip's travel (x, z; its standing offset from the trochanter marker
    removed: where on the hip's outline the marker sits is not travel) against the exact trochanter's:
    within issue 23's 15 mm RMS."""
    trial, _, positions = in_process
    est = positions["hip"][:, [0, 2]]
    measured = np.isfinite(est[:, 0])
    assert measured[trial.t_s > 1.0].mean() > 0.95
    err = np.linalg.norm(est[measured] - trial.hip_xz_m[measured], axis=1)
    still = measured & (trial.t_s < trial.reps[0].t0_s)
    offset = np.mean(est[still] - trial.hip_xz_m[still], axis=0)
    err_travel = np.linalg.norm(est[measured] - offset - trial.hip_xz_m[measured], axis=1)
    rms = float(np.sqrt(np.mean(err_travel ** 2)))
    assert rms <= HIP_TRAVEL_RMS_M, (f"travel RMS {1000 * rms:.1f} mm, "
                                     f"raw RMS {1000 * float(np.sqrt(np.mean(err ** 2))):.1f} mm")


def _write_plate_trial(path: Path, trial: DepthTrial, t_device_start_ms: float) -> None:
    """The plate's stream of the same session as a station trial (.h5), with the camera index the station
    keeps (frame n: device ms -> trial s), so `analyze --plate` puts the frames on the trial's clock."""
    from station.core.cop import cop_and_foot_pos
    from station.recording.writer import TrialWriter

    cfg = trial.config
    writer = TrialWriter(path, force=True, config=cfg, metadata={"subject_id": "S-IND", "drill": "bw_rdl"})
    writer.set_calibration("calibrated", camera_T=cfg.camera.T_plate_from_camera())
    writer.start(t0_host_ns=0)
    writer.descriptor("force", rate=1000.0, units="N")
    writer.descriptor("camera", rate=trial.fps)
    t, cells = trial.force.t_s, trial.force.cells_n
    for a in range(0, len(t), 1000):
        c = cells[a:a + 1000]
        fz, cop, fp = cop_and_foot_pos(c, cfg, cfg.thresholds.cop_min_force_n)
        writer.append_force(t[a:a + 1000], fz, cop, fp, c)
    n = len(trial.t_s)
    writer.append_camera_index(np.arange(1, n + 1), t_device_start_ms + 1000.0 * trial.t_s,
                               (trial.t_s * 1e9).astype(np.int64), trial.t_s, np.zeros(n, np.int64))
    writer.stop("duration reached")


def _write_config(path: Path, trial: DepthTrial) -> None:
    cfg = trial.config
    path.write_text(f"[camera]\nside = \"{cfg.camera.side}\"\nposition_m = {list(cfg.camera.position_m)}\n"
                    f"\n[feet]\nheel_x_m = {cfg.feet.heel_x_m}\nfoot_length_m = {cfg.feet.foot_length_m}\n")


def _record_db3(path: Path, trial: DepthTrial) -> float:
    """The frames through the real SDK: a pyrealsense2 software device recorded by rs.recorder (ROS2 .db3);
    returns the device clock's start (ms)."""
    import gc
    import threading

    from drivers.rs_import import import_pyrealsense2
    from drivers.sim.softcam import DEVICE_CLOCK_START_MS, SoftwareCamera

    rs = import_pyrealsense2()
    cam = SoftwareCamera(trial.camera.intr, int(trial.fps), depth_scale_m=0.001)
    recorder = rs.recorder(str(path), cam.device, False)
    n = len(trial.t_s)
    last = threading.Semaphore(0)
    cam.start(lambda frame: frame.get_frame_number() == n and last.release())
    try:
        for i, frame in enumerate(trial.frames()):
            cam.push(i + 1, DEVICE_CLOCK_START_MS + 1000.0 * trial.t_s[i], frame.depth, frame.ir)
        for _ in range(2):  # depth and IR of the last frame reached the recorder
            last.acquire(timeout=2.0)
    finally:
        cam.stop()
        del recorder  # the recorder finishes the file when destroyed
        gc.collect()
    return DEVICE_CLOCK_START_MS


@pytest.fixture(scope="module")
def through_db3(tmp_path_factory) -> tuple[DepthTrial, dict]:
    from tests.conftest import run_cli

    variant, body, side = THROUGH_DB3
    trial = make_depth_trial(variant, body, side=side, n_reps=2, seed=11)
    folder = tmp_path_factory.mktemp("independent_db3")
    t0_ms = _record_db3(folder / "rec.db3", trial)
    _write_plate_trial(folder / "plate.h5", trial, t0_ms)
    _write_config(folder / "station.toml", trial)
    res = run_cli("analyze", str(folder / "rec.db3"), "--markers", "depth",
                  "--plate", str(folder / "plate.h5"), "--config", str(folder / "station.toml"),
                  "--body-mass-kg", str(trial.body.mass_kg), "--json", timeout=300)
    assert res.returncode == 0, res.stderr
    return trial, json.loads(res.stdout)


def test_reps_hip_back_and_faults_through_db3(through_db3) -> None:
    trial, out = through_db3
    _movement_is_what_it_says(trial)
    _check_reps(trial, out["reps"])
    assert out["summary"]["input"]["markers"] == "markerless (estimated)"
    assert out["summary"]["input"]["plate_alignment"].startswith("camera index")
