"""`record --stats` and `dashboard --stats` write what reached the station: camera frames expected,
delivered, processed and dropped, plate samples and losses (and the dashboard's redraw rate). The
figures must agree with each other and with the trial file; how many frames a host delivers is a speed
goal, measured by bench/delivery.py, not asserted here."""

from __future__ import annotations

import json

from station.recording.reader import read_trial
from tests.conftest import run_cli

KEYS = {"camera_frames_delivered", "camera_frames_processed", "camera_frames_dropped", "camera_fps_delivered",
        "plate_samples", "plate_samples_lost"}


def _consistent(stats: dict) -> None:
    assert KEYS <= set(stats)
    processed, expected = stats["camera_frames_processed"], stats["camera_frames_expected"]
    assert processed + stats["camera_frames_dropped"] == expected
    assert processed <= stats["camera_frames_delivered"]  # the driver may hold a last frame never read
    assert processed > 0 and stats["plate_samples"] > 0
    assert abs(stats["camera_received_pct"] - 100.0 * processed / expected) < 1e-9
    assert 0 < stats["camera_fps_delivered"] <= 1.05 * stats["camera_fps_nominal"]


def test_record_stats_agree_with_the_trial_file(tmp_path):
    out, stats_path = tmp_path / "t.h5", tmp_path / "stats.json"
    res = run_cli("record", "--plate", "sim:hinge", "--camera", "sim:hinge", "--subject", "S-ST", "--drill",
                  "bw_rdl", "--arms", "arms_crossed", "--duration", "6", "--out", str(out), "--stats",
                  str(stats_path), timeout=120)
    assert res.returncode == 0, res.stderr
    stats = json.loads(stats_path.read_text())
    _consistent(stats)
    trial = read_trial(out)
    assert stats["camera_frames_processed"] == len(trial.camera_index["frame_number"])
    assert stats["plate_samples"] == len(trial.plate) and stats["plate_samples_lost"] == 0
    # 1 kHz all along: the trial's seconds include opening the camera (the plate streams meanwhile)
    assert abs(stats["plate_samples"] / 1000.0 - stats["seconds"]) < 1.0 and stats["seconds"] >= 6.0


def test_dashboard_stats_count_frames_samples_and_redraws(tmp_path):
    stats_path = tmp_path / "dash.json"
    res = run_cli("dashboard", "--stats", str(stats_path), "--seconds", "8", timeout=120)
    assert res.returncode == 0, res.stderr
    stats = json.loads(stats_path.read_text())
    _consistent(stats)
    assert 5.0 < stats["redraw_hz"] < 100.0  # the timer redrew the window, at the configured ~30 Hz class
