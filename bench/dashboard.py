"""Dashboard redraw rate and GUI-thread CPU with 10 s windows of 1 kHz force and 90 fps 848x480 frames
(with the virtual dowel overlay) while recording. A worker thread feeds a LiveView at those rates (and
writes the force to a trial file, as a recording does); the window peeks it on its QTimer as it does live.

    QT_QPA_PLATFORM=offscreen /work/venv/bin/python bench/dashboard.py  -> bench/results/dashboard.json
Goal (issue 6): >= 30 redraws/s, GUI thread < 50% of one core.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6 import QtWidgets  # noqa: E402

from station.config import StationConfig  # noqa: E402
from station.dashboard.app import MainWindow  # noqa: E402
from station.recording.writer import TrialWriter  # noqa: E402
from station.results import RepResult  # noqa: E402
from station.trial.live import LiveSnapshot, LiveView  # noqa: E402

PLATE_HZ, CAMERA_FPS, W, H = 1000.0, 90.0, 848, 480
SECONDS = 12.0


def _dowel_live(back_m: float) -> dict:
    """station.dowel.step.live_dict's shape: the virtual dowel from the sacrum to the head."""
    sacrum, upper, head = (400 + 300 * back_m, 210.0), (450.0, 150.0), (500.0, 90.0)
    gap_mm = 30.0 * back_m
    overlay = {"line": (sacrum, head), "contacts": {"sacrum": sacrum, "upper_back": upper, "head": head},
               "feet": {"upper_back": (455.0, 145.0)}, "dorsal": (-0.6, -0.8),
               "gaps_mm": {"sacrum": 0.0, "upper_back": gap_mm, "head": 0.0}, "reason": None}
    return {"t_s": 0.0, "gap_mm": overlay["gaps_mm"], "reason": None, "overlay": overlay}


class SyntheticFeed:
    """Stands in for the controller: a worker pushes force/hip/frames into a LiveView in real time."""

    expect_plate = expect_camera = True
    error = None
    busy = False
    recording = True
    calibrated = True
    recording_path = Path("bench.h5")
    last_summary = None

    def __init__(self, writer: TrialWriter) -> None:
        self.state = LiveView(10.0, PLATE_HZ, CAMERA_FPS)
        self.writer = writer
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        rng = np.random.default_rng(0)
        self.frames = [rng.integers(0, 255, (H, W), dtype=np.uint8) for _ in range(8)]
        self.depth = rng.integers(800, 3000, (H, W), dtype=np.uint16)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> LiveSnapshot:
        el = time.monotonic() - self.t0
        stats = {"plate_rate_hz": PLATE_HZ, "camera_fps": CAMERA_FPS, "plate_lost": 0, "camera_dropped": 0,
                 "plate": {"clock": {"offset_s": 0.001, "drift_ppm": 3.0}},
                 "camera": {"clock": {"offset_s": 0}}}
        return self.state.snapshot(el, True, stats, "calibrated")

    def _run(self) -> None:
        sent_f = sent_c = 0
        while not self._stop.is_set():
            el = time.monotonic() - self.t0
            n_f = int(el * PLATE_HZ)
            if n_f > sent_f:
                t = np.arange(sent_f, n_f) / PLATE_HZ
                fz = 800 + 50 * np.sin(2 * np.pi * 0.25 * t)
                fp = 0.4 + 0.1 * np.sin(2 * np.pi * 0.25 * t)
                cop = np.column_stack([fp * 0.26 - 0.13, 0.01 * np.cos(t)])
                cells = np.repeat(fz[:, None] / 4, 4, axis=1)
                self.writer.append_force(t, fz, cop, fp, cells)
                self.writer.tick()
                with self.state.lock:
                    self.state.force.push(np.column_stack([t, fz, cop, fp]))
                sent_f = n_f
            n_c = int(el * CAMERA_FPS)
            for k in range(sent_c, n_c):
                tk = k / CAMERA_FPS
                back = 0.1 * (1 - np.cos(2 * np.pi * 0.25 * tk))
                with self.state.lock:
                    self.state.push_hip(np.array([[tk, -back, -0.18, 0.93 - 0.2 * back]]))
                    self.state.ir, self.state.depth = self.frames[k % len(self.frames)], self.depth
                    self.state.frame_number = k
                    self.state.marker_pixels = {"hip": (400 + 300 * back, 200.0), "knee": (420.0, 300.0),
                                                "ankle": (420.0, 400.0), "shoulder": (380.0, 120.0)}
                    self.state.live["dowel"] = _dowel_live(back)  # a new dict per frame, as the runner's
                    if k and k % int(4 * CAMERA_FPS) == 0:
                        i = len(self.state.reps)
                        self.state.reps.append(RepResult(i + 1, tk - 3, tk - 1.5, tk, hip_back_mm=200.0,
                                                         faults=["toe_shift"] if i % 2 else []))
            sent_c = max(sent_c, n_c)
            time.sleep(0.004)

    def shutdown(self) -> None:
        self._stop.set()
        self.thread.join()


def main() -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        writer = TrialWriter(Path(tmp) / "bench.h5", config=StationConfig())
        writer.start()
        feed = SyntheticFeed(writer)
        window = MainWindow(StationConfig(), feed, ask_calibration=False)  # type: ignore[arg-type]
        window.show()
        feed.thread.start()
        t_end = time.monotonic() + 2.0  # warm-up: buffers fill, first images
        while time.monotonic() < t_end:
            app.processEvents()
            time.sleep(0.002)
        redraws0, cpu0, wall0 = window.redraws, time.thread_time(), time.monotonic()
        while time.monotonic() - wall0 < SECONDS:
            app.processEvents()
            time.sleep(0.002)
        wall = time.monotonic() - wall0
        redraw_hz = (window.redraws - redraws0) / wall
        gui_cpu = (time.thread_time() - cpu0) / wall
        snap = feed.snapshot()
        interval_end_ms = window.timer.interval()  # the pacing's choice at the end
        feed.shutdown()
        writer.stop("bench")
        window.close()
    result = {"redraw_hz": round(redraw_hz, 1), "gui_thread_cpu_frac_of_core": round(gui_cpu, 3),
              "goal": {"redraw_hz_min": 30, "gui_thread_cpu_max": 0.5},
              "met": bool(redraw_hz >= 30 and gui_cpu < 0.5),
              "window_s": 10.0, "force_points_plotted": int(len(snap.force)),
              "hip_points": int(len(snap.hip)),
              "plate_hz": PLATE_HZ, "camera_fps": CAMERA_FPS, "image": f"{W}x{H}", "seconds": SECONDS,
              "timer_ms": StationConfig().dashboard.redraw_ms,
              "timer_ms_at_end": interval_end_ms, "platform": os.environ["QT_QPA_PLATFORM"],
              "load_avg_1min_before": round(load_before, 2), "load_avg_1min": round(os.getloadavg()[0], 2),
              "cpus": os.cpu_count(),
              "note": "GUI thread CPU = time.thread_time() of the GUI thread / wall; the machine is shared"}
    out = REPO / "bench" / "results" / "dashboard.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
