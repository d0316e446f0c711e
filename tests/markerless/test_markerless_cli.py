"""`analyze rec.db3 --markers depth` against `analyze rec.db3` (the IR markers of the same recording) and
the simulator's truth: the same reps and faults, hip back within 15 mm, every rep saying its numbers are
estimates and with which error. The recording comes through the CLI's `sim camera` (15 fps, short)."""

from __future__ import annotations

import json

import pytest

from drivers.sim.subject import VirtualSubject, shared_subject
from tests.conftest import run_cli

FPS, REPS = 15, 2


def _subject() -> VirtualSubject:
    """The recorded virtual subject (its truth, its plate), built once (~0.3 s) and only read."""
    return shared_subject("hinge", reps=REPS)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("db3") / "hinge.db3"
    res = run_cli("sim", "camera", "--pattern", "hinge", "--reps", str(REPS), "--fps", str(FPS),
                  "--out", str(path), timeout=300)
    assert res.returncode == 0, res.stderr
    return path


def test_analyze_db3_markerless_beside_the_markers(recording) -> None:
    runs = {}
    for name, extra in (("ir", []), ("depth", ["--markers", "depth"])):
        res = run_cli("analyze", str(recording), "--json", *extra, timeout=300)
        assert res.returncode == 0, res.stderr
        runs[name] = json.loads(res.stdout)
    truth = _subject().truth.reps
    ir, depth = runs["ir"]["reps"], runs["depth"]["reps"]
    assert len(depth) == len(ir) == len(truth) == REPS
    for got, marker, want in zip(depth, ir, truth, strict=True):
        assert abs(got["hip_back_mm"] - want.hip_back_mm) <= 15.0
        assert abs(got["knee_flexion_deg"] - want.knee_flexion_deg) <= 5.0
        assert abs(got["trunk_inclination_deg"] - want.trunk_inclination_deg) <= 3.0
        assert got["faults"] == marker["faults"]
        assert got["notes"]["markers"].startswith("markerless (estimated): expected error")
        assert "markers" not in marker.get("notes", {})
    said = runs["depth"]["summary"]["input"]
    assert said["markers"] == "markerless (estimated)" and "hip +-15 mm" in said["markers_expected_error"]


def test_analyze_markers_depth_says_what_it_needs(tmp_path) -> None:
    """A C3D mapping is not a depth image: --markers depth on a file without depth fails in one line."""
    res = run_cli("analyze", str(tmp_path / "missing.db3"), "--markers", "depth")
    assert res.returncode != 0
    assert res.stderr.count("\n") <= 2, res.stderr


def _live(recording, tmp_path_factory, *, markers: str, name: str):
    """A trial through the live TrialRunner (fast playback of the recording, the subject's plate), depth
    frames kept with the head unmasked (consent recorded)."""
    from station.config import StationConfig
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner
    from tests.support.integrate_sources import PlaybackCamera, SharedHostClock, SubjectPlate, record_fast
    from tests.support.trial_fixtures import KnownCalibration

    config = StationConfig()
    config.camera.markers = markers
    path = tmp_path_factory.mktemp(name) / "trial.h5"
    clock = SharedHostClock()
    camera = PlaybackCamera(recording, clock, fps=FPS)
    plate = SubjectPlate(_subject(), clock, camera)
    # frames as the docs advise keeping them (docs/trial-format.md): analyze reads them in its own process
    writer = TrialWriter(path, config=config, frames="h5-lz4",
                         metadata={"subject_id": "S-ML", "drill": "bw_rdl", "faces_kept": True,
                                   "faces_consent_operator": "test"})
    runner = TrialRunner(plate, camera, config, plate_calibration=KnownCalibration(),
                         consumers=[TrialFileConsumer(writer)])
    summary = record_fast(runner, plate, camera)
    return path, summary, runner


def _check(reps: list[dict]) -> None:
    truth = _subject().truth.reps
    assert len(reps) == len(truth)
    for got, want in zip(reps, truth, strict=True):
        assert abs(got["hip_back_mm"] - want.hip_back_mm) <= 15.0
        assert got["faults"] == want.faults
        assert got["notes"]["markers"].startswith("markerless (estimated): expected error hip +-15 mm")


def test_live_markerless_trial_says_so(recording, tmp_path_factory) -> None:
    import h5py

    path, summary, runner = _live(recording, tmp_path_factory, markers="depth", name="live_depth")
    _check(summary["reps"])
    assert runner.stats()["markers_method"].startswith("markerless (estimated): hip +-15 mm")
    with h5py.File(path, "r") as f:
        assert f.attrs["markers_method"] == "markerless (estimated)"
        assert json.loads(f.attrs["markers_expected_error_json"])["hip_mm"] == 15.0
    res = run_cli("analyze", str(path), "--json")  # the stored estimates, still said to be estimates
    assert res.returncode == 0, res.stderr
    _check(json.loads(res.stdout)["reps"])
    report = path.with_suffix(".html")  # the clinician's report says so beside the numbers
    res = run_cli("report", str(path), "--out", str(report))
    assert res.returncode == 0, res.stderr
    assert "Landmarks markerless (estimated): expected error hip +-15 mm" in report.read_text()
    from station.dashboard.replay import ReplayFeed  # the dashboard's replay of it says so too
    from station.dashboard.status import device_status_text
    from station.recording.reader import read_trial

    shown = device_status_text(ReplayFeed(read_trial(path), 10.0).snapshot())
    assert "Landmarks markerless (estimated): hip +-15 mm" in shown


def test_analyze_stored_frames_markerless(recording, tmp_path_factory) -> None:
    """A trial recorded with the IR markers and its depth frames kept: `analyze --markers depth` reads the
    landmarks again from the stored depth alone."""
    import h5py

    path, summary, _ = _live(recording, tmp_path_factory, markers="ir", name="live_ir")
    with h5py.File(path, "r") as f:
        assert f.attrs["markers_method"] == "retroreflective markers (IR)"
    res = run_cli("analyze", str(path), "--markers", "depth", "--json", timeout=300)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    _check(data["reps"])
    assert [r["faults"] for r in data["reps"]] == [r["faults"] for r in summary["reps"]]
