"""`sim:PATTERN`: the virtual subject rendered live into a software device and read back through rs.pipeline.

Frames are rendered in a process of their own (drivers.sim.render_process, as a camera has its own
silicon) and pushed at the real frame rate by a feeder thread; the reading side is the ordinary
RealSenseCamera driver on a context that holds the software device, so the live simulator exercises
exactly the code a real camera does.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time

from drivers.realsense import RealSenseCamera
from drivers.rs_import import import_pyrealsense2
from drivers.sim.render import Renderer, default_intrinsics
from drivers.sim.render_process import RenderPlan, RenderProcess, slots_for
from drivers.sim.softcam import DEVICE_CLOCK_START_MS, SIM_SERIAL, SoftwareCamera, make_subject
from drivers.sim.subject import coached_arms
from station.config import StationConfig

STATS_ENV = "HINGE_SIM_CAMERA_STATS"  # a file: each SimCamera appends its stats() as a JSON line at stop


class SimCamera(RealSenseCamera):
    """Source protocol; `subject` defaults to VirtualSubject(pattern). Ends when the subject's trial ends."""

    def __init__(self, pattern: str = "hinge", *, config: StationConfig | None = None, width: int = 848,
                 height: int = 480, fps: int = 30, seed: int = 0, arms: str = "crossed",
                 seconds: float | None = None, subject=None, renderer: Renderer | None = None,
                 shared_timeline: bool = False) -> None:
        super().__init__(serial=SIM_SERIAL, width=width, height=height, fps=fps)
        self.name = self.link.name = f"sim:{pattern}"
        self.config = config or StationConfig()
        self.subject = subject if subject is not None else make_subject(
            pattern, seed=seed, arms=arms, config=self.config)
        self.renderer = renderer or Renderer(default_intrinsics(width, height), seed=seed, config=self.config)
        self.seconds = seconds
        self._feeder: threading.Thread | None = None
        self.feeding_done = False  # the subject's trial has been rendered to its end
        self.pause_event = threading.Event()  # set it to stop delivering frames (a camera gap)
        # unplug() / replug(): frame n of the plan goes out as number n + 1 - _number_base, stamped
        # (n - _number_base) periods after DEVICE_CLOCK_START_MS: a replugged camera counts from 1 again
        self._number_base = 0
        self._plugged = True
        self.loop_s: float | None = None  # set before start: stream this long, the subject looping
        self.frames_pushed = 0  # into the software device (what the SDK had to deliver)
        self.frames_skipped_late = 0  # frames the renderer could not have ready in time (lost)
        self.render_stats: dict = {}  # the render process's counters (RenderProcess.stats) at the end
        # True: render the subject at drivers.sim.timeline's shared t (same subject as the sim plate)
        self.shared_timeline = shared_timeline

    def prepare(self) -> None:
        """Spawn the render process(es) and wait until they are ready (seconds on a loaded host): called
        before any source of the trial starts (station.trial.camera_process.open_trial_sources), so the
        camera's first frames are not lost behind it while the simulated plate's subject moves on (CI: the
        first hip seen 4.5-6.8 s into a trial, the first rep's standing and descent missed)."""
        if getattr(self, "_render", None) is None:
            # one render worker per 30 fps, taking turns: on a host busy with other work one process's share
            # of the CPU may not be enough for 60 frames a second (drivers.sim.render_process)
            workers = max(1, math.ceil(self.fps / 30))
            self._render = RenderProcess(self.subject, self.renderer, self.height, self.width,
                                         slots=slots_for(self.fps, workers), workers=workers)

    def start(self) -> None:
        rs = import_pyrealsense2()
        self.prepare()  # the renderer is the camera's own silicon: a process of its own (if not yet made)
        self._softcam = SoftwareCamera(self.renderer.intrinsics, self.fps,
                                       depth_scale_m=self.renderer.depth_scale_m)
        self._context = rs.context()
        # the context holds devices weakly: keeping the devices-changed event (it references the new
        # device) keeps ours listed (FIELD-NOTES)
        self._device_events: list = []
        self._context.set_devices_changed_callback(self._device_events.append)
        self._softcam.device.add_to(self._context)
        super().start()
        self._render_plan = self._plan()
        self._render.start(self._render_plan)
        self._feeder = threading.Thread(target=self._feed, name=f"feeder {self.name}", daemon=True)
        self._feeder.start()

    def _plan(self) -> RenderPlan:
        """Frame n is due at t_wall0 + n / fps and shows the subject at t_offset + n / fps."""
        duration_s = self.subject.duration_s if self.seconds is None else min(self.seconds,
                                                                               self.subject.duration_s)
        if self.loop_s is not None:  # the subject's trial over and over (as the sim plate does): a soak
            duration_s = self.loop_s
        t_offset_s = 0.0
        if self.shared_timeline:
            from drivers.sim.timeline import sim_time_s

            t_offset_s = sim_time_s()
        lead_s = 2.0 / self.fps  # the first frame is due two periods from now: time to render it
        return RenderPlan(float(self.fps), int(duration_s * self.fps), t_offset_s + lead_s,
                          time.monotonic() + lead_s)

    def _feed(self) -> None:
        """Push each rendered frame into the software device at its instant (a frame leaves a camera
        right after its exposure; pushing late would make the clock mapping see a constant camera lag)."""
        plan = self._render_plan
        try:
            while not self._stop.is_set():
                try:
                    got = self._render.next(0.2)
                except StopIteration:
                    self.feeding_done = True
                    return
                if got is None:
                    continue
                n, depth, ir = got
                time.sleep(max(0.0, plan.t_wall0 + n / plan.fps - time.monotonic()))
                if self.pause_event.is_set():
                    continue  # the camera delivers nothing for this frame period
                with self.link.push_lock:  # never into a pipeline that is restarting
                    if not self.link.connected:
                        continue  # unplugged: the frame goes nowhere
                    k = n - self._number_base
                    self._softcam.push(k + 1, DEVICE_CLOCK_START_MS + k * 1000.0 / self.fps, depth, ir)
                    self.frames_pushed += 1
        finally:
            self.frames_skipped_late = self._render.skipped
            self.render_stats = self._render.stats()

    def unplug(self) -> None:
        """The USB cable comes out: no more frames, and the driver is told as the SDK's devices-changed
        callback tells it for a real camera (drivers.realsense._devices_changed)."""
        self._plugged = False
        self.link.removed()

    def replug(self) -> None:
        """The cable goes back in: the camera powers up again (frame counter from 1, device clock from its
        start) and the driver restarts its pipeline on the software device, as for a real one."""
        with self.link.push_lock:
            plan = self._render_plan
            self._number_base = max(0, int((time.monotonic() - plan.t_wall0) * plan.fps))
            self._plugged = True
        self.link.added()

    def _restart_pipeline(self) -> bool:
        if not self._plugged:  # the cable is out: the SDK would find no device to start
            self.link.restart_failed(RuntimeError(f"{self.name}: no device"))
            return False
        return super()._restart_pipeline()

    def stats(self) -> dict:
        """The driver's counters plus the render processes': frames they skipped as late (they show as
        dropped frames; out of order: rendered, but after a later frame had been pushed) and their mean and
        worst ms per frame (pose + render, wall clock)."""
        out = super().stats()
        process = getattr(self, "_render", None)
        render = process.stats() if process is not None else self.render_stats
        out.update({"render_workers": render.get("workers", 0), "frames_rendered": render.get("rendered", 0),
                    "frames_skipped_late": render.get("skipped_late", 0),
                    "frames_out_of_order": render.get("out_of_order", 0), "frames_pushed": self.frames_pushed,
                    "feeding_done": self.feeding_done,
                    "render_ms_mean": render.get("render_ms_mean"),
                    "render_ms_max": render.get("render_ms_max")})
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._feeder is not None:
            self._feeder.join(timeout=5)
            self._feeder = None
        if getattr(self, "_render", None) is not None:
            self.render_stats = self._render.stats()
            self._render.close()
            self._render = None
        super().stop()
        if getattr(self, "_softcam", None) is not None:
            self._softcam.stop()
            self._softcam = None
        if os.environ.get(STATS_ENV):  # bench/delivery.py: where the lost frames were lost
            with open(os.environ[STATS_ENV], "a") as out:
                out.write(json.dumps({"name": self.name, "fps": self.fps, **self.stats()}) + "\n")


def open_sim_camera(pattern: str, config: StationConfig, *, arms: str = "crossed",
                    load_kg: float = 0.0) -> SimCamera:
    """Registry factory (drivers.registry): `sim:PATTERN`, on the simulated timeline the sim plate shares,
    arms and load as the set's drill says."""
    subject = make_subject(pattern or "hinge", arms=coached_arms(arms, config), config=config,
                           load_kg=load_kg)
    return SimCamera(pattern or "hinge", config=config, shared_timeline=True, width=config.camera.width,
                     height=config.camera.height, fps=config.camera.fps, subject=subject)
