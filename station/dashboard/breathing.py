"""The breathing cue (issue 19, item 6): "Inhale as you hinge forward, exhale as you return".

Timed to the live state the core already publishes (core.hinge_core.LiveValues): its `phase` (the rep
detector's "standing" or in an excursion) and `hip_back_m` (the hips' smoothed travel back from standing):

- inhale once the hips are INHALE_MIN_BACK_M back in an excursion (the detector opens one at 15 mm, which a
  weight shift or fidget reaches too: those never cue);
- exhale once they have come EXHALE_DROP_M forward of the deepest point of this excursion: the detector's own
  "ascent" turns at 5 mm, which 3 mm marker noise crosses while the subject holds the bottom (measured on the
  simulator: an exhale 0.9 s early, then an inhale again); 15 mm is past that and ~0.1 s into a real rise;
- nothing while standing. One inhale and one exhale per excursion: a re-dip on the way up stays "exhale".

Shown as a word with an arrow in the coach view; a short tone on each change (tone.py: silent where no sound
can be made). Nothing here measures: it reads the snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from station.trial.live import LiveSnapshot

from .status import live_value
from .tone import Tone

INHALE_MIN_BACK_M = 0.03  # the station's rep_min_amplitude_m: smaller excursions are never reps
EXHALE_DROP_M = 0.015  # forward of the excursion's deepest point: the way up has begun


def live_phase(snap: LiveSnapshot) -> tuple[str | None, float]:
    """(phase, core time s) from the snapshot's core read-outs; (None, nan) when the core published none."""
    value = snap.live.get("value")
    phase = getattr(value, "phase", None)
    t_s = getattr(value, "t_s", math.nan)
    return (phase if isinstance(phase, str) else None), float(t_s) if t_s is not None else math.nan


class BreathingCue:
    """update(snap) on every redraw; show(word) gets "inhale", "exhale" or "" (clear) on each change."""

    def __init__(self, show: Callable[[str], None], tone: Tone | None = None, *,
                 enabled: bool = False, min_back_m: float = INHALE_MIN_BACK_M) -> None:
        self._show = show
        self.tone = tone
        self.enabled = enabled
        self.min_back_m = min_back_m
        self.current = ""
        self.changes: list[tuple[float, str]] = []  # (core time s, cue): what was cued when (tests, status)
        self._deepest_m = -math.inf  # this excursion's deepest hip travel since the inhale

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        if not on and self.current:
            self.current = ""
            self._show("")

    def update(self, snap: LiveSnapshot) -> None:
        if not self.enabled:
            return
        phase, t_s = live_phase(snap)
        back_m = live_value(snap, "hip_back_m")
        if phase is None or not math.isfinite(t_s):
            return
        word = self.current
        if phase == "standing":
            word = ""
        elif back_m is not None:
            if self.current == "":
                word = "inhale" if back_m >= self.min_back_m else ""
                self._deepest_m = back_m
            elif self.current == "inhale":
                self._deepest_m = max(self._deepest_m, back_m)
                if back_m < self._deepest_m - EXHALE_DROP_M:
                    word = "exhale"
        if word == self.current:
            return
        self.current = word
        self.changes.append((t_s, word))
        self._show(word)
        if word and self.tone is not None:
            self.tone.play(word)
