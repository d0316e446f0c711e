"""Name and track the station's markers frame to frame, bridge short gaps, hand the core a MarkerBlock.

Labelling: the first frame where exactly the station's five markers stand one above the other (a subject
standing upright, either facing direction) names them by height, head to ankle, and measures the four
segment lengths. After that each marker is followed in the image: constant-velocity prediction, a gate in
metres at the marker's depth that widens while the marker is missing, and one global assignment
(Hungarian) so two markers never take the same disc. An assignment that would stretch a segment beyond
its standing length by more than a tolerance is refused. When every marker has been lost for a while the
tracker starts over from an upright stance.

Gaps: live `update` reports NaN for a missing marker; `finish()` returns a MarkerTrack whose `to_block`
bridges gaps up to `tracking_gap_max_s` (PCHIP through the valid samples, flagged) and leaves longer
gaps NaN.

History: offline the tracker keeps every frame for `finish()`; live (`history_frames`) only the last few,
since the live path reads the newest frame's answer and the core keeps the track (a long trial's per-frame
history grew ~2 MB/min).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import linear_sum_assignment

from drivers.samples import CameraFrame
from station.config import StationConfig
from station.markers.detect import Detections, detect_markers, to_plate
from station.markers.discs import warm_up
from station.streams import MARKER_NAMES, MarkerBlock

_CHAIN = MARKER_NAMES_TOP_DOWN = ("head", "shoulder", "hip", "knee", "ankle")
_GATE_M = 0.08  # association gate at a marker's depth when it was seen last frame
_MISSING_SPEED_M_S = 2.0  # the gate widens at this speed while a marker is missing
_GATE_MAX_M = 0.45
_SEGMENT_TOL = 0.35  # fraction of a standing segment length an assignment may stretch or shrink
_PREDICT_MAX_S = 0.3  # constant-velocity prediction is not extrapolated further than this
_CHAIN_GATE_M = 0.12  # gate around the chain prediction for a lost or never-seen marker
_RESET_AFTER_S = 1.0  # all markers lost this long: re-initialise from an upright stance


@dataclass
class MarkerTrack:
    """Per-frame marker tracks. t_s: (M,); positions[name]: (M, 3) plate frame m, NaN = missing;
    pixels[name]: (M, 2) sub-pixel (u, v) in the IR image, NaN = missing; frame_numbers: (M,)."""

    t_s: np.ndarray
    positions: dict[str, np.ndarray]
    pixels: dict[str, np.ndarray]
    frame_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def to_block(self, gap_max_s: float = 0.3) -> MarkerBlock:
        """MarkerBlock with gaps up to gap_max_s bridged (and flagged), longer gaps left NaN."""
        positions, bridged = {}, {}
        for name, p in self.positions.items():
            positions[name], bridged[name] = bridge_gaps(self.t_s, p, gap_max_s)
        return MarkerBlock(self.t_s.copy(), positions, bridged)


def bridge_gaps(t_s: np.ndarray, p: np.ndarray, gap_max_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN runs whose missing span (first missing to last missing, plus one frame period) is at most
    gap_max_s and which have valid samples on both sides. Returns (filled (M, 3), bridged (M,) bool)."""
    out = p.copy()
    bridged = np.zeros(len(t_s), dtype=bool)
    valid = np.all(np.isfinite(p), axis=1)
    if valid.sum() < 2 or valid.all():
        return out, bridged
    period_s = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 0.0
    missing = ~valid
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # run = [start, end)
    fill = np.zeros(len(t_s), dtype=bool)
    for a, b in zip(starts, ends, strict=True):
        if a == 0 or b == len(t_s):
            continue
        span_s = t_s[b] - t_s[a - 1] - period_s  # time with no observation, in frame periods
        if span_s <= gap_max_s + 1e-6:
            fill[a:b] = True
    if fill.any():
        interp = PchipInterpolator(t_s[valid], p[valid], axis=0)
        out[fill] = interp(t_s[fill])
        bridged[fill] = True
    return out, bridged


