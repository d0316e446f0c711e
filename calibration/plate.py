"""Plate calibration applied: counts -> newtons per channel, tare, and the zero check before a trial.

``F_i = (counts_i - offset_i) * gain_i`` (plate-protocol.md). Offsets come from a tare on the empty
plate, gains from known masses (calibration/plate_fit.py). Until a calibration file exists the
station runs on `PlateCalibration.defaults(config)` (offsets 0, the config's nominal gain), which is
marked ``source="defaults"`` wherever it is shown.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

from calibration.plateaus import noise_counts, stability_limit_counts
from calibration.store import latest_calibration, load_calibration
from drivers.samples import PlateChunk
from station.config import GRAVITY_M_S2, StationConfig
from station.errors import StationError
from station.streams import ForceBlock


@runtime_checkable
class PlateGains(Protocol):
    """Anything that turns counts into newtons per cell: a PlateCalibration, a factory sheet, a test's
    known gains. offsets_counts, gains_n_per_count: (4,) per channel."""

    offsets_counts: np.ndarray
    gains_n_per_count: np.ndarray


@dataclass
class PlateCalibration:
    """Per-channel tare offsets (counts) and gains (N per count) of one plate."""

    offsets_counts: np.ndarray
    gains_n_per_count: np.ndarray
    device_id: str = ""
    created: str = ""
    source: str = "defaults"  # the calibration file's path, or "defaults"
    residuals: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.offsets_counts = np.asarray(self.offsets_counts, dtype=float).reshape(4)
        self.gains_n_per_count = np.asarray(self.gains_n_per_count, dtype=float).reshape(4)

    @classmethod
    def defaults(cls, config: StationConfig, device_id: str = "") -> PlateCalibration:
        g = config.plate.default_gain_n_per_count
        return cls(np.zeros(4), np.full(4, g), device_id=device_id, source="defaults")

    @property
    def is_default(self) -> bool:
        return self.source == "defaults"

    def cells_n(self, counts: np.ndarray) -> np.ndarray:
        """(N, 4) raw counts -> (N, 4) newtons per cell."""
        return (np.asarray(counts, dtype=float) - self.offsets_counts) * self.gains_n_per_count

    def total_n(self, counts: np.ndarray) -> np.ndarray:
        return self.cells_n(counts).sum(axis=-1)

    def force_block(self, chunk: PlateChunk, clock=None) -> ForceBlock:
        """Calibrated block; times from `clock.map(t_device_s)` (a ClockMapper) or else host arrival."""
        t_s = clock.map(chunk.t_device_s) if clock is not None else chunk.t_host_ns * 1e-9
        return ForceBlock(np.asarray(t_s, dtype=float), self.cells_n(chunk.counts))

    def with_offsets(self, offsets_counts: np.ndarray) -> PlateCalibration:
        return replace(self, offsets_counts=np.asarray(offsets_counts, dtype=float))

    def to_result(self) -> dict:
        return {"offsets_counts": [float(v) for v in self.offsets_counts],
                "gains_n_per_count": [float(v) for v in self.gains_n_per_count]}

    @classmethod
    def from_file(cls, path, *, max_age_days: float | None = None) -> PlateCalibration:
        doc = load_calibration(path, "plate", max_age_days=max_age_days)
        r = doc["result"]
        return cls(np.array(r["offsets_counts"]), np.array(r["gains_n_per_count"]),
                   device_id=doc["device_id"], created=doc["created"], source=str(path),
                   residuals=doc["residuals"])


def load_plate_calibration(config: StationConfig, device_id: str, path=None) -> PlateCalibration:
    """What every command uses: the named file, else the newest file for this plate, else defaults."""
    if path is not None:
        return PlateCalibration.from_file(path)
    newest = latest_calibration("plate", device_id, config)
    if newest is not None:
        return PlateCalibration.from_file(newest)
    warnings.warn(f"no plate calibration for {device_id!r} in {config.calibration_dir}: using default gains "
                  f"({config.plate.default_gain_n_per_count} N/count); run `hinge-station calibrate plate`",
                  UserWarning, stacklevel=2)
    return PlateCalibration.defaults(config, device_id)


# --- tare ---------------------------------------------------------------------------------------

def check_stable(counts: np.ndarray, gains_n_per_count: np.ndarray, *, what: str = "plate",
                 tol_n: float = 0.3, k_noise: float = 2.5) -> None:
    """Refuse (StationError) when the load moved during the window, saying by how much."""
    c = np.asarray(counts, dtype=float)
    if c.shape[0] < 10:
        raise StationError(f"{what}: only {c.shape[0]} samples to judge; check the plate is streaming")
    limit = stability_limit_counts(noise_counts(c), gains_n_per_count, k_noise=k_noise, tol_n=tol_n)
    std = c.std(axis=0)
    if np.any(std > limit):
        std_n = float(np.abs(((c - c.mean(axis=0)) * gains_n_per_count).sum(axis=1)).max())
        raise StationError(f"{what} not stable: the load moves by up to {std_n:.1f} N; "
                           "keep everything off and still, then retry")


def tare(counts: np.ndarray, reference: PlateCalibration, *, empty_tol_n: float = 10.0,
         tol_n: float = 0.3) -> np.ndarray:
    """Offsets (counts) from a window of the empty plate.

    Refuses when the window is not stable, or, when `reference` is a real calibration (not defaults,
    whose offsets of 0 say nothing about a real plate's zero), when it sees more than `empty_tol_n`
    newtons on the plate, naming that load. With defaults only, a load left on the plate is caught
    later: a plateau lighter than the tare (`plate_fit.placements_from_plateaus`).
    """
    c = np.asarray(counts, dtype=float)
    check_stable(c, reference.gains_n_per_count, tol_n=tol_n)
    mean = c.mean(axis=0)
    if not reference.is_default:
        load_n = float(reference.total_n(mean))
        if abs(load_n) > empty_tol_n:
            raise StationError(f"plate not empty: it sees {load_n:.1f} N ({load_n / GRAVITY_M_S2:.2f} kg) "
                               f"by {reference.source}; remove everything and retry")
    return mean


# --- zero check before a trial ------------------------------------------------------------------

@dataclass
class ZeroCheck:
    """Outcome of the pre-trial zero check: 'ok', 'retared' (drift warned) or 'skipped' (not empty)."""

    status: str
    drift_n: np.ndarray  # (4,) per-channel drift of the empty reading from the calibration's zero
    message: str
    calibration: PlateCalibration  # re-tared when status == 'retared', else the one given


def zero_check(counts: np.ndarray, calibration: PlateCalibration, config: StationConfig) -> ZeroCheck:
    """Run on a second or two of plate data before a trial starts.

    The plate counts as empty when its total is below `thresholds.cop_min_force_n` (below that the
    station ignores the load anyway) and the window is stable; otherwise the check is skipped and
    says why. Drift above `thresholds.zero_drift_warn_n` on any channel or in total warns and re-tares.
    """
    c = np.asarray(counts, dtype=float)
    mean = c.mean(axis=0)
    drift = (mean - calibration.offsets_counts) * calibration.gains_n_per_count
    total = float(drift.sum())
    limit = config.thresholds.zero_drift_warn_n
    if abs(total) >= config.thresholds.cop_min_force_n:
        return ZeroCheck("skipped", drift, f"zero check skipped: plate not empty ({total:.1f} N on it)",
                         calibration)
    try:
        check_stable(c, calibration.gains_n_per_count)
    except StationError as exc:
        return ZeroCheck("skipped", drift, f"zero check skipped: {exc}", calibration)
    worst = float(np.abs(drift).max())
    if worst > limit or abs(total) > limit:
        msg = (f"plate zero drifted by {total:+.1f} N (worst channel {int(np.abs(drift).argmax())}: "
               f"{drift[np.abs(drift).argmax()]:+.1f} N) beyond {limit:g} N: re-tared")
        return ZeroCheck("retared", drift, msg, calibration.with_offsets(mean))
    return ZeroCheck("ok", drift, f"plate zero ok (drift {total:+.2f} N)", calibration)
