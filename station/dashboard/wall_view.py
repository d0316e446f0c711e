"""The wall drill on the dashboard (issue 19, item 7): the hip path's target becomes a wall the coach sets
(mm behind the heel line), the coach view says how far the hips are from it, the target cue fires at it.

Geometry (station.core.target): the wall stands at plate x = heel_x_m - wall_mm / 1000. The hip path plot
draws hip travel back from the live view's standing baseline, so the wall is drawn at (baseline x - wall
x) there; the per-rep verdicts (reached_target, target_short_mm) come from the core, never from here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg

from station.config import StationConfig
from station.core.target import wall_x_m
from station.trial.live import LiveSnapshot

from .coach_view import CoachView
from .cues import CueEngine
from .plots import HipPathPlot
from .rep_table import wall_text
from .status import live_value

WALL_BRUSH = (120, 120, 120, 90)  # the wall's side of the line, shaded like a wall in the picture


def with_wall(config: StationConfig, wall_mm: float | None) -> StationConfig:
    """A new config with this wall (the running trial keeps the object it started with, so its file's
    wall_mm and its reps agree; the next recording or preview takes this one)."""
    return dataclasses.replace(config, feet=dataclasses.replace(config.feet, wall_mm=wall_mm))


class WallTarget:
    """Owns the wall's picture: the hip plot's target line and a shaded wall beyond it, the coach view's wall
    line, the target cue's level. Without a wall everything is as before (the standing-relative target)."""

    def __init__(self, hip_plot: HipPathPlot, coach: CoachView, cues: CueEngine,
                 config: StationConfig) -> None:
        self.hip_plot, self.coach, self.cues = hip_plot, coach, cues
        self.heel_x_m = config.feet.heel_x_m
        self.standing_target_mm = config.dashboard.hip_back_target_mm
        self.wall_mm: float | None = None
        self.plot_mm: float | None = None  # where the wall is drawn in the hip plot (mm back), None: unknown
        self.shade = pg.LinearRegionItem(values=(0.0, 1.0), orientation="vertical", movable=False,
                                         brush=pg.mkBrush(*WALL_BRUSH), pen=pg.mkPen(None))
        self.shade.setZValue(-10)
        self.shade.setVisible(False)
        hip_plot.getPlotItem().addItem(self.shade)
        self.set_wall_mm(config.feet.wall_mm)

    def set_wall_mm(self, wall_mm: float | None) -> None:
        self.wall_mm = wall_mm
        self.plot_mm = None
        self.shade.setVisible(False)
        # with a wall the line waits for the first hip data to be placed (the plot's x is from standing)
        self.hip_plot.target.setVisible(wall_mm is None)
        if wall_mm is None:
            self.hip_plot.set_target_mm(self.standing_target_mm)
            self.cues.target_mm = self.standing_target_mm
            self.coach.show_wall("")
        else:
            self.hip_plot.target.label.setFormat(f"wall {wall_mm:.0f} mm behind heels")

    def update(self, snap: LiveSnapshot) -> None:
        if self.wall_mm is None:
            return
        x_wall = wall_x_m(self.heel_x_m, self.wall_mm)
        self._draw(snap, x_wall)
        # the cue compares the core's hip_back_m with target_mm: put the target at the wall in that same frame
        value = snap.live.get("value")
        hip_m = getattr(value, "hip_m", None)
        back_m = live_value(snap, "hip_back_m")
        hip_x = float(hip_m[0]) if hip_m is not None else math.nan
        if back_m is not None and math.isfinite(hip_x):
            self.cues.target_mm = (hip_x + back_m - x_wall) * 1000.0
        elif self.plot_mm is not None:
            self.cues.target_mm = self.plot_mm
        self.coach.show_wall(self._coach_words(snap, hip_x, x_wall))

    def _draw(self, snap: LiveSnapshot, x_wall: float) -> None:
        rows = snap.hip
        ok = np.isfinite(rows[:, 1]) & np.isfinite(snap.hip_back_m) if len(rows) else np.zeros(0, bool)
        if not ok.any():
            return
        baseline_x = float(np.median(rows[ok, 1] + snap.hip_back_m[ok]))  # the live view's standing place
        plot_mm = (baseline_x - x_wall) * 1000.0
        if self.plot_mm is not None and abs(plot_mm - self.plot_mm) < 0.5:
            return  # unchanged: re-placing the items costs a repaint
        self.plot_mm = plot_mm
        self.hip_plot.target_mm = plot_mm
        self.hip_plot.target.setValue(plot_mm)
        self.shade.setRegion((plot_mm, plot_mm + 1000.0))
        self.shade.setVisible(True)
        self.hip_plot.target.setVisible(True)
        x_lo, x_hi = self.hip_plot.getPlotItem().viewRange()[0]
        if plot_mm + 30.0 > x_hi:  # a far wall stays in view
            self.hip_plot.getPlotItem().setXRange(x_lo, plot_mm + 50.0, padding=0)

    def _coach_words(self, snap: LiveSnapshot, hip_x: float, x_wall: float) -> str:
        if not math.isfinite(hip_x) and len(snap.hip):
            hip_x = float(snap.hip[-1, 1])
        now = "" if not math.isfinite(hip_x) else (
            "AT THE WALL" if hip_x <= x_wall else f"wall {(hip_x - x_wall) * 1000.0:.0f} mm away")
        last = ""
        if snap.reps and getattr(snap.reps[-1], "reached_target", None) is not None:
            last = f"last rep: {wall_text(snap.reps[-1]).replace('reached', 'reached it')}"
        return "  \u00b7  ".join(p for p in (now, last) if p)
