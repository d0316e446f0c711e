"""The live sync check's buffers are bounded (issue 20 item 6) and check as the whole streams do.

A long trial of hinge reps with one heel raise (the sync event) early, late or not at all, the camera's
hip 40 ms late: SyncBuffers fed as the runner feeds it (plate blocks, one hip frame at a time, a few hip
frames missing) must give sync_from_buffers' answer on every row, holding a bounded part of the force."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from drivers.sim.subject import VirtualSubject
from station.config import GRAVITY_M_S2, StationConfig
from station.trial.sync_check import RECENT_S, SyncBuffers, sync_from_buffers

FORCE_HZ, FPS = 1000.0, 30.0
CAMERA_LATE_S = 0.04
LOOPS = 6


@functools.cache
def _segment(event: bool, seed: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    subject = VirtualSubject("hinge", reps=2, heel_raise=event, fidget=False, seed=seed)
    rng = np.random.default_rng(seed)
    tf = np.arange(0.0, subject.duration_s, 1.0 / FORCE_HZ)
    fz = subject.cell_loads_n(tf).sum(axis=1) + rng.normal(0.0, 2.0, tf.size)
    tm = np.arange(0.0, subject.duration_s, 1.0 / FPS)
    z = subject.markers(tm)["hip"][:, 2] + rng.normal(0.0, 0.002, tm.size)
    z[rng.random(tm.size) < 0.01] = np.nan  # the hip lost now and then
    return float(subject.duration_s), tf, fz, tm + CAMERA_LATE_S, z


def _trial(event_loop: int | None):
    """(force block (k, 2), hip frames [(t_s, z_m)] in it) in arrival order: LOOPS segments, 100 ms of
    plate at a time, the heel raise in segment `event_loop`."""
    t0 = 0.0
    for k in range(LOOPS):
        duration, tf, fz, tm, z = _segment(k == event_loop, seed=k)
        edges = np.arange(0.0, duration + 0.1, 0.1)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            f, m = (tf >= a) & (tf < b), (tm >= a) & (tm < b)
            frames = list(zip((tm[m] + t0).tolist(), z[m].tolist(), strict=True))
            yield np.column_stack([tf[f] + t0, fz[f]]), frames
        t0 += duration


@pytest.mark.parametrize("event_loop", [1, LOOPS - 1, None])
def test_sync_buffers_check_as_the_whole_streams(event_loop):
    cfg = StationConfig()
    body_weight_n = 75.0 * GRAVITY_M_S2
    buffers = SyncBuffers()
    force, hip = [], []
    most = 0
    for block, new_frames in _trial(event_loop):
        buffers.add_force(block[:, 0], block[:, 1])
        for t, z in new_frames:
            buffers.add_hip(np.array([t]), np.array([z]))
        force.append(block)
        hip += new_frames
        most = max(most, buffers.force().shape[0])
    whole = sync_from_buffers(force, hip, cfg, body_weight_n)
    assert buffers.check(cfg, body_weight_n) == whole
    if event_loop is None:
        assert whole["status"] == "no event"
    else:  # found: the camera late (the offset's accuracy is calibration.sync's, tested there)
        assert whole["status"] == "checked" and whole["offset_ms"] > 10.0
    rows = sum(len(b) for b in force)
    assert rows > 5 * LOOPS * FORCE_HZ  # a long trial ...
    assert most < (RECENT_S + 4.096 + 6 * 4.7) * FORCE_HZ < rows / 2  # ... whose force was not all kept
    assert buffers.hip.n == len(hip)


def test_sync_buffers_without_enough_data():
    cfg = StationConfig()
    buffers = SyncBuffers()
    assert buffers.check(cfg, None) is None
    buffers.add_force(np.arange(5) / FORCE_HZ, np.full(5, 700.0))
    buffers.add_hip(np.arange(9) / FPS, np.full(9, 0.9))
    assert buffers.check(cfg, None) is None  # fewer than 10 hip rows: not checked, as before
