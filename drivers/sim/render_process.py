"""The virtual subject rendered in processes of their own, as a camera renders on its own silicon.

Posing and rendering one 848x480 depth + IR frame takes ~2.5 + ~3.5 ms of CPU (drivers.sim.render draws
only the body's pixels over a cached static scene). Done on a thread of the station's own process it
would compete with the GUI, the core and the recorder for the interpreter. Here child processes (spawned:
no fork of a threaded process) render each frame ahead of its instant straight into one of a few
shared-memory slots and say which frame is in which slot; the parent's feeder only waits for the frame's
instant and pushes it into the pyrealsense2 software device, so the station still reads every frame
through the real SDK.

By default one child renders every frame; with `workers=k` (the simulated camera takes one per 30 fps)
they take turns, frame n on worker n % k, so a host busy with other work, which gives each runnable
process its share of the CPU, still leaves the camera enough for 60 frames a second. Each worker draws its
own noise (worker 0 the renderer's own stream, the others reseeded), and the parent hands the frames on
in frame-number order.

Scheduling is the camera's, decided in the children: a worker does not start a frame more than the plan's
lead_s ahead of its instant, and a frame that cannot be ready by its instant is not rendered (its number is
skipped, as a real camera's frame is lost), never delivered late. The children count what they rendered
and how long that took (`RenderProcess.stats()`).
"""

from __future__ import annotations

import heapq
import math
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

import numpy as np

SLOTS = 4  # the fewest shared-memory slots
LEAD_S = 0.3  # a frame is rendered at most this long ahead of its instant (absorbs the host's stalls)
_DONE = -1  # a worker's last message: it has rendered its frames of the subject's trial
_READY = -2  # a worker's first message: subject and renderer loaded, waiting for the plan
START_TIMEOUT_S = 60.0  # spawning, importing numpy and loading the subject: ~1 s, more on a loaded host


@dataclass(frozen=True)
class RenderPlan:
    """What the children render: frame n shows the subject at (t_offset_s + n / fps) % duration and is due
    at t_wall0 + n / fps (time.monotonic seconds, the same clock in every process); no frame is started
    more than lead_s before it is due."""

    fps: float
    n_frames: int
    t_offset_s: float
    t_wall0: float
    lead_s: float = LEAD_S

    def due(self, n: int) -> float:
        return self.t_wall0 + n / self.fps


def slots_for(fps: float, workers: int = 1, lead_s: float = LEAD_S) -> int:
    """Shared-memory slots for a frame rate: lead_s of frames, one more per extra worker, at least SLOTS."""
    return max(SLOTS, math.ceil(lead_s * fps) + workers - 1)


