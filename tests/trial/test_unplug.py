"""Unplug and replug both devices mid-trial, through the real stacks: the plate's pty vanishes and comes
back (pyserial, drivers.forceplate's reconnect), the camera's cable comes out and goes back in (the software
device stops, the driver restarts its rs.pipeline, the frame counter and device clock start again).

One trial of the virtual subject (`sim:hinge` plate and camera on one timeline): the plate goes out across
the bottom of rep 1, the camera across the bottom of rep 2. The trial goes on; each gap is stored as a gap
(no plate rows, no marker rows: nothing interpolated); the reps across the gaps are `incomplete_tracking`
and the others are not; the events and the dashboard's text say which device went and when it came back.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers.registry import open_sources
from drivers.sim import timeline
from drivers.sim.softcam import make_subject
from station.config import StationConfig
from station.core.filtering import nan_gap_spans
from station.core.gaps import time_gap_spans
from station.recording.reader import read_trial
from station.recording.writer import TrialWriter
from station.trial.consumers import TrialFileConsumer
from station.trial.runner import TrialRunner

OUT_S = 1.2  # how long each device stays unplugged
MAX_GAP_S = StationConfig().thresholds.tracking_gap_max_s
EVENT_SLACK_S = 0.35  # the watch polls at 10 Hz; the plate's reconnect polls every 0.2 s


def _wait_until(runner: TrialRunner, t_trial_s: float) -> None:
    while runner.elapsed_s() < t_trial_s:
        assert runner.snapshot().running, runner.snapshot().warnings
        time.sleep(0.02)


def _wait_processed(runner: TrialRunner, t_trial_s: float, timeout_s: float = 60.0) -> None:
    """Until the worker has processed plate and camera data up to t_trial_s (it lags on a busy host)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snap = runner.snapshot()
        if len(snap.force) and len(snap.hip) and min(snap.force[-1, 0], snap.hip[-1, 0]) >= t_trial_s:
            return
        time.sleep(0.05)
    raise AssertionError(f"the worker did not reach t={t_trial_s:.1f} s in {timeout_s:.0f} s")


