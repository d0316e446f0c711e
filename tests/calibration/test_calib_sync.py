"""Sync check: recover a camera-to-plate offset injected into a synthetic hop and a heel raise."""

import numpy as np
import pytest

from calibration.sync import sync_offset
from station.config import GRAVITY_M_S2
from tests.support.calib_helpers import gauss, gauss_dd, synthetic_hop

MASS_KG = 72.0


def _heel_raise(t):
    z = 0.05 * gauss(t, 1.3, 0.18)
    return z, 0.05 * gauss_dd(t, 1.3, 0.18)


def _record(motion, offset_ms, seed, fps=30.0, marker_noise_m=0.0015, force_noise_n=3.0):
    rng = np.random.default_rng(seed)
    t_f = np.arange(0.0, 3.0, 1e-3)
    _, acc = motion(t_f)
    fz = np.clip(MASS_KG * (GRAVITY_M_S2 + acc), 0.0, None) + rng.normal(0, force_noise_n, t_f.size)
    t_true = np.arange(0.013, 3.0, 1.0 / fps)  # camera frames, not aligned to the plate's samples
    z, _ = motion(t_true)
    hip_z = 0.92 + z + rng.normal(0, marker_noise_m, t_true.size)
    hip_z[40:42] = np.nan  # a marker dropout
    return t_f, fz, t_true + offset_ms * 1e-3, hip_z  # camera stamps late by offset_ms


# a hop is sharp: 1.5 mm marker noise is fine. A heel raise is slow and gentle (peak ~1.5 m/s^2):
# differentiating marker noise twice drowns it unless the markers are quiet (0.5 mm); measured
# errors at 1.5 mm were up to 9 ms, so the station recommends a hop.
@pytest.mark.parametrize("offset_ms", [37.0, -22.0, 0.0, 120.0])
@pytest.mark.parametrize("motion,noise_m", [(synthetic_hop, 0.0015), (_heel_raise, 0.0005)],
                         ids=["hop", "heel_raise"])
def test_injected_offset_recovered_within_5ms(motion, noise_m, offset_ms):
    errs = []
    for seed in range(3):
        t_f, fz, t_c, hip_z = _record(motion, offset_ms, seed, marker_noise_m=noise_m)
        res = sync_offset(t_f, fz, MASS_KG, t_c, hip_z)
        errs.append(res.offset_ms - offset_ms)
        assert res.peak_corr > 0.8
        # more than one frame (33 ms) warns, less does not
        assert (res.warning is not None) == (abs(offset_ms) > 1000 / 30)
    assert max(abs(e) for e in errs) <= 5.0, errs


def test_no_event_warns():
    rng = np.random.default_rng(1)
    t_f = np.arange(0, 3, 1e-3)
    t_c = np.arange(0, 3, 1 / 30)
    res = sync_offset(t_f, MASS_KG * GRAVITY_M_S2 + rng.normal(0, 3, t_f.size), MASS_KG,
                      t_c, 0.9 + rng.normal(0, 0.0015, t_c.size))
    assert res.warning is not None and ("no clear sync event" in res.warning or "edge" in res.warning)
