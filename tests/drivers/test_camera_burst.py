"""A live camera's frames wait in an SDK queue of our own until the reader thread takes them.

The pipeline's own queue holds one frameset: a reader thread kept from the interpreter for one frame period
(an HDF5 write or a compression filter holding the GIL, a busy host) lost the frames that came meanwhile,
and a camera that hands over a burst (USB delivers frames in bursts under load; the stand-in's feeder
catches up after a stall) lost all but the last. Here a software device, read through rs.pipeline, gets
a burst of framesets pushed from this thread faster than any reader could take them one by one.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers.realsense import RealSenseCamera
from drivers.rs_import import import_pyrealsense2
from drivers.samples import Intrinsics
from drivers.sim.softcam import DEVICE_CLOCK_START_MS, SIM_SERIAL, SoftwareCamera

W, H, FPS = 64, 48, 30


@pytest.fixture()
def soft_camera():
    rs = import_pyrealsense2()
    softcam = SoftwareCamera(Intrinsics(W, H, 50.0, 50.0, W / 2, H / 2, "brown_conrady", (0.0,) * 5), FPS)
    context = rs.context()
    events: list = []
    context.set_devices_changed_callback(events.append)  # keeps the device listed (FIELD-NOTES)
    softcam.device.add_to(context)
    cam = RealSenseCamera(serial=SIM_SERIAL, width=W, height=H, fps=FPS, context=context)
    cam.start()
    yield softcam, cam
    cam.stop()
    softcam.stop()


def _push(softcam: SoftwareCamera, numbers: range) -> None:
    for n in numbers:
        depth = np.full((H, W), 1000 + n, np.uint16)
        ir = np.full((H, W), n % 250, np.uint8)
        softcam.push(n, DEVICE_CLOCK_START_MS + (n - 1) * 1000.0 / FPS, depth, ir)


def _read_until(cam: RealSenseCamera, count: int, timeout_s: float = 5.0) -> list:
    frames: list = []
    t0 = time.monotonic()
    while len(frames) < count and time.monotonic() - t0 < timeout_s:
        frames += cam.read(0.05)
    return frames


def test_a_burst_of_framesets_reaches_the_reader_whole(soft_camera):
    softcam, cam = soft_camera
    _push(softcam, range(1, 4))  # the stream runs
    first = _read_until(cam, 3)
    assert [f.frame_number for f in first] == [1, 2, 3]
    _push(softcam, range(4, 12))  # 8 framesets at once: the reader thread cannot run in between
    burst = _read_until(cam, 8)
    assert [f.frame_number for f in burst] == list(range(4, 12))
    assert [int(f.depth[0, 0]) for f in burst] == [1000 + n for n in range(4, 12)]  # each its own pixels
    assert [int(f.ir[0, 0]) for f in burst] == list(range(4, 12))
    assert cam.stats()["dropped"] == 0
