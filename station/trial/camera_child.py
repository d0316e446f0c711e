"""The camera process's own side (station/trial/camera_process.py spawns it; design in docs/live-90fps.md).

`camera_main` runs in the child: it gets warm (the finders' imports, the camera object), waits for the
station's go, opens the camera and then, per frame, writes depth and infrared into the next free slot of a
shared-memory ring, measures markers and the virtual dowel (the station's own MarkerStep and DowelStep) and
sends a small message. This module imports only what the child needs, so the spawned interpreter loads no
more than that; the station's side (CameraProcess) imports it for `slot_views` and as the child's target.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from drivers.samples import CameraFrame, CameraSource
from station.config import StationConfig

log = logging.getLogger(__name__)

STATS_EVERY_S = 0.2  # the camera's counters are sent this often (and at the end)
QUEUE_FULL = "the station takes frames slower than the camera gives them: the newest are dropped (queue_full)"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def slot_views(buf: memoryview, slots: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(slots, H, W) uint16 depth and (slots, H, W) uint8 infrared over one shared-memory block."""
    n_depth = slots * height * width
    depth = np.ndarray((slots, height, width), np.uint16, buffer=buf)
    ir = np.ndarray((slots, height, width), np.uint8, buffer=buf, offset=2 * n_depth)
    return depth, ir


class FrameSteps:
    """The camera process's marker finder and virtual dowel (the station's own steps, run here)."""

    def __init__(self, config: StationConfig, camera_T: np.ndarray | None, holding_dowel: bool,
                 behind_s: float) -> None:
        from station.dowel.step import DowelStep
        from station.trial.steps import warm_marker_step

        self.markers = warm_marker_step(config, camera_T)
        self.dowel = DowelStep(config, camera_T, holding_dowel=holding_dowel, behind_s=behind_s)

    def analyse(self, frame: CameraFrame) -> tuple[tuple[dict, dict, dict], Any]:
        markers = self.markers.update(frame)
        # the dowel on the device clock: only the station's process knows the trial clock
        return markers, self.dowel.update(frame, markers[0], frame.t_device_ms / 1000.0)


def camera_main(opener: Callable[[], CameraSource], config: StationConfig, camera_T: np.ndarray | None,
                analyse: bool, holding_dowel: bool, behind_s: float, slot_s: float, wait_for_slots: bool,
                conn: Any, go: Any, consumed: Any, stop: Any) -> None:
    """The camera process: get warm (imports, finders, the camera object), wait for the go, open the camera,
    then per frame: slot, analysis, message; until `stop` is set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the station's to handle: it stops us
    try:
        # the finders first: their imports and the disc finder's compiled loops (~1-2 s) must not hold up a
        # camera that is already delivering
        steps = FrameSteps(config, camera_T, holding_dowel, behind_s) if analyse else None
        camera = opener()
    except Exception as exc:  # noqa: BLE001 - said in one line by the station's process
        conn.send(("error", one_line(exc)))
        return
    conn.send(("warm",))
    parent = os.getppid()
    while not go.poll(0.1):  # the station starts its other sources, then says go
        if stop.is_set() or os.getppid() != parent:
            return
    try:
        sim_epoch_ns = go.recv()[1]
    except (EOFError, OSError):
        return
    if sim_epoch_ns is not None:  # a simulated camera shows the subject the simulated plate shows
        from drivers.sim.timeline import set_trial_epoch_ns

        set_trial_epoch_ns(sim_epoch_ns)
    try:
        camera.start()
    except Exception as exc:  # noqa: BLE001 - said in one line by the station's process
        conn.send(("error", one_line(exc)))
        return
    intr = camera.intrinsics
    height, width = int(intr.height), int(intr.width)
    slots = max(4, int(round(float(camera.fps) * slot_s)))
    shm = shared_memory.SharedMemory(create=True, size=slots * height * width * 3)
    depth, ir = slot_views(shm.buf, slots, height, width)
    try:
        conn.send(("ready", {"name": camera.name, "fps": float(camera.fps), "intrinsics": intr,
                             "depth_scale_m": camera.depth_scale_m,
                             "device_info": dict(getattr(camera, "device_info", {}) or {}),
                             "shm": shm.name, "slots": slots, "shape": (height, width)}))
        outbox = Outbox(conn)
        try:
            stream_frames(camera, steps, depth, ir, outbox, consumed, stop, wait_for_slots)
        finally:
            outbox.close()
    except (BrokenPipeError, EOFError):  # the station closed its end first: nobody to tell
        pass
    finally:
        del depth, ir
        try:
            camera.stop()
        except Exception as exc:  # noqa: BLE001 - a dead device cannot stop cleanly
            log.warning("camera stop failed: %s", exc)
        shm.close()
        shm.unlink()


class Outbox:
    """The camera process's messages, sent by a thread of their own: the station's process reading late (a
    full pipe: ~64 kB, a dozen frames' contours) must not stop the camera loop, whose slots say how far the
    station may fall behind (and what is dropped then)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send_all, name="camera outbox", daemon=True)
        self._thread.start()

    def send(self, msg: tuple) -> None:
        self._queue.put(msg)

    def close(self, timeout_s: float = 2.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)  # a station that reads no more: what is left goes nowhere

    def _send_all(self) -> None:
        while (msg := self._queue.get()) is not None:
            try:
                self._conn.send(msg)
            except (BrokenPipeError, EOFError, OSError):  # the station has closed its end
                return


