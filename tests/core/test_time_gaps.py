"""A device unplugged leaves no rows at all, only a jump in the sample times (tests/trial/test_unplug.py
records one through the real stacks). The core treats such a hole as it treats NaN: a rep across it is
`incomplete_tracking` with what is missing named, the reps beside it are judged as before."""

from __future__ import annotations

import dataclasses

import numpy as np

from station.analysis.analyze import analyze_blocks
from station.config import StationConfig
from station.core.gaps import time_gap_spans
from station.streams import MarkerBlock
from tests.core.test_core_synthetic import REPS, _check
from tests.support.synthetic_trial import make_trial


def _without(markers: MarkerBlock, keep: np.ndarray) -> MarkerBlock:
    return MarkerBlock(t_s=markers.t_s[keep], positions={k: v[keep] for k, v in markers.positions.items()},
                       bridged={k: v[keep] for k, v in markers.bridged.items()})


def test_time_gap_spans_edges_and_inside():
    t = np.array([0.0, 0.1, 0.2, 1.0, 1.1])
    assert time_gap_spans(t, 0.3) == [(0.2, 1.0)]
    assert time_gap_spans(t, 0.3, 1.05, 2.0) == [(1.1, 2.0)]  # nothing after 1.1 s: a hole up to t_to
    assert time_gap_spans(t, 0.3, 0.0, 0.15) == []
    assert time_gap_spans(np.zeros(0), 0.3, 1.0, 2.0) == [(1.0, 2.0)]


def test_camera_unplugged_short_hole_marks_only_that_rep():
    force, markers, truth = make_trial(REPS[:3], 20.0, seed=4)
    # 0.6 s without frames over rep 2's bottom (10.6 s): too short for the tracker to lose the subject,
    # long enough to hide the bottom; no NaN anywhere, only missing rows
    cut = _without(markers, ~((markers.t_s > 10.3) & (markers.t_s < 10.9)))
    result = analyze_blocks(force, cut, StationConfig(), source="synthetic")
    assert len(result.reps) == 3
    hidden = result.reps[1].to_json()
    assert "incomplete_tracking" in hidden["faults"] and hidden["notes"]["missing"] == ["hip"]
    assert hidden["hip_back_mm"] is None  # the bottom is not guessed across the hole
    for k in (0, 2):
        assert "incomplete_tracking" not in result.reps[k].faults
        assert _check(result.reps[k].to_json(), truth.reps[k]) == []


def test_plate_unplugged_hole_marks_only_that_rep():
    force, markers, truth = make_trial(REPS[:3], 20.0, seed=4)
    keep = ~((force.t_s > 10.0) & (force.t_s < 11.0))
    arrays = {f.name: getattr(force, f.name) for f in dataclasses.fields(force)}
    cut = dataclasses.replace(force, **{k: v[keep] for k, v in arrays.items() if isinstance(v, np.ndarray)})
    result = analyze_blocks(cut, markers, StationConfig(), source="synthetic")
    assert len(result.reps) == 3
    assert result.reps[1].notes.get("missing") == ["force"] and "incomplete_tracking" in result.reps[1].faults
    for k in (0, 2):
        assert "incomplete_tracking" not in result.reps[k].faults
