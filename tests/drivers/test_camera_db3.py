"""The camera path through the real pyrealsense2 SDK: .db3 round trip, live software device, bad input."""

import json
import time

import numpy as np
import pytest

from drivers.realsense import NO_CAMERA, RealSenseCamera
from drivers.registry import open_camera
from drivers.rs_import import import_pyrealsense2
from drivers.sim.render import Renderer, default_intrinsics
from drivers.sim.simcamera import SimCamera
from drivers.sim.softcam import DEVICE_CLOCK_START_MS, SoftwareCamera, record_db3, sidecar_path
from station.errors import StationError
from tests.support.camera_fixtures import StickSubject


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("db3") / "stick.db3"
    info = record_db3(StickSubject(duration_s=1.0), path, fps=30, seed=5)
    return path, info


def _play(path, real_time=False, camera=RealSenseCamera):
    cam = camera(file=str(path), real_time=real_time)
    cam.start()
    try:
        frames = list(cam.frames())
    finally:
        cam.stop()
    return frames, cam


def test_db3_round_trip_is_exact(recording):
    path, info = recording
    frames, cam = _play(path)
    assert [f.frame_number for f in frames] == list(range(1, 31))
    expected_t = DEVICE_CLOCK_START_MS + np.arange(30) * 1000.0 / 30
    assert np.allclose([f.t_device_ms for f in frames], expected_t, atol=1e-3)
    assert {f.timestamp_domain for f in frames} == {"hardware_clock"}
    assert all(abs(f.depth_scale_m - 0.001) < 1e-9 for f in frames)
    assert frames[0].intrinsics == default_intrinsics(848, 480)
    assert frames[0].metadata["frame_counter"] == 1
    assert cam.stats()["dropped"] == 0 and cam.stats()["finished"]
    assert all(f.t_host_ns > 0 for f in frames)
    # pixels bit-exact: render the same frames again with the same seed
    renderer, subject = Renderer(seed=5), StickSubject(duration_s=1.0)
    for n, f in enumerate(frames):
        depth, ir = renderer.render(subject.pose(n / 30))
        assert np.array_equal(f.depth, depth) and np.array_equal(f.ir, ir), n
    truth = json.loads(sidecar_path(path).read_text())
    assert truth["frames"] == 30 and np.allclose(truth["T_plate_from_camera"], Renderer().T_plate_from_camera)
    assert info == truth


def _depth_only_db3(path):
    rs = import_pyrealsense2()
    cam = SoftwareCamera(default_intrinsics(640, 480), 30)
    recorder = rs.recorder(str(path), cam.device, False)
    cam.sensor.open(cam.profiles[0])
    cam.sensor.start(lambda _f: None)
    for n in range(3):
        frame = rs.software_video_frame()
        pixels = np.full((480, 640), 1000, np.uint16)
        frame.pixels, frame.bpp, frame.stride = pixels, 2, 1280
        frame.timestamp, frame.frame_number, frame.profile = 33.3 * n, n + 1, cam.profiles[0]
        frame.domain = rs.timestamp_domain.hardware_clock
        cam.sensor.on_video_frame(frame)
    cam.sensor.stop()
    cam.sensor.close()
    del recorder


def test_recording_without_infrared_names_the_missing_stream(tmp_path):
    path = tmp_path / "depth_only.db3"
    _depth_only_db3(path)
    with pytest.raises(StationError) as err:
        RealSenseCamera(file=str(path)).start()
    msg = str(err.value)
    assert "infrared" in msg and "depth (z16)" not in msg and str(path) in msg and "\n" not in msg


def test_missing_file_and_unknown_source():
    with pytest.raises(StationError, match="not found"):
        RealSenseCamera(file="/nonexistent/trial.db3").start()
    with pytest.raises(StationError, match="sim:PATTERN"):
        open_camera("webcam:0")
    # a recording plays at its timestamps' pace (drivers/db3_pacing.py) around the SDK's playback
    assert isinstance(open_camera("trial.db3").camera, RealSenseCamera)
    assert isinstance(open_camera("trial.db3", real_time=False), RealSenseCamera)
    assert open_camera("realsense:trial.bag").file == "trial.bag"
    assert open_camera("realsense:123456").serial == "123456"
    assert open_camera("realsense:").serial is None


def test_no_camera_says_how_to_use_a_recording():
    rs = import_pyrealsense2()
    if len(rs.context().query_devices()):
        pytest.skip("a RealSense camera is connected")
    with pytest.raises(StationError) as err:
        RealSenseCamera().start()
    assert str(err.value) == NO_CAMERA and "sim:hinge" in NO_CAMERA and ".db3" in NO_CAMERA


def test_live_sim_through_pipeline_counts_a_camera_gap():
    cam = SimCamera("stick", subject=StickSubject(duration_s=2.0), fps=30)
    cam.start()
    frames = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0:
            frames += cam.read(0.1)
            elapsed = time.monotonic() - t0
            if 0.6 < elapsed < 1.4:
                cam.pause_event.set()  # the camera stops delivering for ~0.8 s
            else:
                cam.pause_event.clear()
            if cam.feeding_done:  # what is still on its way, kept; nothing more: the end
                last = cam.read(0.3)
                frames += last
                if not last:
                    break
    finally:
        cam.stop()
    numbers = np.array([f.frame_number for f in frames])
    stats = cam.stats()
    assert np.all(np.diff(numbers) > 0)
    assert len(frames) + stats["dropped"] == numbers[-1] - numbers[0] + 1  # every gap counted
    assert 15 <= stats["dropped"] <= 33  # ~0.8 s at 30 fps
    assert stats["stalls"] == 1 and 0.5 < stats["stalled_s"] < 1.5
    assert frames[0].t_device_ms == DEVICE_CLOCK_START_MS and frames[0].frame_number == 1


def test_cli_sim_camera_writes_a_playable_recording(tmp_path):
    from tests.conftest import run_cli

    out = tmp_path / "trial.db3"
    res = run_cli("sim", "camera", "--pattern", "hinge", "--out", str(out), "--seconds", "1",
                  "--resolution", "640x480", "--fps", "60")
    assert res.returncode == 0, res.stderr
    frames, cam = _play(out)
    assert len(frames) == 60 and cam.stats()["dropped"] == 0
    assert frames[0].depth.shape == (480, 640) and frames[0].intrinsics.fx == 383.0
    assert json.loads(sidecar_path(out).read_text())["pattern"] == "hinge"
    bad = run_cli("sim", "camera", "--out", str(tmp_path / "trial.bag"), "--seconds", "1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and ".db3" in bad.stderr


class _LateReader(RealSenseCamera):
    """A reader that starts 0.3 s after the pipeline, as in a busy process."""

    def _reader(self) -> None:
        time.sleep(0.3)
        super()._reader()


def test_a_late_reader_still_gets_every_recorded_frame(recording):
    frames, _ = _play(recording[0], camera=_LateReader)
    assert [f.frame_number for f in frames] == list(range(1, 31))
