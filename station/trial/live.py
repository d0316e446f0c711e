"""What the live view reads: fixed-size ring buffers and one immutable snapshot per peek.

LiveView is a trial consumer (station.trial.documents): the runner's worker hands it every document,
the dashboard copies a LiveSnapshot out under its lock (ARCHITECTURE pattern 5: peek, never take).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from station.core.hinge_core import LiveValues
from station.dowel.frame import live_dict
from station.results import RepResult, add_or_amend
from station.trial.documents import FrameData, MarkerData, PlateData, StreamInfo, TrialDocument, TrialEvent


class Ring:
    """Fixed-size (capacity, width) float ring; push blocks of rows, read the last rows in time order."""

    def __init__(self, capacity: int, width: int) -> None:
        self.buf = np.full((capacity, width), np.nan)
        self.capacity = capacity
        self.count = 0  # rows ever pushed

    def push(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, float).reshape(-1, self.buf.shape[1])[-self.capacity:]
        n = rows.shape[0]
        start = self.count % self.capacity
        first = min(n, self.capacity - start)
        self.buf[start:start + first] = rows[:first]
        self.buf[:n - first] = rows[first:]
        self.count += n

    def tail(self) -> np.ndarray:
        n = min(self.count, self.capacity)
        start = (self.count - n) % self.capacity
        return np.roll(self.buf, -start, axis=0)[:n].copy()


@dataclass
class LiveSnapshot:
    """A copy of the live state for the dashboard (never shared with the worker thread).

    force: (N, 5) columns t_s, fz_n, cop_x_m, cop_y_m, foot_pos for the last `window_s`.
    hip: (M, 4) columns t_s, x_m, y_m, z_m (plate frame); hip_back_m / hip_down_m from the standing
    baseline (first second of hip data): back = -(x - x0), down = -(z - z0).
    ir / depth: the latest frame; marker_pixels: name -> (u, v) px in it (NaN missing).
    stats: plate_rate_hz, camera_fps, lost_samples, dropped_frames, clock offsets/drift, per source.
    """

    elapsed_s: float
    running: bool
    force: np.ndarray
    hip: np.ndarray
    hip_back_m: np.ndarray
    hip_down_m: np.ndarray
    ir: np.ndarray | None
    depth: np.ndarray | None
    frame_number: int | None
    marker_pixels: dict[str, tuple[float, float]]
    reps: list[RepResult]
    stats: dict
    calibration_status: str
    warnings: list[str]
    live: dict = field(default_factory=dict)  # the core's live read-outs, if it has any
    # a six-component plate's (M, 4) t_s, Fx N, Fy N, Tz N·m for the window; None: a four-cell plate
    shear: np.ndarray | None = None


class LiveView:
    """Written by the trial worker (a TrialConsumer), copied out under a lock by snapshot()."""

    name = "live view"

    def __init__(self, window_s: float, plate_rate_hz: float, camera_fps: float) -> None:
        self.lock = threading.Lock()
        self.window_s = float(window_s)
        self.force = Ring(int(window_s * plate_rate_hz * 1.2) + 16, 5)
        self.shear: Ring | None = None  # made at the first six-component chunk
        self.hip = Ring(int(window_s * camera_fps * 1.2) + 16, 4)
        self.hip_baseline: np.ndarray | None = None
        self._hip_first: list[np.ndarray] = []
        self.ir: np.ndarray | None = None
        self.depth: np.ndarray | None = None
        self.frame_number: int | None = None
        self.marker_pixels: dict[str, tuple[float, float]] = {}
        self.reps: list[RepResult] = []
        self.warnings: list[str] = []
        self.live: dict = {}
        self.dowel: dict | None = None  # the last virtual-dowel result (dowel.step.live_dict)

    def receive(self, doc: TrialDocument) -> dict | None:
        match doc:
            case PlateData():
                rows = np.column_stack([doc.t_s, doc.fz_n, doc.cop_xy_m, doc.foot_pos])
                with self.lock:
                    self.force.push(rows)
                    if doc.shear_n is not None:
                        if self.shear is None:
                            self.shear = Ring(self.force.capacity, 4)
                        self.shear.push(np.column_stack([doc.t_s, doc.shear_n, doc.free_moment_nm]))
            case FrameData():
                self._frame(doc)
            case StreamInfo(stream="markers", rate_hz=rate) if rate > 0:  # mocap: a window of its rate
                with self.lock:
                    if self.hip.count == 0:
                        self.hip = Ring(int(self.window_s * rate * 1.2) + 16, 4)
            case MarkerData():  # mocap markers: the hip trace comes from them
                hip = doc.positions.get("hip", np.full((len(doc.t_s), 3), np.nan))
                with self.lock:
                    self.push_hip(np.column_stack([doc.t_s, hip]))
            case RepResult():
                with self.lock:
                    add_or_amend(self.reps, doc)
            case TrialEvent() if doc.warning:
                with self.lock:
                    self.warnings.append(doc.text)
        return None

    def _frame(self, doc: FrameData) -> None:
        hip = doc.positions.get("hip", np.full(3, np.nan))
        pixels = {k: (float(v[0]), float(v[1])) for k, v in doc.pixels.items()}
        dowel = live_dict(doc.dowel) if doc.dowel is not None else None
        with self.lock:
            if doc.markers_from_camera:
                self.push_hip(np.array([[doc.t_s, *hip]]))
            self.ir, self.depth = doc.frame.ir, doc.frame.depth
            self.frame_number = doc.frame.frame_number
            self.marker_pixels = pixels
            if dowel is not None:
                self.dowel = dowel
                self.live["dowel"] = dowel

    def set_core_values(self, values: LiveValues) -> None:
        """The core's live read-outs (core.LiveValues) with the last dowel result beside them."""
        with self.lock:
            self.live = {"value": values}
            if self.dowel is not None:
                self.live["dowel"] = self.dowel

    def push_hip(self, rows: np.ndarray) -> None:
        """rows (M, 4): t_s, x, y, z. The baseline is the median of the first second of valid hip."""
        self.hip.push(rows)
        if self.hip_baseline is None:
            valid = rows[np.isfinite(rows[:, 1])]
            self._hip_first.extend(valid)
            if self._hip_first and self._hip_first[-1][0] - self._hip_first[0][0] >= 1.0:
                self.hip_baseline = np.median(np.array(self._hip_first)[:, 1:], axis=0)

    def snapshot(self, elapsed_s: float, running: bool, stats: dict, calibration_status: str) -> LiveSnapshot:
        with self.lock:
            hip = self.hip.tail()
            base = self.hip_baseline if self.hip_baseline is not None else np.full(3, np.nan)
            return LiveSnapshot(
                elapsed_s=elapsed_s, running=running, force=self.force.tail(), hip=hip,
                hip_back_m=-(hip[:, 1] - base[0]), hip_down_m=-(hip[:, 3] - base[2]),
                ir=self.ir, depth=self.depth, frame_number=self.frame_number,
                marker_pixels=dict(self.marker_pixels), reps=list(self.reps), stats=stats,
                calibration_status=calibration_status, warnings=list(self.warnings), live=dict(self.live),
                shear=None if self.shear is None else self.shear.tail())
