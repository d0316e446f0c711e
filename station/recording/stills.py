"""One camera still per rep: the IR + depth frame nearest the rep's bottom, kept for the report's picture.

Why: recordings keep no frames by default (docs/trial-format.md), yet the clinician's report wants the
deepest rep as the camera saw it, with the markers and the virtual dowel. A rep's result reaches the
runner < 0.1 s after its end, so the bottom is 1-3 s back: the runner keeps a short ring of recent
frames (by time, `span_s`; at most one frame per `step_s` to bound memory: 4 s at 15 frames/s of
848x480 IR u8 + depth u16 is ~73 MB) and, when a rep arrives, stores the ring's frame nearest
rep.t_bottom in the optional /stills group of the trial file (~1.2 MB raw, gzip-1 compressed).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import h5py
import numpy as np

from drivers.samples import CameraFrame
from station.dowel.frame import DowelFrame
from station.errors import StationError
from station.results import RepResult
from station.streams import MARKER_NAMES

OVERLAY_JSON_BYTES = 4096  # the dowel overlay without its contour (line, contacts, feet, gaps): < 1 kB
STILL_RING_S = 4.0
STILL_STEP_S = 1.0 / 15.0


@dataclass
class Still:
    """A camera frame at a rep's bottom. t_s: the frame's trial time; rep_t_bottom_s: the rep's bottom;
    marker_pixels: name -> (u, v) px in the IR image (NaN missing); overlay: DowelFrame.overlay() of this
    frame without "contour" (None when the dowel did not run on it)."""

    t_s: float
    frame_number: int
    ir: np.ndarray
    depth: np.ndarray | None
    marker_pixels: dict[str, tuple[float, float]]
    overlay: dict | None = None
    rep_index: int = -1
    rep_t_bottom_s: float = float("nan")
    extra: dict = field(default_factory=dict)


class StillRing:
    """The last `span_s` of frames, at most one per `step_s` (see the module docstring)."""

    def __init__(self, span_s: float = STILL_RING_S, step_s: float = STILL_STEP_S) -> None:
        self.span_s, self.step_s = float(span_s), float(step_s)
        self._ring: deque[Still] = deque()

    def __len__(self) -> int:
        return len(self._ring)

    def push(self, t_s: float, frame_number: int, ir: np.ndarray | None, depth: np.ndarray | None,
             pixels: dict[str, np.ndarray]) -> bool:
        """Keep this frame (True) unless it comes within 3/4 of a step of the last kept one or has no IR."""
        if ir is None or (self._ring and t_s - self._ring[-1].t_s < 0.75 * self.step_s):
            return False
        px = {k: (float(v[0]), float(v[1])) for k, v in pixels.items()}
        self._ring.append(Still(float(t_s), int(frame_number), ir, depth, px))
        while self._ring and t_s - self._ring[0].t_s > self.span_s:
            self._ring.popleft()
        return True

    def set_overlay(self, t_s: float, overlay: dict | None) -> None:
        """The dowel measured on the frame at t_s (only the newest kept frame can be it); overlay is
        DowelFrame.overlay(with_contour=False)."""
        if self._ring and self._ring[-1].t_s == float(t_s):
            self._ring[-1].overlay = overlay

    def nearest(self, t_s: float) -> Still | None:
        if not self._ring:
            return None
        return min(self._ring, key=lambda s: abs(s.t_s - t_s))


class StillSink(Protocol):
    """Where kept stills go (the trial writer)."""

    def append_still(self, still: Still) -> None: ...


class StillKeeper:
    """The runner's side: feed frames and dowel results, hand it reps; it writes one still per rep bottom."""

    def __init__(self, writer: StillSink | None, span_s: float = STILL_RING_S, step_s: float = STILL_STEP_S,
                 redact: Callable[[Still], Still] | None = None) -> None:
        """redact: makes the copy that is stored (the head masked, station.privacy.faces); the ring keeps
        the camera's own arrays, which the live measurement used."""
        self.writer = writer
        self.ring = StillRing(span_s, step_s)
        # the bottoms (s) already given a still; the stills themselves are in the file, not kept here (a
        # long trial's IR + depth copies grew ~8 MB/min)
        self.kept_bottoms_s: list[float] = []
        self._held: dict[int, Still] = {}  # rep index -> nearest frame of a rep whose lockout is pending
        self.redact = redact

    def _near(self, t_s: float) -> Still | None:
        """The ring's frame nearest t_s, if within a step (+0.1 s) of it."""
        near = self.ring.nearest(t_s)
        return near if near is not None and abs(near.t_s - t_s) <= self.ring.step_s + 0.1 else None

    def on_frame(self, t_s: float, frame: CameraFrame, pixels: dict[str, np.ndarray]) -> None:
        self.ring.push(t_s, frame.frame_number, frame.ir, frame.depth, pixels)

    def on_dowel(self, t_s: float, dowel_frame: DowelFrame) -> None:
        self.ring.set_overlay(t_s, dowel_frame.overlay(with_contour=False))

    def on_rep(self, rep: RepResult) -> Still | None:
        """Store the frame nearest rep.t_bottom, once per bottom (the final reps at stop repeat live ones).

        A live rep given before its lockout (rep.lockout_pending) is given again, same index, up to ~1 s
        later, its bottom perhaps a frame away: its nearest frame is held (not stored) until then, and
        stored only if the ring no longer has one near the final bottom (a slow rep, a busy host)."""
        t_bottom = float(rep.t_bottom)
        if any(abs(b - t_bottom) < 0.5 for b in self.kept_bottoms_s):  # reps are seconds apart
            return None
        near = self._near(t_bottom)
        if rep.lockout_pending:
            if near is not None:
                self._held[rep.index] = near
            return None
        held = self._held.pop(rep.index, None)
        if near is None and held is not None and abs(held.t_s - t_bottom) <= self.ring.step_s + 0.1:
            near = held
        if near is None:  # out of the ring (slow rep)
            return None
        still = Still(near.t_s, near.frame_number, near.ir, near.depth, dict(near.marker_pixels),
                      near.overlay, int(getattr(rep, "index", len(self.kept_bottoms_s))), t_bottom)
        if self.redact is not None:
            still = self.redact(still)
        self.kept_bottoms_s.append(t_bottom)
        if self.writer is not None:
            self.writer.append_still(still)
        return still


