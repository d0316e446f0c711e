"""The virtual subject rendered in a process of its own, as a camera renders on its own silicon.

Rendering one 848x480 depth + IR frame takes 10-20 ms of numpy. Done on a thread of the station's own
process it competes with the GUI, the core and the recorder for the interpreter, and the demo's camera
delivered 460-670 of ~1020 frames on 2 cores. Here a child process (spawned: no fork of a threaded
process) renders each frame ahead of its instant into one of a few shared-memory slots and says which
frame is in which slot; the parent's feeder only waits for the frame's instant and pushes it into the
pyrealsense2 software device, so the station still reads every frame through the real SDK.

Scheduling is the camera's, decided in the child: a frame that cannot be ready by its instant is not
rendered (its number is skipped, as a real camera's frame is lost), never delivered late.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

import numpy as np

SLOTS = 4  # frames rendered ahead of their instant (~130 ms at 30 fps)
_DONE = -1  # the child's last message: the subject's trial has been rendered to its end
_READY = -2  # the child's first message: subject and renderer loaded, waiting for the plan
START_TIMEOUT_S = 60.0  # spawning, importing numpy and loading the subject: ~1 s, more on a loaded host


@dataclass(frozen=True)
class RenderPlan:
    """What the child renders: frame n shows the subject at (t_offset_s + n / fps) % duration and is due
    at t_wall0 + n / fps (time.monotonic seconds, the same clock in every process)."""

    fps: float
    n_frames: int
    t_offset_s: float
    t_wall0: float


def _render_loop(subject: Any, renderer: Any, shape: tuple[int, int], shm_name: str, plans: mp.Queue,
                 ready: mp.Queue, free: mp.Queue, stop: Any) -> None:
    """Child: say it is ready, take the plan, render frames into free slots ahead of their instants and
    skip those that would be late."""
    shm = shared_memory.SharedMemory(name=shm_name)  # (the parent owns the block and unlinks it)
    depth, ir = _slot_views(shm, shape)
    ready.put((_READY, -1, 0))
    try:
        plan: RenderPlan | None = plans.get()
        if plan is None:  # closed before it started
            return
        frame_s = 1.0 / plan.fps
        render_s = frame_s  # running estimate of one render's duration
        skipped = 0
        n = 0
        while n < plan.n_frames and not stop.is_set():
            # the first frame that can still be ready by its instant (half a period of lateness tolerated)
            first_on_time = math.ceil((time.monotonic() + render_s - plan.t_wall0) * plan.fps - 0.5)
            if first_on_time > n:
                skipped += first_on_time - n
                n = first_on_time
                continue
            try:
                slot = free.get(timeout=0.2)  # all slots full: the parent has frames enough queued
            except queue.Empty:
                continue
            t0 = time.monotonic()
            t_subject_s = (plan.t_offset_s + n * frame_s) % subject.duration_s  # loops like the sim plate
            depth[slot], ir[slot] = renderer.render(subject.pose(t_subject_s))
            render_s = 0.8 * render_s + 0.2 * (time.monotonic() - t0)  # one slow render costs one frame
            ready.put((n, slot, skipped))
            n += 1
        ready.put((_DONE, -1, skipped))
    finally:
        del depth, ir  # views of the shared block must go before it closes
        shm.close()


def _slot_views(shm: shared_memory.SharedMemory, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    depth = np.ndarray((SLOTS, h, w), np.uint16, buffer=shm.buf)
    ir = np.ndarray((SLOTS, h, w), np.uint8, buffer=shm.buf, offset=SLOTS * h * w * 2)
    return depth, ir


class RenderProcess:
    """Frames of `subject` by `renderer` (both picklable), made in a child process.

    Construct (the child starts and loads), then `start(plan)` with the frames' instants, then
    `next(timeout_s)` -> (n, depth, ir): a copy of the next rendered frame and its number, None when
    nothing is ready yet; StopIteration at the end of the subject's trial.
    """

    def __init__(self, subject: Any, renderer: Any, height: int, width: int) -> None:
        ctx = mp.get_context("spawn")
        self._shm = shared_memory.SharedMemory(create=True, size=SLOTS * height * width * 3)  # u16 + u8
        self._depth, self._ir = _slot_views(self._shm, (height, width))
        self._plans: mp.Queue = ctx.Queue()
        self._ready: mp.Queue = ctx.Queue()
        self._free: mp.Queue = ctx.Queue()
        for slot in range(SLOTS):
            self._free.put(slot)
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=_render_loop, name="sim-camera-render", daemon=True,
                                 args=(subject, renderer, (height, width), self._shm.name, self._plans,
                                       self._ready, self._free, self._stop))
        self._proc.start()
        self.skipped = 0  # frames the child could not render in time (lost, like a camera's)
        deadline = time.monotonic() + START_TIMEOUT_S
        while self._get(0.5) is None:
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the simulated camera's render process did not start in "
                                   f"{START_TIMEOUT_S:g} s")

    def start(self, plan: RenderPlan) -> None:
        self._plans.put(plan)

    def _get(self, timeout_s: float) -> tuple[int, int] | None:
        try:
            n, slot, self.skipped = self._ready.get(timeout=timeout_s)
        except queue.Empty:
            if not self._proc.is_alive():
                raise RuntimeError("the simulated camera's render process died "
                                   f"(exit {self._proc.exitcode})") from None
            return None
        return n, slot

    def next(self, timeout_s: float) -> tuple[int, np.ndarray, np.ndarray] | None:
        got = self._get(timeout_s)
        if got is None:
            return None
        n, slot = got
        if n == _DONE:
            raise StopIteration
        depth, ir = self._depth[slot].copy(), self._ir[slot].copy()
        self._free.put(slot)
        return n, depth, ir

    def close(self) -> None:
        self._stop.set()
        self._plans.put(None)  # a child still waiting for its plan ends too
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=2)
        for q in (self._plans, self._ready, self._free):
            q.cancel_join_thread()
            q.close()
        del self._depth, self._ir  # views of the shared block must go before it closes
        self._shm.close()
        self._shm.unlink()
