"""`sim:PATTERN`: the virtual subject rendered live into a software device and read back through rs.pipeline.

Frames are pushed at the real frame rate by a feeder thread; the reading side is the ordinary
RealSenseCamera driver on a context that holds the software device, so the live simulator exercises
exactly the code a real camera does.
"""

from __future__ import annotations

import math
import threading
import time

from drivers.realsense import RealSenseCamera
from drivers.rs_import import import_pyrealsense2
from drivers.sim.render import Renderer, default_intrinsics
from drivers.sim.softcam import DEVICE_CLOCK_START_MS, SIM_SERIAL, SoftwareCamera, make_subject
from drivers.sim.subject import coached_arms
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
        frame_s = 1.0 / self.fps
        render_s = frame_s  # running estimate of one render's duration
        # the stream's first frame is due one render from now (frame 1 is delivered, like a camera's)
        t_wall0 = time.perf_counter() + render_s
        t_offset_s += render_s
        n = 0
        while n < n_frames:
            if self._stop.is_set():
                return
            # a frame leaves a camera right after its exposure: render it BEFORE its instant and push it
            # at that instant. Rendering after the instant made every frame arrive one render time late,
            # and the clock mapping (lower envelope of arrivals) kept that as a constant camera lag.
            # The next frame rendered is the first one that can still be ready on time; the ones
            # before it are lost like a camera's frames on a host that cannot keep up (number jumps).
            # (half a frame period of lateness is tolerated: otherwise frame 1 would never be on time)
            first_on_time = math.ceil((time.perf_counter() + render_s - t_wall0) * self.fps - 0.5)
            if first_on_time > n:
                self.frames_skipped_late += first_on_time - n
                n = first_on_time
                continue
            deadline = t_wall0 + n * frame_s
            if self.pause_event.is_set():
                time.sleep(max(0.0, deadline - time.perf_counter()))
                n += 1
                continue  # the camera delivers nothing for this frame period
            t_subject_s = (t_offset_s + n * frame_s) % self.subject.duration_s  # loops like the sim plate
            t_render0 = time.perf_counter()
            depth, ir = self.renderer.render(self.subject.pose(t_subject_s))
            took_s = time.perf_counter() - t_render0
            render_s = 0.8 * render_s + 0.2 * took_s  # one slow render must not cost many frames
            time.sleep(max(0.0, deadline - time.perf_counter()))
            self._softcam.push(n + 1, DEVICE_CLOCK_START_MS + n * 1000.0 / self.fps, depth, ir)
            n += 1
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


def open_sim_camera(pattern: str, config: StationConfig, *, arms: str = "crossed",
                    load_kg: float = 0.0) -> SimCamera:
    """Registry factory (drivers.registry): `sim:PATTERN`, on the simulated timeline the sim plate shares,
    arms and load as the set's drill says."""
    subject = make_subject(pattern or "hinge", arms=coached_arms(arms, config), config=config,
                           load_kg=load_kg)
    return SimCamera(pattern or "hinge", config=config, shared_timeline=True, width=config.camera.width,
                     height=config.camera.height, fps=config.camera.fps, subject=subject)
