"""A live camera's link (unplugged, back, restarted), shared by the reader, the SDK's callback and stats().

drivers.realsense keeps one per camera. The SDK's devices-changed callback (a thread of librealsense's
own) calls `removed()` / `added()`; the reader thread asks `wants_restart()` and restarts the pipeline,
holding `push_lock` meanwhile (a software device's pusher waits on it: drivers.sim.simcamera). A frame
counter that starts again (a camera power-cycled by its cable) is `counter_restarted()`.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)
RETRY_PERIOD_S = 1.0  # while unplugged, the pipeline is tried again this often (a missed "added" event)


class ReconnectState:
    """Connected or not, and counts of disconnects, reconnects and frame-counter restarts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.push_lock = threading.Lock()  # held while the pipeline stops and starts again
        self._lock = threading.Lock()
        self._restart = threading.Event()
        self.removed_ns: int | None = None  # host monotonic ns of the unplug, None when connected
        self.disconnected_ns: int | None = None  # of the last unplug and the last restart after one
        self.reconnected_ns: int | None = None
        self._last_try_ns = 0
        self.stalled = False  # set by the reader: no frame for drivers.realsense._STALL_S
        self.disconnects = 0
        self.reconnects = 0
        self.counter_restarts = 0
        self.restart_failures = 0
        self.events: list[str] = []  # human-readable, newest last (as drivers.forceplate's)

    # --- from the SDK's callback (or a stand-in) ---------------------------------------------------------
    def removed(self) -> None:
        with self._lock:
            if self.removed_ns is not None:
                return
            self.removed_ns = self._last_try_ns = self.disconnected_ns = time.monotonic_ns()
            self.disconnects += 1
            self._restart.clear()
        self._event(f"{self.name}: disconnected; restarting the stream when it comes back")

    def added(self) -> None:
        self._restart.set()

    # --- from the reader thread -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.removed_ns is None

    def wants_restart(self) -> bool:
        """An "added" event came, or the camera has been gone RETRY_PERIOD_S since the last try."""
        if self._restart.is_set():
            return True
        if self.removed_ns is None:
            return False
        return time.monotonic_ns() - self._last_try_ns > RETRY_PERIOD_S * 1e9

    def restarted(self) -> None:
        with self._lock:
            self._restart.clear()
            was_removed, self.removed_ns = self.removed_ns, None
            if was_removed is not None:
                self.reconnects += 1
                self.reconnected_ns = time.monotonic_ns()
        if was_removed is not None:
            self._event(f"{self.name}: reconnected after {(time.monotonic_ns() - was_removed) / 1e9:.1f} s")

    def restart_failed(self, exc: Exception) -> None:
        with self._lock:
            self._restart.clear()
            self._last_try_ns = time.monotonic_ns()
            self.restart_failures += 1
        log.debug("%s: restart failed: %s", self.name, exc)

    def counter_restarted(self) -> None:
        self.counter_restarts += 1
        self._event(f"{self.name}: frame counter started again (the camera restarted)")

    def stats(self) -> dict:
        return {"connected": self.removed_ns is None and not self.stalled, "disconnects": self.disconnects,
                "reconnects": self.reconnects, "counter_restarts": self.counter_restarts,
                "disconnected_ns": self.disconnected_ns, "reconnected_ns": self.reconnected_ns}

    def _event(self, text: str) -> None:
        self.events.append(text)
        log.warning(text)
