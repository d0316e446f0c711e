"""Stand-in sources (Source protocol) that let a TrialRunner record a virtual-subject trial faster than
real time, with host stamps as a real station would see them.

* PlaybackCamera: a .db3 of the virtual subject through the real driver (drivers.realsense, rs.pipeline,
  as fast as the runner takes frames), each frame's host arrival stamp set to when that frame would have
  arrived live: host0 + its time on the subject's clock + `delay_s` (a camera whose timestamps are late
  by delay_s, what the sync check must find). Like a live camera it hands out one frame per read; the
  driver's playback would hand out up to 90 buffered frames at once (6 s at 15 fps), far ahead of the
  plate, which no live camera does.
* SubjectPlate: the same subject's four cell loads as raw counts (known offsets and gains, ~1 N noise)
  at 1 kHz, stamped host0 + t + 1 ms; it never runs more than `lead_s` ahead of the camera, so the two
  streams reach the runner interleaved the way live devices deliver them.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from drivers.realsense import RealSenseCamera
from drivers.samples import PlateChunk
from drivers.sim.softcam import DEVICE_CLOCK_START_MS
from tests.support.trial_fixtures import GAINS, OFFSETS


class SharedHostClock:
    """The host time both stand-ins count from (set when the first of them starts)."""

    def __init__(self) -> None:
        self.host0_ns: int | None = None

    def start(self) -> int:
        if self.host0_ns is None:
            self.host0_ns = time.monotonic_ns()
        return self.host0_ns


class PlaybackCamera:
    name = "playback-camera"

    def __init__(self, path, clock: SharedHostClock, *, delay_s: float = 0.0, fps: int = 15) -> None:
        self.camera = RealSenseCamera(file=str(path), real_time=False, fps=fps)
        self.clock, self.delay_s = clock, delay_s
        self.last_t_s = -np.inf  # subject time of the newest frame handed out
        self.exhausted = False
        self._queue: list = []

    def start(self) -> None:
        self.host0_ns = self.clock.start()
        self.camera.start()

    def read(self, timeout_s: float = 0.1) -> list:
        if not self._queue:
            self._queue = self.camera.read(timeout_s)
            if not self._queue:
                self.exhausted = self.camera.finished
                return []
        f = self._queue.pop(0)
        t_s = (f.t_device_ms - DEVICE_CLOCK_START_MS) / 1000.0
        self.last_t_s = t_s
        return [dataclasses.replace(f, t_host_ns=self.host0_ns + int(round((t_s + self.delay_s) * 1e9)))]

    def stop(self) -> None:
        self.camera.stop()

    def stats(self) -> dict:
        return self.camera.stats()


class SubjectPlate:
    name = "subject-plate"

    def __init__(self, subject, clock: SharedHostClock, camera: PlaybackCamera, *, rate_hz: float = 1000.0,
                 noise_n: float = 1.0, seed: int = 0, lead_s: float = 0.2) -> None:
        self.t_s = np.arange(0.0, subject.duration_s, 1.0 / rate_hz)
        rng = np.random.default_rng(seed)
        cells = subject.cell_loads_n(self.t_s) + rng.normal(0.0, noise_n, (self.t_s.size, 4))
        self.counts = np.round(cells / GAINS + OFFSETS).astype(np.int32)
        self.clock, self.camera, self.lead_s = clock, camera, lead_s
        self.sent = 0

    @property
    def done(self) -> bool:
        return self.sent >= self.t_s.size

    def start(self) -> None:
        self.host0_ns = self.clock.start()

    def read(self, timeout_s: float = 0.1) -> list:
        time.sleep(min(timeout_s, 0.002))
        upto_s = np.inf if self.camera.exhausted else self.camera.last_t_s + self.lead_s
        end = int(np.searchsorted(self.t_s, upto_s, side="right"))
        if end <= self.sent:
            return []
        sl = slice(self.sent, end)
        self.sent = end
        seq = np.arange(sl.start, sl.stop, dtype=np.int64)
        host = self.host0_ns + np.round((self.t_s[sl] + 0.001) * 1e9).astype(np.int64)
        return [PlateChunk(seq, self.t_s[sl].copy(), host, self.counts[sl], np.zeros(seq.size, np.uint8))]

    def stop(self) -> None:
        pass

    def stats(self) -> dict:
        return {"samples": self.sent}


def record_fast(runner, plate: SubjectPlate, camera: PlaybackCamera, timeout_s: float = 180.0) -> dict:
    """Start the runner, wait until both stand-ins have delivered everything, stop it; its summary."""
    runner.start()
    deadline = time.monotonic() + timeout_s
    while not (plate.done and camera.exhausted) and time.monotonic() < deadline:
        time.sleep(0.05)
    # let the worker take the last chunks: wait until its counts stop moving (a fixed sleep lost the
    # last frame on a loaded host, where the worker also writes a still per rep)
    last, still_since = None, time.monotonic()
    while time.monotonic() < deadline:
        counts = (runner.stats().get("camera_frames"), runner.stats().get("plate_samples"))
        if counts != last:
            last, still_since = counts, time.monotonic()
        elif time.monotonic() - still_since > 0.5:
            break
        time.sleep(0.05)
    return runner.stop("test: sources exhausted")
