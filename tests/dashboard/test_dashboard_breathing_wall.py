"""The breathing cue and the wall drill on the dashboard (issue 19, items 6 and 7), offscreen.

The live state comes from the real core: the virtual subject's measured-looking streams
(tests/support/sim_trials.py) pushed into HingeCore a camera frame at a time, the way the runner does, and
into the real LiveView the dashboard peeks at (the core's live read-outs, the hip ring, the reps). Truth: the
subject's exact hip path, from which the test finds when the hips start back (inhale) and when they leave
the bottom (exhale), and where the wall stands in the hip plot.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from station.core.hinge_core import HingeCore
from station.dashboard.app import MainWindow
from station.dashboard.breathing import BreathingCue
from station.trial.live import LiveView
from tests.support.sim_trials import measured

FPS = 30.0
ONSET_TOL_S = 0.3  # detector smoothing (~40 ms), its 15 mm entry / 5 mm turn levels on 3 mm noise, a frame


def _live_snapshots(subject: VirtualSubject, config: StationConfig, until_s: float | None = None):
    """Yield (t_s, LiveSnapshot) a camera frame at a time: the real core's live values and reps in a
    LiveView."""
    force, markers = measured(subject, seed=4, fps=FPS)
    core = HingeCore(config)
    view = LiveView(config.dashboard.window_s, config.plate.rate_hz, FPS)
    end = until_s if until_s is not None else float(markers.t_s[-1])
    prev = -np.inf
    for k, t in enumerate(markers.t_s):
        if t > end:
            break
        f = force.between(prev, t, include_end=True)
        core.push_force(f)
        core.push_markers(markers.between(prev, t, include_end=True))
        prev = t
        fz = f.cells_n.sum(axis=1)
        view.force.push(np.column_stack([f.t_s, fz, np.full((len(fz), 3), np.nan)]))
        view.push_hip(np.array([[t, *markers.positions["hip"][k]]]))
        view.set_core_values(core.live)
        for rep in core.poll():
            view.receive(rep)
        yield float(t), view.snapshot(float(t), True, {}, "calibrated")


def _true_onsets(subject: VirtualSubject) -> list[tuple[float, float]]:
    """Per rep: (hips 30 mm behind standing: the inhale's level; hips 15 mm forward of their deepest: the
    exhale's, breathing.py)."""
    t = np.arange(0.0, subject.duration_s, 0.001)
    x = subject.markers(t)["hip"][:, 0]
    back = x[t <= subject.truth.standing_end_s].mean() - x
    out = []
    for rep in subject.truth.reps:
        sel = np.flatnonzero((t >= rep.t_start - 1.0) & (t <= rep.t_end))
        enter = sel[np.argmax(back[sel] > 0.030)]
        deepest = sel[np.argmax(back[sel])]
        after = np.flatnonzero((t > t[deepest]) & (back < back[deepest] - 0.015))
        out.append((float(t[enter]), float(t[after[0]])))
    return out


@pytest.mark.parametrize("pattern", ["hinge", "pause"])  # pause: a 1.3-1.7 s hold at the bottom
def test_breathing_cue_follows_the_live_phase(pattern):
    subject = VirtualSubject(pattern, reps=3, seed=2)
    shown: list[str] = []
    cue = BreathingCue(shown.append, tone=None, enabled=True)
    for _, snap in _live_snapshots(subject, StationConfig()):
        cue.update(snap)
    cued = [(t, w) for t, w in cue.changes if w]
    truth = _true_onsets(subject)
    # one inhale and one exhale per rep, in that order: no flicker while holding the bottom
    assert [w for _, w in cued] == ["inhale", "exhale"] * len(truth), cue.changes
    for (t_in, _), (t_out, _), (true_in, true_up) in zip(cued[::2], cued[1::2], truth, strict=True):
        assert abs(t_in - true_in) <= ONSET_TOL_S, (t_in, true_in)
        assert abs(t_out - true_up) <= ONSET_TOL_S, (t_out, true_up)
    assert shown[-1] == ""  # standing after the last rep: the word is cleared


def _window(qtbot, wall_mm: float | None, breathing: bool) -> MainWindow:
    config = StationConfig()
    config.feet.wall_mm = wall_mm
    config.cues.breathing = breathing
    window = MainWindow(config, None, ask_calibration=False)
    qtbot.addWidget(window)
    window.timer.stop()  # redrawn by the test, one snapshot at a time
    window.show()
    return window


def _play(window: MainWindow, subject: VirtualSubject, until_s: float | None = None,
          stop_when=None) -> None:
    for _, snap in _live_snapshots(subject, window.config, until_s):
        window.current_snapshot = lambda snap=snap: snap  # what the controller's peek would hand over
        window.redraw()
        if stop_when is not None and stop_when(snap):
            return


def test_wall_out_of_reach_becomes_the_target_and_breathing_shows_in_the_coach_view(qtbot, artifacts_dir):
    subject = VirtualSubject("hinge", reps=2, seed=2)
    wall_mm = 150.0  # the hinge takes the hip ~100-112 mm behind the heel line: 40-50 mm short
    window = _window(qtbot, wall_mm, breathing=True)
    assert window.panel.wall.value() == wall_mm and window.panel.breathing.isChecked()
    assert not window.hip_plot.target.isVisible()  # no hip yet: the wall cannot be placed in the plot
    assert window.breathing.tone.mode == "none"  # offscreen: visual only, and nothing crashed

    def descending(snap) -> bool:
        return bool(snap.reps) and getattr(snap.live["value"], "phase", "") == "descent" \
            and snap.live["value"].hip_back_m > 0.08

    _play(window, subject, stop_when=descending)  # stop in rep 2's descent, rep 1 in the table
    assert window.coach.breath.isVisibleTo(window.coach) and window.coach.breath.text() == "INHALE \u2193"
    # the wall in the hip plot: where the true standing hip puts a wall 150 mm behind the heel line
    t = np.arange(0.0, subject.truth.standing_end_s, 0.001)
    x0 = subject.markers(t)["hip"][:, 0].mean()
    expected_mm = (x0 - (subject.config.feet.heel_x_m - wall_mm / 1000.0)) * 1000.0
    assert window.hip_plot.target.value() == pytest.approx(expected_mm, abs=5.0)
    assert window.wall.shade.isVisible() and window.hip_plot.target.isVisible()
    rows = window.table.rows()
    assert len(rows) == 1 and rows[0]["wall"].endswith(" short")
    short = float(rows[0]["wall"].split()[0])
    assert 25.0 <= short <= 65.0
    assert "wall" in window.coach.wall.text() and "last rep:" in window.coach.wall.text()
    # out of reach: the target cue never fired (the standing-relative 150 mm target would have, ~200 mm back)
    assert window.cues.counts["target"] == 0
    window.grab().save(str(artifacts_dir / "dashboard_wall_live.png"))
    window.tabs.setCurrentWidget(window.coach)
    qtbot.wait(50)
    window.grab().save(str(artifacts_dir / "dashboard_breathing_coach.png"))


def test_a_reachable_wall_cues_each_rep_and_off_restores_the_standing_target(qtbot):
    subject = VirtualSubject("hinge", reps=2, seed=2)
    window = _window(qtbot, 60.0, breathing=False)
    _play(window, subject)
    rows = window.table.rows()
    assert len(rows) == 2 and [r["wall"] for r in rows] == ["reached", "reached"]
    assert window.cues.counts["target"] == 2  # once per rep, at the wall
    assert not window.coach.breath.isVisibleTo(window.coach) and window.breathing.changes == []
    window.panel.wall.setValue(0.0)  # "off"
    assert window.panel.wall.text() == "off"
    assert window.config.feet.wall_mm is None and window.hip_plot.target.value() == 150.0
    assert window.cues.target_mm == 150.0 and not window.wall.shade.isVisible()
    assert window.hip_plot.target.isVisible()
    window.panel.wall.setValue(220.0)  # for the next recording; the one running keeps its own
    assert window.config.feet.wall_mm == 220.0
