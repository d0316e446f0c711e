"""The virtual dowel in the joined-up paths: `analyze rec.db3`, the live TrialRunner (snapshot, /dowel in
the trial file), `analyze trial.h5` and replay, and the report's rep table. Truth: the same VirtualSubject
the CLI's `sim camera` renders (rounding pattern, 2 reps, 15 fps to keep the suite short)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drivers.sim.render import Renderer
from drivers.sim.softcam import DEVICE_CLOCK_START_MS
from drivers.sim.subject import VirtualSubject
from station.dowel.step import DowelStep, is_dowel_drill
from station.report.model import dowel_cell
from station.results import RepResult
from station.streams import DOWEL_REGIONS as REGIONS
from tests.conftest import run_cli
from tests.support.dowel_helpers import config_for, frame_at, markers_at, true_gaps_mm

FPS, REPS = 15, 2
FRAME_RMS_MM = 5.0  # per-frame gap per region (the dowel's accuracy budget, tests/dowel/test_dowel.py)
REP_TOL_MM = 7.0  # per-rep held value (tests/dowel/test_dowel_core.py: a held maximum is biased by ~1 sigma)


def _subject() -> VirtualSubject:
    return VirtualSubject("rounding", reps=REPS)


@pytest.fixture(scope="module")
def rounding_db3(tmp_path_factory):
    path = tmp_path_factory.mktemp("dowel") / "rounding.db3"
    res = run_cli("sim", "camera", "--pattern", "rounding", "--reps", str(REPS), "--fps", str(FPS),
                  "--out", str(path), timeout=300)
    assert res.returncode == 0, res.stderr
    return path


def _check_back(reps: list[dict]) -> None:
    truth = _subject().truth.reps
    assert len(reps) == len(truth)
    for got, want in zip(reps, truth, strict=True):
        assert [f for f in got["faults"] if f.startswith("back_")] == \
            [f for f in want.faults if f.startswith("back_")] == ["back_rounding"]
        assert abs(got["dowel_gap_mm"] - want.dowel_gap_mm["sacrum"]) <= REP_TOL_MM, (got, want.dowel_gap_mm)
        assert got["notes"]["dowel_region"] == "sacrum"


def test_analyze_db3_judges_back_rounding(rounding_db3):
    res = run_cli("analyze", str(rounding_db3), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    _check_back(data["reps"])
    assert data["summary"]["input"]["dowel_frames_measured"] >= 0.9 * data["summary"]["input"]["frames"]


@pytest.fixture(scope="module")
def live_trial(rounding_db3, tmp_path_factory):
    from station.config import StationConfig
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner
    from tests.support.integrate_sources import PlaybackCamera, SharedHostClock, SubjectPlate, record_fast
    from tests.support.trial_fixtures import KnownCalibration

    config = StationConfig()
    path = tmp_path_factory.mktemp("dowel_live") / "trial.h5"
    clock = SharedHostClock()
    camera = PlaybackCamera(rounding_db3, clock, fps=FPS)
    plate = SubjectPlate(_subject(), clock, camera)
    writer = TrialWriter(path, config=config, metadata={"subject_id": "S-DW", "drill": "bw_rdl"})
    runner = TrialRunner(plate, camera, config, plate_calibration=KnownCalibration(),
                         consumers=[TrialFileConsumer(writer)])
    summary = record_fast(runner, plate, camera)
    assert summary["error"] is None
    return path, summary, runner.snapshot()


def test_live_runner_judges_back_rounding_and_shows_the_dowel(live_trial):
    _path, summary, snap = live_trial
    _check_back(summary["reps"])
    live = snap.live["dowel"]
    assert set(live) >= {"gap_mm", "reason", "overlay", "worst_region", "worst_gap_mm"}
    if live["gap_mm"] is not None:  # last frame: standing, back measured
        assert live["overlay"]["line"] is not None and set(live["overlay"]["contacts"]) == set(REGIONS)
    else:
        assert live["reason"]


def test_trial_file_stores_the_dowel_series_and_analyze_rejudges(live_trial):
    from station.recording.reader import read_trial

    path, summary, _ = live_trial
    trial = read_trial(path)
    rec = trial.dowel
    assert rec is not None and len(rec["t_s"]) >= 0.9 * len(trial.camera_index["t_s"])
    # each dowel row shares its frame's trial time: back to subject time through the camera index
    idx = np.searchsorted(trial.camera_index["t_s"], rec["t_s"])
    t_subject = (trial.camera_index["t_device_ms"][idx] - DEVICE_CLOCK_START_MS) / 1000.0
    subject = _subject()
    measured = np.isfinite(rec["gap_mm"]).all(axis=1)
    assert measured.mean() >= 0.9
    errors = np.array([[rec["gap_mm"][i, k] - true_gaps_mm(subject, t_subject[i])[r]
                        for k, r in enumerate(REGIONS)] for i in np.flatnonzero(measured)[::3]])
    rms = np.sqrt(np.mean(errors ** 2, axis=0))
    assert np.all(rms <= FRAME_RMS_MM), rms
    assert np.all(rec["reason"][measured] == b"")

    res = run_cli("analyze", str(path), "--json")
    assert res.returncode == 0, res.stderr
    analysed = json.loads(res.stdout)["reps"]
    assert [r["faults"] for r in analysed] == [r["faults"] for r in summary["reps"]]
    np.testing.assert_allclose([r["dowel_gap_mm"] for r in analysed],
                               [r["dowel_gap_mm"] for r in summary["reps"]], atol=1e-6)
    res = run_cli("replay", str(path), "--json")
    assert res.returncode == 0, res.stderr
    assert [r["faults"] for r in json.loads(res.stdout)["reps"]] == [r["faults"] for r in summary["reps"]]


def test_dowel_drill_is_not_measured_with_its_reason():
    assert is_dowel_drill("dowel_hinge") and not is_dowel_drill("bw_rdl") and not is_dowel_drill(None)
    cfg = config_for("right")
    subject = VirtualSubject("rounding", reps=1, fidget=False, config=cfg, seed=2)
    t = subject.truth.reps[0].t_bottom
    frame = frame_at(Renderer(config=cfg, seed=2), subject, t)
    free = DowelStep(cfg, None).update(frame, markers_at(subject, t), t, now_ns=frame.t_host_ns)
    held = DowelStep(cfg, None, holding_dowel=True).update(frame, markers_at(subject, t), t,
                                                           now_ns=frame.t_host_ns)
    assert abs(free.gap_mm["sacrum"] - true_gaps_mm(subject, t)["sacrum"]) <= FRAME_RMS_MM
    assert held.gap_mm is None and held.worst_gap_mm is None and "real dowel" in held.reason


def test_report_dowel_cell_says_region_and_mm_or_why_not():
    assert dowel_cell(RepResult(1, 0, 1, 2, dowel_gap_mm=48.4, notes={"dowel_region": "upper_back"})) \
        == "upper back 48"
    why = "not measured: real dowel expected (dowel drill)"
    assert dowel_cell(RepResult(1, 0, 1, 2, notes={"dowel": why})) == why
    assert dowel_cell(RepResult(1, 0, 1, 2)) == "\u2013"
