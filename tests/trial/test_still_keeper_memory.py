"""The trial file consumer's still keeper holds no stored still (issue 20 item 6: a long trial's IR + depth
copies, one per rep, grew ~8 MB/min): each goes to the file and only its rep's bottom is remembered."""

from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

import numpy as np

from station.recording.stills import Still, StillKeeper
from station.results import LOCKOUT_PENDING, RepResult


def _rep(index: int, t_bottom: float, pending: bool = False) -> RepResult:
    rep = RepResult(index=index, t_start=t_bottom - 1.0, t_bottom=t_bottom, t_end=t_bottom + 1.0,
                    descent_s=1.0, ascent_s=1.0)
    if pending:
        rep.notes["lockout"] = LOCKOUT_PENDING
    return rep


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
            rep = _rep(len(stored) + 1, t - 1.0)
            still = keeper.on_rep(rep)
            assert still is not None and abs(still.t_s - rep.t_bottom) < 0.05
            assert keeper.on_rep(rep) is None  # the same bottom again (the final reps at stop): not twice
            stored.append(still.frame_number)
            del still
    assert sink.frames == stored and len(stored) == 20
    assert keeper.kept_bottoms_s == [k / 30.0 - 1.0 for k in range(60, 30 * 60, 90)]
    gc.collect()
    assert len(copies) == 20 and all(ref() is None for ref in copies)  # written, not held


def test_a_rep_given_before_its_lockout_gets_its_still_once_at_the_final_bottom():
    """A live rep comes twice (at its end, its lockout pending; then judged): one still, nearest the final
    bottom while the ring has it; the frame held at the first is stored if the ring has moved past it."""
    sink = _Sink()
    keeper = StillKeeper(sink, span_s=1.0)  # a short ring: a busy host's late amendment
    ir, depth = np.zeros((48, 64), np.uint8), np.zeros((48, 64), np.uint16)

    def frames(k0: int, k1: int) -> None:
        for k in range(k0, k1):
            keeper.on_frame(k / 30.0, SimpleNamespace(frame_number=k, ir=ir, depth=depth), {})

    frames(0, 60)  # 2 s
    assert keeper.on_rep(_rep(1, 1.5, pending=True)) is None and sink.frames == []  # held, not stored
    still = keeper.on_rep(_rep(1, 1.55))  # judged: the bottom one frame on, still in the ring
    assert still is not None and abs(still.t_s - 1.55) <= keeper.ring.step_s / 2 + 1e-9
    assert sink.frames == [still.frame_number]
    assert keeper.on_rep(_rep(1, 1.55)) is None  # the final reps at stop: not twice
    frames(60, 120)
    assert keeper.on_rep(_rep(2, 3.5, pending=True)) is None
    frames(120, 180)  # the ring (1 s) moves past the bottom before the lockout is judged
    assert keeper.ring.nearest(3.5).t_s > 4.9  # the ring holds nothing near that bottom any more
    late = keeper.on_rep(_rep(2, 3.5))
    assert late is not None and abs(late.t_s - 3.5) <= keeper.ring.step_s
    assert sink.frames[-1] == late.frame_number
    assert keeper._held == {}
