"""The trial file consumer's still keeper holds no stored still (issue 20 item 6: a long trial's IR + depth
copies, one per rep, grew ~8 MB/min): each goes to the file and only its rep's bottom is remembered."""

from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

import numpy as np

from station.recording.stills import Still, StillKeeper


class _Sink:
    def __init__(self) -> None:
        self.frames: list[int] = []

    def append_still(self, still: Still) -> None:
        self.frames.append(still.frame_number)


def test_keeper_writes_one_still_per_bottom_and_holds_none():
    sink = _Sink()
    copies = []

    def redact(still: Still) -> Still:  # a masked copy, as the face masker makes
        copy = Still(still.t_s, still.frame_number, still.ir.copy(), still.depth.copy(), still.marker_pixels,
                     still.overlay, still.rep_index, still.rep_t_bottom_s)
        copies.append(weakref.ref(copy))
        return copy

    keeper = StillKeeper(sink, redact=redact)
    ir, depth = np.zeros((48, 64), np.uint8), np.zeros((48, 64), np.uint16)
    stored = []
    for k in range(30 * 60):  # a minute at 30 fps, a rep bottom every 3 s
        t = k / 30.0
        keeper.on_frame(t, SimpleNamespace(frame_number=k, ir=ir, depth=depth), {})
        if k % 90 == 60:
            rep = SimpleNamespace(t_bottom=t - 1.0, index=len(stored) + 1)
            still = keeper.on_rep(rep)
            assert still is not None and abs(still.t_s - rep.t_bottom) < 0.05
            assert keeper.on_rep(rep) is None  # the same bottom again (the final reps at stop): not twice
            stored.append(still.frame_number)
            del still
    assert sink.frames == stored and len(stored) == 20
    assert keeper.kept_bottoms_s == [k / 30.0 - 1.0 for k in range(60, 30 * 60, 90)]
    gc.collect()
    assert len(copies) == 20 and all(ref() is None for ref in copies)  # written, not held
