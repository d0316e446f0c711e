"""`analyze FILE.xdf`: a LabRecorder-style file of the station's own LSL streams gives the same reps as the
trial file of the same recording (pyxdf reads it; tests/support/xdf_writer.py writes it, as LabRecorder
would, from what an inlet in another process received)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from station.analysis.analyze import analyze_path
from station.analysis.inputs import LoadOptions
from station.config import StationConfig
from station.errors import StationError
from tests.conftest import REPO, camera_at_15_fps, run_cli
from tests.support.xdf_writer import XdfStream, write_xdf

pytest.importorskip("pyxdf")
pylsl = pytest.importorskip("pylsl")

KINDS = ("Force", "Hip", "Reps", "Cells", "Camera")
DURATION_S = 10  # sim:hinge's first rep ends at ~7.2 s, its lockout is judged within 1 s after


@pytest.mark.slow
def test_xdf_of_a_recording_gives_the_same_reps_as_its_trial_file(tmp_path):
    # a private LSL session: streams of other tests recording at the same time are invisible to both sides
    (tmp_path / "lsl_api.cfg").write_text(f"[lab]\nSessionID = hinge-xdf-{os.getpid()}-{time.time_ns()}\n")
    env = dict(os.environ, LSLAPICFG=str(tmp_path / "lsl_api.cfg"), HINGE_DATA_ROOT=str(tmp_path))
    xdf, h5, stop = tmp_path / "session.xdf", tmp_path / "trial.h5", tmp_path / "STOP"
    capture = subprocess.Popen(
        [sys.executable, "-m", "tests.support.lsl_capture", str(xdf), "--stop-file", str(stop),
         "--source-ids", ",".join(f"hinge-station-{k}" for k in KINDS), "--timeout", "90"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        rec = run_cli("record", "--plate", "sim:hinge", "--camera", "sim:hinge", "--subject", "S21",
                      "--config", camera_at_15_fps(tmp_path),  # the XDF holds what the file does at any rate
                      "--drill", "bw_rdl", "--duration", str(DURATION_S), "--lsl", "--no-stills",
                      "--out", str(h5), env=env, timeout=120)
        assert rec.returncode == 0, rec.stderr
        stop.touch()
        out, _ = capture.communicate(timeout=60)
    finally:
        if capture.poll() is None:
            capture.kill()
    assert capture.returncode == 0 and xdf.is_file(), out
    assert out.count("subscribed") == len(KINDS), out
    from_h5 = run_cli("analyze", str(h5), "--json", env=env)
    from_xdf = run_cli("analyze", str(xdf), "--json", env=env)
    assert from_h5.returncode == 0 and from_xdf.returncode == 0, from_h5.stderr + from_xdf.stderr
    a, b = json.loads(from_h5.stdout)["reps"], json.loads(from_xdf.stdout)["reps"]
    assert len(a) == len(b) >= 1
    back = max(abs(x["hip_back_mm"] - y["hip_back_mm"]) for x, y in zip(a, b, strict=True))
    times = max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in ("t_start", "t_bottom", "t_end"))
    assert back < 5.0 and times < 0.05, f"hip back differs by {back:.4f} mm, times by {times:.4f} s"
    assert [x["faults"] for x in a] == [y["faults"] for y in b]
    print(f"XDF vs trial file: {len(a)} reps, hip back within {back:.2e} mm, times within {times:.2e} s")
    summary = json.loads(from_xdf.stdout)["summary"]
    assert "Cells" in summary["input"]["input"] and summary["input"]["dowel"]


def _info_xml(name: str, kind: str, channels: list[str], rate: float, fmt: int,
              manufacturer: str = "hinge-station") -> str:
    info = pylsl.StreamInfo(name, kind, len(channels), rate, fmt, f"src-{name}")
    chans = info.desc().append_child("channels")
    for label in channels:
        chans.append_child("channel").append_child_value("label", label)
    info.desc().append_child_value("manufacturer", manufacturer)
    return info.as_xml()


def test_an_older_station_hip_only_file_is_read_and_says_what_it_lacks(tmp_path):
    """Hip + Reps streams only (the outlets before Cells/Camera existed): reps from the hip, warned."""
    t = np.arange(0, 12, 1 / 30)
    back = np.where((t > 2) & (t < 6), 0.2 * np.sin(np.pi * (t - 2) / 4) ** 2, 0.0)
    hip = np.column_stack([0.05 - back, np.full_like(t, -0.1), 0.92 - 0.03 * back / 0.2])
    t0 = 5000.0  # the trial's start on the LSL clock
    rep = {"index": 0, "t_start": 2.3, "t_bottom": 4.0, "t_end": 5.7}
    write_xdf(tmp_path / "old.xdf", [
        XdfStream(_info_xml("HS-Hip", "Mocap", ["hip_x", "hip_y", "hip_z"], 30.0, pylsl.cf_float32),
                  "float32", hip, t0 + t),
        XdfStream(_info_xml("HS-Reps", "Markers", ["rep"], 0.0, pylsl.cf_string), "string",
                  [[json.dumps(rep)]], np.array([t0 + rep["t_end"]]), [(t0, 0.0), (t0 + 10, 0.0)])])
    result = analyze_path(tmp_path / "old.xdf", LoadOptions(config=StationConfig()))
    assert any("no Camera stream" in w for w in result.warnings)
    assert len(result.reps) == 1
    assert abs(result.reps[0].hip_back_mm - 200) < 10 and 2.0 < result.reps[0].t_start < 3.0


def test_an_xdf_without_the_stations_streams_is_refused_in_one_line(tmp_path):
    write_xdf(tmp_path / "eeg.xdf", [XdfStream(_info_xml("EEG", "EEG", ["C3", "C4"], 100.0, pylsl.cf_float32,
                                                         "someone-else"), "float32", np.zeros((5, 2)),
                                               np.arange(5) / 100.0)])
    with pytest.raises(StationError, match=r"eeg.xdf: no hinge-station LSL streams .*EEG"):
        analyze_path(tmp_path / "eeg.xdf", LoadOptions(config=StationConfig()))
