"""Replay of a recorded trial: the same views, fed from the file around a slider time.

ReplayFeed (no Qt) turns a loaded RecordedTrial into LiveSnapshots at any time t; ReplayBar is the time
slider with play / pause at real pace. The file is read off the GUI thread (`load_in_background`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from station.recording.reader import RecordedTrial, read_trial
from station.trial.live import LiveSnapshot


class ReplayFeed:
    """Snapshots of a recorded trial at `position_s` (the slider), `window_s` of history each."""

    def __init__(self, trial: RecordedTrial, window_s: float = 10.0) -> None:
        self.trial = trial
        self.window_s = window_s
        self.position_s = 0.0
        n = min(len(trial.force.t_s), len(trial.fz_n))
        self._force = np.column_stack([trial.force.t_s[:n], trial.fz_n[:n], trial.cop_xy_m[:n],
                                       trial.foot_pos[:n]]) if n else np.zeros((0, 5))
        self._cells = trial.force.cells_n[:n]
        rear = trial.config.plate.rear_channels
        total = self._cells.sum(axis=1) if n else np.zeros(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self._heel_pct = 100.0 * self._cells[:, rear].sum(axis=1) / total if n else np.zeros(0)
        mt = trial.markers.t_s
        hip = trial.markers.positions.get("hip", np.full((len(mt), 3), np.nan))
        self._hip = np.column_stack([mt, hip]) if len(mt) else np.zeros((0, 4))
        valid = self._hip[np.isfinite(self._hip[:, 1])]
        first = valid[valid[:, 0] <= valid[0, 0] + 1.0] if len(valid) else valid
        # same baseline rule as the live view: median of the first second of valid hip
        self._baseline = np.median(first[:, 1:], axis=0) if len(first) else np.full(3, np.nan)
        self._pixels = trial.marker_pixels
        counts = trial.metadata.get("counts") or {}
        self._stats = {k: counts.get(k, 0) for k in ("plate_lost", "camera_dropped")}
        if trial.metadata.get("markers_method") == "markerless (estimated)":  # said as live (status panel)
            from station.markerless.labels import SOURCE_LABEL, expected_error_text

            self._stats["markers_method"] = f"{SOURCE_LABEL}: {expected_error_text()}"
        self.start_s = float(min([a[0] for a in (self._force[:, 0], mt) if len(a)] or [0.0]))
        self.duration_s = trial.duration_s

    def seek(self, t_s: float) -> None:
        self.position_s = float(np.clip(t_s, self.start_s, self.duration_s))

    def snapshot(self) -> LiveSnapshot:
        t = self.position_s
        lo = t - self.window_s
        f = self._force
        i0, i1 = np.searchsorted(f[:, 0], [lo, t], side="right")
        h = self._hip
        j0, j1 = np.searchsorted(h[:, 0], [lo, t], side="right")
        hip = h[j0:j1]
        pixels = {}
        if j1 > 0:
            for name, px in self._pixels.items():
                pixels[name] = (float(px[j1 - 1, 0]), float(px[j1 - 1, 1]))
        live = {"heel_load_pct": float(self._heel_pct[i1 - 1]) if i1 > 0 else None}
        if len(hip):
            live["hip_back_m"] = float(-(hip[-1, 1] - self._baseline[0]))
        warnings = list(self.trial.warnings)
        warnings += [e["text"] for e in self.trial.events if not e["t_s"] > t]  # NaN: no time, always
        return LiveSnapshot(
            elapsed_s=t, running=False, force=f[i0:i1], hip=hip,
            hip_back_m=-(hip[:, 1] - self._baseline[0]), hip_down_m=-(hip[:, 3] - self._baseline[2]),
            ir=None, depth=None, frame_number=None, marker_pixels=pixels,
            reps=[r for r in self.trial.reps if r.t_end <= t], stats=dict(self._stats),
            calibration_status=str(self.trial.calibration.get("status", "unknown")),
            warnings=warnings, live=live)


def load_in_background(path: str | Path, window_s: float, done: list) -> threading.Thread:
    """Read the trial on a helper thread; `done` receives a ReplayFeed or the error text."""

    def run() -> None:
        try:
            done.append(ReplayFeed(read_trial(path), window_s))
        except Exception as exc:  # StationError names the file; anything else is shown too
            done.append(str(exc))

    thread = threading.Thread(target=run, name="dashboard-replay-load", daemon=True)
    thread.start()
    return thread


class ReplayBar(QtWidgets.QWidget):
    """Time slider (10 ms steps) and play/pause at real pace; `feed` follows the slider."""

    STEP_S = 0.01

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed: ReplayFeed | None = None
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self._on_slider)
        self.time_label = QtWidgets.QLabel("-")
        self.time_label.setMinimumWidth(130)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QtWidgets.QLabel("Replay"))
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)
        self._play_wall0 = 0.0
        self._play_t0 = 0.0

    def set_feed(self, feed: ReplayFeed) -> None:
        self.feed = feed
        self.slider.setRange(int(feed.start_s / self.STEP_S), int(feed.duration_s / self.STEP_S))
        self.slider.setValue(self.slider.maximum())
        self._on_slider(self.slider.value())

    def set_time(self, t_s: float) -> None:
        self.slider.setValue(int(round(t_s / self.STEP_S)))

    def advance(self) -> None:
        """Called by the redraw timer: move the slider at real pace while playing."""
        if self.feed is None or not self.play_button.isChecked():
            return
        t = self._play_t0 + (time.monotonic() - self._play_wall0)
        if t >= self.feed.duration_s:
            self.play_button.setChecked(False)
            t = self.feed.duration_s
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(t / self.STEP_S)))
        self.slider.blockSignals(False)
        self._seek(t)

    def _on_play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing and self.feed is not None:
            if self.feed.position_s >= self.feed.duration_s - 0.05:
                self.feed.seek(self.feed.start_s)
            self._play_wall0, self._play_t0 = time.monotonic(), self.feed.position_s

    def _on_slider(self, value: int) -> None:
        t = value * self.STEP_S
        if self.play_button.isChecked():
            self._play_wall0, self._play_t0 = time.monotonic(), t
        self._seek(t)

    def _seek(self, t_s: float) -> None:
        if self.feed is not None:
            self.feed.seek(t_s)
            self.time_label.setText(f"{self.feed.position_s:6.2f} / {self.feed.duration_s:.2f} s")