class StillStore:
    """/stills in the trial file: ir (K,H,W) u8, depth (K,H,W) u16 (gzip-1, one chunk per still),
    t_s, rep_t_bottom_s, frame_number, rep_index, marker_pixels (K,5,2), overlay_json. Created empty at
    start (SWMR allows no new datasets later)."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (height, width)
        self._g: h5py.Group | None = None

    def create(self, f: h5py.File) -> None:
        h, w = self.shape
        g = f.require_group("stills")
        g.attrs["marker_names"] = json.dumps(list(MARKER_NAMES))
        g.attrs["about"] = "one camera frame per rep, nearest its bottom (docs/trial-format.md)"
        img = {"chunks": (1, h, w), "compression": "gzip", "compression_opts": 1}
        g.create_dataset("ir", (0, h, w), np.uint8, maxshape=(None, h, w), **img)
        g.create_dataset("depth", (0, h, w), np.uint16, maxshape=(None, h, w), **img)
        columns = (("t_s", "<f8", ()), ("rep_t_bottom_s", "<f8", ()), ("frame_number", "<i8", ()),
                   ("rep_index", "<i4", ()), ("marker_pixels", "<f4", (len(MARKER_NAMES), 2)),
                   ("overlay_json", f"S{OVERLAY_JSON_BYTES}", ()))
        for name, dtype, row in columns:
            g.create_dataset(name, (0, *row), dtype, maxshape=(None, *row), chunks=(16, *row))
        self._g = g

    def append(self, still: Still) -> bool:
        """False (nothing written) for a frame of another size than the file's."""
        if self._g is None or still.ir.shape != self.shape:
            return False
        depth = still.depth if still.depth is not None and still.depth.shape == self.shape \
            else np.zeros(self.shape, np.uint16)
        px = np.array([still.marker_pixels.get(n, (np.nan, np.nan)) for n in MARKER_NAMES], np.float32)
        overlay = json.dumps(still.overlay).encode() if still.overlay is not None else b""
        if len(overlay) > OVERLAY_JSON_BYTES:
            overlay = b""  # never a cut (unreadable) JSON
        values = {"ir": still.ir, "depth": depth, "t_s": still.t_s, "rep_t_bottom_s": still.rep_t_bottom_s,
                  "frame_number": still.frame_number, "rep_index": still.rep_index, "marker_pixels": px,
                  "overlay_json": overlay}
        n = self._g["t_s"].shape[0]
        for name, value in values.items():
            ds = self._g[name]
            ds.resize(n + 1, axis=0)
            ds[n] = value
        return True

    def close(self) -> None:
        self._g = None


# /stills datasets: (dtype kind, dimensions of one row) as StillStore.create makes them
_STILL_COLUMNS = {"ir": ("u", 2), "depth": ("u", 2), "t_s": ("f", 0), "rep_t_bottom_s": ("f", 0),
                  "frame_number": ("i", 0), "rep_index": ("i", 0), "marker_pixels": ("f", 2),
                  "overlay_json": ("S", 0)}


def read_stills(f: h5py.File) -> list[Still] | None:
    """The optional /stills group back (None when absent: older files, or written without stills)."""
    if "stills" not in f or "t_s" not in f["stills"]:
        return None
    g = f["stills"]
    where = f"{f.filename}: /stills"
    for name, (kind, row_ndim) in _STILL_COLUMNS.items():
        ds = g.get(name)
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind != kind or ds.ndim != 1 + row_ndim:
            raise StationError(f"{where}/{name} is missing or not the stills layout (damaged file)")
    try:
        names = json.loads(g.attrs.get("marker_names", json.dumps(list(MARKER_NAMES))))
    except (ValueError, TypeError, RecursionError):
        names = None
    if not isinstance(names, list) or g["marker_pixels"].shape[1:] != (len(names), 2):
        raise StationError(f"{where} marker_names do not match its marker_pixels (damaged file)")
    n = min(g[k].shape[0] for k in _STILL_COLUMNS)
    out = []
    for i in range(n):
        raw = bytes(g["overlay_json"][i]).rstrip(b"\0")
        try:
            overlay = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            raise StationError(f"{where}/overlay_json row {i} is not valid JSON (damaged file)") from None
        px = g["marker_pixels"][i]
        out.append(Still(float(g["t_s"][i]), int(g["frame_number"][i]), g["ir"][i], g["depth"][i],
                         {str(nm): (float(px[k, 0]), float(px[k, 1])) for k, nm in enumerate(names)},
                         overlay, int(g["rep_index"][i]), float(g["rep_t_bottom_s"][i])))
    return out


def still_for_rep(stills: list[Still] | None, rep: RepResult, tolerance_s: float = 0.25) -> Still | None:
    """The stored still of this rep (its bottom within tolerance_s), or None."""
    if not stills:
        return None
    best = min(stills, key=lambda s: abs(s.rep_t_bottom_s - rep.t_bottom))
    return best if abs(best.rep_t_bottom_s - rep.t_bottom) <= tolerance_s else None
