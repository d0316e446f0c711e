"""The simulated camera unplugged and plugged back in, read through rs.pipeline: the driver hears of it (as
from the SDK's devices-changed callback for a real camera), restarts its pipeline on the software device,
and follows the camera's frame counter and device clock as they start again."""

from __future__ import annotations

import time

import numpy as np

from drivers.sim.simcamera import SimCamera
from drivers.sim.softcam import DEVICE_CLOCK_START_MS
from tests.support.camera_fixtures import StickSubject


def test_sim_camera_unplugged_then_replugged_restarts_the_stream():
    cam = SimCamera("stick", subject=StickSubject(duration_s=4.0), fps=30)
    cam.start()
    frames, marks = [], {}
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.5:
            frames += cam.read(0.05)
            elapsed = time.monotonic() - t0
            if "out" not in marks and elapsed > 1.0:
                marks["out"] = (time.monotonic_ns(), len(frames))
                cam.unplug()
                stats_out = cam.stats()
            if "in" not in marks and elapsed > 2.0:
                marks["in"] = (time.monotonic_ns(), len(frames))
                cam.replug()
    finally:
        cam.stop()
    stats = cam.stats()
    assert not stats_out["connected"] and stats_out["disconnects"] == 1
    assert stats["connected"] and stats["reconnects"] == 1 and stats["disconnects"] == 1
    events = " | ".join(cam.link.events)
    assert "sim:stick: disconnected" in events and "sim:stick: reconnected after" in events
    before = [f for f in frames if f.t_host_ns < marks["out"][0]]
    after = [f for f in frames if f.t_host_ns > marks["in"][0]]
    during = [f for f in frames if marks["out"][0] + 0.2e9 < f.t_host_ns < marks["in"][0]]
    assert len(before) >= 20 and len(after) >= 20 and not during  # nothing while the cable was out
    # the camera powered up again: its counter and clock start again, the driver pairs them as before
    numbers = np.array([f.frame_number for f in after])
    # from 1 again (the first few go out while the pipeline restarts: how many depends on the host's load)
    assert numbers[0] <= 15 < before[-1].frame_number and np.all(np.diff(numbers) >= 1)
    assert after[0].t_device_ms < before[-1].t_device_ms
    # the clock starts with the counter: frame n (from 1) at start + (n - 1) frame periods
    restart_ms = after[0].t_device_ms - (after[0].frame_number - 1) * 1000.0 / 30
    assert abs(restart_ms - DEVICE_CLOCK_START_MS) < 100, (after[0].frame_number, after[0].t_device_ms)
    assert all(f.depth.shape == (480, 848) and f.ir.any() for f in after[:3])
