"""Zero check before a trial, inside TrialRunner: the first 1.5 s of an empty plate against the calibration.

A stand-in plate (Source protocol, faster than real time) shows an empty plate whose channel 2 has
drifted by a known force, then a 700 N subject. Truth: the drift and the subject's cell loads.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers.samples import PlateChunk
from station.config import StationConfig
from station.recording.reader import read_trial
from station.recording.writer import TrialWriter
from station.trial.consumers import TrialFileConsumer
from station.trial.runner import TrialRunner
from tests.support.trial_fixtures import GAINS, OFFSETS, KnownCalibration, truth_cells

EMPTY_S, LOADED_S, RATE_HZ = 2.0, 1.0, 1000.0


class DriftedPlate:
    """Empty for EMPTY_S, then loaded; channel 2's zero off by drift_n; 0.2 N noise; 50 ms chunks."""

    name = "drifted-plate"

    def __init__(self, config: StationConfig, drift_n: float, empty: bool = True) -> None:
        t = np.arange(0.0, EMPTY_S + LOADED_S, 1.0 / RATE_HZ)
        cells = truth_cells(t, config)
        if empty:
            cells[t < EMPTY_S] = 0.0
        cells += np.random.default_rng(2).normal(0.0, 0.2, cells.shape)
        cells[:, 2] += drift_n
        self.t, self.cells = t, cells
        self.counts = np.round(cells / GAINS + OFFSETS).astype(np.int32)
        self.sent = 0

    def start(self) -> None:
        self.host0 = time.monotonic_ns()

    def read(self, timeout_s: float = 0.1) -> list:
        time.sleep(0.001)
        a, b = self.sent, min(self.sent + 50, self.t.size)
        self.sent = b
        if a == b:
            return []
        seq = np.arange(a, b, dtype=np.int64)
        host = self.host0 + np.round(self.t[a:b] * 1e9).astype(np.int64)
        return [PlateChunk(seq, self.t[a:b], host, self.counts[a:b], np.zeros(b - a, np.uint8))]

    def stop(self) -> None:
        pass

    def stats(self) -> dict:
        return {}


def _run(tmp_path, drift_n: float, empty: bool = True):
    config = StationConfig()
    plate = DriftedPlate(config, drift_n, empty)
    path = tmp_path / "trial.h5"
    runner = TrialRunner(plate, None, config, plate_calibration=KnownCalibration(),
                         consumers=[TrialFileConsumer(TrialWriter(path, config=config))], zero_check_s=1.5)
    runner.start()
    while plate.sent < plate.t.size:
        time.sleep(0.01)
    time.sleep(0.2)
    return runner.stop(), read_trial(path), plate


def test_drift_beyond_the_limit_warns_and_retares(tmp_path):
    summary, trial, plate = _run(tmp_path, drift_n=12.0)  # limit: thresholds.zero_drift_warn_n = 5 N
    zc = summary["zero_check"]
    assert zc["status"] == "retared" and abs(zc["drift_n"][2] - 12.0) < 0.5
    assert max(abs(v) for i, v in enumerate(zc["drift_n"]) if i != 2) < 0.5
    assert any("re-tared" in w for w in summary["warnings"])
    assert trial.calibration["plate"]["zero_check"]["status"] == "retared"
    assert any(e["kind"] == "zero_check" for e in trial.events)
    # every stored sample, the first included, uses the new zero: the drift is gone from the newtons
    np.testing.assert_allclose(trial.force.cells_n, plate.cells - [0, 0, 12.0, 0], atol=0.5)


@pytest.mark.parametrize("drift_n, empty, status", [(1.0, True, "ok"), (12.0, False, "skipped")])
def test_small_drift_is_ok_and_a_loaded_plate_is_not_checked(tmp_path, drift_n, empty, status):
    summary, trial, plate = _run(tmp_path, drift_n, empty)
    assert summary["zero_check"]["status"] == status
    assert trial.calibration["plate"]["offsets_counts"] == OFFSETS.tolist()  # calibration unchanged
    np.testing.assert_allclose(trial.force.cells_n, plate.cells, atol=0.01)
