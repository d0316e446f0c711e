"""The dashboard's read-out of a six-component plate's shear and free moment, and of a mocap stream; a
four-cell plate says it measures no shear."""

from __future__ import annotations

import numpy as np

from station.dashboard.status import device_status_text, shear_text
from station.trial.documents import PlateData
from station.trial.live import LiveSnapshot, LiveView


def _snap(shear: np.ndarray | None, stats: dict | None = None) -> LiveSnapshot:
    return LiveSnapshot(elapsed_s=5.0, running=True, force=np.zeros((0, 5)), hip=np.zeros((0, 4)),
                        hip_back_m=np.zeros(0), hip_down_m=np.zeros(0), ir=None, depth=None,
                        frame_number=None, marker_pixels={}, reps=[], stats=stats or {},
                        calibration_status="calibrated", warnings=[], shear=shear)


def test_shear_line_from_the_live_view():
    view = LiveView(10.0, 1000.0, 30.0)
    t = np.arange(100) / 1000.0
    shear = np.column_stack([np.linspace(-80.0, 35.0, 100), np.full(100, -12.0)])
    doc = PlateData(None, [], t, t, np.zeros((100, 4)), np.full(100, 700.0), np.zeros((100, 2)),
                    np.full(100, 0.5), shear_n=shear, free_moment_nm=np.full(100, 1.25))
    view.receive(doc)
    snap = view.snapshot(1.0, True, {}, "calibrated")
    assert snap.shear is not None and snap.shear.shape == (100, 4)
    text = shear_text(snap)
    assert "Fx +35 N" in text and "Fy -12 N" in text and "+1.2 N·m" in text and "peak |Fx| 80 N" in text


def test_four_cell_plate_says_it_has_no_shear():
    assert "not measured (4-cell plate)" in shear_text(_snap(None))
    stats = {"plate": {"clock": {}}, "plate_rate_hz": 1000.0, "markers": {
        "rate_hz": 100.0, "lost": 2, "clock": {"source_clock": {"correction_s": -3.4e-5}}}}
    text = device_status_text(_snap(None, stats))
    assert "4-cell" in text and "Mocap 100 Hz  lost 2  LSL correction -0.03 ms" in text


def test_mocap_hip_fills_the_live_window_at_its_own_rate():
    from station.trial.documents import MarkerData, StreamInfo

    view = LiveView(10.0, 1000.0, 30.0)
    view.receive(StreamInfo("markers", 200.0, units="m (plate frame)"))
    t = np.arange(2000) / 200.0  # 10 s of mocap at 200 Hz
    hip = np.column_stack([0.05 - 0.1 * t / 10, np.zeros_like(t), 0.9 - 0.05 * t / 10])
    for i in range(0, 2000, 20):  # blocks as the runner hands them on
        view.receive(MarkerData(t[i:i + 20], t[i:i + 20], {"hip": hip[i:i + 20]}))
    snap = view.snapshot(10.0, True, {}, "calibrated")
    assert len(snap.hip) == 2000 and snap.hip[0, 0] == 0.0  # the whole window, not 376 camera-rate rows
    assert abs(snap.hip_back_m[-1] - 0.095) < 0.01
