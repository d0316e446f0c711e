"""The tests' commands are forked from a warm server (tests/support/warm_cli.py): each must behave as
`python -m station` would, with its own exit code, output, folder and environment."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import warm_cli


def _both(commands: list[list[str]], **kw) -> tuple[list, list]:
    warm = warm_cli.run_commands(commands, timeout=60, **kw)
    os.environ["HINGE_TEST_COLD_CLI"] = "1"
    try:
        cold = warm_cli.run_commands(commands, timeout=60, **kw)
    finally:
        del os.environ["HINGE_TEST_COLD_CLI"]
    return warm, cold


def test_a_warm_command_answers_as_a_fresh_interpreter(tmp_path):
    (tmp_path / "broken.h5").write_bytes(b"not a trial")
    env = dict(os.environ, HINGE_ARCHIVE_URL="sqlite:///" + str(tmp_path / "elsewhere.sqlite"))
    commands = [["--version"], ["no-such-command"], ["analyze", "broken.h5"], ["analyze", "missing.h5"],
                ["subjects", "--json"]]
    warm, cold = _both(commands, cwd=tmp_path, env=env)
    for w, c in zip(warm, cold, strict=True):
        assert (w.returncode, w.stdout, w.stderr) == (c.returncode, c.stdout, c.stderr), w.args
    assert [w.returncode for w in warm] == [0, 2, 2, 2, 2]
    assert "broken.h5: not a readable HDF5" in warm[2].stderr  # found in the command's folder
    assert "missing.h5: no such trial file" in warm[3].stderr
    assert "elsewhere.sqlite: empty" in warm[4].stderr  # the environment given, not the server's


def test_a_command_past_its_timeout_is_killed(tmp_path):
    args = ["record", "--plate", "sim:stand", "--subject", "S", "--drill", "bw_rdl", "--duration", "60",
            "--out", str(tmp_path / "t.h5")]
    with pytest.raises(subprocess.TimeoutExpired):
        warm_cli.run_commands([args], timeout=3, cwd=tmp_path, env=None)
    # the server forks the next command as before
    (again,) = warm_cli.run_commands([["--version"]], timeout=60, cwd=tmp_path, env=None)
    assert again.returncode == 0 and again.stdout.strip()
