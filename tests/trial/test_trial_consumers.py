"""The runner hands every trial document to each consumer in its list: a new consumer needs no edit of
the runner, a failing one is dropped with a warning while the trial and its file go on, and one that
raises StopTrial (the file on a full disk) ends the trial with its reason."""

from __future__ import annotations

import numpy as np

from station.config import StationConfig
from station.recording.reader import read_trial
from station.recording.writer import TrialWriter
from station.results import RepResult
from station.trial.consumers import TrialFileConsumer
from station.trial.documents import (
    PlateData,
    StopTrial,
    StreamInfo,
    TrialConsumer,
    TrialEnd,
    TrialEvent,
    TrialStart,
)
from station.trial.runner import TrialRunner
from tests.support.trial_fixtures import KnownCalibration, TruthPlate, truth_cells


class Keeper:
    """A consumer written outside the station: keeps what it is given, adds one key to the summary."""

    name = "keeper"

    def __init__(self, fail_at_plate_chunk: int | None = None,
                 stop_at_plate_chunk: int | None = None) -> None:
        self.docs: list = []
        self.fail_at, self.stop_at = fail_at_plate_chunk, stop_at_plate_chunk

    def receive(self, doc):
        self.docs.append(doc)
        chunks = sum(isinstance(d, PlateData) for d in self.docs)
        if isinstance(doc, PlateData) and chunks == self.fail_at:
            raise ValueError("keeper broke")
        if isinstance(doc, PlateData) and chunks == self.stop_at:
            raise StopTrial("keeper cannot go on")
        if isinstance(doc, TrialEnd):
            return {"kept_docs": len(self.docs)}
        return None


def _run(tmp_path, keeper: Keeper, duration_s: float = 0.6):
    config = StationConfig()
    path = tmp_path / "trial.h5"
    runner = TrialRunner(TruthPlate(config), None, config, plate_calibration=KnownCalibration(),
                         consumers=[TrialFileConsumer(TrialWriter(path, config=config)), keeper],
                         metadata={"subject_id": "S-CON", "drill": "bw_rdl"}, duration_s=duration_s)
    runner.start()
    assert runner.wait(10.0)
    return runner.stop(), path


def test_a_new_consumer_gets_every_document_in_order(tmp_path):
    keeper = Keeper()
    assert isinstance(keeper, TrialConsumer)
    summary, path = _run(tmp_path, keeper)
    docs = keeper.docs
    assert isinstance(docs[0], TrialStart) and docs[0].metadata["subject_id"] == "S-CON"
    assert [d.stream for d in docs if isinstance(d, StreamInfo)][:2] == ["plate", "camera"]
    assert isinstance(docs[-1], TrialEnd) and sum(isinstance(d, TrialEnd) for d in docs) == 1
    plate = [d for d in docs if isinstance(d, PlateData)]
    t = np.concatenate([d.t_s for d in plate])
    assert len(t) == summary["plate_samples"] == docs[-1].counts["plate_samples"] > 400
    assert np.all(np.diff(t) > 0)
    t_device = np.concatenate([d.chunk.t_device_s for d in plate])  # the plate's own truth at its clock
    truth_fz = truth_cells(t_device, StationConfig()).sum(axis=1)
    assert np.allclose(np.concatenate([d.fz_n for d in plate]), truth_fz, atol=0.5)
    assert summary["kept_docs"] == len(docs)  # what a consumer returns at the end joins the summary
    assert len(read_trial(path).force) == summary["plate_samples"]  # the file got the same samples


def test_a_failing_consumer_is_dropped_and_the_trial_and_file_go_on(tmp_path):
    keeper = Keeper(fail_at_plate_chunk=3)
    summary, path = _run(tmp_path, keeper)
    assert summary["reason"] == "duration reached"
    assert any("keeper failed: ValueError: keeper broke" in w for w in summary["warnings"])
    plate_docs = [d for d in keeper.docs if isinstance(d, PlateData)]
    assert len(plate_docs) == 3  # nothing after it failed ...
    assert isinstance(keeper.docs[-1], TrialEnd)  # ... but it is told the end
    trial = read_trial(path)
    assert trial.complete and len(trial.force) == summary["plate_samples"] > 400
    assert any("keeper failed" in e["text"] for e in trial.events)  # the file says what happened


def test_stop_trial_from_a_consumer_ends_the_trial_with_its_reason(tmp_path):
    keeper = Keeper(stop_at_plate_chunk=5)
    summary, path = _run(tmp_path, keeper, duration_s=30.0)
    assert summary["reason"] == "keeper cannot go on" and summary["elapsed_s"] < 10.0
    events = [d for d in keeper.docs if isinstance(d, TrialEvent)]
    assert events == []  # it was dropped before its own warning went out
    assert "keeper cannot go on" in summary["warnings"]
    assert read_trial(path).complete


def test_reps_reach_consumers_as_the_runners_own_reps(tmp_path):
    """A rep callback and a consumer see the same reps the runner keeps (here none: standing still)."""
    keeper, seen = Keeper(), []
    config = StationConfig()
    runner = TrialRunner(TruthPlate(config), None, config, plate_calibration=KnownCalibration(),
                         consumers=[keeper], on_rep=seen.append, duration_s=0.3)
    runner.start()
    runner.wait(5.0)
    summary = runner.stop()
    assert [d for d in keeper.docs if isinstance(d, RepResult)] == seen == runner.reps
    assert summary["reps"] == [r.to_json() for r in keeper.docs[-1].reps]
