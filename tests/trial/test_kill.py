"""Crash safety: SIGKILL a real recording process and reopen its file; measure the seconds lost.

The writer flushes every 0.5 s (TrialWriter.flush_period_s), so a kill loses at most that plus the
time data spends between arrival and the writer (a few ms): we assert <= 1.0 s (the issue's bound)
and report the measured loss. Run twice: through `hinge-station record` with the simulated plate
and camera (when those drivers are present), and through TrialRunner with a stand-in plate.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import pytest

from station.recording.reader import read_trial
from tests.conftest import REPO

FLUSH_PERIOD_S = 0.5
LOSS_BOUND_S = 1.0


def _kill_after(proc: subprocess.Popen, path, seconds: float) -> int:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"recorder exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    time.sleep(seconds)
    kill_ns = time.monotonic_ns()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return kill_ns


def _loss_s(path, kill_ns: int) -> tuple[float, float]:
    with h5py.File(path, "r", swmr=True) as f:  # opens directly as a SWMR reader: no repair tool needed
        t0 = int(f.attrs["t0_host_ns"])
        t_last = float(f["force/t_s"][-1])
        assert not f.attrs["complete"]
    trial = read_trial(path)  # and the station's own reader says what happened in one line
    assert trial.warnings and "interrupted" in trial.warnings[0]
    return (kill_ns - t0) / 1e9 - t_last, t_last


def _report(artifacts_dir, name: str, lost: float, t_last: float) -> None:
    (artifacts_dir / f"kill-{name}.json").write_text(json.dumps({"lost_s": lost, "last_sample_s": t_last}))
    print(f"{name}: SIGKILL lost {lost:.3f} s (last sample at t={t_last:.2f} s)")


def test_sigkill_standin_plate_loses_under_a_second(tmp_path, artifacts_dir):
    path = tmp_path / "trial.h5"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = [{str(REPO)!r}]
        from tests.support.trial_fixtures import TruthPlate
        from station.config import StationConfig
        from station.recording.writer import TrialWriter
        from station.trial.consumers import TrialFileConsumer
        from station.trial.runner import TrialRunner
        cfg = StationConfig()
        run = TrialRunner(TruthPlate(cfg), None, cfg,
                          consumers=[TrialFileConsumer(TrialWriter({str(path)!r}, config=cfg))])
        run.start()
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    kill_ns = _kill_after(proc, path, 4.0)
    lost, t_last = _loss_s(path, kill_ns)
    _report(artifacts_dir, "standin", lost, t_last)
    assert t_last > 2.5
    assert 0 <= lost <= LOSS_BOUND_S


def test_sigkill_record_command_with_sim_sources(tmp_path, artifacts_dir):
    pytest.importorskip("drivers.forceplate")
    camera = ["--camera", "sim:hinge"] if importlib.util.find_spec("drivers.realsense") else []
    path = tmp_path / "trial.h5"
    proc = subprocess.Popen([sys.executable, "-m", "station", "record", "--plate", "sim:hinge", *camera,
                             "--subject", "K", "--drill", "bw_rdl", "--duration", "60",
                             "--out", str(path)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    assert "recording to" in line, proc.stderr.read()
    kill_ns = _kill_after(proc, path, 4.0)
    lost, t_last = _loss_s(path, kill_ns)
    _report(artifacts_dir, "record-sim", lost, t_last)
    assert 0 <= lost <= LOSS_BOUND_S
    if camera:
        with h5py.File(path, "r", swmr=True) as f:
            assert f["markers/t_s"].shape[0] > 0  # the camera's stream survived too


def test_twenty_sigkills_at_random_moments_with_the_archive_on(tmp_path, artifacts_dir):
    """Power loss 20 times (tests/support/kill_loop.py): `record` with the sim plate and the archive on,
    SIGKILLed at moments from random.Random(20), scaled to how long the runs live on this host, while it
    starts, records, stops, writes and indexes. Each time the trial file (if made) and the archive open, at
    most LOSS_BOUND_S was lost, and every archive row's file is there with the bytes the row says.
    bench/kill_loop.py runs it longer, with the camera."""
    from tests.support.kill_loop import kill_loop, summary

    runs = kill_loop(tmp_path, runs=20, seed=20)
    result = summary(runs)
    (artifacts_dir / "kill-loop.json").write_text(json.dumps(result, indent=1))
    print(f"kill loop: {result['killed']} killed, files {result['files']}, lost max {result['lost_s_max']} s")
    assert result["problems"] == []
    assert result["killed"] >= 8 and result["files"]["interrupted"] >= 5  # the kills did land mid-recording
    assert result["files"]["unreadable"] == 0 and result["archive_rows"] >= 3
