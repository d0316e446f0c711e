"""`sim:PATTERN`: the virtual subject rendered live into a software device and read back through rs.pipeline.

Frames are pushed at the real frame rate by a feeder thread; the reading side is the ordinary
RealSenseCamera driver on a context that holds the software device, so the live simulator exercises
exactly the code a real camera does.
"""

from __future__ import annotations

import threading
import time

from drivers.realsense import RealSenseCamera
from drivers.rs_import import import_pyrealsense2
from drivers.sim.render import Renderer, default_intrinsics
from drivers.sim.softcam import DEVICE_CLOCK_START_MS, SIM_SERIAL, SoftwareCamera, make_subject
from station.config import StationConfig


class SimCamera(RealSenseCamera):
    """Source protocol; `subject` defaults to VirtualSubject(pattern). Ends when the subject's trial ends."""

    def __init__(self, pattern: str = "hinge", *, config: StationConfig | None = None, width: int = 848,
                 height: int = 480, fps: int = 30, seed: int = 0, arms: str = "crossed",
                 seconds: float | None = None, subject=None, renderer: Renderer | None = None,
                 shared_timeline: bool = False) -> None:
        super().__init__(serial=SIM_SERIAL, width=width, height=height, fps=fps)
        self.name = f"sim:{pattern}"
        self.config = config or StationConfig()
        self.subject = subject if subject is not None else make_subject(
            pattern, seed=seed, arms=arms, config=self.config)
        self.renderer = renderer or Renderer(default_intrinsics(width, height), seed=seed, config=self.config)
        self.seconds = seconds
        self._feeder: threading.Thread | None = None
        self.feeding_done = False  # the subject's trial has been rendered to its end
        self.pause_event = threading.Event()  # set it to stop delivering frames (a camera gap)
        self.frames_skipped_late = 0  # frames not rendered because the feeder ran late
        # True: render the subject at drivers.sim.timeline's shared t (same subject as the sim plate)
        self.shared_timeline = shared_timeline

    def start(self) -> None:
        rs = import_pyrealsense2()
        self._softcam = SoftwareCamera(self.renderer.intrinsics, self.fps,
                                       depth_scale_m=self.renderer.depth_scale_m)
        self._context = rs.context()
        # the context holds devices weakly: keeping the devices-changed event (it references the new
        # device) keeps ours listed (FIELD-NOTES)
        self._device_events: list = []
        self._context.set_devices_changed_callback(self._device_events.append)
        self._softcam.device.add_to(self._context)
        super().start()
        self._feeder = threading.Thread(target=self._feed, name=f"feeder {self.name}", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        duration_s = self.subject.duration_s if self.seconds is None else min(self.seconds,
                                                                               self.subject.duration_s)
        n_frames = int(duration_s * self.fps)
        t_offset_s = 0.0
        if self.shared_timeline:
            from drivers.sim.timeline import sim_time_s

            t_offset_s = sim_time_s()
        t_wall0 = time.perf_counter()
        for n in range(n_frames):
            if self._stop.is_set():
                return
            deadline = t_wall0 + n / self.fps
            time.sleep(max(0.0, deadline - time.perf_counter()))
            if time.perf_counter() - deadline > 1.0 / self.fps:
                # a host that cannot keep up loses frames (the frame number jumps); rendering them late
                # instead would put the subject's motion late on the trial clock
                self.frames_skipped_late += 1
                continue
            if self.pause_event.is_set():
                continue  # the camera delivers nothing for this frame period
            t_subject_s = (t_offset_s + n / self.fps) % self.subject.duration_s  # loops like the sim plate
            depth, ir = self.renderer.render(self.subject.pose(t_subject_s))
            self._softcam.push(n + 1, DEVICE_CLOCK_START_MS + n * 1000.0 / self.fps, depth, ir)
        self.feeding_done = True

    def stop(self) -> None:
        self._stop.set()
        if self._feeder is not None:
            self._feeder.join(timeout=5)
            self._feeder = None
        super().stop()
        if getattr(self, "_softcam", None) is not None:
            self._softcam.stop()
            self._softcam = None
