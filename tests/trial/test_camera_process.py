"""The camera path in a process of its own (station/trial/camera_process.py), through the real rs.pipeline
playing a .db3 of the virtual subject: the same frames, markers and virtual dowel as the station's own
process computes from them, slots that a slow station cannot corrupt, drops counted by reason, one-line
errors, and no process or shared memory left behind."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.realsense import RealSenseCamera, open_recording
from drivers.sim.softcam import record_db3
from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from station.dowel.step import DowelStep
from station.errors import StationError
from station.recording.reader import read_trial
from station.trial.camera_process import AnalysedFrame, CameraProcess, wants_process
from station.trial.steps import MarkerStep
from tests.conftest import run_cli

FPS = 90


def _config() -> StationConfig:
    cfg = StationConfig()
    cfg.camera.width, cfg.camera.height, cfg.camera.fps = 848, 480, FPS
    return cfg


@pytest.fixture(scope="module")
def hinge_90fps(tmp_path_factory) -> Path:
    """2 s of the virtual subject standing, then going down into a hinge, 90 fps 848x480, written offline."""
    path = tmp_path_factory.mktemp("camproc") / "hinge90.db3"
    record_db3(VirtualSubject("hinge", reps=1, standing_s=1.0), path, fps=FPS, seconds=2.0, seed=3)
    return path


@pytest.fixture(scope="module")
def reference(hinge_90fps) -> dict[int, tuple]:
    """Every frame of the recording measured in this process: frame number -> (depth, markers, dowel)."""
    cfg = _config()
    markers, dowel = MarkerStep(cfg, None), DowelStep(cfg, None)
    out = {}
    with RealSenseCamera(file=str(hinge_90fps), real_time=False) as cam:
        for frame in cam.frames(timeout_s=10.0):
            found = markers.update(frame)
            measured = dowel.update(frame, found[0], frame.t_device_ms / 1000.0, now_ns=frame.t_host_ns)
            out[frame.frame_number] = (frame.depth.copy(), frame.ir.copy(), found, measured)
    assert len(out) == 2 * FPS
    return out


def _read_all(cam: CameraProcess, until_s: float = 20.0) -> list[AnalysedFrame]:
    frames: list[AnalysedFrame] = []
    deadline = time.monotonic() + until_s
    while time.monotonic() < deadline and not (cam.finished and not frames[-1:] == []):
        got = cam.read(0.1)
        frames.extend(got)
        if cam.finished and not got:
            break
    return frames


def _unpaced(path: Path, config: StationConfig) -> RealSenseCamera:
    return RealSenseCamera(file=str(path), real_time=False)


def test_the_camera_process_gives_the_same_frames_markers_and_dowel(hinge_90fps, reference):
    # every frame as fast as it decodes (waiting for the test to take them), none skipped by the dowel for
    # being late: as the reference
    cam = CameraProcess(functools.partial(_unpaced, hinge_90fps, _config()), _config(), name="hinge90",
                        dowel_behind_s=float("inf"), wait_for_slots=True)
    cam.start()
    try:
        assert cam.fps == FPS and cam.intrinsics.width == 848
        frames = _read_all(cam)
    finally:
        cam.stop()
    assert [f.frame_number for f in frames] == sorted(reference)  # every frame, in order
    found_hip = 0
    for f in frames:
        depth, ir, (positions, pixels, _), dowel = reference[f.frame_number]
        assert isinstance(f, AnalysedFrame) and f.analysed
        assert np.array_equal(f.depth, depth) and np.array_equal(f.ir, ir)
        got_positions, got_pixels, _ = f.markers
        assert set(got_positions) == set(positions)
        for name, p in positions.items():
            assert np.allclose(got_positions[name], p, equal_nan=True, atol=0.0), name
        for name, px in pixels.items():
            assert np.allclose(got_pixels[name], px, equal_nan=True, atol=0.0), name
        found_hip += bool(np.all(np.isfinite(positions.get("hip", np.full(3, np.nan)))))
        assert (f.dowel is None) == (dowel is None)
        if dowel is not None:
            assert f.dowel.gap_mm == dowel.gap_mm and f.dowel.reason == dowel.reason
    assert found_hip >= 0.9 * len(frames)  # the comparison is about real markers, not empty frames


def test_a_station_that_does_not_read_loses_the_newest_frames_counted_never_a_slot(hinge_90fps, reference):
    """At the recording's own pace (90 fps), a station that reads nothing for 1 s: the camera process keeps
    its slots (1/3 s) for it and drops the newer frames as queue_full, says so once; every frame then read
    is whole (its images those of its own frame number: no slot overwritten while waiting)."""
    cfg = _config()
    cam = CameraProcess(functools.partial(open_recording, str(hinge_90fps), cfg), cfg, name="hinge90")
    cam.start()
    try:
        time.sleep(1.0)
        frames = _read_all(cam)
        stats = cam.stats()
    finally:
        cam.stop()
    drops = stats["drops"]
    assert stats["camera_process"]["queue_full"] > 0 and drops["queue_full"] >= stats["camera_process"][
        "queue_full"]
    assert any("slower than the camera" in e for e in cam.events)
    assert len(frames) + drops["queue_full"] + drops["late"] == len(reference)
    numbers = [f.frame_number for f in frames]
    assert numbers == sorted(numbers)
    for f in frames:
        depth, ir, _, _ = reference[f.frame_number]
        assert np.array_equal(f.depth, depth) and np.array_equal(f.ir, ir), f.frame_number


def test_a_bad_recording_is_one_line_naming_it_and_leaves_no_process(tmp_path):
    bad = tmp_path / "not-a-camera.db3"
    bad.write_bytes(b"this is not sqlite")
    cfg = _config()
    cam = CameraProcess(functools.partial(open_recording, str(bad), cfg), cfg, name=str(bad))
    with pytest.raises(StationError) as err:
        cam.start()
    text = str(err.value)
    assert "not-a-camera.db3" in text and "\n" not in text
    assert cam._proc is None


def test_stop_ends_the_process_and_frees_the_shared_memory(hinge_90fps):
    cam = CameraProcess(functools.partial(_unpaced, hinge_90fps, _config()), _config(), name="hinge90")
    cam.start()
    proc, shm_name = cam._proc, cam._shm.name
    # read() gives what has arrived: the first message may be the process's counters, not a frame, so wait
    # for a frame (on a loaded host the first one can take seconds)
    deadline, got = time.monotonic() + 30.0, []
    while not got and time.monotonic() < deadline:
        got = cam.read(0.5)
    assert got
    cam.stop()
    assert not proc.is_alive()
    assert not (Path("/dev/shm") / shm_name).exists()


def test_auto_is_on_from_60_fps(hinge_90fps, tmp_path):
    cfg = StationConfig()
    assert wants_process(str(hinge_90fps), cfg)  # the recording's own 90 fps, not the config's 30
    assert not wants_process("sim:hinge", cfg) and wants_process("sim:hinge", cfg, "on")
    cfg.camera.fps = 90
    assert wants_process("sim:hinge", cfg) and not wants_process("sim:hinge", cfg, "off")
    with pytest.raises(StationError, match="--camera-process"):
        wants_process("sim:hinge", cfg, "sometimes")


def test_record_with_the_camera_process_gives_the_simulated_subjects_rep(tmp_path):
    """`record --camera-process on` with simulated plate and camera: the camera process shows the subject
    the plate shows (one simulated timeline), and the reps, their hip and dowel are the subject's. 16 s: two
    reps, so that a camera process slow to open on a loaded host (its standing missed) still has one."""
    out, stats = tmp_path / "t.h5", tmp_path / "stats.json"
    res = run_cli("record", "--plate", "sim:hinge", "--camera", "sim:hinge", "--camera-process", "on",
                  "--subject", "S-CAMPROC", "--drill", "bw_rdl", "--arms", "arms_crossed", "--duration", "16",
                  "--out", str(out), "--stats", str(stats), timeout=240)
    assert res.returncode == 0, res.stderr
    reps = read_trial(out).reps
    truth = [t for t in VirtualSubject("hinge").truth.reps if t.t_end < 15.5]
    assert 1 <= len(reps) <= len(truth) == 2
    for rep in reps:  # each found rep is one of the subject's, at its time (camera on the plate's timeline)
        true = min(truth, key=lambda t: abs(t.t_end - rep.t_end))
        assert abs(rep.t_end - true.t_end) < 0.2
        assert abs(rep.hip_back_mm - true.hip_back_mm) < 15.0
        # the dowel measured in the camera process reached the core
        assert rep.dowel_gap_mm is not None and abs(rep.dowel_gap_mm - max(true.dowel_gap_mm.values())) <= 7.0
    assert abs(reps[-1].t_end - truth[-1].t_end) < 0.2  # the later rep is always there
    delivery = json.loads(stats.read_text())
    assert delivery["camera_frames_processed"] >= 0.9 * delivery["camera_frames_delivered"]


class _SlowFirstFrame:
    """A consumer that holds the worker 1 s on the first frame (a stalled disk, a busy host)."""

    name = "slow"

    def __init__(self) -> None:
        self.held = False

    def receive(self, doc):
        from station.trial.documents import FrameData

        if isinstance(doc, FrameData) and not self.held:
            self.held = True
            time.sleep(1.0)
        return None


def test_a_station_held_up_says_once_why_frames_were_dropped_and_counts_them(hinge_90fps):
    """Through the runner: the worker held 1 s while the recording plays at 90 fps. The camera process
    drops what its slots cannot hold, the trial's warnings say so once, and --stats' figures count it."""
    from station.trial.runner import TrialRunner

    cfg = _config()
    cam = CameraProcess(functools.partial(open_recording, str(hinge_90fps), cfg), cfg, name="hinge90")
    runner = TrialRunner(None, cam, cfg, consumers=[_SlowFirstFrame()], duration_s=2.5)
    runner.start()
    runner.wait(30.0)
    summary = runner.stop("duration reached")
    said = [w for w in summary["warnings"] if "slower than the camera gives them" in w]
    assert len(said) == 1, summary["warnings"]  # once, however many frames it dropped
    delivery = summary["delivery"]
    drops = delivery["camera_drops_by_reason"]
    assert drops["queue_full"] > 0
    assert delivery["camera_frames_processed"] + drops["queue_full"] + drops["late"] == 2 * FPS


@pytest.mark.parametrize("sent_fps, said", [(45, True), (90, False)])
def test_a_camera_slower_than_it_promised_is_said_once(tmp_path, sent_fps, said):
    """A 90 fps recording whose frames are 1/45 s apart plays (at its timestamps' pace) as a camera sending
    45 frames a second while it streams at 90: the trial says so once; at its true 90 it says nothing."""
    from station.trial.runner import TrialRunner
    from tests.drivers.test_db3_pacing import _write_db3

    path = tmp_path / f"sent{sent_fps}.db3"
    _write_db3(path, 3 * sent_fps, 1000.0 / sent_fps, fps=FPS)  # 3 s of timestamps
    cfg = StationConfig()
    cfg.camera.width, cfg.camera.height, cfg.camera.fps = 640, 480, FPS
    runner = TrialRunner(None, open_recording(str(path), cfg), cfg, duration_s=3.5)
    runner.start()
    runner.wait(30.0)
    summary = runner.stop("duration reached")
    slow = [w for w in summary["warnings"] if "slower than the 90 fps" in w]
    assert len(slow) == (1 if said else 0), summary["warnings"]
    if said:
        import re

        rate = float(re.search(r"sends (\d+) frames a second", slow[0]).group(1))
        assert 40 <= rate <= 50, slow[0]


def test_the_dashboard_runs_a_90fps_camera_in_its_process(hinge_90fps, tmp_path):
    """The dashboard's live path opens a 90 fps camera the way record does: in a camera process, every frame
    of the recording processed, the hip measured."""
    from station.dashboard.controller import LiveController

    controller = LiveController(None, str(hinge_90fps), _config(), out_dir=tmp_path)
    controller.start_preview()
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            runner = controller.runner
            if runner is not None and runner.camera.finished:  # the recording has ended (the child says)
                time.sleep(0.5)  # its last frames read
                break
            time.sleep(0.2)
        assert isinstance(controller.runner.camera, CameraProcess)
    finally:
        summary = controller.shutdown()
    delivery = summary["delivery"]
    drops = delivery["camera_drops_by_reason"]
    # every frame of the 2 s recording processed, or dropped and counted (a loaded host: late)
    assert delivery["camera_frames_processed"] + drops["late"] + drops["queue_full"] == 2 * FPS, delivery
    # most frames processed: the path is live, not starved (how many a busy host lets through at 90 fps is
    # bench/live90.py's and bench/delivery.py's to measure; 74 % here at the busiest start of a suite run)
    assert delivery["camera_frames_processed"] >= 0.5 * 2 * FPS, delivery