def stream_frames(camera: CameraSource, steps: FrameSteps | None, depth: np.ndarray, ir: np.ndarray,
                  conn: Outbox, consumed: Any, stop: Any, wait_for_slots: bool) -> None:
    """Per frame until `stop`: a free slot (else the newest frame is dropped, said once), analysis, message;
    the camera's counters every STATS_EVERY_S and at the end."""
    slots = depth.shape[0]
    seq, queue_full, sent_stats, finished, said = 0, 0, 0.0, False, 0
    analyse_ms: deque[float] = deque(maxlen=5000)  # the newest frames' marker finder + dowel, per frame

    def stats() -> dict:
        out = dict(camera.stats())
        drops = dict(out.get("drops") or {"late": 0, "decode": 0, "queue_full": 0})
        drops["queue_full"] = int(drops.get("queue_full", 0)) + queue_full
        out["drops"] = drops
        out["overflows"] = int(out.get("overflows", 0)) + queue_full
        out["camera_process"] = {"frames_sent": seq, "queue_full": queue_full, "slots": slots}
        if analyse_ms:
            ms = np.asarray(analyse_ms)
            out["camera_process"]["analyse_ms"] = {"median": round(float(np.median(ms)), 3),
                                                   "p95": round(float(np.percentile(ms, 95)), 3)}
        return out

    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:  # a station killed outright: leave too
        try:
            frames = camera.read(0.05)
        except Exception as exc:  # noqa: BLE001 - the device failed: the station says so and goes on
            conn.send(("stats", stats()))
            conn.send(("error", one_line(exc)))
            return
        for frame in frames:
            while wait_for_slots and seq - consumed.value >= slots and not stop.is_set():
                time.sleep(0.001)  # a recording read as fast as it decodes: the station sets the pace
            if seq - consumed.value >= slots:  # every slot still waits for the station: drop the newest
                if not queue_full:
                    conn.send(("said", QUEUE_FULL))
                queue_full += 1
                continue
            k = seq % slots
            depth[k] = frame.depth
            ir[k] = frame.ir
            t0 = time.perf_counter()
            markers, dowel = steps.analyse(frame) if steps is not None else (None, None)
            analyse_ms.append((time.perf_counter() - t0) * 1000.0)
            conn.send(("frame", seq, k, frame.frame_number, frame.t_device_ms, frame.timestamp_domain,
                       frame.t_host_ns, frame.depth_scale_m, frame.metadata, markers, dowel,
                       time.monotonic_ns()))
            seq += 1
        now = time.monotonic()
        if now - sent_stats >= STATS_EVERY_S:
            sent_stats = now
            conn.send(("stats", stats()))
            events = getattr(camera, "events", None)  # what the camera said once (a recording's pacing)
            if isinstance(events, list) and len(events) > said:
                for text in events[said:]:
                    conn.send(("said", text))
                said = len(events)
        if not frames and not finished and getattr(camera, "finished", False):
            finished = True  # a recording at its end
            conn.send(("stats", stats()))
            conn.send(("finished",))
    conn.send(("stats", stats()))
