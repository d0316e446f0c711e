"""`sim plate` and `plate-monitor` as a user runs them (real subprocesses), including bad input."""

import inspect
import json
import os
import subprocess
import threading
import time
import tty

import numpy as np
import pytest

from drivers.sim.plate_emulator import PlateEmulator, quiet_standing_loads
from tests.conftest import run_cli, start_cli


def start_sim_plate(*args: str):
    """`hinge-station sim plate ARGS` left running (tests.conftest.start_cli) and the port it serves."""
    proc = start_cli("sim", "plate", *args)
    port = proc.stdout.readline().strip()
    assert port, proc.stderr.read()
    return proc, port


def monitor_sim_plate(sim_args: tuple[str, ...], seconds: str) -> subprocess.CompletedProcess:
    """`plate-monitor PORT --seconds S --json` against a `sim plate` started with sim_args, stopped after."""
    proc, port = start_sim_plate(*sim_args)
    try:
        return run_cli("plate-monitor", port, "--seconds", seconds, "--json", timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def one_error_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_monitor_json_against_the_emulator_truth():
    res = monitor_sim_plate(("--pattern", "stand", "--rate", "2000", "--drift-ppm", "200", "--seconds", "20"),
                            "3")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["variant"] == "binary" and out["lost"] == 0 and out["crc_errors"] == 0
    assert out["rate_hz"] == pytest.approx(2000 * (1 + 200e-6), rel=0.02)
    # 3 s of samples, plus at most what the emulator keeps for a reader that has not opened the port yet
    # (max_backlog_s, and the pty's buffer: a monitor slow to start on a loaded host reads those first)
    backlog_s = inspect.signature(PlateEmulator).parameters["max_backlog_s"].default
    assert 0.8 * 3 * 2000 < out["samples"] < 1.2 * (3 + backlog_s) * 2000
    # the same plate the CLI serves (defaults, seed 0): its noise-free counts over a whole sway cycle
    truth = PlateEmulator(quiet_standing_loads(), rate_hz=2000)
    expected = truth.expected_counts(np.linspace(0, 20, 4001))
    lo, hi = expected.min(axis=0) - 100, expected.max(axis=0) + 100
    assert np.all((lo <= out["counts_mean"]) & (out["counts_mean"] <= hi)), (out["counts_mean"], lo, hi)
    assert out["disconnects"] == 0 and out["overflows"] == 0


def test_sim_plate_stopped_by_sigterm_cleans_up_its_port():
    proc, port = start_sim_plate("--pattern", "stand", "--seconds", "60")
    assert os.path.islink(port)
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "sim plate: sent" in err  # its closing tally, as after Ctrl-C
    assert not os.path.exists(os.path.dirname(port))  # no pty link left behind in the temp folder


def test_monitor_reads_the_ascii_variant_and_counts_drops():
    res = monitor_sim_plate(("--pattern", "stand", "--rate", "80", "--ascii", "--drop", "8",
                             "--seconds", "20"), "3")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["variant"] == "ascii" and out["bad_lines"] == 0
    # one in 8 dropped: lost / (samples + lost) is 1/8 up to the two ends of the window
    assert abs(out["lost"] - (out["samples"] + out["lost"]) / 8) <= 1
    assert out["rate_hz"] == pytest.approx(80, rel=0.02)


def test_port_that_does_not_exist():
    line = one_error_line(run_cli("plate-monitor", "/dev/no-such-plate", "--seconds", "1"))
    assert "/dev/no-such-plate" in line and "cannot open" in line


@pytest.fixture
def bare_pty():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_device_that_sends_nothing(bare_pty):
    _, path = bare_pty
    line = one_error_line(run_cli("plate-monitor", path, "--seconds", "5", timeout=30))
    assert path in line and "no data for 2.0 s" in line


def test_device_that_speaks_neither_variant(bare_pty):
    master, path = bare_pty
    stop = threading.Event()

    def chatter():
        while not stop.is_set():
            os.write(master, b"AT+READY\r\nhello 12 34\r\n")
            time.sleep(0.02)

    threading.Thread(target=chatter, daemon=True).start()
    try:
        line = one_error_line(run_cli("plate-monitor", path, "--seconds", "5", timeout=30))
    finally:
        stop.set()
    assert path in line and "neither binary nor ASCII" in line and "AT+READY" in line


def test_sim_plate_rejects_a_rate_the_plate_does_not_have():
    res = run_cli("sim", "plate", "--rate", "500")
    assert res.returncode != 0 and "--rate" in res.stderr


def test_virtual_subject_hinging_end_to_end_through_sim_plate_and_monitor():
    from drivers.sim.subject import VirtualSubject
    from station.config import GRAVITY_M_S2

    res = monitor_sim_plate(("--pattern", "hinge", "--seconds", "30"), "4")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["variant"] == "binary" and out["lost"] == 0
    assert out["rate_hz"] == pytest.approx(1000, rel=0.02)
    subject = VirtualSubject("hinge", seed=0)
    plate = PlateEmulator(subject.cell_loads_n)  # the defaults the CLI serves: offsets, gains
    expected = plate.expected_counts(np.linspace(0, subject.duration_s, 4000))
    counts_mean = np.asarray(out["counts_mean"])
    assert np.all((expected.min(axis=0) - 100 <= counts_mean) & (counts_mean <= expected.max(axis=0) + 100))
    # counts back to newtons with the true tare and gains: the subject's weight, give or take its motion
    total_n = float(((counts_mean - plate.offsets_counts) * plate.gains_n_per_count).sum())
    assert total_n == pytest.approx(subject.mass_kg * GRAVITY_M_S2, rel=0.03)