@pytest.mark.slow
def test_plate_and_camera_unplugged_mid_rep_and_back(tmp_path):
    from station.dashboard.status import device_outages_text, device_problems, device_status_text

    config = StationConfig()
    subject = make_subject("hinge", config=config)
    rep1, rep2 = subject.truth.reps[:2]
    path = tmp_path / "trial.h5"
    timeline.reset_trial_epoch()
    plate, camera = open_sources("sim:hinge", "sim:hinge", config)
    camera.prepare()  # its render process up before the plate starts the subject (as record does)
    runner = TrialRunner(plate, camera, config, metadata={"subject_id": "S1", "drill": "bw_rdl"},
                         consumers=[TrialFileConsumer(TrialWriter(path, config=config))])
    runner.start()
    try:
        offset_s = (timeline.trial_epoch_ns() - runner.t0_host_ns) / 1e9  # trial t of the subject's t=0
        _wait_until(runner, rep1.t_bottom + offset_s - OUT_S / 2)
        plate_out_s = runner.elapsed_s()
        plate.emulator.unplug()
        banner_mid: list[str] = []
        deadline = time.monotonic() + 30.0  # the cable stays out until the banner says so (busy host)
        while time.monotonic() < deadline and not any("unplugged" in p for p in banner_mid):
            time.sleep(0.05)  # the worker polls the devices at 10 Hz (later on a busy host)
            banner_mid = device_problems(runner.snapshot(), expect_plate=True, expect_camera=True)
        _wait_until(runner, plate_out_s + OUT_S)
        plate.emulator.replug()
        plate_back_s = runner.elapsed_s()

        _wait_until(runner, rep2.t_bottom + offset_s - OUT_S / 2)
        camera_out_s = runner.elapsed_s()
        camera.unplug()
        _wait_until(runner, camera_out_s + OUT_S)
        camera.replug()
        camera_back_s = runner.elapsed_s()
        _wait_until(runner, rep2.t_end + offset_s + 1.5)  # rep 2 and its lockout window
        _wait_processed(runner, rep2.t_end + offset_s + 1.5)
        snap = runner.snapshot()
    finally:
        summary = runner.stop("test")
    emu_lost = plate.emulator.truth()["lost_unplugged"]

    # the dashboard: while out, the banner names the plate; afterwards which device went and came back
    assert any(p.startswith("plate") and "unplugged" in p for p in banner_mid), banner_mid
    outages = snap.stats["outages"]
    assert [o["device"] for o in outages] == ["plate", "camera"], outages
    for o, out_s, back_s in ((outages[0], plate_out_s, plate_back_s),
                             (outages[1], camera_out_s, camera_back_s)):
        assert o["how"] == "unplugged" and o["back_s"] is not None
        assert out_s - 0.05 <= o["went_s"] <= out_s + EVENT_SLACK_S, (o, out_s)
        assert back_s - 0.05 <= o["back_s"] <= back_s + 1.0, (o, back_s)  # the camera restarts its pipeline
    text = device_outages_text(snap)
    assert "plate" in text and "camera" in text and "back at" in text, text
    assert text in device_status_text(snap)  # the dashboard's device panel shows it too

    trial = read_trial(path)
    assert trial.complete and summary["reason"] == "test"
    kinds = [(e["kind"], e["text"]) for e in trial.events]
    for device in ("plate", "camera"):
        assert any(k == device and "unplugged at t=" in t for k, t in kinds), kinds
        assert any(k == device and "back at t=" in t for k, t in kinds), kinds

    # plate: one gap of about the unplugged time, stored as a gap (sequence numbers and time both jump)
    assert len(trial.plate_gaps) == 1, trial.plate_gaps
    _, _, n_lost = trial.plate_gaps[0]
    assert emu_lost <= n_lost <= emu_lost + 400
    assert outages[0]["lost_samples"] == n_lost
    step = np.diff(trial.force.t_s)
    assert np.sum(step > 0.3) == 1 and step.max() == pytest.approx(n_lost / 1000, abs=0.1)
    assert np.all(np.diff(trial.plate.seq)[step <= 0.3] == 1)  # nothing made up on either side

    # camera: no marker rows in the gap, frame times continue on the trial clock after the restart
    mt = trial.markers.t_s
    assert not np.any((mt > camera_out_s + 0.1) & (mt < camera_back_s))  # nothing made up while away
    before, after = mt[mt <= camera_out_s + 0.1], mt[mt >= camera_back_s]
    # (a busy host also drops frames of its own: the last before and first after may be a little apart)
    assert camera_out_s - 0.6 < before[-1] and after[0] < camera_back_s + 1.5, (before[-1], after[0])
    assert np.all(np.diff(mt) > 0)
    assert runner.camera_clock.restarts == 1  # the replugged camera's clock began again: a new mapping

    # the reps: those across a gap are incomplete_tracking, what is missing named; the others are not
    reps = trial.reps
    assert len(reps) >= 2, [r.to_json() for r in reps]
    hip = trial.markers.positions["hip"][:, 0]
    for rep in reps:
        plate_gap = rep.t_start < plate_back_s and rep.t_end > plate_out_s
        camera_gap = rep.t_start < camera_back_s and rep.t_end > camera_out_s
        # a busy host also makes the station drop frames (or lose the hip) now and then: a hole of its own
        holes = time_gap_spans(mt, MAX_GAP_S, rep.t_start, rep.t_end) + [
            (a, b) for a, b in nan_gap_spans(mt, np.isfinite(hip), MAX_GAP_S)
            if a < rep.t_end and b > rep.t_start]
        other_hole = bool(holes) and not camera_gap
        missing = rep.notes.get("missing", [])
        assert ("force" in missing) == plate_gap, rep.to_json()
        assert ("hip" in missing) == (camera_gap or other_hole), rep.to_json()
        assert ("incomplete_tracking" in rep.faults) == bool(missing), rep.to_json()
    assert any(r.t_start < plate_back_s and r.t_end > plate_out_s for r in reps)
    assert any(r.t_start < camera_back_s and r.t_end > camera_out_s for r in reps)
