"""TrialRunner with stand-in sources that follow the Source protocol (no SDK, no serial).

The plate stand-in emits the synthetic truth in real time; the camera stand-in fails after a while,
as an unplugged camera would: the plate must go on, the file must say what happened, and nothing
recorded may be lost.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from station.config import StationConfig
from station.recording.reader import read_trial
from station.recording.writer import TrialWriter
from station.trial.consumers import TrialFileConsumer
from station.trial.runner import TrialRunner
from tests.conftest import REPO
from tests.support.trial_fixtures import KnownCalibration, TruthPlate, truth_cells


class DyingCamera:
    """Delivers nothing, then raises like a camera whose USB cable was pulled."""

    name = "dying-camera"

    def __init__(self, die_after_s: float) -> None:
        self.die_after_s = die_after_s

    def start(self) -> None:
        self.t0 = time.monotonic()

    def read(self, timeout_s: float = 0.1) -> list:
        if time.monotonic() - self.t0 > self.die_after_s:
            raise OSError("device disconnected")
        return []

    def stop(self) -> None:
        raise OSError("device disconnected")

    def stats(self) -> dict:
        return {}


def test_camera_failure_is_a_warning_and_the_plate_goes_on(tmp_path):
    config = StationConfig()
    path = tmp_path / "trial.h5"
    writer = TrialWriter(path, config=config, metadata={"subject_id": "S", "drill": "bodyweight"})
    runner = TrialRunner(TruthPlate(config), DyingCamera(0.5), config, plate_calibration=KnownCalibration(),
                         consumers=[TrialFileConsumer(writer)], duration_s=2.0)
    runner.start()
    time.sleep(1.0)
    snap = runner.snapshot()  # what the dashboard sees mid-trial
    assert snap.running and any("dying" in w or "camera" in w for w in snap.warnings)
    assert snap.force.shape[1] == 5 and len(snap.force) > 500
    assert snap.calibration_status == "calibrated"
    assert runner.wait(5.0)
    summary = runner.stop("test")
    assert summary["reason"] == "duration reached"
    trial = read_trial(path)
    assert trial.complete
    assert any("camera failed" in e["text"] for e in trial.events)
    n = len(trial.force)
    assert n == summary["plate_samples"] and n >= 1900  # the plate recorded the whole 2 s
    assert np.all(np.diff(trial.plate.seq) == 1) and not len(trial.plate_gaps)
    # the force on file is the truth, through counts -> newtons on the worker thread
    np.testing.assert_allclose(trial.force.cells_n, truth_cells(trial.plate.t_device_s, config), atol=2e-3)
    # trial clock: host stamps relative to t0; the stand-in's stamps are exact, so t_s follows t_device
    lag = trial.force.t_s - trial.plate.t_device_s
    assert np.ptp(lag) < 0.01
    # CoP on file vs the truth's CoP
    fz = trial.force.cells_n.sum(axis=1)
    cop_x = trial.force.cells_n @ config.plate.channel_xy[:, 0] / fz
    np.testing.assert_allclose(trial.cop_xy_m[:, 0], cop_x, atol=1e-9)


def test_nominal_defaults_are_marked(tmp_path):
    config = StationConfig()
    path = tmp_path / "trial.h5"
    runner = TrialRunner(TruthPlate(config), None, config,
                         consumers=[TrialFileConsumer(TrialWriter(path, config=config))], duration_s=0.3)
    runner.start()
    runner.wait(5.0)
    summary = runner.stop()
    assert summary["calibration"] == "nominal defaults"
    trial = read_trial(path)
    assert trial.calibration["status"] == "nominal defaults"
    assert trial.calibration["plate"]["gains_n_per_count"] == [config.plate.default_gain_n_per_count] * 4


_FINDER_AT_CAMERA_START = """
import time
from station.config import StationConfig
from station.markers import discs
from station.trial.runner import TrialRunner
from tests.trial.test_trial_runner import DyingCamera

class Camera(DyingCamera):
    def start(self):
        self.finder_loaded = bool(discs._centroids.signatures)  # numba's loops, compiled or from its cache
        super().start()

camera = Camera(10.0)
config = StationConfig()
config.camera.markers = "{markers}"
runner = TrialRunner(None, camera, config, duration_s=0.2)
runner.start()
print("loaded" if camera.finder_loaded else "not loaded")
"""


@pytest.mark.parametrize(("markers", "want"), [("ir", "loaded"), ("depth", "not loaded")])
def test_the_marker_finder_is_loaded_before_the_camera_streams(markers, want):
    """On a fresh install numba compiles the IR marker finder (15-23 s): at the first frame that dropped a
    fifth of a first demo's frames. A trial with a camera loads it before the camera starts (markerless
    trials do not use it). A fresh interpreter, as a trial's own process starts with nothing loaded."""
    import subprocess
    import sys

    from tests.conftest import REPO

    out = subprocess.run([sys.executable, "-c", _FINDER_AT_CAMERA_START.format(markers=markers)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == want


_FREEZE_SCRIPT = """
import gc
from drivers.registry import open_plate
from station.config import StationConfig
from station.trial.runner import TrialRunner

full = []  # full collections during each start()
gc.callbacks.append(lambda phase, info: phase == "stop" and info["generation"] == 2 and full and
                    full[-1].append(1))
config = StationConfig()
frozen = [gc.get_freeze_count()]
for _ in range(2):  # two trials in one process, as a dashboard or a screening set runs them
    runner = TrialRunner(open_plate("sim:stand", config), None, config, duration_s=0.3)
    full.append([])
    runner.start()
    full.append(None)
    frozen.append(gc.get_freeze_count())
    runner.wait(10.0)
    runner.stop("test")
print(*frozen, sum(full[0]), sum(full[2]))
"""


def test_the_heap_at_the_first_start_leaves_the_collectors_view_once():
    """A full collection mid-trial walks the whole heap with every thread stopped (62-73 ms in a 12 s
    record): what the process holds when its first trial starts is collected and frozen out of it, once; a
    later trial's start leaves its state collectable. A fresh interpreter (pytest's own processes freeze
    after collection)."""
    res = subprocess.run([sys.executable, "-c", _FREEZE_SCRIPT], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    before, first, _, full_first, full_second = map(int, res.stdout.split())
    assert before == 0
    assert first > 50_000  # the modules, the subject, the station's objects
    assert full_first >= 1 and full_second == 0


def test_a_simulated_plate_starts_its_subject_at_the_trials_t0():
    """The simulated subject's t=0 is the trial's (whatever the trial file's consumers take before the
    plate starts); a t=0 fixed before (an earlier source, a test's own mocap outlet) stays."""
    from drivers.registry import open_plate
    from drivers.sim import timeline

    config = StationConfig()
    timeline.reset_trial_epoch()
    try:
        runner = TrialRunner(open_plate("sim:stand", config), None, config, duration_s=0.2)
        runner.start()
        assert timeline.trial_epoch_ns() == runner.t0_host_ns
        assert runner.wait(10.0)
        runner.stop("test")
        fixed = time.monotonic_ns() - 5_000_000_000
        timeline.set_trial_epoch_ns(fixed)
        runner = TrialRunner(open_plate("sim:stand", config), None, config, duration_s=0.2)
        runner.start()
        assert timeline.trial_epoch_ns() == fixed
        assert runner.wait(10.0)
        runner.stop("test")
    finally:
        timeline.reset_trial_epoch()
