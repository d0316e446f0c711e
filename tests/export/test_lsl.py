"""LSL outlets: an in-process inlet resolves them by name and receives what the station pushed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.results import RepResult


def test_force_hip_and_rep_outlets_deliver(monkeypatch):
    pylsl = pytest.importorskip("pylsl")
    from station.export.lsl import LslOutlets

    out = LslOutlets(1000.0, 30.0, prefix="HingeTest")
    inlets = {}
    for kind in ("Force", "Hip", "Reps"):
        found = pylsl.resolve_byprop("name", f"HingeTest-{kind}", timeout=5.0)
        assert found, f"HingeTest-{kind} not discoverable"
        inlets[kind] = pylsl.StreamInlet(found[0])
        inlets[kind].open_stream(timeout=5.0)
    assert inlets["Force"].info().channel_count() == 4
    now = pylsl.local_clock()
    fz = np.array([700.0, 710.0, 720.0])
    cop = np.array([[0.01, 0.0], [0.02, 0.001], [0.03, 0.002]])
    out.push_force(now + np.arange(3) / 1000.0, fz, cop, np.array([0.5, 0.55, 0.6]))
    out.push_hip(now, np.array([0.05, -0.1, 0.9]))
    out.push_rep(now, RepResult(index=0, t_start=1.0, t_bottom=2.0, t_end=3.0, hip_back_mm=150.0))
    got = [inlets["Force"].pull_sample(timeout=5.0) for _ in range(3)]
    np.testing.assert_allclose([s for s, _ in got], np.column_stack([fz, cop, [0.5, 0.55, 0.6]]), rtol=1e-6)
    assert abs(got[0][1] - now) < 1e-6  # the station's stamps are LSL's clock: passed through unchanged
    hip, _ = inlets["Hip"].pull_sample(timeout=5.0)
    np.testing.assert_allclose(hip, [0.05, -0.1, 0.9], rtol=1e-6)
    rep, _ = inlets["Reps"].pull_sample(timeout=5.0)
    assert json.loads(rep[0])["hip_back_mm"] == 150.0
    out.close()
