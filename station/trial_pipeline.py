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
    """counts (N,4) -> newtons per cell: F_i = (counts_i - offset_i) * gain_i (plate protocol).

    Takes offsets/gains from a calibration object (offsets_counts, gains_n_per_count) or, with none,
    zero offsets and the config's nominal gain, marked NOMINAL. describe() is what the trial stores
    and from_description() rebuilds the same step for replay.
    """

    def __init__(self, config: StationConfig, plate_calibration: object | None = None,
                 body_mass_kg: float | None = None) -> None:
        self.config = config
        if plate_calibration is None:
            self.status = NOMINAL
            self.offsets = np.zeros(4)
            self.gains = np.full(4, config.plate.default_gain_n_per_count)
            self.source = NOMINAL
        else:
            is_default = bool(getattr(plate_calibration, "is_default", False))
            self.status = NOMINAL if is_default else "calibrated"
            self.offsets = np.asarray(plate_calibration.offsets_counts, float).reshape(4)
            self.gains = np.asarray(plate_calibration.gains_n_per_count, float).reshape(4)
            self.source = str(getattr(plate_calibration, "source", "") or "")
        bw_n = (body_mass_kg or 0.0) * 9.80665
        th = config.thresholds
        self.min_force_n = max(th.cop_min_force_n, th.cop_min_body_weight_frac * bw_n)

    def cells_n(self, counts: np.ndarray) -> np.ndarray:
        return (np.asarray(counts, float) - self.offsets) * self.gains

    def describe(self) -> dict:
        return {"status": self.status, "offsets_counts": self.offsets.tolist(),
                "gains_n_per_count": self.gains.tolist(), "source": self.source}

    @classmethod
    def from_description(cls, desc: dict, config: StationConfig,
                         body_mass_kg: float | None = None) -> ForceStep:
        step = cls(config, None, body_mass_kg)
        if desc.get("offsets_counts") is not None and desc.get("gains_n_per_count") is not None:
            step.offsets = np.asarray(desc["offsets_counts"], float).reshape(4)
            step.gains = np.asarray(desc["gains_n_per_count"], float).reshape(4)
            step.status = desc.get("status", "calibrated")
            step.source = desc.get("source", "")
        return step


class ClockStep:
    """Device clock -> host monotonic ns, via calibration.clocks.ClockMapper when it exists.

    Without it (or before it has enough points) the host arrival stamp is used as is: a few ms of
    USB latency, never a wrong ordering.
    """

    def __init__(self, name: str) -> None:
        self.name = name
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
        return np.round(np.asarray(m.map(np.asarray(t_device_s, float))) * 1e9).astype(np.int64)

    def stats(self) -> dict:
        m = self.mapper
        if m is None:
            return {"mapping": "arrival stamps"}
        state = dict(m.state())
        state.pop("envelope_points", None)  # long; the trial stores the summary
        return state


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
        from station.marker_tracking import MarkerTracker  # the camera helper's tracker

        self.T = np.asarray(camera_T if camera_T is not None else config.camera.T_plate_from_camera(), float)
        self.tracker = MarkerTracker(self.T, config=config)

    def update(self, frame: CameraFrame) -> tuple[dict, dict, dict]:
        """positions name -> (3,) m plate frame, pixels name -> (2,) px, bridged name -> bool.

        Live positions are the tracker's raw per-frame answer (gaps NaN); the core bridges.
        """
        positions = self.tracker.update(frame)
        pix_lists = getattr(self.tracker, "_pix", {})  # the tracker's per-frame pixel history
        pixels = {k: np.asarray(v[-1], float) for k, v in pix_lists.items() if v}
        return ({k: np.asarray(v, float).reshape(3) for k, v in positions.items()}, pixels, {})
