"""Known-truth stand-ins for calibration tests: a person placing masses on a plate, a hop."""

from __future__ import annotations

import numpy as np

from drivers.samples import PlateChunk
from station.config import GRAVITY_M_S2

# a plate that is NOT the config default: unequal gains, arbitrary offsets
TRUE_GAINS = np.array([0.00104, 0.00097, 0.00101, 0.00093])
TRUE_OFFSETS = np.array([15000.0, -8200.0, 4100.0, 26500.0])


def cell_loads(mass_kg: float, xy_m, channel_xy: np.ndarray) -> np.ndarray:
    """Statics of a rigid top on four cells at (+-a, +-b): bilinear share (sum = W, moments exact)."""
    a = np.abs(channel_xy[:, 0]).max()
    b = np.abs(channel_xy[:, 1]).max()
    x, y = xy_m
    share = 0.25 * (1 + x * channel_xy[:, 0] / a**2) * (1 + y * channel_xy[:, 1] / b**2)
    return mass_kg * GRAVITY_M_S2 * share


class PlacementSchedule:
    """Empty, then each mass placed (hands on it, a wobble), held, lifted off, empty again."""

    def __init__(self, placements: list[tuple[float, tuple[float, float]]], channel_xy: np.ndarray, *,
                 lead_s: float = 2.0, hold_s: float = 3.0, empty_s: float = 2.0, transition_s: float = 0.6,
                 initial_load: tuple[float, tuple[float, float]] | None = None):
        self.channel_xy = np.asarray(channel_xy, dtype=float)
        self.transition_s = transition_s
        base = np.zeros(4) if initial_load is None else cell_loads(*initial_load, self.channel_xy)
        self.segments = [(0.0, base)]  # (start time, loads reached after a transition from there)
        t = lead_s
        for mass, xy in placements:
            self.segments.append((t, cell_loads(mass, xy, self.channel_xy)))
            t += transition_s + hold_s
            self.segments.append((t, np.zeros(4)))
            t += transition_s + empty_s
        self.duration_s = t

    def __call__(self, t_s: np.ndarray) -> np.ndarray:
        t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
        out = np.zeros((t_s.size, 4))
        prev = self.segments[0][1]
        out[:] = prev
        for start, loads in self.segments[1:]:
            u = np.clip((t_s - start) / self.transition_s, 0.0, 1.0)
            ramp = u * u * (3 - 2 * u)
            # hands press and wobble while placing or lifting: gone by the end of the transition
            wobble = 40.0 * np.sin(2 * np.pi * 3.0 * (t_s - start)) * np.sin(np.pi * u)
            seg = t_s >= start
            out[seg] = (prev + (loads - prev) * ramp[seg, None]) + wobble[seg, None] * 0.25
            prev = loads
        return out


def synth_stream(schedule: PlacementSchedule, *, rate_hz: float = 1000.0, noise_n: float = 0.8,
                 gains=TRUE_GAINS, offsets=TRUE_OFFSETS, seed: int = 0) -> PlateChunk:
    """The raw counts a plate with `gains`/`offsets` would stream under the schedule."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, schedule.duration_s, 1.0 / rate_hz)
    loads = schedule(t)
    counts = offsets + loads / gains + rng.normal(0.0, 1.0, loads.shape) * noise_n / gains
    n = t.size
    return PlateChunk(np.arange(n, dtype=np.int64), t, (t * 1e9).astype(np.int64),
                      np.round(counts).astype(np.int32), np.zeros(n, np.uint8))


def gauss(t, t0, w):
    return np.exp(-0.5 * ((t - t0) / w) ** 2)


def gauss_dd(t, t0, w):
    """Second derivative of gauss."""
    u = (t - t0) / w
    return (u * u - 1) / (w * w) * gauss(t, t0, w)


def synthetic_hop(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre-of-mass height change (m) and its acceleration (m/s^2): dip, push-off, landing."""
    parts = [(-0.06, 1.0, 0.10), (0.10, 1.25, 0.09), (-0.05, 1.55, 0.07)]
    z = sum(A * gauss(t_s, t0, w) for A, t0, w in parts)
    a = sum(A * gauss_dd(t_s, t0, w) for A, t0, w in parts)
    return z, a


class ReplaySource:
    """A Source handing out a prepared PlateChunk in 50 ms pieces, as fast as it is read."""

    name = "replay"

    def __init__(self, chunk: PlateChunk, piece: int = 50):
        self._pieces = [PlateChunk(*(getattr(chunk, f)[i:i + piece] for f in
                                     ("seq", "t_device_s", "t_host_ns", "counts", "flags")))
                        for i in range(0, len(chunk), piece)]

    def start(self) -> None:
        pass

    def read(self, timeout_s: float = 0.1) -> list:
        out, self._pieces = self._pieces[:40], self._pieces[40:]
        return out

    def stop(self) -> None:
        pass

    def stats(self) -> dict:
        return {}
