"""The camera path in a process of its own (issue 22; design and budget in docs/live-90fps.md).

At 90 fps one interpreter runs out: the station process spent ~4 ms of its 11.1 ms a frame on the
camera's reader, pacing, marker finder and virtual dowel while it also parsed 1 kHz of plate, ran the core
and fed the consumers, and frames queued behind it (p95 arrival -> live state 319 ms at load 1-3). Threads
do not help: they contend for the one interpreter lock. So a child process owns the camera (opened there by
a picklable `opener`, e.g. `functools.partial(drivers.registry.open_camera, spec, config)`: the SDK's
pipeline, the reader thread, a recording's timestamp pacing), finds the markers and measures the virtual
dowel on each frame (station.trial.steps.MarkerStep, station.dowel.step.DowelStep: the same code as in the
station's own process), writes the frame's depth and infrared into a ring of shared-memory slots and sends a
small message (slot, the frame's numbers and stamps, the markers, the dowel) over a pipe. The station's
process copies the two images out of the slot (0.2-0.4 ms), hands the slot back and gives the runner an
`AnalysedFrame`: a CameraFrame that carries its markers and dowel, which the runner's intake takes instead
of computing them (station.trial.intake). Everything after that (clock mapping, core, trial file, LSL, live
view) is the one data path, unchanged.

Slots: `slot_s` (1/3 s) of frames, as the SDK's own frame queue. When the station has not taken the frames
of every slot the camera process drops the newest frame, counted `queue_full` in stats()["drops"] beside the
camera's own reasons (late, decode), and says once that the station takes frames slower than the camera
gives them. The plate is never involved: it stays in the station's process with its own reader thread.

Not analysed here (frames only, the station measures them): markerless (`--markers depth`: its tracker keeps
per-frame reasons on the trial clock for the rep's notes) and a mocap source (the dowel is placed by the
mocap's markers, which only the station's process has).

The child's side (its main loop, the slot ring's views, its sender thread) is station/trial/camera_child.py;
this module is the station's side: CameraProcess, and opening a trial's sources with or without it.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import shared_memory, util
from typing import Any

import numpy as np

from drivers.samples import CameraFrame, CameraSource
from station.config import StationConfig
from station.errors import StationError
from station.trial.camera_child import camera_main, slot_views

log = logging.getLogger(__name__)

SLOT_S = 1.0 / 3.0  # frames in flight between the processes: a third of a second, as the SDK's own queue
START_TIMEOUT_S = 60.0  # spawning and importing the camera's and the finders' modules (~2 s; more when busy)


@dataclass
class AnalysedFrame(CameraFrame):
    """A CameraFrame with what the camera process measured on it: markers = (positions name -> (3,) m plate
    frame, pixels name -> (2,) px, bridged name -> bool), as MarkerStep.update gives them; dowel: the frame's
    DowelFrame on the camera's device clock (the intake moves it to the trial clock), None when the camera
    process skipped it (behind)."""

    markers: tuple[dict, dict, dict] | None = None
    dowel: Any = None  # station.dowel.frame.DowelFrame | None
    analysed: bool = False  # markers and dowel were measured in the camera process
    t_sent_ns: int = 0  # host time.monotonic_ns() when the camera process sent it (arrival -> sent: its cost)


class CameraProcess:
    """A CameraSource whose camera, marker finder and virtual dowel run in a child process.

    opener: a picklable callable returning the unstarted camera (it is called in the child); name: the
    camera's registry name (for messages before it has started). analyse: measure markers and the dowel in
    the child (False: frames only). holding_dowel: the drill has a real dowel on the back; dowel_behind_s:
    a frame this late is skipped by the dowel (DowelStep: live, the dowel keeps up by skipping);
    wait_for_slots: a recording read as fast as it decodes waits for the station instead of dropping.
    sim_epoch: a simulated camera beside a simulated plate: the child takes this process's simulated t=0."""

    def __init__(self, opener: Callable[[], CameraSource], config: StationConfig, *, name: str,
                 camera_T: np.ndarray | None = None, analyse: bool = True, holding_dowel: bool = False,
                 sim_epoch: bool = False, slot_s: float = SLOT_S, dowel_behind_s: float = 0.1,
                 wait_for_slots: bool = False) -> None:
        self.opener, self.config, self.name = opener, config, name
        self.camera_T = None if camera_T is None else np.asarray(camera_T, float)
        self.analyse, self.holding_dowel = analyse, holding_dowel
        self.sim_epoch, self.slot_s, self.dowel_behind_s = sim_epoch, slot_s, dowel_behind_s
        self.wait_for_slots = wait_for_slots
        self.fps = float(config.camera.fps)
        self.intrinsics = None
        self.depth_scale_m: float | None = None
        self.device_info: dict = {}
        self.finished = False
        self.events: list[str] = []  # said once (the camera process's queue filling)
        self._stats: dict = {"frames": 0, "dropped": 0, "overflows": 0}
        self._error: str | None = None
        self._proc: mp.process.BaseProcess | None = None
        self._conn = None
        self._shm: shared_memory.SharedMemory | None = None
        self._depth = self._ir = None
        self._consumed = None
        self._stop = None
        self._go = None
        self.copy_ms: list[float] = []  # the station's side: slot -> its own arrays, per frame (bench)

    # --- Source protocol -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Spawn the camera process and wait until it is warm (modules imported, finders built, the camera
        object made: ~2 s, more on a busy host), so that start() costs only the camera's own opening. Called
        by start() if not before; a simulated subject starts moving when the first simulated source starts,
        so record prepares its camera before any source starts."""
        if self._proc is not None:
            return
        ctx = mp.get_context("spawn")  # a fresh interpreter: the station's threads and devices stay here
        parent, child = ctx.Pipe(duplex=False)
        go_child, self._go = ctx.Pipe(duplex=False)
        self._conn = parent
        self._consumed = ctx.RawValue("q", 0)  # frames the station has taken (the child's slot accounting)
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=camera_main, name=f"camera {self.name}", daemon=False,
                                 args=(self.opener, self.config, self.camera_T, self.analyse,
                                       self.holding_dowel, self.dowel_behind_s, self.slot_s,
                                       self.wait_for_slots, child, go_child,
                                       self._consumed, self._stop))
        self._proc.start()
        child.close()
        go_child.close()
        # a command that fails between start and stop must not hang at exit: multiprocessing joins every
        # non-daemon child then (ours is not a daemon: a simulated camera has render processes of its own),
        # and runs finalizers with an exit priority first
        util.Finalize(self, _stop_child, args=(self._stop, self._proc), exitpriority=100)
        self._await("warm")

    def start(self) -> None:
        self.prepare()
        epoch = None
        if self.sim_epoch:  # the simulated plate's t=0 (set when it started), for the simulated camera
            from drivers.sim.timeline import trial_epoch_ns

            epoch = trial_epoch_ns()
        self._go.send(("go", epoch))
        self._ready(self._await("ready")[1])

    def _await(self, kind: str) -> tuple:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._conn.poll(0.1):
                msg = self._conn.recv()
                if msg[0] == "error":
                    self._join()
                    raise StationError(f"{self.name}: {msg[1]}")
                if msg[0] == kind:
                    return msg
            elif not self._proc.is_alive():
                code = self._proc.exitcode
                self._proc = None
                raise StationError(f"{self.name}: the camera process ended at its start (exit code {code})")
            if time.monotonic() > deadline:
                self._join()
                raise StationError(f"{self.name}: the camera process did not start in "
                                   f"{START_TIMEOUT_S:.0f} s")

    def read(self, timeout_s: float = 0.1) -> list[CameraFrame]:
        out: list[CameraFrame] = []
        if self._conn is None:
            return out
        try:
            if not self._conn.poll(timeout_s):
                return self._or_error(out)
            # what has arrived, at most a slot ring's worth (the runner reads the plate in between)
            while len(out) < self._depth.shape[0] and self._conn.poll(0):
                msg = self._conn.recv()
                kind = msg[0]
                if kind == "frame":
                    out.append(self._frame(msg))
                elif kind == "stats":
                    self._stats = msg[1]
                elif kind == "finished":
                    self.finished = True
                elif kind == "said":
                    self._say(msg[1])
                elif kind == "error":
                    self._error = msg[1]
        except (EOFError, OSError):  # the camera process is gone
            if self._error is None:
                code = self._proc.exitcode if self._proc is not None else None
                self._error = f"the camera process ended (exit code {code})"
        return self._or_error(out)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._stop.set()
        self._join()
        if self._go is not None:
            self._go.close()
            self._go = None
        if self._conn is not None:
            try:  # the last counters, sent as the child stopped
                while self._conn.poll(0):
                    msg = self._conn.recv()
                    if msg[0] == "stats":
                        self._stats = msg[1]
            except (EOFError, OSError):
                pass
            self._conn.close()
            self._conn = None
        self._depth = self._ir = None
        if self._shm is not None:
            self._shm.close()
            self._shm = None

    def stats(self) -> dict:
        return dict(self._stats)

    # --- the station's side ----------------------------------------------------------------------------
    def _ready(self, info: dict) -> None:
        self.name = info["name"]
        self.fps = info["fps"]
        self.intrinsics = info["intrinsics"]
        self.depth_scale_m = info["depth_scale_m"]
        self.device_info = info["device_info"]
        self._shm = shared_memory.SharedMemory(name=info["shm"])
        height, width = info["shape"]
        self._depth, self._ir = slot_views(self._shm.buf, info["slots"], height, width)

    def _frame(self, msg: tuple) -> AnalysedFrame:
        _, seq, k, number, t_device_ms, domain, t_host_ns, scale, metadata, markers, dowel, t_sent_ns = msg
        t0 = time.perf_counter()
        depth, ir = self._depth[k].copy(), self._ir[k].copy()
        self._consumed.value = seq + 1  # the slot is the camera's again
        self.copy_ms.append((time.perf_counter() - t0) * 1000.0)
        if len(self.copy_ms) > 10_000:
            del self.copy_ms[:5_000]
        return AnalysedFrame(number, t_device_ms, domain, t_host_ns, depth, ir, scale, self.intrinsics,
                             metadata, markers=markers, dowel=dowel, analysed=self.analyse,
                             t_sent_ns=t_sent_ns)

    def _or_error(self, out: list[CameraFrame]) -> list[CameraFrame]:
        if not out and self._error is not None:
            raise StationError(f"{self.name}: {self._error}")
        return out

    def _say(self, text: str) -> None:
        if text not in self.events:
            self.events.append(text)
            log.warning("%s: %s", self.name, text)

    def _join(self) -> None:
        if self._proc is None:
            return
        _stop_child(self._stop, self._proc)
        self._proc = None


def _stop_child(stop: Any, proc: mp.process.BaseProcess) -> None:
    """Ask the camera process to end, and end it if it does not within 5 s (stuck writing to a station
    that no longer reads, or inside the SDK)."""
    stop.set()
    proc.join(5.0)
    if proc.is_alive():
        proc.terminate()
        proc.join(2.0)


def with_trial_time(dowel: Any, t_s: float) -> Any:
    """The camera process's DowelFrame (device clock) on the trial clock."""
    return None if dowel is None else dataclasses.replace(dowel, t_s=float(t_s))


