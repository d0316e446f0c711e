"""The virtual dowel on the dashboard's image, from a hand-built snapshot (no devices): the line, the contact
points and the gap labels in mm where `live["dowel"]` says; the not-measured reason; nothing when the key is
absent or the "show virtual dowel" box is off."""

from __future__ import annotations

import numpy as np

from station.config import StationConfig
from station.dashboard.app import MainWindow
from station.trial.live import LiveSnapshot

H, W = 480, 848


def _snap(live: dict, frame_number: int = 1) -> LiveSnapshot:
    ir = np.full((H, W), 90, np.uint8)
    return LiveSnapshot(elapsed_s=5.0, running=True, force=np.zeros((0, 5)), hip=np.zeros((0, 4)),
                        hip_back_m=np.zeros(0), hip_down_m=np.zeros(0), ir=ir, depth=None,
                        frame_number=frame_number, marker_pixels={"hip": (400.0, 250.0)}, reps=[], stats={},
                        calibration_status="calibrated", warnings=[], live=live)


OVERLAY = {"line": ((300.0, 260.0), (520.0, 120.0)),
           "contacts": {"sacrum": (305.0, 262.0), "upper_back": (430.0, 190.0), "head": (515.0, 118.0)},
           "feet": {"upper_back": (420.0, 183.0)}, "dorsal": (-0.54, -0.84),
           "gaps_mm": {"sacrum": 0.0, "upper_back": 31.4, "head": 0.0}, "contour": [], "reason": None}


def _window(qtbot) -> MainWindow:
    window = MainWindow(StationConfig(), None, ask_calibration=False)
    window.timer.stop()  # the test drives update_from itself
    qtbot.addWidget(window)
    window.show()
    return window


def test_dowel_line_contacts_and_gaps_drawn_where_the_snapshot_says(qtbot, artifacts_dir):
    window = _window(qtbot)
    dowel = window.image.dowel
    window.image.update_from(_snap({"dowel": dict(OVERLAY)}))
    assert dowel.line.isVisible() and dowel.contacts.isVisible()
    x, y = dowel.line.getData()
    np.testing.assert_allclose(np.column_stack([x, y]), OVERLAY["line"])
    shown = sorted(tuple(p) for p in np.column_stack(dowel.contacts.getData()))
    assert shown == sorted(OVERLAY["contacts"].values())
    gx, gy = dowel.gap_lines.getData()  # the upper back's gap: contact to its foot on the dowel
    np.testing.assert_allclose(np.column_stack([gx, gy]), [(430.0, 190.0), (420.0, 183.0)])
    texts = dowel.label_texts()
    assert texts == {"sacrum": "sacrum 0 mm", "upper_back": "upper back 31 mm", "head": "head 0 mm"}
    label = dowel.labels["upper_back"].pos()  # off the back, on the dorsal side of its contact
    assert label.x() < 430.0 and label.y() < 190.0
    window.grab().save(str(artifacts_dir / "dashboard_dowel_overlay.png"))

    # the runner's shape (station.dowel.step.live_dict): the overlay one level down, same drawing
    window.image.update_from(_snap({"dowel": {"t_s": 5.0, "gap_mm": {"upper_back": 31.4}, "reason": None,
                                              "overlay": {**OVERLAY, "gaps_mm": {"upper_back": 12.0}}}}, 2))
    assert dowel.label_texts() == {"upper_back": "upper back 12 mm"} and dowel.line.isVisible()

    # not measured: the reason, no line
    window.image.update_from(_snap({"dowel": {**OVERLAY, "reason": "hands cover the back"}}, 3))
    assert not dowel.line.isVisible() and not dowel.contacts.isVisible()
    assert dowel.label_texts() == {"reason": "dowel: not measured \u2014 hands cover the back"}

    # no dowel read-out in the snapshot: nothing drawn
    window.image.update_from(_snap({}, 4))
    assert dowel.label_texts() == {} and not dowel.line.isVisible()


def test_show_virtual_dowel_box_hides_and_restores_it(qtbot):
    window = _window(qtbot)
    dowel = window.image.dowel
    snap = _snap({"dowel": dict(OVERLAY)})
    window.panel.dowel_view.setChecked(False)
    window.image.update_from(snap)
    assert not dowel.line.isVisible() and dowel.label_texts() == {}
    window.panel.dowel_view.setChecked(True)
    window.image.update_from(snap)
    assert dowel.line.isVisible() and "upper_back" in dowel.label_texts()
