"""The calibrate command: non-interactive plate run over a stream, files written, one-line errors."""

import json

import numpy as np
import pytest

from calibration.plate import PlateCalibration, load_plate_calibration
from calibration.plate_fit import placement_xy
from calibration.plate_session import finish, run_from_steps
from station.config import StationConfig
from station.errors import StationError
from tests.conftest import run_cli
from tests.support.calib_helpers import (
    TRUE_GAINS,
    TRUE_OFFSETS,
    PlacementSchedule,
    ReplaySource,
    synth_stream,
)

POSITIONS = ["rear-left", "centre", "front-right", "front-left", "rear-right"]


def test_run_from_steps_finish_and_reload(tmp_path):
    cfg = StationConfig()
    cfg.calibration_dir = str(tmp_path / "cal")
    sched = PlacementSchedule([(20.0, placement_xy(p, cfg)) for p in POSITIONS], cfg.plate.channel_xy,
                              hold_s=1.8, empty_s=1.2)
    steps = {"placements": [{"mass_kg": 20, "position": p} for p in POSITIONS], "timeout_s": 30}
    said = []
    offsets, placements = run_from_steps(ReplaySource(synth_stream(sched, seed=7)), steps,
                                         PlateCalibration.defaults(cfg), cfg, say=said.append)
    path, fit = finish(offsets, placements, "plate-test", cfg, say=said.append)
    assert path.parent == tmp_path / "cal" and path.name.startswith("plate-plate-test-")
    assert any("CoP err mm" in s for s in said) and any("wrote" in s for s in said)
    loaded = load_plate_calibration(cfg, "plate-test")
    assert np.allclose(loaded.gains_n_per_count, TRUE_GAINS, rtol=1e-3)
    assert np.allclose(loaded.offsets_counts, TRUE_OFFSETS, atol=100)
    residuals = json.loads(path.read_text())["residuals"]
    assert residuals["max_force_error_pct_fs"] <= 0.5 and residuals["max_cop_error_mm"] <= 2.0


def test_run_from_steps_times_out_naming_what_is_missing():
    cfg = StationConfig()
    sched = PlacementSchedule([(20.0, (0.0, 0.0))], cfg.plate.channel_xy, hold_s=1.5)
    steps = {"placements": [{"mass_kg": 20, "position": "centre"}] * 2, "timeout_s": 0.6}
    with pytest.raises(StationError, match=r"found 1 stable loaded plateau\(s\) for 2 placement"):
        run_from_steps(ReplaySource(synth_stream(sched)), steps, PlateCalibration.defaults(cfg), cfg,
                       say=lambda s: None)


def test_feet_typed_through_cli(tmp_path):
    out = tmp_path / "s01.json"
    res = run_cli("calibrate", "feet", "--subject", "S01", "--heel-x", "-0.12", "--foot-length", "0.27",
                  "--out", str(out))
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["kind"] == "feet" and doc["device_id"] == "S01" and doc["result"]["foot_length_m"] == 0.27


def test_bad_steps_file_is_one_line(tmp_path):
    steps = tmp_path / "steps.toml"
    steps.write_text("[[placements]]\nmass_kg = -3\nposition = 'centre'\n")
    res = run_cli("calibrate", "plate", "--plate", "/dev/null-plate", "--steps", str(steps))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "steps.toml: field 'placements[1].mass_kg' must be a positive number" in res.stderr
