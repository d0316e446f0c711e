"""The camera's IR (or colour-mapped depth) image with the markers, their names and the hip's path."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from station.privacy.faces import FaceMasker, other_markers
from station.trial.live import LiveSnapshot

from .dots import Dots
from .dowel_overlay import DowelOverlay, cache_text

MARKER_COLOURS = {"hip": (255, 60, 60), "knee": (255, 200, 0), "ankle": (0, 200, 255),
                  "shoulder": (120, 255, 120), "head": (220, 120, 255)}
DEPTH_RANGE_MM = (500.0, 4000.0)  # depth colour scale (device units: mm at the default scale)
TRAIL_FRAMES = 90
DISPLAY_STEP = 2  # show every 2nd pixel of a wide frame (drawn at sensor size)


class ImageView(pg.GraphicsLayoutWidget):
    """IR / depth image updated with setImage(autoLevels=False); markers drawn in image pixels."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(360, 220)
        self.setBackground("k")
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.trail = pg.PlotCurveItem(pen=pg.mkPen((255, 60, 60), width=2))
        self.view.addItem(self.trail)
        self.markers = Dots(self.view, 12, pg.mkPen("k", width=1), pg.mkBrush(255, 255, 255))
        self.labels: dict[str, pg.TextItem] = {}
        self.message = pg.TextItem("waiting for the camera", color=(230, 230, 230), anchor=(0, 0))
        self.message.setPos(8, 8)
        self.view.addItem(self.message)
        self.dowel = DowelOverlay(self.view)
        self.show_depth = False
        self._brushes = {name: pg.mkBrush(*c) for name, c in MARKER_COLOURS.items()}
        self._white = pg.mkBrush(255, 255, 255)
        self._pixels_shown: dict[str, tuple[float, float]] | None = None
        self._trail: deque[tuple[float, float]] = deque(maxlen=TRAIL_FRAMES)
        self._last_frame: int | None = None
        self._shape: tuple[int, int] | None = None
        self._depth_lut = pg.colormap.get("turbo").getLookupTable(nPts=256)
        self.faces: FaceMasker | None = None  # set when this picture is saved (dashboard --screenshot)

    def set_show_depth(self, on: bool) -> None:
        self.show_depth = on
        self._last_frame = None  # redraw the current frame in the other mode

    def set_show_dowel(self, on: bool) -> None:
        self.dowel.enabled = on
        self.dowel.update(None, 0.0)  # hide now; the next redraw draws it again if on

    def update_from(self, snap: LiveSnapshot) -> None:
        img = snap.depth if self.show_depth else snap.ir
        self.dowel.update(snap.live.get("dowel") if img is not None else None,
                          float(img.shape[0]) if img is not None else 0.0)
        if img is None:
            self.message.setText("no camera frames" if snap.ir is None else "no depth in this frame")
            self.message.setVisible(True)
            if snap.frame_number is None and not snap.running:
                self.image.clear()
            self._draw_markers(snap.marker_pixels)
            return
        self.message.setVisible(False)
        if snap.frame_number == self._last_frame:
            return
        self._last_frame = snap.frame_number
        if self.faces is not None:  # the picture is saved: the head masked (station.privacy.faces)
            ir, depth, _ = self.faces.apply(snap.ir, snap.depth, snap.marker_pixels.get("head"),
                                            other_markers(snap.marker_pixels))
            img = depth if self.show_depth else ir
        full_h, full_w = img.shape[:2]
        step = DISPLAY_STEP if full_w > 640 else 1
        img = img[::step, ::step]  # the panel is narrower than the sensor: half the pixels to colour
        if self.show_depth:
            self.image.setImage(img, autoLevels=False, levels=DEPTH_RANGE_MM, lut=self._depth_lut)
        else:
            top = float(np.iinfo(img.dtype).max) if img.dtype.kind == "u" else 1.0
            self.image.setImage(img, autoLevels=False, levels=(0, top), lut=None)
        self.image.setRect(QtCore.QRectF(0, 0, full_w, full_h))  # markers stay in sensor pixels
        if self._shape != (full_h, full_w):
            self._shape = (full_h, full_w)
            self.view.setRange(xRange=(0, full_w), yRange=(0, full_h), padding=0)
        self._draw_markers(snap.marker_pixels)

    def _draw_markers(self, pixels: dict[str, tuple[float, float]]) -> None:
        if pixels == self._pixels_shown:  # a redraw without a new frame: nothing moved
            return
        self._pixels_shown = dict(pixels)
        us, vs, brushes = [], [], []
        for name, (u, v) in pixels.items():
            label = self.labels.get(name)
            if label is None:
                colour = MARKER_COLOURS.get(name, (255, 255, 255))
                label = pg.TextItem(name, color=colour, anchor=(-0.15, 0.5))
                font = label.textItem.font()
                font.setPointSize(11)
                font.setBold(True)
                label.setFont(font)
                cache_text(label)
                self.view.addItem(label)
                self.labels[name] = label
            ok = bool(np.isfinite(u) and np.isfinite(v))
            label.setVisible(ok)
            if ok:
                label.setPos(u, v)
                us.append(u)
                vs.append(v)
                brushes.append(self._brushes.get(name, self._white))
        self.markers.setData(us, vs, brush=brushes)
        hip = pixels.get("hip")
        if hip is not None and np.isfinite(hip[0]):
            if not self._trail or self._trail[-1] != hip:
                self._trail.append(hip)
                xy = np.array(self._trail)
                self.trail.setData(xy[:, 0], xy[:, 1])
