"""LSL outlets on loopback for the `lsl:NAME` source tests (tests/drivers/test_lsl_plate.py,
test_lsl_markers*.py): a stream name no other test uses, an outlet with XDF channel meta-data, waiting for
the inlet, pushing stamped rows, collecting what a source reads, a stream unplugged and plugged back in,
and outlets fed in real time on a shared t = 0.

pylsl is imported when used: the test modules skip first when it is missing (pytest.importorskip).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest


def stream_name(*tags: str) -> str:
    """hinge-test-TAGS-xxxxxxxx: unique, so streams of tests running at the same time never mix."""
    return "-".join(("hinge-test", *tags, uuid.uuid4().hex[:8]))


def open_outlet(name: str, n: int, *, kind: str, rate: float, fmt: str = "float32",
                channels: Sequence[Sequence[tuple[str, str]]] = (), source_id: str | None = None) -> Any:
    """A pylsl.StreamOutlet of type `kind`; channels: per channel, the (key, value) children of its
    desc/channels/channel entry (XDF meta-data), in order."""
    import pylsl

    info = pylsl.StreamInfo(name, kind, n, rate, fmt, source_id or name)
    if channels:
        chans = info.desc().append_child("channels")
        for children in channels:
            ch = chans.append_child("channel")
            for key, value in children:
                ch.append_child_value(key, value)
    return pylsl.StreamOutlet(info)


def wrong_shapes(rate: float, *, channels: int, irregular: int, string: int) -> list[tuple]:
    """(n, rate, fmt, what the refusal says) of streams a source refuses: `channels` channels (a count
    it does not take), `irregular` channels at no nominal rate, `string` channels of string samples."""
    return [(channels, rate, "float32", f"{channels} channels"),
            (irregular, 0.0, "float32", "irregular rate"),
            (string, rate, "string", "string samples")]


def start_refused(outlet: Any, source: Any) -> str:
    """The text of the StationError source.start() raises while `outlet` is up."""
    from station.errors import StationError

    with pytest.raises(StationError) as err:
        source.start()
    return str(err.value)


def wait_consumer(outlet: Any, timeout_s: float = 5.0) -> None:
    assert outlet.wait_for_consumers(timeout_s)
    time.sleep(0.2)  # the inlet's data connection is up before the first sample is pushed


def push_rows(outlet: Any, rows: np.ndarray, t0: float, rate: float, *, k0: int = 0, per_chunk: int) -> None:
    """rows as samples k0, k0+1, ... stamped t0 + k / rate, per_chunk rows a push."""
    ts = t0 + (k0 + np.arange(len(rows))) / rate
    for i in range(0, len(rows), per_chunk):
        outlet.push_chunk(rows[i:i + per_chunk].tolist(), ts[i:i + per_chunk].tolist())


def collect(source: Any, n: int, concat: Callable[[list], Any], timeout_s: float = 10.0) -> Any:
    """At least n samples read from source (fewer when timeout_s passes first), joined by concat."""
    chunks, got, t_end = [], 0, time.monotonic() + timeout_s
    while got < n and time.monotonic() < t_end:
        for c in source.read(0.1):
            chunks.append(c)
            got += len(c)
    return concat(chunks)


def read_across_an_unplug(source: Any, make_outlet: Callable[[str], Any], push: Callable[..., None],
                          read: Callable[[int], Any], rows: np.ndarray, k1: int, gap: int) -> tuple[Any, Any]:
    """Outlet make_outlet("a") appears, source starts, the outlet sends rows[:k1] and is deleted
    (unplugged); once the source has counted the disconnect, make_outlet("b") sends rows[k1 + gap:] on
    the same clock (plugged back in, `gap` samples later). push(outlet, rows, t0, k0) sends, read(n)
    collects; returns both parts read."""
    import pylsl

    outlet = make_outlet("a")
    source.start()
    try:
        wait_consumer(outlet)
        t0 = pylsl.local_clock()
        push(outlet, rows[:k1], t0, 0)
        first = read(k1)
        del outlet  # unplugged
        t_end = time.monotonic() + 10
        while source.stats()["disconnects"] == 0 and time.monotonic() < t_end:
            source.read(0.1)
        assert source.stats()["disconnects"] == 1 and not source.stats()["connected"]
        outlet = make_outlet("b")  # plugged back in
        wait_consumer(outlet, 10.0)
        push(outlet, rows[k1 + gap:], t0, k1 + gap)
        second = read(len(rows) - k1 - gap)
    finally:
        source.stop()
    return first, second


def assert_reported_gap(source: Any, first: Any, second: Any, k1: int, k2: int, gap: int) -> None:
    """read_across_an_unplug's parts are whole, the gap is counted lost and both events were reported."""
    assert len(first) == k1 and len(second) == k2
    stats = source.stats()
    assert stats["reconnects"] == 1 and stats["lost"] == gap
    assert any("lost" in e and "reconnecting" in e for e in source.events)
    assert any(f"{gap} samples lost while disconnected" in e for e in source.events)


Feed = tuple[Any, float, Callable[[np.ndarray], np.ndarray]]  # (outlet, rate, rows_of(t_s))


@contextmanager
def pushing_in_real_time(epoch_ns: int, feeds: Sequence[Feed],
                         *, until_s: float | None = None) -> Iterator[None]:
    """While the block runs, a thread pushes each feed's (outlet, rate, rows_of(t_s)) samples as they fall
    due since epoch_ns (time.monotonic_ns() of t = 0; at most until_s), stamped with the same t on LSL's
    clock, every 10 ms."""
    import pylsl

    lsl_epoch_s = pylsl.local_clock() - (time.monotonic_ns() - epoch_ns) / 1e9  # t = 0 on LSL's clock
    done = threading.Event()

    def stream() -> None:
        sent = [0] * len(feeds)
        while not done.is_set():
            t_now = (time.monotonic_ns() - epoch_ns) / 1e9
            if until_s is not None:
                t_now = min(t_now, until_s)
            for i, (outlet, rate, rows_of) in enumerate(feeds):
                k_now = int(t_now * rate)
                if k_now > sent[i]:
                    t = np.arange(sent[i], k_now) / rate
                    outlet.push_chunk(rows_of(t).tolist(), (lsl_epoch_s + t).tolist())
                    sent[i] = k_now
            done.wait(0.01)

    pusher = threading.Thread(target=stream, daemon=True)
    pusher.start()
    try:
        yield
    finally:
        done.set()
        pusher.join(2)
