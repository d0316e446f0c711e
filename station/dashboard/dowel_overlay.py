"""The virtual dowel drawn on the camera image from `snapshot.live["dowel"]`: station.dowel.step.live_dict
(its "overlay" is DowelFrame.overlay(): line, contacts, feet, dorsal, gaps_mm, reason, in image pixels of
the shown frame) or that overlay dict itself."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

DOWEL_COLOUR = (255, 140, 0)
LABEL_OFFSET_PX = 28.0  # gap labels sit this far off the back, on the dorsal side


def _uv(point: Sequence[float] | None) -> tuple[float, float] | None:
    """(u, v) as floats, or None when missing or not finite."""
    try:
        u, v = float(point[0]), float(point[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    return (u, v) if math.isfinite(u) and math.isfinite(v) else None


def _show(item: pg.GraphicsObject, on: bool) -> None:
    if item.isVisible() != on:  # a visibility flip repaints: only on change
        item.setVisible(on)


def _set_text(item: pg.TextItem, text: str) -> None:
    if item.textItem.toPlainText() != text:  # re-laying out text is the costly part
        item.setText(text)


def cache_text(item: pg.TextItem) -> pg.TextItem:
    """Paint the text as a cached pixmap: laying out and rasterising glyphs on every redraw was a large part
    of the image panel's paint; the cache is redrawn only when the text (not its position) changes."""
    item.textItem.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return item


class DowelOverlay:
    """Graphics items added to a ViewBox once; update(overlay) shows/moves them (hidden when absent)."""

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self.line = pg.PlotCurveItem(pen=pg.mkPen(DOWEL_COLOUR, width=3))
        self.gap_lines = pg.PlotCurveItem(pen=pg.mkPen(DOWEL_COLOUR, width=1), connect="pairs")
        self.contacts = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(*DOWEL_COLOUR), pen=pg.mkPen("k"))
        self.reason = cache_text(pg.TextItem("", color=DOWEL_COLOUR, anchor=(0, 1), fill=(0, 0, 0, 160)))
        for item in (self.line, self.gap_lines, self.contacts, self.reason):
            item.setZValue(20)
            view.addItem(item)
        self.labels: dict[str, pg.TextItem] = {}
        self._last: object = None
        self.enabled = True
        self.set_visible(False)

    def set_visible(self, on: bool) -> None:
        for item in (self.line, self.gap_lines, self.contacts, self.reason, *self.labels.values()):
            _show(item, on)

    def label_texts(self) -> dict[str, str]:
        """What is written on the image now (region -> text; "reason" -> the not-measured text)."""
        out = {k: lab.textItem.toPlainText() for k, lab in self.labels.items() if lab.isVisible()}
        if self.reason.isVisible():
            out["reason"] = self.reason.textItem.toPlainText()
        return out

    def update(self, overlay: dict | None, image_h_px: float) -> None:
        """Draw `overlay` (None or disabled: draw nothing). Items are touched only when it changed."""
        if not self.enabled or not overlay:
            self._last = None
            self.set_visible(False)
            return
        if overlay is self._last:  # the runner hands a new dict per measured frame
            return
        self._last = overlay
        if isinstance(overlay.get("overlay"), dict):  # live_dict: the drawing is one level down
            overlay = {"reason": overlay.get("reason"), **overlay["overlay"]}
        reason = overlay.get("reason")
        if reason:
            self.set_visible(False)
            _set_text(self.reason, f"dowel: not measured \u2014 {reason}")
            self.reason.setPos(8, image_h_px - 8)
            _show(self.reason, True)
            return
        _show(self.reason, False)
        ends = [p for p in (_uv(q) for q in (overlay.get("line") or ())) if p is not None]
        if len(ends) == 2:
            xy = np.array(ends)
            self.line.setData(xy[:, 0], xy[:, 1])
        _show(self.line, len(ends) == 2)
        contacts = {k: p for k, p in ((k, _uv(q)) for k, q in (overlay.get("contacts") or {}).items()) if p}
        if contacts:
            xy = np.array(list(contacts.values()))
            self.contacts.setData(xy[:, 0], xy[:, 1])
        _show(self.contacts, bool(contacts))
        feet = overlay.get("feet") or {}
        pairs = [(contacts[k], _uv(feet[k])) for k in contacts if k in feet and _uv(feet[k])]
        if pairs:
            xy = np.array([p for pair in pairs for p in pair])
            self.gap_lines.setData(xy[:, 0], xy[:, 1])
        _show(self.gap_lines, bool(pairs))
        dorsal = _uv(overlay.get("dorsal")) or (0.0, 0.0)
        drawn = set()
        for region, gap_mm in (overlay.get("gaps_mm") or {}).items():
            at = contacts.get(region)
            if at is None or gap_mm is None or not math.isfinite(float(gap_mm)):
                continue
            label = self.labels.get(region)
            if label is None:
                label = pg.TextItem("", color=DOWEL_COLOUR, anchor=(0.5, 0.5), fill=(0, 0, 0, 160))
                cache_text(label)
                label.setZValue(21)
                self.view.addItem(label)
                self.labels[region] = label
            _set_text(label, f"{region.replace('_', ' ')} {float(gap_mm):.0f} mm")
            label.setPos(at[0] + LABEL_OFFSET_PX * dorsal[0], at[1] + LABEL_OFFSET_PX * dorsal[1])
            _show(label, True)
            drawn.add(region)
        for region, label in self.labels.items():
            if region not in drawn:
                _show(label, False)
