"""One simulated timeline per process: `--plate sim:hinge --camera sim:hinge` see the same subject.

The epoch is the host monotonic time (ns) at which the simulated trial's t=0 happens. The first
simulated source to start fixes it; every later one reads the same value, so the plate emulator's
force and the software camera's frames describe the same instant of the same virtual subject.
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_epoch_ns: int | None = None


def trial_epoch_ns() -> int:
    """The shared t=0 (host time.monotonic_ns()); set on first use."""
    global _epoch_ns
    with _lock:
        if _epoch_ns is None:
            _epoch_ns = time.monotonic_ns()
        return _epoch_ns


def set_trial_epoch_ns(epoch_ns: int) -> None:
    """Fix t=0 explicitly (tests, or a runner that wants t=0 at its own start)."""
    global _epoch_ns
    with _lock:
        _epoch_ns = int(epoch_ns)


def claim_trial_epoch_ns(epoch_ns: int) -> int:
    """t=0 at epoch_ns unless something has fixed it already (an earlier source, a test's own outlet);
    returns the epoch in force."""
    global _epoch_ns
    with _lock:
        if _epoch_ns is None:
            _epoch_ns = int(epoch_ns)
        return _epoch_ns


def reset_trial_epoch() -> None:
    """Forget the epoch: the next simulated source to start begins a new timeline."""
    global _epoch_ns
    with _lock:
        _epoch_ns = None


def sim_time_s(now_ns: int | None = None) -> float:
    """Seconds since the shared epoch (negative before it)."""
    now = time.monotonic_ns() if now_ns is None else now_ns
    return (now - trial_epoch_ns()) / 1e9
