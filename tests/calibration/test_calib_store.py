"""Calibration files: round trip, one-line errors naming file and field, staleness, newest per device."""

import datetime as dt
import json
import warnings

import numpy as np
import pytest

from calibration.feet import functional_feet, load_feet, save_feet, typed_feet
from calibration.plate import PlateCalibration, load_plate_calibration
from calibration.store import StaleCalibrationWarning, latest_calibration, load_calibration, save_calibration
from station.config import StationConfig
from station.errors import StationError

PLATE = {"offsets_counts": [1.0, 2.0, 3.0, 4.0], "gains_n_per_count": [0.001, 0.0011, 0.00095, 0.001]}


def _cfg(tmp_path):
    cfg = StationConfig()
    cfg.calibration_dir = str(tmp_path / "cal")
    return cfg


def test_round_trip_and_latest(tmp_path):
    cfg = _cfg(tmp_path)
    old = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)
    p_old = save_calibration("plate", PLATE, device_id="plate fw=1.0", config=cfg, created=old)
    newer = dict(PLATE, offsets_counts=[9.0, 9.0, 9.0, 9.0])
    p_new = save_calibration("plate", newer, device_id="plate fw=1.0", config=cfg,
                             residuals={"max_force_error_n": 0.1})
    assert p_old.name == "plate-plate_fw_1.0-20250101-090000.json"
    assert latest_calibration("plate", "plate fw=1.0", cfg) == p_new
    assert latest_calibration("plate", "other", cfg) is None
    calib = load_plate_calibration(cfg, "plate fw=1.0")
    assert calib.source == str(p_new) and np.allclose(calib.offsets_counts, 9.0)
    doc = json.loads(p_new.read_text())
    assert doc["kind"] == "plate" and doc["version"] == 1 and doc["software_version"]


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.pop("created"), "field 'created' missing"),
    (lambda d: d.update(kind="camera"), "field 'kind' is 'camera', expected 'plate'"),
    (lambda d: d.update(version=7), "field 'version' 7 unknown for plate"),
    (lambda d: d.update(created="yesterday"), "field 'created' is not an ISO date"),
    (lambda d: d["result"].update(gains_n_per_count=[1, 2, 3]), "field 'result.gains_n_per_count' must be 4"),
    (lambda d: d["result"].update(gains_n_per_count=[1, 0, 1, 1]), "'result.gains_n_per_count' has a zero"),
    (lambda d: d["result"].pop("offsets_counts"), "field 'result.offsets_counts' missing"),
])
def test_bad_file_is_one_line_naming_file_and_field(tmp_path, edit, message):
    p = save_calibration("plate", PLATE, device_id="p", out=tmp_path / "c.json")
    doc = json.loads(p.read_text())
    edit(doc)
    p.write_text(json.dumps(doc))
    with pytest.raises(StationError) as exc:
        load_calibration(p, "plate")
    assert str(p) in str(exc.value) and message in str(exc.value) and "\n" not in str(exc.value)


def test_malformed_and_missing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StationError, match=r"bad.json: not a calibration file \(invalid JSON"):
        load_calibration(bad, "plate")
    with pytest.raises(StationError, match=r"nope.json: calibration file not found"):
        PlateCalibration.from_file(tmp_path / "nope.json")


def test_stale_file_warns_not_fails(tmp_path):
    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    p = save_calibration("plate", PLATE, device_id="p", out=tmp_path / "c.json", created=created)
    with pytest.warns(StaleCalibrationWarning, match=r"c.json: plate calibration is 45 days old"):
        doc = load_calibration(p, "plate")
    assert doc["stale"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_calibration(p, "plate", max_age_days=60)["stale"] is False


def test_camera_transform_must_be_rigid(tmp_path):
    T = np.eye(4)
    T[0, 0] = 2.0
    with pytest.raises(StationError, match="not a rigid transform"):
        save_calibration("camera", {"T_plate_from_camera": T.tolist()}, device_id="cam",
                         out=tmp_path / "c.json")


def test_feet_typed_and_functional(tmp_path):
    cfg = _cfg(tmp_path)
    assert load_feet("s01", cfg).method == "config"  # nothing stored yet: the station default
    save_feet(typed_feet("s01", -0.12, 0.27), cfg)
    f = load_feet("s01", cfg)
    assert (f.heel_x_m, f.foot_length_m, f.method) == (-0.12, 0.27, "typed")
    # rock back to the heels, hold, forward to the toes, hold: CoP limits at the documented fractions
    heel_x, length = -0.14, 0.25
    t = np.arange(0, 8, 0.01)
    back, front = heel_x + 0.10 * length, heel_x + 0.78 * length
    x = np.interp(t, [0, 1, 2, 3.5, 4.5, 6, 8], [0.0, back, back, back, front, front, front])
    x = x + np.random.default_rng(0).normal(0, 0.001, t.size)
    got = functional_feet("s02", t, x, np.full(t.size, 700.0))
    assert abs(got.heel_x_m - heel_x) < 0.005 and abs(got.foot_length_m - length) < 0.01
    with pytest.raises(StationError, match="CoP moved only"):
        functional_feet("s03", t, np.zeros(t.size), np.full(t.size, 700.0))
