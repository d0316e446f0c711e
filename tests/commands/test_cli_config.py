import os
import subprocess
import sys

import numpy as np
import pytest

from station.cli import COMMANDS, main
from station.config import StationConfig, load_config
from station.errors import StationError
from tests.conftest import REPO, run_cli


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


_BLAS_THREADS = """
import os, sys
from station.cli import main
main(["--version"])
import numpy, scipy.linalg  # each loads its OpenBLAS, which starts its helper threads when allowed to
a = numpy.ones((300, 300))
numpy.dot(a, a)
print(len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS", "unset"), file=sys.stderr)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="threads are counted in Linux's /proc, and BLAS starts helpers only on 2+ cores")
@pytest.mark.parametrize(("preset", "threads"), [(None, "1"), ("2", "2")])
def test_commands_run_one_blas_thread_unless_the_user_chose(preset, threads):
    """BLAS helper threads spin between the station's small matrix products on the cores its own threads
    need; a user's explicit choice stands."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "MKL_NUM_THREADS")}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    res = subprocess.run([sys.executable, "-c", _BLAS_THREADS], env=env, capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.returncode == 0, res.stderr
    n_threads, value = res.stderr.split()
    assert value == threads
    if preset is None:
        assert n_threads == "1"  # the interpreter alone: no BLAS helper beside it
    else:
        assert int(n_threads) > 1
