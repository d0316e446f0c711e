"""Whole trials through the core by both paths side by side, IR markers and markerless, on the same rendered
frames: reps exact, hip back per rep within 15 mm of the truth, the same faults as the marker path (and as
the truth); each rep says its numbers are estimates and with which error."""

from __future__ import annotations

import pytest

from drivers.sim.patterns import PATTERNS
from tests.markerless.helpers import both_paths

HIP_BACK_TOL_MM = 15.0
# each pattern once, camera side, body and arms varying over them
CASES = [(p, ("right", "left")[i % 2], ("crossed", "hips")[(i // 2) % 2], ("small", "large")[(i // 4) % 2])
         for i, p in enumerate(PATTERNS)]


@pytest.mark.parametrize(("pattern", "side", "arms", "body"), CASES)
def test_reps_and_faults_as_the_marker_path(pattern: str, side: str, arms: str, body: str) -> None:
    subject, results = both_paths(pattern, side, arms, body)
    truth = subject.truth.reps
    ir, depth = results["ir"].reps, results["depth"].reps
    assert len(depth) == len(truth) == len(ir)
    for got, marker, want in zip(depth, ir, truth, strict=True):
        assert abs(got.t_bottom - want.t_bottom) < 0.25
        assert abs(got.hip_back_mm - want.hip_back_mm) <= HIP_BACK_TOL_MM, (got.hip_back_mm, want.hip_back_mm)
        assert sorted(got.faults) == sorted(marker.faults), (got.faults, marker.faults, want.faults)
        assert sorted(got.faults) == sorted(want.faults)
        assert got.notes["markers"].startswith("markerless (estimated): expected error hip +-15 mm")
