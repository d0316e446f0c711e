"""A recording played at the pace of its own frame timestamps, dropping what the station cannot take.

The SDK's real-time playback paces by when frames reached its recorder, not by their timestamps: a
`.db3` rendered offline (`sim camera --fps 90` without `--real-time`) plays at its render speed, and a
recording written by a busy host plays with that host's hiccups. Here the SDK plays the file as fast as
it decodes (`set_real_time(False)`, drivers.realsense.RealSenseCamera, a few frames ahead and no
further: its reader waits for us), and one thread of ours hands each frame on when its timestamp comes
due on the host's monotonic clock: frame n at t0 + (t_device(n) - t_device(first)). So the station sees
what a camera would give it: frames at their rate, and frames lost when it cannot keep up, counted by
reason (stats()["drops"]):

* late: a frame already overdue by more than `late_after_frames` periods while a newer one is already
  decoded and due; the newer one is handed on instead (a camera's queue holds the newest). A recording
  that decodes slower than its rate (PNG-compressed at 90 fps: ~60/s on 2 cores) still hands on every
  frame it decodes, late: the station says so once;
* queue_full: the station did not take frames: the oldest in the output queue (`queue_frames`, 1/3 s)
  goes, as the SDK's frame queue does with a live camera;
* decode: frames the SDK did not hand out whole (a depth without its infrared: `incomplete`) or at all
  (a gap in frame numbers: `dropped`), from the camera's own counters.

Each kind of trouble is said once (log warning, and in `events`, the device watch's list).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import replace

from drivers.chunk_buffer import stop_reader_thread
from drivers.samples import CameraFrame, frames_until_finished

log = logging.getLogger(__name__)
_LAG_NOTICE_S = 0.5  # handing on this far behind the timestamps: the decoder cannot keep the pace


class TimestampPaced:
    """Source protocol (start / read / stop / stats) around an unstarted RealSenseCamera playing a file with
    real_time=False; other attributes (fps, intrinsics, depth_scale_m, device_info, ...) are the camera's."""

    def __init__(self, camera, *, queue_frames: int | None = None, late_after_frames: float = 2.0,
                 decode_ahead_frames: int = 8) -> None:
        self.camera = camera
        self.name = camera.name
        self._queue_frames = queue_frames
        self._late_after_frames = late_after_frames
        self._ahead = decode_ahead_frames
        self._out: deque[CameraFrame] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._paced_done = False
        self._error: BaseException | None = None
        self.events: list[str] = []
        self._said: set[str] = set()
        self.drops = {"late": 0, "decode": 0, "queue_full": 0}
        self.handed_on = 0
        self.max_lag_s = 0.0

    def __getattr__(self, name: str):  # fps, intrinsics, depth_scale_m, device_info, link ... of the camera
        if name == "camera":
            raise AttributeError(name)
        return getattr(self.camera, name)

    # --- Source protocol -----------------------------------------------------------------------------
    def start(self) -> None:
        self.camera.start()
        self._thread = threading.Thread(target=self._pace, name=f"pace {self.name}", daemon=True)
        self._thread.start()

    def read(self, timeout_s: float = 0.1) -> list[CameraFrame]:
        with self._cond:
            if not self._out and not self._paced_done:
                self._cond.wait(timeout_s)
            out = list(self._out)
            self._out.clear()
        if not out and self._error is not None:
            raise self._error
        return out

    def stop(self) -> None:
        stop_reader_thread(self._stop, self._cond, self._thread)
        self._thread = None
        self.camera.stop()

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._paced_done and not self._out

    def stats(self) -> dict:
        inner = self.camera.stats()
        drops = dict(self.drops)
        drops["decode"] = int(inner.get("incomplete", 0)) + int(inner.get("dropped", 0))
        return inner | {"decoded": inner.get("frames", 0), "frames": self.handed_on,
                        "overflows": drops["queue_full"], "drops": drops, "pace": "timestamps",
                        "max_lag_s": round(self.max_lag_s, 4), "finished": self.finished}

    def frames(self, timeout_s: float = 5.0):
        """Iterate every CameraFrame handed on until the recording ends."""
        yield from frames_until_finished(self, timeout_s)

    # --- the pacing thread ---------------------------------------------------------------------------
    def _pace(self) -> None:
        decoded: deque[CameraFrame] = deque()
        t0_ns: int | None = None
        first_ms = 0.0
        try:
            while not self._stop.is_set():
                if len(decoded) < self._ahead and not self.camera.finished:
                    decoded.extend(self.camera.read(0.0 if decoded else 0.05))
                if not decoded:
                    if self.camera.finished:
                        decoded.extend(self.camera.read(0.0))
                        if not decoded:
                            break
                    continue
                frame = decoded[0]
                if t0_ns is None:  # the first frame is due when it is decoded: the clock starts there
                    t0_ns, first_ms = time.monotonic_ns(), frame.t_device_ms
                due_ns = t0_ns + int((frame.t_device_ms - first_ms) * 1e6)
                now = time.monotonic_ns()
                if now < due_ns:
                    self._stop.wait((due_ns - now) / 1e9)
                    continue
                decoded.popleft()
                lag_s = (now - due_ns) / 1e9
                period_s = 1.0 / max(float(getattr(self.camera, "fps", 30) or 30), 1.0)
                if lag_s > self._late_after_frames * period_s:
                    if not decoded:
                        decoded.extend(self.camera.read(0.0))
                    if decoded and t0_ns + (decoded[0].t_device_ms - first_ms) * 1e6 <= now:
                        self.drops["late"] += 1  # a newer frame is due: this one is gone, as on a camera
                        self._once("late", f"{self.name}: frames arrive late (the host is busy): "
                                           "dropping late frames, counted in stats()['drops']['late']")
                        continue
                self.max_lag_s = max(self.max_lag_s, lag_s)
                if lag_s > _LAG_NOTICE_S:
                    self._once("lag", f"{self.name}: the recording decodes slower than its "
                                      f"{1 / period_s:.0f} fps ({lag_s:.1f} s behind its timestamps; "
                                      "a compressed .db3?)")
                # its arrival, as a camera's frame is stamped when it reaches the host (the decode's
                # own stamp would tell the decoder's pace, not the recording's)
                self._hand_on(replace(frame, t_host_ns=time.monotonic_ns()), period_s)
        except BaseException as exc:  # the camera's error reaches the consumer's read()
            self._error = exc
        finally:
            with self._cond:
                self._paced_done = True
                self._cond.notify_all()

    def _hand_on(self, frame: CameraFrame, period_s: float) -> None:
        limit = self._queue_frames or max(int(round(1.0 / (3.0 * period_s))), 2)
        with self._cond:
            if len(self._out) >= limit:
                self._out.popleft()
                self.drops["queue_full"] += 1
                self._once("queue_full", f"{self.name}: the station takes frames slower than the camera's "
                                         f"{1 / period_s:.0f} fps: dropping the oldest (stats()['drops'])")
            self._out.append(frame)
            self.handed_on += 1
            self._cond.notify_all()

    def _once(self, kind: str, text: str) -> None:
        if kind not in self._said:
            self._said.add(kind)
            self.events.append(text)
            log.warning(text)
