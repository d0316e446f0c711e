"""A few fixed-size dots (markers, "now") as plain QGraphicsEllipseItems.

pyqtgraph's ScatterPlotItem does ~0.4 ms of Python per setData and again per paint even for 1-4 points;
an ellipse that ignores the view's scaling is painted by Qt alone and moved with setPos.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets


class Dots:
    """`size_px` dots added to `view` (a ViewBox or PlotItem); setData places, colours and shows them."""

    def __init__(self, view: pg.ViewBox | pg.PlotItem, size_px: float, pen: QtGui.QPen,
                 brush: QtGui.QBrush, z: float = 10.0) -> None:
        self.view, self.size_px, self.pen, self.brush, self.z = view, float(size_px), pen, brush, z
        self.items: list[QtWidgets.QGraphicsEllipseItem] = []
        self._xy = np.zeros((0, 2))

    def setData(self, xs: Sequence[float], ys: Sequence[float],  # noqa: N802 (pyqtgraph's name)
                brush: Sequence[QtGui.QBrush] | None = None) -> None:
        n = len(xs)
        while len(self.items) < n:
            r = self.size_px / 2
            item = QtWidgets.QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
            item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            item.setPen(self.pen)
            item.setBrush(self.brush)
            item.setZValue(self.z)
            self.view.addItem(item)
            self.items.append(item)
        for i, item in enumerate(self.items):
            on = i < n
            if on:
                item.setPos(float(xs[i]), float(ys[i]))
                if brush is not None and item.brush() != brush[i]:
                    item.setBrush(brush[i])
            if item.isVisible() != on:
                item.setVisible(on)
        self._xy = np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]) if n else np.zeros((0, 2))

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph's name)
        return self._xy[:, 0], self._xy[:, 1]
