"""End to end: the real plate emulator on a pty, read through pyserial by `hinge-station calibrate plate`."""

import json

import numpy as np
import pytest

from calibration.plate_fit import placement_xy
from station.config import StationConfig
from tests.conftest import run_cli
from tests.support.calib_helpers import TRUE_GAINS, TRUE_OFFSETS, PlacementSchedule

plate_emulator = pytest.importorskip("drivers.sim.plate_emulator")

POSITIONS = ["front-left", "centre", "rear-right", "rear-left", "front-right"]


def test_calibrate_plate_through_pty(tmp_path):
    cfg = StationConfig()
    # lead: the command needs ~1-2 s to start (several under CPU load) and must see the empty
    # plate for >= 1 s before the first mass
    sched = PlacementSchedule([(20.0, placement_xy(p, cfg)) for p in POSITIONS], cfg.plate.channel_xy,
                              lead_s=8.0, hold_s=1.6, empty_s=1.0, transition_s=0.5)
    emu = plate_emulator.PlateEmulator(sched, gains_n_per_count=tuple(TRUE_GAINS),
                                       offsets_counts=tuple(TRUE_OFFSETS), seed=11)
    port = emu.start()
    out = tmp_path / "plate.json"
    try:
        res = run_cli("calibrate", "plate", "--plate", port, "--masses", "20",
                      "--positions", ",".join(POSITIONS), "--timeout", "40", "--out", str(out), timeout=90)
    finally:
        emu.stop()
    assert res.returncode == 0, res.stderr + res.stdout
    doc = json.loads(out.read_text())
    truth = emu.truth()
    assert np.allclose(doc["result"]["gains_n_per_count"], truth["gains_n_per_count"], rtol=2e-3)
    assert np.allclose(doc["result"]["offsets_counts"], truth["offsets_counts"], atol=150)
    for p in doc["residuals"]["placements"]:
        assert abs(p["force_error_n"]) <= 0.005 * cfg.plate.full_scale_n
        assert p["cop_error_mm"] <= 2.0
    assert "wrote" in res.stdout
    print(res.stdout)