class MarkerTracker:
    """Incremental: `update(frame)` per CameraFrame -> {name: (3,) plate position or NaN}; `finish()`."""

    def __init__(self, T_plate_from_camera: np.ndarray | None = None, *,
                 config: StationConfig | None = None, marker_radius_m: float = 0.0095,
                 names: tuple[str, ...] = _CHAIN, history_frames: int | None = None) -> None:
        """history_frames: frames kept for `finish()` (the newest ones; None: every frame)."""
        cfg = config or StationConfig()
        T = cfg.camera.T_plate_from_camera() if T_plate_from_camera is None else T_plate_from_camera
        self.T_plate_from_camera = np.asarray(T, dtype=float)
        # the disc finder's compiled loops load (0.3 s from numba's cache; compiled once, ~20 s, on a fresh
        # install) now, before frames flow, not on the first frame of a trial
        warm_up()
        self.gap_max_s = cfg.thresholds.tracking_gap_max_s
        self.marker_radius_m = marker_radius_m
        self.names = tuple(n for n in _CHAIN if n in names)
        self._t0_ms: float | None = None
        self._reset_state()
        keep = history_frames
        self._t: deque[float] = deque(maxlen=keep)
        self._frames: deque[int] = deque(maxlen=keep)
        self._pos: dict[str, deque[np.ndarray]] = {n: deque(maxlen=keep) for n in self.names}
        self._pix: dict[str, deque[np.ndarray]] = {n: deque(maxlen=keep) for n in self.names}

    def _reset_state(self) -> None:
        self.initialised = False
        self._uv: dict[str, np.ndarray] = {}
        self._vel: dict[str, np.ndarray] = {}
        self._z: dict[str, float] = {}
        self._last_seen_s: dict[str, float] = {}
        self._segments: dict[tuple[str, str], float] = {}

    # --- per frame --------------------------------------------------------------------------------------
    def update(self, frame: CameraFrame, detections: Detections | None = None) -> dict[str, np.ndarray]:
        det = detections if detections is not None else detect_markers(frame, self.marker_radius_m)
        if self._t0_ms is None:
            self._t0_ms = frame.t_device_ms
        t_s = (frame.t_device_ms - self._t0_ms) / 1000.0
        xyz = to_plate(self.T_plate_from_camera, det.xyz_cam)
        if self.initialised and self._last_seen_s and t_s - max(self._last_seen_s.values()) > _RESET_AFTER_S:
            self._reset_state()
        if not self.initialised:
            assigned = self._initialise(det, xyz, t_s)
        else:
            assigned = self._associate(det, xyz, frame, t_s)
        result = {}
        for name in self.names:
            i = assigned.get(name)
            p = xyz[i] if i is not None else np.full(3, np.nan)
            uv = det.uv[i] if i is not None else np.full(2, np.nan)
            self._pos[name].append(p)
            self._pix[name].append(uv)
            result[name] = p
        self._t.append(t_s)
        self._frames.append(frame.frame_number)
        return result

    def _initialise(self, det: Detections, xyz: np.ndarray, t_s: float) -> dict[str, int]:
        ok = np.flatnonzero(np.all(np.isfinite(xyz), axis=1) & (np.abs(xyz[:, 0]) < 1.0)
                            & (np.abs(xyz[:, 1]) < 1.0) & (xyz[:, 2] > -0.1) & (xyz[:, 2] < 2.5))
        labels = label_upright(xyz[ok], self.names)
        if labels is None:
            return {}
        assigned = {name: int(ok[j]) for j, name in enumerate(labels) if name is not None}
        for a, b in zip(self.names[:-1], self.names[1:], strict=True):
            if a in assigned and b in assigned:
                self._segments[(a, b)] = float(np.linalg.norm(xyz[assigned[a]] - xyz[assigned[b]]))
        for name, i in assigned.items():
            self._uv[name] = det.uv[i].copy()
            self._vel[name] = np.zeros(2)  # px/s
            self._z[name] = float(det.xyz_cam[i, 2])
            self._last_seen_s[name] = t_s
        self.initialised = True
        self._last_t_s = t_s
        return assigned

    def _chain_prediction(self, name: str, fresh: set[str]) -> np.ndarray | None:
        """Pixel position of a marker not seen for a while, from its tracked neighbours on the body
        chain and the standing height proportions (a marker lies on the line through its neighbours)."""
        i = self.names.index(name)
        above = [n for n in self.names[:i] if n in fresh][::-1]
        below = [n for n in self.names[i + 1:] if n in fresh]
        f = HEIGHT_FRACTION
        if above and below:
            a, b = above[0], below[0]
        elif len(below) >= 2:
            a, b = below[0], below[1]
        elif len(above) >= 2:
            a, b = above[1], above[0]
        else:
            return None
        w = (f[name] - f[b]) / (f[a] - f[b])
        return self._uv[b] + w * (self._uv[a] - self._uv[b])

    def _associate(self, det: Detections, xyz: np.ndarray, frame: CameraFrame, t_s: float) -> dict[str, int]:
        fx = frame.intrinsics.fx
        frame_period_s = max(t_s - self._last_t_s, 1e-3)
        names = list(self.names)
        cost = np.full((len(names), len(det)), np.inf)
        seen_s = self._last_seen_s
        fresh = {n for n in names if n in seen_s and t_s - seen_s[n] <= 1.5 * frame_period_s}
        z_ref: float | None = None  # median depth of the tracked markers, for a marker with none of its own
        rows: list[int] = []
        preds: list[np.ndarray] = []
        gates_px: list[float] = []
        for r, name in enumerate(names):
            missing_s = t_s - self._last_seen_s.get(name, -np.inf)  # one frame period if seen last frame
            if name in self._uv:  # seen before: from there, the gate widening while it stays missing
                pred = self._uv[name] + self._vel[name] * min(missing_s, _PREDICT_MAX_S)
                gate_m = min(_GATE_M + _MISSING_SPEED_M_S * (missing_s - frame_period_s), _GATE_MAX_M)
            else:  # never seen: look where the body chain puts it
                pred = self._chain_prediction(name, fresh)
                if pred is None:
                    continue
                gate_m = _CHAIN_GATE_M
            z = self._z.get(name)
            if z is None:
                if z_ref is None:
                    z_ref = float(np.median(list(self._z.values())))
                z = z_ref
            rows.append(r)
            preds.append(pred)
            gates_px.append(gate_m * fx / max(z, 0.3))
        if rows:  # every row's pixel distances at once (np.linalg.norm(axis=1)'s sums, same numbers)
            diff = det.uv[None, :, :] - np.array(preds)[:, None, :]
            d = np.sqrt(np.add.reduce(diff * diff, axis=-1))
            gate = np.array(gates_px)[:, None]
            cost[rows] = np.where(d <= gate, d / gate, np.inf)
        assigned: dict[str, int] = {}
        if len(det):
            rows_a, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
            assigned = {names[r]: int(c) for r, c in zip(rows_a.tolist(), cols.tolist(), strict=True)
                        if math.isfinite(cost[r, c])}
        self._check_segments(assigned, xyz, cost, names)
        for name, i in assigned.items():
            elapsed_s = t_s - self._last_seen_s.get(name, -np.inf)
            if elapsed_s < 1.5 * frame_period_s:  # smooth the velocity over consecutive frames
                self._vel[name] = 0.5 * (self._vel[name] + (det.uv[i] - self._uv[name]) / elapsed_s)
            else:  # after a gap the old velocity is stale
                self._vel[name] = np.zeros(2)
            self._uv[name] = det.uv[i].copy()
            z = float(det.xyz_cam[i, 2])
            if math.isfinite(z):
                self._z[name] = z
            self._last_seen_s[name] = t_s
        self._last_t_s = t_s
        return assigned

    def _check_segments(self, assigned: dict[str, int], xyz: np.ndarray, cost: np.ndarray,
                        names: list[str]) -> None:
        """Refuse assignments that stretch a segment beyond tolerance (drop the less certain end)."""
        finite: list[bool] | None = None
        for (a, b), length in self._segments.items():
            if a not in assigned or b not in assigned:
                continue
            if finite is None:  # per detection, once a frame (not per segment end)
                finite = np.isfinite(xyz).all(axis=1).tolist()
            if not (finite[assigned[a]] and finite[assigned[b]]):
                continue
            ab = xyz[assigned[a]] - xyz[assigned[b]]
            if abs(math.sqrt(ab.dot(ab)) - length) <= _SEGMENT_TOL * length:  # np.linalg.norm's own sum
                continue
            ca, cb = cost[names.index(a), assigned[a]], cost[names.index(b), assigned[b]]
            del assigned[a if ca > cb else b]

    @property
    def last_pixels(self) -> dict[str, np.ndarray]:
        """name -> (2,) sub-pixel (u, v) of the newest frame (NaN: not found); empty before the first."""
        return {k: v[-1] for k, v in self._pix.items() if v}

    def finish(self) -> MarkerTrack:
        """The frames kept (every frame unless history_frames; raw: gaps NaN); `.to_block(gap_max_s)`
        bridges short gaps."""
        t = np.asarray(self._t, dtype=float)
        pos = {n: np.asarray(v, dtype=float).reshape(-1, 3) for n, v in self._pos.items()}
        pix = {n: np.asarray(v, dtype=float).reshape(-1, 2) for n, v in self._pix.items()}
        return MarkerTrack(t, pos, pix, np.asarray(self._frames, dtype=np.int64))

    def block(self) -> MarkerBlock:
        """finish().to_block() with the configured gap limit."""
        return self.finish().to_block(self.gap_max_s)


