"""Per-rep table: times, metrics, faults and PASS/FAIL (coloured and written, so it reads without colour)."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from station.results import RepResult
from station.screening.wall import wall_cell

# (header, attribute, format); None attribute = computed in _cells
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("#", "index", "{:d}"),
    ("start s", "t_start", "{:.2f}"),
    ("bottom s", "t_bottom", "{:.2f}"),
    ("end s", "t_end", "{:.2f}"),
    ("back mm", "hip_back_mm", "{:.0f}"),
    ("drop mm", "hip_drop_mm", "{:.0f}"),
    ("ratio", "hinge_ratio", "{:.1f}"),
    ("knee \u00b0", "knee_flexion_deg", "{:.0f}"),
    ("trunk \u00b0", "trunk_inclination_deg", "{:.0f}"),
    ("foot_pos", "foot_pos_bottom", "{:.2f}"),
    ("heel %", "heel_load_pct", "{:.0f}"),
    ("hold s", "bottom_hold_s", "{:.1f}"),
    ("neck \u00b0", "neck_extension_deg", "{:.0f}"),
    ("lockout \u00b0", "lockout_trunk_deg", "{:.0f}"),
    ("lockout mm", "lockout_hip_back_mm", "{:.0f}"),
    ("break \u00b0", "form_break_trunk_deg", "{:.0f}"),
    ("hip/knee", "hip_knee_ratio", "{:.2f}"),  # the step tap-down (issue 19 item 8)
    ("snap m/s", "hip_snap_mps", "{:.2f}"),  # the kettlebell swing's hip snap and peak force
    ("peak BW", "peak_fz_bw", "{:.2f}"),
    ("wall", "reached_target", "{}"),  # the wall drill: reached / N short / - (wall_text)
    ("faults", "faults", "{}"),
    ("verdict", "passed", "{}"),
)
PASS_BG, FAIL_BG = QtGui.QColor(170, 235, 170), QtGui.QColor(250, 165, 165)


def verdict_text(rep: RepResult) -> str:
    """PASS / FAIL; "PASS…" while the lockout is still to come (it may still add lean back or incomplete
    lockout: a coach sees that it is not final)."""
    if not rep.passed:
        return "FAIL"
    return "PASS…" if rep.lockout_pending else "PASS"


def fault_text(rep: RepResult) -> str:
    return ", ".join(f.replace("_", " ") for f in rep.faults)


def form_text(rep: RepResult) -> str:
    """Lockout, neck, bottom hold and where the dowel lost a contact, in a line ('' when none known)."""
    parts = []
    if rep.lockout_trunk_deg is not None:
        parts.append(f"lockout {rep.lockout_trunk_deg:.0f}\u00b0")
    elif rep.lockout_pending:
        parts.append("lockout\u2026")
    if rep.neck_extension_deg is not None:
        parts.append(f"neck {rep.neck_extension_deg:+.0f}\u00b0")
    if rep.bottom_hold_s is not None:
        parts.append(f"hold {rep.bottom_hold_s:.1f} s")
    if rep.form_break_trunk_deg is not None:
        parts.append(f"usable to {rep.form_break_trunk_deg:.0f}\u00b0")
    if rep.hip_knee_ratio is not None:  # the step tap-down; the swing's snap and peak force
        parts.append(f"hip/knee {rep.hip_knee_ratio:.2f}")
    if rep.hip_snap_mps is not None:
        parts.append(f"snap {rep.hip_snap_mps:.2f} m/s")
    if rep.peak_fz_bw is not None:
        parts.append(f"peak {rep.peak_fz_bw:.2f} BW")
    return "  \u00b7  ".join(parts)


def wall_text(rep: RepResult) -> str:
    """The wall drill's verdict in a cell: 'reached', '35 short', or '-' without a wall (core.target)."""
    return wall_cell(rep, "-")


def _cells(rep: RepResult, number: int) -> list[str]:
    out = []
    for _, attr, fmt in COLUMNS:
        value = getattr(rep, attr)
        if attr == "index":  # the rep's number in this trial (core indices are not all 0- or 1-based)
            out.append(str(number))
        elif attr == "faults":
            out.append(fault_text(rep) or "-")
        elif attr == "passed":
            out.append(verdict_text(rep))
        elif attr == "reached_target":
            out.append(wall_text(rep))
        else:
            out.append("-" if value is None else fmt.format(value))
    return out


class RepTable(QtWidgets.QTableWidget):
    """One row per rep, appended as the core emits them (rows never rewritten while live)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index(("faults", "faults", "{}")),
                                    QtWidgets.QHeaderView.ResizeMode.Stretch)
        font = self.font()
        font.setPointSize(11)
        self.setFont(font)
        self._shown: list[RepResult] = []

    def update_from(self, reps: list[RepResult]) -> None:
        if reps == self._shown:
            return
        if reps[:len(self._shown)] != self._shown:  # a different trial (new recording, replay seek back)
            self.setRowCount(0)
            self._shown = []
        for rep in reps[len(self._shown):]:
            self._append(rep)
        self._shown = list(reps)
        self.scrollToBottom()

    def _append(self, rep: RepResult) -> None:
        row = self.rowCount()
        self.insertRow(row)
        colour = PASS_BG if rep.passed else FAIL_BG
        for col, text in enumerate(_cells(rep, row + 1)):
            item = QtWidgets.QTableWidgetItem(text)
            if COLUMNS[col][1] in ("passed", "faults"):
                item.setBackground(colour)
            if COLUMNS[col][1] == "passed":
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.setItem(row, col, item)

    def rows(self) -> list[dict[str, str]]:
        """The table as shown (header -> text per row): what tests and exports read."""
        return [{COLUMNS[c][0]: self.item(r, c).text() for c in range(self.columnCount())}
                for r in range(self.rowCount())]
