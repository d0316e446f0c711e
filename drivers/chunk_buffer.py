"""What every threaded sample reader shares (drivers.forceplate, drivers.lsl_inlet): a bounded buffer of
chunks between its reader thread and read(), and the bookkeeping of a link that stalls, drops and returns.

The buffer holds at most buffer_samples samples (len(chunk) each): when nobody reads, the oldest chunks go
and are counted (overflows, overflow_samples), never silently. read(timeout_s) waits on a condition
variable for the reader thread's next chunk. Disconnects, reconnects and stalls are counted, dated on
this host's time.monotonic_ns() (station.trial.device_watch dates outages by them) and reported as events.
stop_reader_thread is the stop of a reader whose thread may wait on the condition (drivers.realsense,
drivers.db3_pacing).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any


def stop_reader_thread(stop: threading.Event, cond: threading.Condition, thread: threading.Thread | None,
                       timeout_s: float = 5.0) -> None:
    """Set `stop`, wake whoever waits on `cond` (the reader held back by a full buffer, a read()) and join
    `thread` for at most timeout_s."""
    stop.set()
    with cond:
        cond.notify_all()
    if thread is not None:
        thread.join(timeout=timeout_s)


class BufferedReader:
    """Base of a Source read on its own thread. Subclasses name themselves in messages (`what`), close
    their link (`_close`) and start `_thread`; `_log` is the logger their events go to."""

    _log = logging.getLogger(__name__)

    def __init__(self, *, buffer_samples: int, silence_timeout_s: float, reconnect: bool) -> None:
        self.buffer_samples = int(buffer_samples)
        self.silence_timeout_s = float(silence_timeout_s)
        self.reconnect = reconnect
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._buffer: collections.deque = collections.deque()
        self._buffered = 0
        self.overflows = self.overflow_samples = 0
        self.disconnects = self.reconnects = self.stalls = 0
        self.events: list[str] = []  # human-readable happenings (disconnects, overflows), newest last
        self._lost_at_disconnect: int | None = None
        # host monotonic ns of the last disconnect and reconnect (station.trial.device_watch's times)
        self.disconnected_ns: int | None = None
        self.reconnected_ns: int | None = None

    @property
    def what(self) -> str:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # --- Source protocol ----------------------------------------------------------------------------
    def read(self, timeout_s: float = 0.1) -> list:
        with self._cond:
            if not self._buffer:
                self._cond.wait(timeout_s)
            chunks = list(self._buffer)
            self._buffer.clear()
            self._buffered = 0
        return chunks

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close()

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _link_stats(self, connected: bool, **between: object) -> dict:
        """The buffer's and the link's counters for stats(); `between` goes before the two dates."""
        return {
            "overflows": self.overflows, "overflow_samples": self.overflow_samples,
            "disconnects": self.disconnects, "reconnects": self.reconnects, "stalls": self.stalls,
            "connected": connected, "buffered": self._buffered, **between,
            "disconnected_ns": self.disconnected_ns, "reconnected_ns": self.reconnected_ns,
        }

    # --- reader thread ------------------------------------------------------------------------------
    def _push(self, chunk: Any) -> None:
        with self._cond:
            self._buffer.append(chunk)
            self._buffered += len(chunk)
            dropped = 0
            while self._buffered > self.buffer_samples and len(self._buffer) > 1:
                old = self._buffer.popleft()  # nobody is reading: keep the newest, count the rest
                self._buffered -= len(old)
                dropped += len(old)
            self._cond.notify_all()
        if dropped:
            if not self.overflow_samples:
                self._event(f"{self.what}: buffer overflow, the reader is not keeping up")
            self.overflows += 1
            self.overflow_samples += dropped

    def _stalled(self, samples: int) -> None:
        """No data for silence_timeout_s while connected (once per silence)."""
        self.stalls += 1
        self._event(f"{self.what}: no data for {self.silence_timeout_s:.1f} s (after {samples} samples)")

    def _count_disconnect(self, lost: int, text: str) -> None:
        """After the link closed: count it, remember `lost` so far, report `text` (after `what: `)."""
        self.disconnects += 1
        self._lost_at_disconnect = lost
        again = "; reconnecting when it comes back" if self.reconnect else ""
        self._event(f"{self.what}: {text}{again}")

    def _count_reconnect(self) -> None:
        self.reconnects += 1
        self.reconnected_ns = time.monotonic_ns()
        self._event(f"{self.what}: reconnected")

    def _after_reconnect_gap(self, lost: int) -> None:
        """On the first data after a return: report how many samples (of `lost` so far) the outage took."""
        if self._lost_at_disconnect is not None:
            gap = lost - self._lost_at_disconnect
            self._lost_at_disconnect = None
            self._event(f"{self.what}: {gap} samples lost while disconnected")

    def _event(self, text: str) -> None:
        self.events.append(text)
        self._log.warning(text)