# Standing height of each landmark as a fraction of stature (Winter, Biomechanics and Motor Control of
# Human Movement, segment-length proportions): names markers found on an upright subject by height.
HEIGHT_FRACTION = {"head": 0.915, "shoulder": 0.818, "hip": 0.530, "knee": 0.285, "ankle": 0.039}
_INIT_RESIDUAL_M = 0.05


def label_upright(xyz: np.ndarray, names: tuple[str, ...] = _CHAIN) -> list[str | None] | None:
    """Names for candidate markers (K, 3, plate frame) on a subject standing upright, or None if unsure.

    Every order-preserving choice of names for the candidates sorted by height is scored by how well
    z = stature * fraction fits (stature free, 1.3-2.2 m); the best fit wins if it is clearly good.
    Works with markers missing (at least three present) and for either facing direction.
    """
    k = len(xyz)
    if not 3 <= k <= len(names):
        return None
    if np.max(np.abs(xyz[:, 0] - np.median(xyz[:, 0]))) > 0.25:  # not standing upright
        return None
    order = np.argsort(-xyz[:, 2])
    z = xyz[order, 2]
    best, best_res = None, np.inf
    for choice in itertools.combinations(names, k):
        f = np.array([HEIGHT_FRACTION[n] for n in choice])
        stature = float(z @ f / (f @ f))
        res = float(np.sqrt(np.mean((z - stature * f) ** 2)))
        if 1.3 <= stature <= 2.2 and res < best_res:
            best, best_res = choice, res
    if best is None or best_res > _INIT_RESIDUAL_M:
        return None
    labels: list[str | None] = [None] * k
    for j, name in zip(order, best, strict=True):
        labels[j] = name
    return labels


def track_frames(frames, T_plate_from_camera: np.ndarray | None = None, *,
                 config: StationConfig | None = None, marker_radius_m: float = 0.0095) -> MarkerTrack:
    """Run a MarkerTracker over an iterable of CameraFrames."""
    tracker = MarkerTracker(T_plate_from_camera, config=config, marker_radius_m=marker_radius_m)
    for frame in frames:
        tracker.update(frame)
    return tracker.finish()


__all__ = ["MarkerTrack", "MarkerTracker", "bridge_gaps", "track_frames", "MARKER_NAMES",
           "MARKER_NAMES_TOP_DOWN"]
