"""Operator panel: record/stop, subject and drill, calibration and device status, cue and view switches."""

from __future__ import annotations

from PySide6 import QtWidgets

from station.screening.drills import DRILLS
from station.trial.live import LiveSnapshot

from .status import calibration_text, device_status_text


def _bold(label: QtWidgets.QLabel, pt: int = 11) -> QtWidgets.QLabel:
    font = label.font()
    font.setPointSize(pt)
    font.setBold(True)
    label.setFont(font)
    return label


class ControlPanel(QtWidgets.QWidget):
    """Widgets only; MainWindow connects them to the controller."""

    def __init__(self, target_mm: float, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(270)
        self.setMaximumWidth(340)
        form = QtWidgets.QVBoxLayout(self)
        self.record_button = QtWidgets.QPushButton("\u25cf Record")
        self.record_button.setCheckable(True)
        self.record_button.setMinimumHeight(44)
        _bold(self.record_button, 13)  # type: ignore[arg-type]
        self.subject = QtWidgets.QLineEdit("S01")
        self.drill = QtWidgets.QComboBox()
        for drill in DRILLS.values():
            self.drill.addItem(drill.name, drill.id)
        self.recording_label = QtWidgets.QLabel("not recording")
        self.recording_label.setWordWrap(True)
        self.calibration_label = _bold(QtWidgets.QLabel("-"))
        self.calibration_label.setWordWrap(True)
        self.status_label = QtWidgets.QLabel("-")
        self.status_label.setStyleSheet("font-family: monospace;")
        self.status_label.setWordWrap(True)
        self.visual_cues = QtWidgets.QCheckBox("visual cues")
        self.visual_cues.setChecked(True)
        self.audible_cues = QtWidgets.QCheckBox("audible cues (beep)")
        self.depth_view = QtWidgets.QCheckBox("show depth instead of IR")
        self.dowel_view = QtWidgets.QCheckBox("show virtual dowel")
        self.dowel_view.setChecked(True)
        self.target = QtWidgets.QDoubleSpinBox()
        self.target.setRange(20.0, 500.0)
        self.target.setSingleStep(10.0)
        self.target.setSuffix(" mm")
        self.target.setDecimals(0)
        self.target.setValue(target_mm)
        # issue 19: the wall drill's wall (0 = off: the standing-relative target) and the breathing cue
        self.wall = QtWidgets.QDoubleSpinBox()
        self.wall.setRange(0.0, 1000.0)
        self.wall.setSingleStep(10.0)
        self.wall.setDecimals(0)
        self.wall.setSuffix(" mm")
        self.wall.setSpecialValueText("off")
        self.wall.setToolTip("Wall drill: a wall this far behind the heel line (mm); the hip target becomes "
                             "it. A recording keeps the wall it started with.")
        self.breathing = QtWidgets.QCheckBox("breathing cue (inhale / exhale)")
        self.open_replay = QtWidgets.QPushButton("Open trial for replay\u2026")

        who = QtWidgets.QFormLayout()
        who.addRow("Subject", self.subject)
        who.addRow("Drill", self.drill)
        who.addRow("Hip target", self.target)
        who.addRow("Wall behind heels", self.wall)
        for widget in (self.record_button, self.recording_label):
            form.addWidget(widget)
        form.addLayout(who)
        form.addWidget(self._title("Calibration"))
        form.addWidget(self.calibration_label)
        form.addWidget(self._title("Devices"))
        form.addWidget(self.status_label)
        form.addWidget(self._title("Cues and view"))
        toggles = (self.visual_cues, self.audible_cues, self.breathing, self.depth_view, self.dowel_view)
        for widget in (*toggles, self.open_replay):
            form.addWidget(widget)
        form.addStretch(1)

    @staticmethod
    def _title(text: str) -> QtWidgets.QLabel:
        return _bold(QtWidgets.QLabel(text), 12)

    def drill_id(self) -> str:
        return str(self.drill.currentData())

    def set_drill(self, drill_id: str) -> None:
        index = self.drill.findData(drill_id)
        if index >= 0:
            self.drill.setCurrentIndex(index)

    def update_from(self, snap: LiveSnapshot | None, *, recording_text: str) -> None:
        self.recording_label.setText(recording_text)
        if snap is None:
            return
        text, ok = calibration_text(snap.calibration_status)
        self.calibration_label.setText(text)
        sheet = "color: #0a6b0a;" if ok else "color: white; background: #c05000; padding: 3px;"
        if self.calibration_label.styleSheet() != sheet:  # re-styling is costly; only on change
            self.calibration_label.setStyleSheet(sheet)
        self.status_label.setText(device_status_text(snap))
