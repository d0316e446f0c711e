"""ThreadedConsumer (station/trial/threaded.py): a consumer's receive on its own thread, in order; its
errors reach the runner; the end waits for everything before it and returns the consumer's result."""

import threading
import time

import pytest

from station.trial.documents import StopTrial, TrialEnd, TrialEvent
from station.trial.threaded import ThreadedConsumer


class Slow:
    name = "slow"

    def __init__(self, fail_at: int | None = None) -> None:
        self.seen: list = []
        self.threads: set[str] = set()
        self.fail_at = fail_at

    def receive(self, doc):
        self.threads.add(threading.current_thread().name)
        if isinstance(doc, TrialEnd):
            return {"file": "t.h5", "seen": len(self.seen)}
        time.sleep(0.002)  # a write
        self.seen.append(doc.t_s)
        if self.fail_at is not None and doc.t_s == self.fail_at:
            raise StopTrial("disk full")
        return None


def _end() -> TrialEnd:
    return TrialEnd("stopped", {}, [], None, {})


def test_in_order_on_its_own_thread_and_the_end_waits_for_all():
    inner = Slow()
    c = ThreadedConsumer(inner, max_queue=8)
    t0 = time.perf_counter()
    for k in range(50):
        assert c.receive(TrialEvent("x", "y", float(k))) is None
    handed_s = time.perf_counter() - t0
    assert c.receive(_end()) == {"file": "t.h5", "seen": 50}
    assert inner.seen == [float(k) for k in range(50)]
    assert threading.current_thread().name not in inner.threads and inner.threads == {"consumer slow"}
    assert c.max_backlog >= 1 and handed_s < 50 * 0.002 + 0.5


def test_an_error_reaches_the_worker_once_later_documents_are_skipped_the_end_still_arrives():
    inner = Slow(fail_at=3.0)
    c = ThreadedConsumer(inner)
    with pytest.raises(StopTrial, match="disk full"):
        for k in range(200):
            c.receive(TrialEvent("x", "y", float(k)))
            time.sleep(0.001)
    assert k < 199  # raised while documents were still coming
    assert inner.seen[-1] == 3.0  # nothing after the failure reached the consumer
    assert c.receive(_end()) == {"file": "t.h5", "seen": 4}  # the runner hands failed consumers the end
