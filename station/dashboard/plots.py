"""Live plots: the hip's sagittal path against the target "wall", foot_pos with its band, and Fz.

Pattern 9 of ARCHITECTURE: one PlotDataItem per curve updated with setData from the snapshot's fixed
buffers, peak downsampling and clip-to-view so 10 s of 1 kHz stays cheap.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from station.config import StationConfig
from station.live import LiveSnapshot

AXIS_FONT_PT = 11


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


def _fast(item: pg.PlotDataItem) -> pg.PlotDataItem:
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


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
        self.path = plot.plot(pen=pg.mkPen((80, 80, 255), width=2))
        self.now = pg.ScatterPlotItem(size=16, brush=pg.mkBrush(230, 40, 40), pen=pg.mkPen("k"))
        plot.addItem(self.now)
        self.set_target_mm(config.dashboard.hip_back_target_mm)

    def set_target_mm(self, mm: float) -> None:
        self.target_mm = float(mm)
        self.target.setValue(self.target_mm)
        self.target.label.setFormat(f"target {self.target_mm:.0f} mm")

    def update_from(self, snap: LiveSnapshot) -> None:
        back, down = 1000 * snap.hip_back_m, 1000 * snap.hip_down_m
        self.path.setData(back, down, connect="finite")
        ok = np.isfinite(back) & np.isfinite(down)
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
        self.foot_curve = _fast(self.foot.plot(pen=pg.mkPen((20, 20, 160), width=1)))
        self.fz = self.addPlot(row=1, col=0)
        _style(self.fz, "Vertical force Fz", "Fz (N)", "time (s)")
        self.fz.setXLink(self.foot)
        self.fz_curve = _fast(self.fz.plot(pen=pg.mkPen((60, 60, 60), width=1)))
        self.fz.enableAutoRange(axis="y")

    def update_from(self, snap: LiveSnapshot) -> None:
        f = snap.force
        t_now = snap.elapsed_s  # live: the trial clock; replay: the slider
        if len(f):
            self.foot_curve.setData(f[:, 0], f[:, 4], connect="finite")
            self.fz_curve.setData(f[:, 0], f[:, 1])
        else:
            self.foot_curve.setData([], [])
            self.fz_curve.setData([], [])
        self.foot.setXRange(t_now - self.window_s, t_now, padding=0)

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.foot.getViewBox().viewRange()[0]
        return float(lo), float(hi)
