"""Per-chunk steps of the live path: device clock -> trial clock, counts -> N -> CoP, frames -> markers.

Each step wraps the module that owns it (calibration.*, station.markers) so the runner and the
replay use one implementation. Without a plate calibration the nominal gain from the station config
is used with zero offsets, and the trial says so ("nominal defaults").
"""

from __future__ import annotations

import numpy as np

from drivers.samples import CameraFrame, PlateChunk
from station.config import StationConfig

NOMINAL = "nominal defaults"


def cop_and_foot_pos(cells_n: np.ndarray, config: StationConfig,
                     min_force_n: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fz (N,), CoP (N,2) m and foot_pos (N,) from per-cell newtons; NaN where Fz <= min_force_n."""
    fz = cells_n.sum(axis=1)
    ok = fz > min_force_n
    cop = np.full((len(fz), 2), np.nan)
    cop[ok] = (cells_n[ok] @ config.plate.channel_xy) / fz[ok, None]
    foot_pos = (cop[:, 0] - config.feet.heel_x_m) / config.feet.foot_length_m
    return fz, cop, foot_pos


class ForceStep:
    """counts (N,4) -> newtons per cell, with the calibration in force (or nominal defaults)."""

    def __init__(self, config: StationConfig, plate_calibration: object | None = None,
                 body_mass_kg: float | None = None) -> None:
        self.config = config
        self.calibration = plate_calibration
        self.status = "calibrated" if plate_calibration is not None else NOMINAL
        bw_n = (body_mass_kg or 0.0) * 9.80665
        th = config.thresholds
        self.min_force_n = max(th.cop_min_force_n, th.cop_min_body_weight_frac * bw_n)

    def cells_n(self, counts: np.ndarray) -> np.ndarray:
        cal = self.calibration
        if cal is None:
            return counts.astype(float) * self.config.plate.default_gain_n_per_count
        for name in ("counts_to_newtons", "to_newtons", "apply"):
            fn = getattr(cal, name, None)
            if fn is not None:
                return np.asarray(fn(counts), float)
        offsets = np.asarray(cal.offsets_counts, float)
        gains = np.asarray(cal.gains_n_per_count, float)
        return (counts - offsets) * gains

    def describe(self) -> dict:
        cal = self.calibration
        if cal is None:
            return {"status": NOMINAL, "gain_n_per_count": self.config.plate.default_gain_n_per_count,
                    "offsets_counts": [0, 0, 0, 0]}
        for name in ("to_dict", "as_dict"):
            fn = getattr(cal, name, None)
            if fn is not None:
                return dict(fn())
        return {k: v for k, v in vars(cal).items() if not k.startswith("_")}


class ClockStep:
    """Device clock -> host monotonic ns, via calibration.clocks.ClockMapper when it exists.

    Without it (or before it has enough points) the host arrival stamp is used as is: a few ms of
    USB latency, never a wrong ordering.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.mapper = None
        try:
            from calibration.clocks import ClockMapper

            self.mapper = ClockMapper()
        except ImportError:
            self.mapper = None

    def host_ns(self, t_device_s: np.ndarray, t_host_ns: np.ndarray) -> np.ndarray:
        m = self.mapper
        if m is None:
            return np.asarray(t_host_ns, np.int64)
        m.update(np.asarray(t_device_s, float), np.asarray(t_host_ns, np.int64))
        return np.asarray(m.to_host_ns(np.asarray(t_device_s, float)), np.int64)

    def stats(self) -> dict:
        m = self.mapper
        if m is None:
            return {"mapping": "arrival stamps"}
        fn = getattr(m, "stats", None)
        return dict(fn()) if fn else {"mapping": type(m).__name__}


def plate_gaps(chunk: PlateChunk, last_seq: int | None) -> tuple[list[tuple[int, int, int]], int | None]:
    """(t_host_ns, seq_before, n_lost) for every jump in seq, including across chunk boundaries."""
    if len(chunk) == 0:
        return [], last_seq
    seq = chunk.seq.astype(np.int64)
    prev = np.concatenate([[seq[0] - 1 if last_seq is None else last_seq], seq[:-1]])
    jump = seq - prev - 1
    idx = np.nonzero(jump > 0)[0]
    gaps = [(int(chunk.t_host_ns[i]), int(prev[i]), int(jump[i])) for i in idx]
    return gaps, int(seq[-1])


class MarkerStep:
    """CameraFrame -> marker pixels and plate-frame positions, through station.markers.MarkerTracker."""

    def __init__(self, config: StationConfig, camera_T: np.ndarray | None) -> None:
        from station.markers import MarkerTracker  # the camera helper's tracker

        self.T = np.asarray(camera_T if camera_T is not None else config.camera.T_plate_from_camera(), float)
        try:
            self.tracker = MarkerTracker(config=config, T_plate_from_camera=self.T)
        except TypeError:
            self.tracker = MarkerTracker(config)

    def update(self, frame: CameraFrame) -> tuple[dict, dict, dict]:
        """positions name -> (3,) m plate frame, pixels name -> (2,) px, bridged name -> bool."""
        out = self.tracker.update(frame)
        positions = getattr(out, "positions", out)
        pixels = getattr(out, "pixels", {}) or {}
        bridged = getattr(out, "bridged", {}) or {}
        return ({k: np.asarray(v, float).reshape(-1)[-3:] for k, v in positions.items()},
                {k: np.asarray(v, float).reshape(-1)[-2:] for k, v in pixels.items()},
                {k: bool(np.asarray(v).reshape(-1)[-1]) for k, v in bridged.items()})
