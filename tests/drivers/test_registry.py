"""One registry names every source: each name goes to its backend, every backend's factory exists, the
sources it opens satisfy the protocols, and opening a real device never loads the simulator."""

from __future__ import annotations

import subprocess
import sys

import pytest

from drivers.registry import BACKENDS, open_camera, open_plate, resolve
from drivers.samples import CameraSource, PlateSource
from station.errors import StationError


@pytest.mark.parametrize(("kind", "name", "expected"), [
    ("plate", "/dev/ttyACM0", ("serial", "/dev/ttyACM0")),
    ("plate", "COM3", ("serial", "COM3")),
    ("plate", "socket://127.0.0.1:5000", ("serial", "socket://127.0.0.1:5000")),
    ("plate", "serial:///dev/ttyUSB0", ("serial", "serial:///dev/ttyUSB0")),
    ("plate", "sim:rounding", ("sim", "rounding")),
    ("camera", "realsense:", ("realsense", "")),
    ("camera", "realsense:123456", ("realsense", "123456")),
    ("camera", "trial.DB3", ("recording", "trial.DB3")),
    ("camera", "realsense:lab/trial.bag", ("recording", "lab/trial.bag")),
    ("camera", "sim:squat", ("sim", "squat")),
])
def test_each_name_resolves_to_its_backend(kind, name, expected):
    assert resolve(kind, name) == expected


def test_unknown_names_are_refused_with_what_is_known():
    with pytest.raises(StationError, match=r"unknown camera 'webcam:0'.*realsense:SERIAL.*sim:PATTERN"):
        resolve("camera", "webcam:0")
    with pytest.raises(StationError, match="--plate: empty name"):
        resolve("plate", "")
    with pytest.raises(StationError, match="unknown source kind 'emg'"):
        resolve("emg", "x")


def test_every_backend_factory_exists():
    for (kind, backend), entry in BACKENDS.items():
        assert callable(entry.load()), (kind, backend)


def test_opened_sources_satisfy_the_protocols():
    plate = open_plate("loop://")
    assert isinstance(plate, PlateSource) and plate.factory_calibration() is None
    assert isinstance(open_camera("trial.db3"), CameraSource)
    assert isinstance(open_camera("sim:hinge"), CameraSource)
    sim_plate = open_plate("sim:stand")
    assert isinstance(sim_plate, PlateSource) and sim_plate.name == "sim:stand"


def test_a_real_device_never_loads_the_simulator():
    code = ("import sys; from drivers.registry import open_camera, open_plate; "
            "open_plate('loop://'); open_camera('realsense:'); open_camera('trial.db3'); "
            "print(sorted(m for m in sys.modules if m.startswith('drivers.sim')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_sim_plate_and_sim_camera_are_one_subject_on_the_stations_config():
    """open_sources gives the simulated plate and camera of a trial the same person, built on the station's
    configuration: with the camera on the left, a step-up stands on the left leg for both (the plate's loads
    were once the default, right-camera subject's: the other leg, on the plate's other cells)."""
    import numpy as np

    from drivers.registry import open_sources
    from station.config import StationConfig

    cfg = StationConfig()
    cfg.camera.side = "left"
    plate, camera = open_sources("sim:step_up", "sim:step_up", cfg, subject={"arms": "hips", "load_kg": 0.0})
    subject = camera.subject
    assert subject.config.camera.side == "left"
    t = np.linspace(0.0, subject.duration_s, 500, endpoint=False)  # the plate loops the trial after its end
    assert np.array_equal(plate.emulator.cell_loads_fn(t), subject.cell_loads_n(t))
    right = StationConfig()
    _, camera_right = open_sources(None, "sim:step_up", right, subject={"arms": "hips", "load_kg": 0.0})
    assert not np.allclose(camera_right.subject.cell_loads_n(t), subject.cell_loads_n(t), atol=1.0)
