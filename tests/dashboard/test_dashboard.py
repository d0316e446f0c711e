"""The dashboard offscreen against the virtual subject, through the real runner, pty plate and SDK camera.

The sources are the coach's demo's: `sim:PATTERN` plate and camera from the registry, the camera rendered
in its own process and pushed through the pyrealsense2 software device, both on the simulator's one
timeline (the subject's t=0 is when the first of them starts).

A hinge session up to its second rep judged (~17 s): the rep table must hold the simulator's reps
(t_bottom inside the subject's 1 mm deepest interval +-0.3 s: the bottom of a hinge is a flat top, see
test_core_sim.py), with its verdicts and faults. A shorter squat session is recorded from the window, its
plate is unplugged mid-session (banner, window keeps redrawing, the file keeps what arrived), then replayed.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from drivers.sim import timeline
from drivers.sim.softcam import make_subject
from station.config import StationConfig
from station.dashboard.app import MainWindow
from station.dashboard.controller import LiveController
from station.recording.reader import read_trial

DOWEL_FAULTS = {"back_rounding", "back_arching"}  # judged from the dowel stream, not in these drills
# a verdict may show "PASS…" until the lockout after the rep is judged (at most lockout_window_s after its
# end), plus the live path's lag on a loaded host
LOCKOUT_PENDING_MAX_S = StationConfig().thresholds.lockout_window_s + 1.0
DETECT_LAG_S = 4.0  # a rep is known once the subject has stood still after it (plus a loaded CPU)
BOTTOM_TOL_S = 0.8  # half the longest scripted hold (1.0 s) + 0.3 s for a loaded host


def _top_interval(subject, t_start: float, t_end: float) -> tuple[float, float]:
    t = np.arange(t_start, t_end, 0.005)
    back = -subject.markers(t)["hip"][:, 0]
    top = t[back >= back.max() - 0.001]
    return float(top[0]), float(top[-1])


def _open_window(qtbot, tmp_path, pattern: str) -> tuple[MainWindow, LiveController]:
    config = StationConfig()
    timeline.reset_trial_epoch()  # a new subject: its t=0 when the first of its sources starts
    controller = LiveController(f"sim:{pattern}", f"sim:{pattern}", config, out_dir=tmp_path)
    window = MainWindow(config, controller, ask_calibration=False, subject_id="S07", drill_id="bw_rdl")
    qtbot.addWidget(window)
    window.show()
    return window, controller


def _offset_s(controller: LiveController) -> float:
    """Runner time of the subject's t=0 (the sim sources share one timeline)."""
    return (timeline.trial_epoch_ns() - controller.runner.t0_host_ns) / 1e9


def _check_rows(rows: list[dict], subject, offset_s: float, elapsed_s: float) -> None:
    truth = subject.truth.reps
    due = [r for r in truth if r.t_end + offset_s + DETECT_LAG_S < elapsed_s]
    possible = [r for r in truth if r.t_end + offset_s < elapsed_s]
    assert len(due) <= len(rows) <= len(possible), (rows, [(r.t_start, r.t_end) for r in truth])
    for row, tr in zip(rows, truth, strict=False):
        lo, hi = _top_interval(subject, tr.t_start, tr.t_end)
        t_bottom = float(row["bottom s"]) - offset_s
        assert lo - 0.3 <= t_bottom <= hi + 0.3, (row, lo, hi)
        assert abs(t_bottom - tr.t_bottom) <= BOTTOM_TOL_S, (row, tr.t_bottom)
        expected = [f for f in tr.faults if f not in DOWEL_FAULTS]
        verdict = row["verdict"]
        if verdict.endswith("…"):  # its lockout still to come: only for a rep that ended moments ago
            assert float(row["end s"]) + LOCKOUT_PENDING_MAX_S >= elapsed_s, (row, elapsed_s)
            verdict = verdict[:-1]
        assert verdict == ("PASS" if not expected else "FAIL"), (row, expected)
        shown = [] if row["faults"] == "-" else row["faults"].split(", ")
        assert shown == [f.replace("_", " ") for f in expected], (row, expected)


