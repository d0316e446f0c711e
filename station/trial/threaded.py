"""A consumer's work on a thread of its own, in order: the trial file's frame storage off the worker.

Measured (docs/live-90fps.md): storing depth+IR with h5-lz4 costs the trial worker ~3.8 ms of its
11.1 ms per frame at 90 fps, and h5py releases the interpreter lock while HDF5 compresses and writes
(a spinning thread ran as fast during the writes as alone: 3.56 vs 3.44 M loops/s). So the write can run
beside the worker on the second core instead of in its turn. `ThreadedConsumer` wraps any consumer:
documents go through a bounded queue to one thread that calls the consumer's `receive` in the order
they came (the consumer is touched by that thread only, so it needs no locking).

* Full queue (`max_queue` documents, 1 s of frames at 90 fps): the worker waits, as with the consumer
  inline; the camera's frames then queue up in the driver, which drops and counts them; the plate's
  reader thread keeps buffering (drivers/forceplate.py), so no sample is lost.
* An exception in the thread (StopTrial on a full disk) is raised from the next `receive` on the
  worker, where the runner handles it as if the consumer had raised it inline; documents still queued
  are then skipped, except TrialEnd, which always reaches the consumer ("each closes what it holds").
* `receive(TrialEnd)` waits for the queue to drain and returns the consumer's own result (the file's
  path for the summary).
"""

from __future__ import annotations

import queue
import threading

from station.trial.documents import TrialDocument, TrialEnd

_END_WAIT_S = 60.0  # a trial file's last flush on a slow disk: generous, but never forever


class ThreadedConsumer:
    """`consumer.receive` on a thread of its own; `name` is the consumer's."""

    def __init__(self, consumer, *, max_queue: int = 90) -> None:
        self.inner = consumer
        self.name = consumer.name
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._error: BaseException | None = None
        self._raised = False
        self._result: dict | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"consumer {self.name}", daemon=True)
        self._thread.start()
        self.max_backlog = 0  # most documents waiting at once (how far the thread fell behind)

    def receive(self, doc: TrialDocument) -> dict | None:
        if isinstance(doc, TrialEnd):
            self._queue.put(doc)
            if not self._done.wait(_END_WAIT_S):
                raise TimeoutError(f"{self.name}: still writing {_END_WAIT_S:.0f} s after the trial ended")
            if self._error is not None and not self._raised:
                raise self._error
            return self._result
        if self._error is not None and not self._raised:
            self._raised = True
            raise self._error
        self._queue.put(doc)
        self.max_backlog = max(self.max_backlog, self._queue.qsize())
        return None

    def _run(self) -> None:
        while True:
            doc = self._queue.get()
            end = isinstance(doc, TrialEnd)
            if self._error is None or end:
                try:
                    result = self.inner.receive(doc)
                    if end:
                        self._result = result
                except BaseException as exc:  # handed to the worker at its next receive
                    if self._error is None:
                        self._error = exc
                    elif end:
                        self._error, self._raised = exc, False  # the end's own failure is said too
            if end:
                self._done.set()
                return
