"""Live plots: the hip's sagittal path against the target "wall", foot_pos with its band, and Fz.

Pattern 9 of ARCHITECTURE: one PlotDataItem per curve updated with setData from the snapshot's fixed
buffers; the force curves are peak-decimated here to ~2 points per pixel column and the hip path thinned to
HIP_PATH_MAX_POINTS (decimate.py) so 10 s of 1 kHz force and 90 fps hip stay cheap to hand over and paint.

Profiled (bench/dashboard.py, cProfile): ~2/3 of a redraw was pyqtgraph re-painting axes, because an axis
with a grid covers its whole plot and is repainted whenever a curve under it changes, and a scrolling time
axis regenerates its ticks every frame. So the time axis is "seconds before now" (fixed -window..0, the
curves move, the axis does not), Fz's range moves in whole steps, and every axis is cached as a pixmap.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from station.config import StationConfig
from station.trial.live import LiveSnapshot

from .decimate import peak_decimate, thin_path
from .dots import Dots

AXIS_FONT_PT = 11
LEFT_AXIS_PX = 64
FZ_STEP_N = 200.0  # Fz's y range snaps to this so its axis is re-drawn only when the force leaves it
HIP_PATH_MAX_POINTS = 400  # 10 s at 90 fps -> every 3rd point: still smooth at hinge speeds, a third to paint


def _style(plot: pg.PlotItem, title: str, left: str, bottom: str) -> None:
    plot.setTitle(title, size="13pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.25)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        font = axis.label.font()
        font.setPointSize(AXIS_FONT_PT)
        axis.label.setFont(font)
        axis.setTickFont(font)
    for axis in plot.axes.values():  # static axes (and their grids) paint as one blit
        axis["item"].setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _curve(plot: pg.PlotItem, colour: tuple[int, int, int], width_px: int) -> pg.PlotCurveItem:
    """A bare PlotCurveItem: fed already decimated data, it needs none of PlotDataItem's per-setData work
    (its downsampling, clipping and symbol bookkeeping cost ~0.3 ms a curve per redraw)."""
    curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=width_px))
    plot.addItem(curve)
    return curve


class HipPathPlot(pg.PlotWidget):
    """Hip travel back (x) vs down (y, downwards) in mm, with the target line the drill asks to reach."""

    def __init__(self, config: StationConfig, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        plot = self.getPlotItem()
        _style(plot, "Hip path (sagittal)", "down (mm)", "back (mm)")
        plot.invertY(True)  # down is down on the screen
        plot.setXRange(-20, 300)
        plot.setYRange(-20, 200)
        self.target = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((0, 170, 0), width=3,
                                                                            style=pg.QtCore.Qt.PenStyle.DashLine),
                                      label="target", labelOpts={"position": 0.92, "color": (0, 130, 0)})
        plot.addItem(self.target)
        self.path = _curve(plot, (80, 80, 255), 2)
        self.now = Dots(plot, 16, pg.mkPen("k"), pg.mkBrush(230, 40, 40))
        self.set_target_mm(config.dashboard.hip_back_target_mm)
        self._shown: tuple | None = None

    def set_target_mm(self, mm: float) -> None:
        self.target_mm = float(mm)
        self.target.setValue(self.target_mm)
        self.target.label.setFormat(f"target {self.target_mm:.0f} mm")

    def update_from(self, snap: LiveSnapshot) -> None:
        h = snap.hip
        key = (len(h), float(h[-1, 0]) if len(h) else None, float(h[0, 0]) if len(h) else None)
        if key == self._shown:  # no new camera sample since the last redraw
            return
        self._shown = key
        back, down = 1000 * snap.hip_back_m, 1000 * snap.hip_down_m
        ok = np.isfinite(back) & np.isfinite(down)
        keep = thin_path(len(back), HIP_PATH_MAX_POINTS, ok)
        self.path.setData(back[keep], down[keep], connect="finite")
        if ok.any():
            i = np.flatnonzero(ok)[-1]
            self.now.setData([back[i]], [down[i]])


class ForcePlots(pg.GraphicsLayoutWidget):
    """foot_pos over time (heel 0 .. toe 1) with the acceptable band and threshold; Fz below it."""

    def __init__(self, config: StationConfig, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_s = config.dashboard.window_s
        threshold = config.thresholds.foot_pos_bottom_max
        self.foot = self.addPlot(row=0, col=0)
        _style(self.foot, "Weight along the foot (foot_pos)", "heel 0 \u2192 toe 1", "")
        self.foot.setYRange(-0.05, 1.05)
        band = pg.LinearRegionItem(values=(0.0, threshold), orientation="horizontal", movable=False,
                                   brush=pg.mkBrush(0, 180, 0, 40), pen=pg.mkPen(None))
        self.foot.addItem(band)
        self.threshold_line = pg.InfiniteLine(pos=threshold, angle=0, movable=False,
                                              pen=pg.mkPen((200, 0, 0), width=2),
                                              label=f"toe limit {threshold:.2f}",
                                              labelOpts={"position": 0.08, "color": (180, 0, 0)})
        self.foot.addItem(self.threshold_line)
        # >1 px pens paint slowly in the raster engine: the dense curves are 1 px
        self.foot_curve = _curve(self.foot, (20, 20, 160), 1)
        self.fz = self.addPlot(row=1, col=0)
        _style(self.fz, "Vertical force Fz", "Fz (N)", "time before now (s)")
        self.fz_curve = _curve(self.fz, (60, 60, 60), 1)
        for plot in (self.foot, self.fz):  # one fixed time range, and equal left axes so times line up
            plot.setXRange(-self.window_s, 0.0, padding=0)
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("left").setWidth(LEFT_AXIS_PX)
        self.fz.setYRange(0.0, 1000.0, padding=0)
        self._fz_range = (0.0, 1000.0)
        self._t_now_s = 0.0
        self._shown: tuple | None = None

    def update_from(self, snap: LiveSnapshot) -> None:
        f = snap.force
        t_now = snap.elapsed_s  # live: the trial clock; replay: the slider
        key = (t_now, len(f), float(f[-1, 0]) if len(f) else None)
        if key == self._shown:  # paused replay: nothing moved
            return
        self._shown = key
        self._t_now_s = t_now
        if len(f):
            bin_s = self.window_s / max(1.0, self.foot.getViewBox().width())  # one bin per pixel column
            t_foot, foot = peak_decimate(f[:, 0], f[:, 4], bin_s)
            t_fz, fz = peak_decimate(f[:, 0], f[:, 1], bin_s)
            self.foot_curve.setData(t_foot - t_now, foot, connect="finite")
            self.fz_curve.setData(t_fz - t_now, fz, connect="finite")
            self._fit_fz(f[:, 1])
        else:
            self.foot_curve.setData([], [])
            self.fz_curve.setData([], [])

    def _fit_fz(self, fz_n: np.ndarray) -> None:
        """Snap Fz's y range to FZ_STEP_N steps around the window's force (changes only when it leaves)."""
        ok = fz_n[np.isfinite(fz_n)]
        if not len(ok):
            return
        lo_n, hi_n = float(ok.min()), float(ok.max())
        cur_lo, cur_hi = self._fz_range
        if lo_n >= cur_lo and hi_n <= cur_hi and (cur_hi - cur_lo) <= 2 * (hi_n - lo_n) + 4 * FZ_STEP_N:
            return
        lo = FZ_STEP_N * math.floor(lo_n / FZ_STEP_N - 0.5)
        hi = FZ_STEP_N * math.ceil(hi_n / FZ_STEP_N + 0.5)
        self._fz_range = (lo, hi)
        self.fz.setYRange(lo, hi, padding=0)

    def x_range(self) -> tuple[float, float]:
        """The trial times on view (live: the last window_s; replay: the window ending at the slider)."""
        lo, hi = self.foot.getViewBox().viewRange()[0]
        return float(lo) + self._t_now_s, float(hi) + self._t_now_s
