"""Cues when the hips reach the target and when a rep has a fault: visual (coach view flash) and audible.

PySide6-Essentials has no QtMultimedia, so the audible cue is QApplication.beep() (the system bell;
one beep for the target, two for a fault). Both kinds can be switched off.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from station.trial.live import LiveSnapshot

HYSTERESIS_MM = 20.0  # the hips must come this far forward of the target before it can cue again
AMENDED_REPS = 2  # the last reps seen are looked at again: their lockout may have been judged since


class CueEngine:
    """Watches snapshots; calls visual(kind) and beeps on target reached / new faulty rep."""

    def __init__(self, target_mm: float, visual: Callable[[str], None]) -> None:
        self.target_mm = target_mm
        self.visual_on = True
        self.audible_on = False
        self._visual = visual
        self._armed = True
        self._reps_seen = 0
        self._fault_cued: set[int] = set()  # reps whose fault was cued (by index)
        self.counts = {"target": 0, "fault": 0}  # cues given (tests, status)

    def reset(self) -> None:
        self._armed, self._reps_seen = True, 0
        self._fault_cued.clear()

    def update(self, snap: LiveSnapshot, back_m: float | None) -> None:
        if len(snap.reps) < self._reps_seen:  # a new trial
            self._reps_seen = 0
            self._fault_cued.clear()
        if back_m is not None and not math.isnan(back_m):
            back_mm = 1000 * back_m
            if self._armed and back_mm >= self.target_mm:
                self._armed = False
                self._cue("target", beeps=1)
            elif back_mm < self.target_mm - HYSTERESIS_MM:
                self._armed = True
        for rep in snap.reps[max(0, self._reps_seen - AMENDED_REPS):]:
            # a rep given again once its lockout is judged may bring its first fault (lean back) then
            if rep.faults and rep.index not in self._fault_cued:
                self._fault_cued.add(rep.index)
                self._cue("fault", beeps=2)
        self._reps_seen = len(snap.reps)

    def _cue(self, kind: str, beeps: int) -> None:
        self.counts[kind] += 1
        if self.visual_on:
            self._visual(kind)
        if self.audible_on:
            QtWidgets.QApplication.beep()
            for k in range(1, beeps):
                QtCore.QTimer.singleShot(180 * k, QtWidgets.QApplication.beep)
