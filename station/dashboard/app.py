"""MainWindow: the live views redrawn on a QTimer from the controller's (or replay's) snapshot.

The GUI thread never reads a device or a file and never computes metrics: it peeks a LiveSnapshot
(a copy of fixed ring buffers) every `redraw_ms` and hands it to the views.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from station.config import StationConfig
from station.errors import StationError
from station.trial.live import LiveSnapshot

from .breathing import BreathingCue
from .coach_view import CoachView
from .controller import LiveController
from .controls import ControlPanel
from .cues import CueEngine
from .image_view import ImageView
from .plots import ForcePlots, HipPathPlot
from .rep_table import RepTable
from .replay import ReplayBar, ReplayFeed, load_in_background
from .status import device_problems, live_value
from .tone import Tone
from .wall_view import WallTarget, with_wall

GUI_CPU_MAX = 0.48  # of one core; above it the redraw period grows (issue goal: GUI thread < 50%)
SHORTEN_MARGIN = 0.96  # shorten the period only when the predicted CPU is this far under the cap (no flap)
MAX_REDRAW_MS = 150


class MainWindow(QtWidgets.QMainWindow):
    """Tabs "Live" (image, plots, table) and "Coach" (large type); a replay bar when replaying.

    ask_calibration: starting a recording without a plate calibration asks (a dialog) when True; when
    False it records on nominal gains, marked as such in the panel and the file.
    """

    def __init__(self, config: StationConfig, controller: LiveController | None = None, *,
                 ask_calibration: bool = True, subject_id: str = "S01", drill_id: str = "bw_rdl") -> None:
        super().__init__()
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        self.config = config
        self.controller = controller
        self.ask_calibration = ask_calibration
        self.replay: ReplayFeed | None = None
        self._replay_loading: list = []
        self.redraws = 0
        self.gui_cpu_frac = 0.0  # GUI thread CPU / wall over the last second
        self._pace_ref: tuple[float, float] | None = None
        self.setWindowTitle("Hip-hinge station")
        self.resize(1500, 900)

        self.banner = QtWidgets.QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #c00000; color: white; font-size: 14pt; font-weight: bold;"
                                  " padding: 6px;")
        self.banner.setVisible(False)
        self.image = ImageView()
        self.hip_plot = HipPathPlot(config)
        self.force_plots = ForcePlots(config)
        self.table = RepTable()
        self.coach = CoachView()
        self.panel = ControlPanel(config.dashboard.hip_back_target_mm)
        self.panel.subject.setText(subject_id)
        self.panel.set_drill(drill_id)
        self.replay_bar = ReplayBar()
        self.replay_bar.setVisible(False)
        self.cues = CueEngine(config.dashboard.hip_back_target_mm,
                              lambda kind: self.coach.flash(kind, time.monotonic()))
        # issue 19: the wall drill (the target becomes a wall) and the breathing cue
        self.wall = WallTarget(self.hip_plot, self.coach, self.cues, config)
        self.panel.wall.setValue(config.feet.wall_mm or 0.0)
        self.breathing = BreathingCue(self.coach.show_breath, Tone(), enabled=config.cues.breathing)
        self.panel.breathing.setChecked(config.cues.breathing)
        for view in (self.image, self.hip_plot, self.force_plots):
            # items move every redraw: keeping a BSP index of them up to date costs more than it saves
            view.scene().setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        self._build_layout()
        self._connect()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.redraw)
        self.timer.start(int(config.dashboard.redraw_ms))

    # ---- layout ---------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        live = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(live)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.addWidget(self.image, 0, 0)
        grid.addWidget(self.hip_plot, 0, 1)
        grid.addWidget(self.force_plots, 1, 0, 1, 2)
        grid.addWidget(self.table, 2, 0, 1, 2)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 5)
        grid.setRowStretch(2, 3)
        grid.setColumnStretch(0, 5)
        grid.setColumnStretch(1, 4)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(live, "Live")
        self.tabs.addTab(self.coach, "Coach view")
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.tabs, 1)
        body.addWidget(self.panel)
        central = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.banner)
        outer.addLayout(body, 1)
        outer.addWidget(self.replay_bar)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        p = self.panel
        p.record_button.clicked.connect(self._on_record_clicked)
        p.visual_cues.toggled.connect(lambda on: setattr(self.cues, "visual_on", on))
        p.audible_cues.toggled.connect(lambda on: setattr(self.cues, "audible_on", on))
        p.depth_view.toggled.connect(self.image.set_show_depth)
        p.dowel_view.toggled.connect(self.image.set_show_dowel)
        p.target.valueChanged.connect(self._on_target)
        p.wall.valueChanged.connect(self._on_wall)
        p.breathing.toggled.connect(self.breathing.set_enabled)
        p.open_replay.clicked.connect(self._on_open_replay)
        p.record_button.setEnabled(self.controller is not None)

    # ---- actions --------------------------------------------------------------------------------
    def _on_target(self, mm: float) -> None:
        self.wall.standing_target_mm = mm
        if self.wall.wall_mm is None:  # with a wall set, the wall is the target (wall_view)
            self.hip_plot.set_target_mm(mm)
            self.cues.target_mm = mm

    def _on_wall(self, mm: float) -> None:
        wall = float(mm) if mm > 0 else None  # 0 shows "off"
        self.wall.set_wall_mm(wall)
        self.config = with_wall(self.config, wall)
        if self.controller is not None:  # from the next recording (a running one keeps its own wall)
            self.controller.config = with_wall(self.controller.config, wall)

    def _on_record_clicked(self, checked: bool) -> None:
        if checked:
            self.start_recording()
        else:
            self.stop_recording()

    def start_recording(self) -> bool:
        """Record to recordings/<subject>_<drill>_<time>.h5; without calibration ask (or mark defaults)."""
        c = self.controller
        if c is None or c.recording:
            return False
        if not c.calibrated and self.ask_calibration:
            answer = QtWidgets.QMessageBox.question(
                self, "No plate calibration",
                "The force plate has no calibration file.\n\nRecord on nominal gains (forces marked "
                "UNCALIBRATED in the file)?\nChoose No to calibrate first (hinge-station calibrate plate).")
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                self._set_record_checked(False)
                return False
        try:
            c.start_recording(self.panel.subject.text().strip() or "unknown", self.panel.drill_id())
        except StationError as exc:
            self._set_record_checked(False)
            self._show_banner([str(exc)])
            return False
        self.table.update_from([])
        self.cues.reset()
        self._set_record_checked(True)
        return True

    def stop_recording(self) -> None:
        if self.controller is not None and self.controller.recording:
            self.controller.stop_recording()
        self._set_record_checked(False)

    def _set_record_checked(self, on: bool) -> None:
        b = self.panel.record_button
        b.blockSignals(True)
        b.setChecked(on)
        b.setText("\u25a0 Stop" if on else "\u25cf Record")
        b.setStyleSheet("background: #c00000; color: white;" if on else "")
        b.blockSignals(False)

    def _on_open_replay(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open trial", "recordings", "Trials (*.h5)")
        if path:
            self.open_replay(path)

    def open_replay(self, path: str) -> None:
        """Load a trial (off the GUI thread); the views switch to it when it has been read."""
        self._replay_loading = []
        load_in_background(path, self.config.dashboard.window_s, self._replay_loading)

    # ---- redraw ---------------------------------------------------------------------------------
    def current_snapshot(self) -> LiveSnapshot | None:
        if self.replay is not None:
            return self.replay.snapshot()
        return self.controller.snapshot() if self.controller is not None else None

    def _pace(self) -> None:
        """Keep the GUI thread under GUI_CPU_MAX of a core: acquisition and the core share the GIL and
        the CPU with it, and starving them costs frames (and reps) for a prettier plot."""
        now_wall, now_cpu = time.monotonic(), time.thread_time()
        if self._pace_ref is not None:
            wall = now_wall - self._pace_ref[0]
            if wall >= 1.0:
                self.gui_cpu_frac = (now_cpu - self._pace_ref[1]) / wall
                base = int(self.config.dashboard.redraw_ms)
                interval = self.timer.interval()
                shorter = max(base, int(interval / 1.3))
                if self.gui_cpu_frac > GUI_CPU_MAX:
                    interval = min(MAX_REDRAW_MS, int(interval * 1.3) + 1)
                elif self.gui_cpu_frac * interval / shorter < SHORTEN_MARGIN * GUI_CPU_MAX:  # predicted
                    interval = shorter
                if interval != self.timer.interval():
                    self.timer.setInterval(interval)
                self._pace_ref = (now_wall, now_cpu)
        else:
            self._pace_ref = (now_wall, now_cpu)

    def redraw(self) -> None:
        self.redraws += 1
        self._pace()
        self._poll_replay_loading()
        self.replay_bar.advance()
        snap = self.current_snapshot()
        c = self.controller
        problems = [] if snap is None or self.replay is not None else device_problems(
            snap, expect_plate=bool(c and c.expect_plate), expect_camera=bool(c and c.expect_camera))
        if self.replay is not None and snap is not None:
            problems = snap.warnings
        if c is not None and c.error:
            problems = [c.error, *problems]
        self._show_banner(problems)
        self.panel.update_from(snap, recording_text=self._recording_text())
        if snap is None:
            return
        now = time.monotonic()
        self.image.update_from(snap)
        self.hip_plot.update_from(snap)
        self.force_plots.update_from(snap)
        self.table.update_from(snap.reps)
        self.coach.update_from(snap, now)
        back = live_value(snap, "hip_back_m")
        if back is None and len(snap.hip_back_m):
            back = float(snap.hip_back_m[-1])
        self.wall.update(snap)  # before the cues: it moves their target to the wall
        self.breathing.update(snap)
        if self.replay is None or self.replay_bar.play_button.isChecked():
            self.cues.update(snap, back)

    def _poll_replay_loading(self) -> None:
        if not self._replay_loading:
            return
        result = self._replay_loading.pop()
        if isinstance(result, str):
            self._show_banner([result])
            return
        self.replay = result
        recorded_wall = result.trial.metadata.get("wall_mm")  # a wall-drill trial shows its own wall
        if isinstance(recorded_wall, float) and recorded_wall == recorded_wall:
            self.panel.wall.setValue(recorded_wall)
        self.replay_bar.set_feed(result)
        self.replay_bar.setVisible(True)
        self.cues.reset()
        self.setWindowTitle(f"Hip-hinge station \u2014 replay of {result.trial.path.name}")

    def _recording_text(self) -> str:
        c = self.controller
        if self.replay is not None:
            return f"replaying {self.replay.trial.path.name}"
        if c is None:
            return "no devices"
        if c.busy:
            return "switching sources\u2026"
        if c.recording:
            return f"RECORDING \u2192 {c.recording_path}"
        done = c.last_summary.get("file") if c.last_summary else None
        return "live preview (not recording)" + (f"\nlast file: {done}" if done else "")

    def _show_banner(self, problems: list[str]) -> None:
        text = "\n".join(f"\u26a0 {p}" for p in problems[-3:])
        if text != self.banner.text():
            self.banner.setText(text)
        self.banner.setVisible(bool(problems))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.timer.stop()
        if self.controller is not None:
            self.controller.shutdown()
        super().closeEvent(event)
