"""Markerless landmarks against the simulator's truth, frame by frame (issue 23's limits): hip (x, z) within
15 mm RMS, knee angle 5 deg RMS, trunk inclination 3 deg RMS; every frame after the standing pose measured.

Every pattern, both camera sides, both body sizes, both arm positions: the good hinge and the squat in the
full product, every other pattern in two opposite corners of it (camera side, body, arms all swapped)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from drivers.sim.patterns import PATTERNS
from tests.markerless.helpers import Errors, frame_errors, subject_for

HIP_RMS_M, KNEE_RMS_DEG, TRUNK_RMS_DEG = 0.015, 5.0, 3.0

SIDES, ARMS, BODIES = ("right", "left"), ("crossed", "hips"), ("small", "large")
CASES = [(p, side, arms, body) for p in ("hinge", "squat")
         for side, arms, body in itertools.product(SIDES, ARMS, BODIES)]
CASES += [(p, *corner) for p in PATTERNS if p not in ("hinge", "squat")
          for corner in (("right", "crossed", "small"), ("left", "hips", "large"))]


@pytest.mark.parametrize(("pattern", "side", "arms", "body"), CASES)
def test_landmarks_within_limits(pattern: str, side: str, arms: str, body: str) -> None:
    subject, cfg = subject_for(pattern, side, arms, body)
    err = frame_errors(subject, cfg, step_s=0.15)
    assert err.unmeasured_frac == 0.0, err.reasons
    hip, knee, trunk = Errors.rms(err.hip_m), Errors.rms(err.knee_deg), Errors.rms(err.trunk_deg)
    assert hip <= HIP_RMS_M, f"hip {1000 * hip:.1f} mm RMS"
    assert knee <= KNEE_RMS_DEG, f"knee {knee:.2f} deg RMS"
    assert trunk <= TRUNK_RMS_DEG, f"trunk {trunk:.2f} deg RMS"


def test_other_depth_camera_noise() -> None:
    """Depth noise of another shape than the renderer's (a D455 model: disparity-domain blobs, flying pixels
    and foreground fattening at edges): still within the limits."""
    from tests.support.depth_noise import D455DepthModel

    subject, cfg = subject_for("hinge", "right", "crossed", "small")
    from drivers.sim.render import default_intrinsics

    model = D455DepthModel(default_intrinsics(cfg.camera.width, cfg.camera.height), seed=4)
    err = frame_errors(subject, cfg, step_s=0.2, depth_model=model)
    assert err.unmeasured_frac <= 0.05, err.reasons
    assert Errors.rms(err.hip_m) <= HIP_RMS_M
    assert Errors.rms(err.knee_deg) <= KNEE_RMS_DEG
    assert Errors.rms(err.trunk_deg) <= TRUNK_RMS_DEG


def test_errors_are_measured_not_assumed() -> None:
    """The comparison can fail: a tracker told the wrong feet (heel line 8 cm off) puts the chain off."""
    subject, cfg = subject_for("hinge", "right", "crossed", "small")
    cfg.feet.heel_x_m += 0.08  # the subject's heels are not where the station thinks
    err = frame_errors(subject, cfg, step_s=0.3)
    assert Errors.rms(err.hip_m) > HIP_RMS_M or np.isnan(Errors.rms(err.hip_m))
