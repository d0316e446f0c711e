"""The core's memory is bounded (issue 20 item 6) and the bound changes no answer.

A long session is the virtual subject's trial looped, each loop 5 cm further forward (further up for the
step), so that the reps' reference standing moves on every loop and the core can drop the force and dowel
rows before it. The same chunks go to a core keeping every row (keep_recent_s=inf) and to one keeping
only what it can still read plus 5 s: reps, metrics, faults, warnings and summary must be identical, and
the bounded hinge core's rows (counted, not timed) must stay within a loop's worth while the other's grow.
(The step's detector keeps the standing of the direction the set did not take, from the session's start:
its core keeps the force from there, and is checked for the answers only.)
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from station.core.buffers import ColumnBuffer
from station.core.hinge_core import HORIZON_MARGIN_S, HingeCore
from station.streams import DowelBlock, ForceBlock, MarkerBlock
from tests.support.sim_trials import measured

LOOPS = 8
SHIFT_M = 0.05  # each loop this far from the last one: a new standing place, a new reference
CHUNK_S = 1.0
FORCE_HZ = 1000.0


@functools.cache
def _session(pattern: str, shift_m: float = SHIFT_M) -> tuple[float, list[tuple[ForceBlock, DowelBlock,
                                                                                 MarkerBlock]]]:
    """(loop duration s, chunks of force, dowel and markers in time order) of LOOPS loops, each shift_m
    from the last (0: the subject stays in place, and the session's first standing stays the reference)."""
    subject = VirtualSubject(pattern, reps=3, seed=4)
    force, markers = measured(subject, seed=4)
    axis = 2 if pattern.startswith("step") else 0
    rng = np.random.default_rng(7)
    duration = float(subject.duration_s)
    chunks = []
    for k in range(LOOPS):
        shift = np.zeros(3)
        shift[axis] = k * shift_m
        t0 = k * duration
        tm = markers.t_s + t0
        positions = {name: p + shift for name, p in markers.positions.items()}
        # a dowel at the frames: gaps over the limit now and then (form breaks), a region each frame
        gap = 6.0 + 4.0 * np.sin(tm * 1.3) + rng.normal(0.0, 1.5, tm.size)
        gap[rng.random(tm.size) < 0.03] = np.nan
        dowel = DowelBlock(tm.copy(), gap, rng.integers(0, 3, tm.size))
        f = ForceBlock(force.t_s + t0, force.cells_n)
        m = MarkerBlock(tm, positions)
        for edge in np.arange(0.0, duration, CHUNK_S):
            a, z = t0 + edge, t0 + edge + CHUNK_S
            chunks.append((f.between(a, z), dowel.between(a, z), m.between(a, z)))
    return duration, chunks


def _feed(core: HingeCore, chunks, check=None) -> tuple[list, object]:
    live = []
    for force, dowel, markers in chunks:
        core.push_force(force)
        core.push_dowel(dowel)
        core.push_markers(markers)
        live += [r.to_json() for r in core.poll()]
        if check is not None:
            check(core)
    return live, core.finish()


@pytest.mark.parametrize("pattern, shift_m", [("hinge", SHIFT_M), ("step_down", SHIFT_M), ("hinge", 0.0),
                                              ("step_down", 0.0)])
def test_bounded_core_gives_the_same_answers_with_fewer_rows(pattern, shift_m):
    duration, chunks = _session(pattern, shift_m)
    movement = "step" if pattern.startswith("step") else "hinge"
    cfg = StationConfig()
    kept = HingeCore(cfg, expect_dowel=True, movement=movement, keep_recent_s=math.inf)
    bounded = HingeCore(cfg, expect_dowel=True, movement=movement, keep_recent_s=5.0)
    # rows held: the last keep_recent_s, or from the oldest open excursion's entry (a rep, up to ~5 s)
    # minus the margins, and the current chunk; the quiet standing the reps refer to is kept apart (its
    # seconds) however far back it is
    limit_s = 5.0 + 5.0 + 2 * CHUNK_S + HORIZON_MARGIN_S
    most = {"force": 0, "dowel": 0}

    def check(core: HingeCore) -> None:
        most["force"] = max(most["force"], core._force.n)
        most["dowel"] = max(most["dowel"], core._dowel.n)

    live_kept, final_kept = _feed(kept, chunks)
    live_bounded, final_bounded = _feed(bounded, chunks, check)

    reps = [r.to_json() for r in final_kept.reps]
    assert len(reps) >= 2 * LOOPS  # reps in every loop, measured with force and dowel
    assert all(r["foot_pos_bottom"] is not None for r in reps)
    assert [r.to_json() for r in final_bounded.reps] == reps
    assert live_bounded == live_kept
    assert final_bounded.summary == final_kept.summary
    assert final_bounded.warnings == final_kept.warnings
    assert kept._force.dropped == kept._dowel.dropped == 0
    # the bound did drop rows (the other core kept them all) and held a few seconds' worth
    assert kept._force.n == sum(len(c[0]) for c in chunks)
    assert bounded._force.dropped > (LOOPS - 2) * duration * FORCE_HZ
    assert most["force"] <= limit_s * FORCE_HZ
    assert most["dowel"] <= limit_s * 30.0 + 10
    assert bounded._force._data.shape[0] <= 4 * limit_s * FORCE_HZ


def test_plate_only_core_keeps_the_recent_minute():
    """Without markers no rep can read old force: the last keep_recent_s stay, whatever the length."""
    cfg = StationConfig()
    core = HingeCore(cfg, expect_markers=False)
    rng = np.random.default_rng(1)
    most = 0
    for k in range(600):  # ten minutes in one-second blocks
        t = k + np.arange(1000) / FORCE_HZ
        core.push_force(ForceBlock(t, 180.0 + rng.normal(0.0, 1.0, (1000, 4))))
        most = max(most, core._force.n)
    assert core._force.dropped > 500_000
    assert most <= (core.keep_recent_s + 1.0) * FORCE_HZ + 1
    assert core.live.body_weight_n is not None and math.isfinite(core.live.fz_n)


def test_column_buffer_drops_old_rows_and_keeps_the_newest():
    buf = ColumnBuffer(2, capacity=4)
    buf.extend(np.column_stack([np.arange(10.0), np.arange(10.0) * 2]))
    assert buf.drop_before(6.0, spare_rows=2) == 4  # rows 4 and 5 stay as spares
    assert buf.view[:, 0].tolist() == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert buf.drop_before(100.0) == 5  # never the newest row
    assert buf.view.tolist() == [[9.0, 18.0]] and buf.last_t() == 9.0 and buf.n == 1
    for k in range(10, 200):  # dropping as fast as rows come: the array stays small
        buf.extend(np.array([[float(k), 2.0 * k]]))
        buf.drop_before(k - 5.0)
    assert buf.view[:, 0].tolist() == [float(k) for k in range(194, 200)]
    assert buf.view[:, 1].tolist() == [2.0 * k for k in range(194, 200)]
    assert buf.dropped == 194 and buf._data.shape[0] == 20  # as big as the first 10 rows made it
