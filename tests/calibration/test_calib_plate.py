"""Plate calibration against a plate whose true gains and offsets are known (not the config default)."""

import numpy as np
import pytest

from calibration.plate import PlateCalibration, tare, zero_check
from calibration.plate_fit import fit_gains, placement_xy, placements_from_plateaus
from calibration.plateaus import detect_plateaus
from station.config import StationConfig
from station.errors import StationError
from tests.support.calib_helpers import TRUE_GAINS, TRUE_OFFSETS, PlacementSchedule, cell_loads, synth_stream

CFG = StationConfig()
POSITIONS = ["centre", "front-left", "rear-right", "front-right", "rear-left"]  # any order
STEPS = [{"mass_kg": 20.0, "position": p} for p in POSITIONS]


def _schedule(actual_xy=None, masses=None, **kw):
    xy = actual_xy or [placement_xy(p, CFG) for p in POSITIONS]
    masses = masses or [20.0] * len(POSITIONS)
    return PlacementSchedule(list(zip(masses, xy, strict=True)), CFG.plate.channel_xy, **kw)


def _calibrate(chunk, steps, reference=None):
    reference = reference or PlateCalibration.defaults(CFG)
    plateaus = detect_plateaus(chunk.t_device_s, chunk.counts, reference.gains_n_per_count)
    first = plateaus[0]
    offsets = tare(chunk.counts[first.start:first.stop], reference)
    placements = placements_from_plateaus(plateaus[1:], steps, offsets, reference.gains_n_per_count, CFG)
    return offsets, fit_gains(offsets, placements, CFG)


def test_plateaus_found_one_per_hold():
    sched = _schedule()
    chunk = synth_stream(sched)
    plateaus = detect_plateaus(chunk.t_device_s, chunk.counts, np.full(4, 0.001))
    # lead, then (loaded, empty) per placement
    assert len(plateaus) == 1 + 2 * len(POSITIONS)
    assert all(p.duration_s >= 1.0 for p in plateaus)


def test_gains_recovered_and_goals_met():
    offsets, fit = _calibrate(synth_stream(_schedule()), STEPS)
    # 0.8 N noise per sample (~800 counts) averaged over >= 1 s: a few tens of counts
    assert np.allclose(offsets, TRUE_OFFSETS, atol=100.0)
    assert np.allclose(fit.gains_n_per_count, TRUE_GAINS, rtol=1e-3)
    full_scale = CFG.plate.full_scale_n
    for r in fit.residuals:
        assert abs(r.force_error_n) <= 0.005 * full_scale
        assert r.cop_error_mm <= 2.0
    # far inside the goal in fact: the noise averages out over each hold
    assert fit.report_dict()["max_force_error_n"] < 1.0


def test_wrong_mass_refused_naming_placement():
    with pytest.raises(StationError, match=r"placement 3 \(22 kg at rear-right\)"):
        steps = [dict(s, mass_kg=22.0) if i == 2 else s for i, s in enumerate(STEPS)]
        _calibrate(synth_stream(_schedule()), steps)


def test_off_mark_placement_refused_naming_it():
    xy = [placement_xy(p, CFG) for p in POSITIONS]
    xy[0] = (0.04, -0.03)  # said "centre", put 5 cm off
    with pytest.raises(StationError, match=r"placement 1 \(20 kg at centre\).*CoP off by"):
        _calibrate(synth_stream(_schedule(actual_xy=xy)), STEPS)


def test_tare_not_empty_names_the_load():
    loaded = synth_stream(_schedule(initial_load=(20.0, (0.0, 0.0))))
    # with a previous calibration the tare itself sees the load
    previous = PlateCalibration(TRUE_OFFSETS, TRUE_GAINS, source="previous.json")
    with pytest.raises(StationError, match=r"plate not empty: it sees 196\.\d N \(20\.0\d kg\)"):
        _calibrate(loaded, STEPS, reference=previous)
    # with defaults only, the first empty plateau is lighter than the tare: refused, naming the load
    with pytest.raises(StationError, match=r"not empty at the tare: it held about 19\d\.\d N"):
        _calibrate(loaded, STEPS)


def test_tare_not_stable_refused():
    t = np.arange(0, 2.0, 1e-3)
    loads = np.outer(30.0 * np.sin(2 * np.pi * 1.5 * t), np.ones(4))  # someone touching the plate
    counts = TRUE_OFFSETS + loads / TRUE_GAINS
    with pytest.raises(StationError, match=r"not stable: the load moves by up to \d+\.\d N"):
        tare(counts, PlateCalibration.defaults(CFG))


def test_zero_check_warns_and_retares_on_drift():
    rng = np.random.default_rng(3)
    calib = PlateCalibration(TRUE_OFFSETS, TRUE_GAINS, source="x.json")
    noise = rng.normal(0, 0.5, (1500, 4)) / TRUE_GAINS

    def empty_with(drift_n):
        return TRUE_OFFSETS + np.asarray(drift_n) / TRUE_GAINS + noise

    ok = zero_check(empty_with([0.5, -0.3, 0.2, 0.1]), calib, CFG)
    assert ok.status == "ok" and ok.calibration is calib
    drifted = zero_check(empty_with([3.0, 2.5, 1.0, 1.5]), calib, CFG)  # 8 N total > 5 N
    assert drifted.status == "retared" and "re-tared" in drifted.message
    after = drifted.calibration.cells_n(empty_with([3.0, 2.5, 1.0, 1.5]))
    assert np.allclose(after.mean(axis=0), 0, atol=0.05)
    person = TRUE_OFFSETS + cell_loads(70.0, (0.0, 0.0), CFG.plate.channel_xy) / TRUE_GAINS + noise
    assert zero_check(person, calib, CFG).status == "skipped"


def test_force_block_from_calibration():
    chunk = synth_stream(_schedule(), noise_n=0.0)
    calib = PlateCalibration(TRUE_OFFSETS, TRUE_GAINS, source="x.json")
    block = calib.force_block(chunk)
    truth = _schedule()(chunk.t_device_s)
    assert np.allclose(block.cells_n, truth, atol=0.002)  # rounding to whole counts only