def test_hinge_session_fills_the_rep_table_with_the_simulators_reps(qtbot, tmp_path, artifacts_dir):
    window, controller = _open_window(qtbot, tmp_path, "hinge")
    subject = make_subject("hinge", config=StationConfig())
    controller.start_preview()
    qtbot.waitUntil(lambda: controller.runner is not None, timeout=60_000)
    offset = _offset_s(controller)
    # two reps in the table, the last one's lockout judged ("PASS…" until then, up to lockout_window_s after
    # its end) and the coach view redrawn with it (a redraw of its own)
    qtbot.waitUntil(lambda: len(window.table.rows()) >= 2
                    and not window.table.rows()[-1]["verdict"].endswith("…")
                    and window.coach.verdict.text() == window.table.rows()[-1]["verdict"], timeout=60_000)
    qtbot.wait(100)  # one more redraw with the last snapshot
    elapsed = controller.runner.elapsed_s()
    rows = window.table.rows()
    _check_rows(rows, subject, offset, elapsed)
    assert len(rows) >= 2  # reps ending at 7.2 and 15.1 s of the subject's trial
    # coach view: the count and the last verdict, in large type
    assert window.coach.reps.text() == str(len(rows))
    assert window.coach.verdict.text() == rows[-1]["verdict"] == "PASS"
    assert window.coach.reps.font().pointSize() >= 48
    # the hips went ~200 mm back each rep: the 150 mm target cue fired for each
    assert window.cues.counts["target"] >= len(rows) and window.cues.counts["fault"] == 0
    status = window.panel.status_label.text()
    plate_hz = float(re.search(r"Plate (\d+) Hz", status).group(1))
    camera_fps = float(re.search(r"Camera ([\d.]+) fps", status).group(1))
    assert 900 <= plate_hz <= 1050 and camera_fps > 3, status
    # no lab calibration file: the sim plate's factory sheet is used (TrialRunner), shown as calibrated
    assert window.panel.calibration_label.text() == "Plate calibrated"
    assert not window.banner.isVisible(), window.banner.text()
    assert window.force_plots.foot_curve.getData()[0] is not None
    window.grab().save(str(artifacts_dir / "dashboard_live.png"))
    window.tabs.setCurrentWidget(window.coach)
    qtbot.wait(100)
    window.grab().save(str(artifacts_dir / "dashboard_coach.png"))
    controller.shutdown()


@pytest.mark.slow
def test_squat_recording_with_plate_unplugged_then_replay(qtbot, tmp_path, artifacts_dir):
    window, controller = _open_window(qtbot, tmp_path, "squat")
    subject = make_subject("squat", config=StationConfig())
    assert window.start_recording()  # no calibration file: no dialog here; the plate's factory sheet
    qtbot.waitUntil(lambda: controller.runner is not None, timeout=60_000)
    offset = _offset_s(controller)
    runner = controller.runner
    first_end = subject.truth.reps[0].t_end + offset
    qtbot.waitUntil(lambda: window.table.rowCount() >= 1, timeout=60_000)
    rows = window.table.rows()
    _check_rows(rows, subject, offset, runner.elapsed_s())
    assert rows[0]["verdict"] == "FAIL" and window.coach.verdict.text() == "FAIL"
    assert window.cues.counts["fault"] >= 1

    unplug_t = runner.elapsed_s()
    runner.plate.emulator.unplug()  # the cable comes out
    redraws, x_hi = window.redraws, window.force_plots.x_range()[1]
    qtbot.waitUntil(lambda: window.banner.isVisible() and "plate" in window.banner.text(), timeout=10_000)
    # never froze: the timer keeps redrawing and the time axis keeps moving without plate data
    qtbot.waitUntil(lambda: window.redraws > redraws + 5 and window.force_plots.x_range()[1] > x_hi + 1.0,
                    timeout=10_000)
    window.grab().save(str(artifacts_dir / "dashboard_device_failure.png"))

    path = controller.recording_path
    window.stop_recording()
    qtbot.waitUntil(lambda: not controller.busy and controller.last_summary is not None, timeout=30_000)
    trial = read_trial(path)
    assert trial.complete and trial.metadata["subject_id"] == "S07" and trial.metadata["drill"] == "bw_rdl"
    assert abs(trial.force.t_s[-1] - unplug_t) < 1.0  # kept everything up to the unplug
    assert trial.calibration["status"] == "calibrated" and "factory" in trial.calibration["plate"]["source"]
    # the recording indexed itself in the archive (tests/conftest.py: a throwaway SQLite file per process)
    assert controller.archive_note is not None and f"{path.name} indexed" in controller.archive_note
    from station.archive.queries import history
    from station.archive.store import open_archive

    archive = open_archive(os.environ["HINGE_ARCHIVE_URL"], write=False)
    visits = history(archive, "S07")["sessions"]
    archive.dispose()
    indexed = [tr for v in visits for tr in v["trials"] if tr["file"] and tr["file"].endswith(path.name)]
    assert len(indexed) == 1 and indexed[0]["reps"] == len(trial.reps)

    window.open_replay(str(path))
    qtbot.waitUntil(lambda: window.replay is not None, timeout=30_000)
    for t in (4.0, first_end + 1.0):
        window.replay_bar.set_time(t)
        qtbot.wait(80)
        lo, hi = window.force_plots.x_range()
        assert abs(hi - t) < 0.02 and abs(lo - (t - 10.0)) < 0.02
        assert len(window.table.rows()) == sum(r.t_end <= t for r in trial.reps)
    assert window.table.rows()[0]["verdict"] == "FAIL"
    window.grab().save(str(artifacts_dir / "dashboard_replay.png"))
    controller.shutdown()
