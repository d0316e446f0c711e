"""What a trial does once before its sources stream: the heap out of the collector's way, and a simulated
subject's clock on the trial's."""

from __future__ import annotations

import gc
from collections.abc import Iterable

from drivers.samples import Source


def settle_the_heap() -> None:
    """Before a process's first stream: what it holds now (modules, the subject, the models) leaves the
    garbage collector's view. Otherwise a full collection mid-trial walks all of it with every thread
    stopped: 62-73 ms in a 12 s `record`, 6 frames at 90 fps. Garbage first, so none is kept; what the trial
    allocates later is collected as before. Once per process (nothing else there freezes): a later trial's
    start state (a dashboard's next set) may hold reference cycles that must stay collectable."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def align_to_trial_start(sources: Iterable[Source], t0_host_ns: int) -> None:
    """A simulated source (one with `align_to_trial_start`, drivers.sim.simplate) starts its subject at the
    trial's t=0: otherwise what the consumers do before the sources start shifts every rep's time."""
    for src in sources:
        align = getattr(src, "align_to_trial_start", None)
        if align is not None:
            align(t0_host_ns)