def _render_loop(subject: Any, renderer: Any, shape: tuple[int, int], slots: int, worker: int, workers: int,
                 shm_name: str, plans: mp.Queue, ready: mp.Queue, free: mp.Queue, stop: Any) -> None:
    """Child `worker` of `workers`: say it is ready, take the plan, render frames n = worker, worker +
    workers, ... into free slots ahead of their instants and skip those that would be late. Every message
    is (n, slot, worker, (skipped, rendered, render s total, render s max))."""
    shm = shared_memory.SharedMemory(name=shm_name)  # (the parent owns the block and unlinks it)
    depth, ir = _slot_views(shm, shape, slots)
    if worker:
        renderer.reseed(worker)  # its own noise: frames n and n + 1 must not share noise draws
    renderer.prepare()  # its buffers, before the first frame is due
    ready.put((_READY, -1, worker, (0, 0, 0.0, 0.0)))
    try:
        plan: RenderPlan | None = plans.get()
        if plan is None:  # closed before it started
            return
        frame_s = 1.0 / plan.fps
        render_s = frame_s  # running estimate of one render's duration
        skipped, rendered, total_s, max_s = 0, 0, 0.0, 0.0
        n = worker
        while n < plan.n_frames and not stop.is_set():
            # the first of its frames that can still be ready by its instant (half a period late tolerated)
            first_on_time = math.ceil((time.monotonic() + render_s - plan.t_wall0) * plan.fps - 0.5)
            if first_on_time > n:
                behind = -(-(first_on_time - n) // workers)  # its frames up to first_on_time
                skipped += behind
                n += behind * workers
                continue
            early_s = plan.due(n) - plan.lead_s - time.monotonic()
            if early_s > 0:
                stop.wait(min(early_s, 0.2))
                continue
            try:
                slot = free.get(timeout=0.2)  # all slots full: the parent has frames enough queued
            except queue.Empty:
                continue
            t0 = time.monotonic()
            t_subject_s = (plan.t_offset_s + n * frame_s) % subject.duration_s  # loops like the sim plate
            renderer.render(subject.pose(t_subject_s), out=(depth[slot], ir[slot]))
            took_s = time.monotonic() - t0
            render_s = 0.8 * render_s + 0.2 * took_s  # one slow render costs one frame
            # capped: an estimate above lead_s (a render of seconds on a stalled host) made every frame
            # "too late" before it was early enough to start, so nothing was rendered again (soak, 172 s)
            render_s = min(render_s, 0.5 * plan.lead_s)
            rendered, total_s, max_s = rendered + 1, total_s + took_s, max(max_s, took_s)
            ready.put((n, slot, worker, (skipped, rendered, total_s, max_s)))
            n += workers
        ready.put((_DONE, -1, worker, (skipped, rendered, total_s, max_s)))
    finally:
        del depth, ir  # views of the shared block must go before it closes
        shm.close()


def _slot_views(shm: shared_memory.SharedMemory, shape: tuple[int, int],
                slots: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    depth = np.ndarray((slots, h, w), np.uint16, buffer=shm.buf)
    ir = np.ndarray((slots, h, w), np.uint8, buffer=shm.buf, offset=slots * h * w * 2)
    return depth, ir


class RenderProcess:
    """Frames of `subject` by `renderer` (both picklable; the renderer has `prepare()` and `reseed(k)`), made
    in `workers` child processes.

    Construct (the children start and load), then `start(plan)` with the frames' instants, then
    `next(timeout_s)` -> (n, depth, ir): a copy of the next rendered frame and its number, in increasing
    frame numbers, None when nothing is ready yet; StopIteration at the end of the subject's trial.
    `slots`: frames rendered and not yet handed on (slots_for(fps, workers)).
    """

    def __init__(self, subject: Any, renderer: Any, height: int, width: int, *, slots: int = SLOTS,
                 workers: int = 1) -> None:
        ctx = mp.get_context("spawn")
        self.slots, self.workers = slots, workers
        self._shm = shared_memory.SharedMemory(create=True, size=slots * height * width * 3)  # u16 + u8
        self._depth, self._ir = _slot_views(self._shm, (height, width), slots)
        self._plans: list[mp.Queue] = [ctx.Queue() for _ in range(workers)]
        self._ready: mp.Queue = ctx.Queue()
        self._free: mp.Queue = ctx.Queue()
        for slot in range(slots):
            self._free.put(slot)
        self._stop = ctx.Event()
        self._procs = [ctx.Process(target=_render_loop, name=f"sim-camera-render-{w}", daemon=True,
                                   args=(subject, renderer, (height, width), slots, w, workers,
                                         self._shm.name, self._plans[w], self._ready, self._free, self._stop))
                       for w in range(workers)]
        for proc in self._procs:
            proc.start()
        self._plan: RenderPlan | None = None
        self._counters = [(0, 0, 0.0, 0.0)] * workers  # per worker, as last reported
        self._last_n = [w - workers for w in range(workers)]  # per worker: the last frame it reported
        self._done = [False] * workers
        self._pending: list[tuple[int, int]] = []  # (n, slot) rendered, not handed on yet: a heap
        self._handed = -1  # the last frame number handed on
        self.dropped_out_of_order = 0  # frames that came after a later one was handed on (freed unused)
        deadline = time.monotonic() + START_TIMEOUT_S
        started = 0
        while started < workers:
            got = self._receive(0.5)
            if got is not None and got[0] == _READY:
                started += 1
            elif time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the simulated camera's render process did not start in "
                                   f"{START_TIMEOUT_S:g} s")

    @property
    def skipped(self) -> int:
        """Frames the children could not render in time (lost, like a camera's)."""
        return sum(c[0] for c in self._counters) + self.dropped_out_of_order

    def start(self, plan: RenderPlan) -> None:
        self._plan = plan
        for plans in self._plans:
            plans.put(plan)

    def stats(self) -> dict:
        """What the children have reported so far: frames rendered and skipped (late), render ms per frame
        (pose + render, wall clock in the child: includes time the host gave to other processes)."""
        rendered = sum(c[1] for c in self._counters)
        total_s = sum(c[2] for c in self._counters)
        return {"workers": self.workers, "rendered": rendered, "skipped_late": self.skipped,
                "out_of_order": self.dropped_out_of_order,
                "render_ms_mean": round(1000 * total_s / rendered, 2) if rendered else None,
                "render_ms_max": round(1000 * max(c[3] for c in self._counters), 2) if rendered else None}

    def _receive(self, timeout_s: float) -> tuple[int, int] | None:
        """One message from the children, None if none came within timeout_s; frames go to the heap."""
        try:
            n, slot, worker, counters = self._ready.get(timeout=max(timeout_s, 0.0))
        except queue.Empty:
            dead = [proc for proc, done in zip(self._procs, self._done, strict=True)
                    if not done and not proc.is_alive()]
            if not dead:
                return None
            try:  # its last message may still be on its way
                n, slot, worker, counters = self._ready.get(timeout=1.0)
            except queue.Empty:
                raise RuntimeError("the simulated camera's render process died "
                                   f"(exit {dead[0].exitcode})") from None
        self._counters[worker] = counters
        if n == _DONE:
            self._done[worker] = True
        elif n >= 0:
            self._last_n[worker] = n
            if n <= self._handed:  # a later frame was handed on already: too late now
                self.dropped_out_of_order += 1
                self._free.put(slot)
            else:
                heapq.heappush(self._pending, (n, slot))
        return n, slot

    def _in_order(self, n: int) -> bool:
        """No worker can still deliver a frame before n."""
        return all(done or last + self.workers > n
                   for done, last in zip(self._done, self._last_n, strict=True))

    def next(self, timeout_s: float) -> tuple[int, np.ndarray, np.ndarray] | None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._pending:
                n, slot = self._pending[0]
                # another worker's earlier frame may still come; past half a period before this frame's
                # instant it is too late anyway
                if self._in_order(n) or time.monotonic() >= self._plan.due(n) - 0.5 / self._plan.fps:
                    heapq.heappop(self._pending)
                    self._handed = n
                    depth, ir = self._depth[slot].copy(), self._ir[slot].copy()
                    self._free.put(slot)
                    return n, depth, ir
            elif all(self._done):
                raise StopIteration
            wait_s = deadline - time.monotonic()
            if wait_s <= 0:
                return None
            if self._pending:
                wait_s = min(wait_s, self._plan.due(self._pending[0][0]) - 0.5 / self._plan.fps
                             - time.monotonic())
            self._receive(wait_s)

    def close(self) -> None:
        self._stop.set()
        for plans in self._plans:
            plans.put(None)  # a child still waiting for its plan ends too
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
        for q in (*self._plans, self._ready, self._free):
            q.cancel_join_thread()
            q.close()
        del self._depth, self._ir  # views of the shared block must go before it closes
        self._shm.close()
        self._shm.unlink()
