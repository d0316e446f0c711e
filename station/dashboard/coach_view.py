"""Large-type coach view, readable across a room (~5 m): reps, last verdict, hip travel, heel/toe weight;
under the verdict, in smaller type, the last rep's lockout, neck, bottom hold and usable range.

Cap height of 72 pt type is ~18 mm on a 24" 1080p screen; the usual legibility rule (1 mm of letter
per ~0.3 m of distance... ~17 mm at 5 m) puts the numbers just inside it; the labels are the small part.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from station.dashboard.rep_table import fault_text, form_text, verdict_text
from station.dashboard.status import live_value
from station.trial.live import LiveSnapshot

BG = "#101010"
FG = "#f5f5f5"
PASS_FG, FAIL_FG = "#38e038", "#ff4a4a"
FLASH_BG = {"target": "#0b5d1e", "fault": "#7a0f0f"}
BREATH_WORDS = {"inhale": "INHALE \u2193", "exhale": "EXHALE \u2191"}  # arrows: hinging down, coming up
BREATH_FG = {"inhale": "#7fd4ff", "exhale": "#ffc04d"}


def _big(pt: int, bold: bool = True) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel("-")
    font = label.font()
    font.setPointSize(pt)
    font.setBold(bold)
    label.setFont(font)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    return label


class CoachView(QtWidgets.QFrame):
    """Four big read-outs on a dark background; flash() colours the background for a cue."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("coach")
        self.reps = _big(96)
        self.verdict = _big(64)
        self.faults = _big(28, bold=False)
        self.form = _big(22, bold=False)
        self.travel = _big(56)
        self.weight = _big(56)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(24, 12, 24, 12)
        for col, (title, widget) in enumerate((("REPS", self.reps), ("LAST REP", self.verdict))):
            grid.addWidget(_big(22, bold=False), 0, col)
            grid.itemAtPosition(0, col).widget().setText(title)
            grid.addWidget(widget, 1, col)
        grid.addWidget(self.faults, 2, 1)
        grid.addWidget(self.form, 2, 0)
        bottom = (("HIPS BACK", self.travel), ("WEIGHT HEEL / TOE", self.weight))
        for col, (title, widget) in enumerate(bottom):
            grid.addWidget(_big(22, bold=False), 3, col)
            grid.itemAtPosition(3, col).widget().setText(title)
            grid.addWidget(widget, 4, col)
        # issue 19: the breathing cue (breathing.py) and the wall drill (wall_view.py), hidden while unused
        self.breath = _big(64)
        self.wall = _big(28, bold=False)
        grid.addWidget(self.wall, 5, 0)
        grid.addWidget(self.breath, 5, 1)
        for label in (self.breath, self.wall):
            label.setText("")
            label.setVisible(False)
        self._flash_until = 0.0
        self._flash_kind = ""
        self._apply_bg(BG)

    def _apply_bg(self, colour: str) -> None:
        self.setStyleSheet(f"QFrame#coach {{ background: {colour}; }} QLabel {{ color: {FG}; }}")

    @staticmethod
    def _style(widget: QtWidgets.QWidget, sheet: str) -> None:
        if widget.styleSheet() != sheet:  # re-styling is costly; only on change
            widget.setStyleSheet(sheet)

    def show_breath(self, word: str) -> None:
        """'inhale' (sky blue, arrow down), 'exhale' (amber, arrow up) or '' (hidden)."""
        self.breath.setText(BREATH_WORDS.get(word, ""))
        self._style(self.breath, f"color: {BREATH_FG.get(word, FG)};")
        self.breath.setVisible(bool(word))

    def show_wall(self, text: str) -> None:
        if text != self.wall.text():
            self.wall.setText(text)
        self.wall.setVisible(bool(text))

    def flash(self, kind: str, now_s: float, duration_s: float = 0.6) -> None:
        self._flash_kind, self._flash_until = kind, now_s + duration_s
        self._apply_bg(FLASH_BG.get(kind, BG))

    def update_from(self, snap: LiveSnapshot, now_s: float) -> None:
        if self._flash_kind and now_s >= self._flash_until:
            self._flash_kind = ""
            self._apply_bg(BG)
        self.reps.setText(str(len(snap.reps)))
        if snap.reps:
            last = snap.reps[-1]
            ok = last.passed
            self.verdict.setText(verdict_text(last))
            self._style(self.verdict, f"color: {PASS_FG if ok else FAIL_FG};")
            self.faults.setText(fault_text(last) if not ok else "good hinge")
            self.form.setText(form_text(last))
        else:
            self.verdict.setText("-")
            self._style(self.verdict, "")
            self.faults.setText("")
            self.form.setText("")
        back_m = live_value(snap, "hip_back_m")
        if back_m is None and len(snap.hip_back_m):
            back_m = float(snap.hip_back_m[-1])
        self.travel.setText("-" if back_m is None or back_m != back_m else f"{1000 * back_m:.0f} mm")
        heel = live_value(snap, "heel_load_pct")
        self.weight.setText("-" if heel is None else f"{heel:.0f}% / {100 - heel:.0f}%")