AUTO_FPS = 60.0  # `--camera-process auto`: from this rate on (one interpreter holds 30 fps with room)
MODES = ("auto", "on", "off")


def wants_process(spec: str, config: StationConfig, mode: str = "auto") -> bool:
    """Whether the camera `spec` runs in a process of its own: `on`, `off`, or `auto` (at >= AUTO_FPS: the
    recording's own rate for a .db3/.bag, the configured camera.fps otherwise)."""
    if mode not in MODES:
        raise StationError(f"--camera-process {mode!r}: use one of {', '.join(MODES)}")
    if mode != "auto":
        return mode == "on"
    from drivers.registry import resolve

    backend, target = resolve("camera", spec)
    if backend == "recording":
        from drivers.recording_check import recording_fps

        return recording_fps(target) >= AUTO_FPS
    return float(config.camera.fps) >= AUTO_FPS


def open_in_process(spec: str, config: StationConfig, *, subject: dict | None = None,
                    camera_T: np.ndarray | None = None, analyse: bool = True,
                    holding_dowel: bool = False) -> CameraProcess:
    """The camera named `spec` (drivers.registry) opened in a process of its own; subject: what a simulated
    subject does in this set (drivers.registry.open_sources; a real camera ignores it)."""
    import functools

    from drivers.registry import open_camera, resolve

    backend, _ = resolve("camera", spec)  # a bad name is refused here, before any process starts
    options = dict(subject or {}) if backend == "sim" else {}
    opener = functools.partial(open_camera, spec, config, **options)
    return CameraProcess(opener, config, name=spec, camera_T=camera_T, analyse=analyse,
                         holding_dowel=holding_dowel, sim_epoch=backend == "sim")


def open_trial_sources(plate_spec: str | None, camera_spec: str | None, config: StationConfig, *,
                       subject: dict | None = None, camera_T: np.ndarray | None = None, mode: str = "auto",
                       analyse: bool = True, holding_dowel: bool = False) -> tuple[Any, Any]:
    """(plate, camera) as drivers.registry.open_sources opens them, the camera in a process of its own when
    wants_process says so (prepared: warm before any source starts). analyse: markers and dowel measured in
    the camera process (not for markerless or mocap trials); holding_dowel: a dowel drill."""
    from drivers.registry import open_sources

    in_process = bool(camera_spec) and wants_process(str(camera_spec), config, mode)
    plate, camera = open_sources(plate_spec, None if in_process else camera_spec, config, subject=subject)
    if in_process:
        camera = open_in_process(str(camera_spec), config, subject=subject, camera_T=camera_T,
                                 analyse=analyse and config.camera.markers != "depth",
                                 holding_dowel=holding_dowel)
        camera.prepare()  # (the plate is not started yet: nothing of it to close if this fails)
    elif callable(prepare := getattr(camera, "prepare", None)):
        prepare()  # a camera with something slow to start (the simulator's render process): warm it first
    return plate, camera
