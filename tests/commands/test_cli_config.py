import numpy as np
import pytest

from station.cli import COMMANDS, main
from station.config import StationConfig, load_config
from station.errors import StationError
from tests.conftest import run_cli


def test_help_lists_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_is_one_line_error():
    res = run_cli("frobnicate")
    assert res.returncode == 2
    assert "unknown command 'frobnicate'" in res.stderr


def test_default_camera_pose_looks_across_the_plate():
    T = StationConfig().camera.T_plate_from_camera()
    # camera optical axis (z) points at +y of the plate, image-right is anterior (+x), image-down is -z
    assert np.allclose(T[:3, 2], [0, 1, 0]) and np.allclose(T[:3, 0], [1, 0, 0])
    assert np.allclose(T[:3, 1], [0, 0, -1])
    assert np.isclose(np.linalg.det(T[:3, :3]), 1.0)
    left = StationConfig()
    left.camera.side = "left"
    assert np.allclose(left.camera.T_plate_from_camera()[:3, 0], [-1, 0, 0])


def test_toml_overrides_and_names_bad_field(tmp_path):
    good = tmp_path / "station.toml"
    good.write_text("[thresholds]\nfoot_pos_bottom_max = 0.55\n[feet]\nfoot_length_m = 0.27\n")
    cfg = load_config(good)
    assert cfg.thresholds.foot_pos_bottom_max == 0.55 and cfg.feet.foot_length_m == 0.27
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nfoot_pos_bottom_max = 'high'\n")
    with pytest.raises(StationError, match=r"bad.toml: thresholds.foot_pos_bottom_max"):
        load_config(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[plate]\nchanel_xy_m = 1\n")
    with pytest.raises(StationError, match=r"typo.toml: plate.chanel_xy_m: unknown setting"):
        load_config(typo)
    with pytest.raises(StationError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
