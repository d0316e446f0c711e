"""The simulator's truth scans its 2 kHz signals with array operations (drivers/sim/truth.py): the same
answers, bit for bit, as the plain loops they replaced, on signals with plateaus, NaNs and both ends."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from drivers.sim.truth import _held_max, level_crossing_s


def _crossing_loop(t: np.ndarray, b: np.ndarray, level: float, i: int, step: int) -> float:
    while 0 < i < len(b) - 1 and b[i + step] >= level:
        i += step
    j = i + step
    if not 0 <= j < len(b):
        return float(t[i])
    return float(t[i] + (b[i] - level) / (b[i] - b[j]) * (t[j] - t[i]))


def _held_max_windows(values: np.ndarray, hold: int) -> float:
    if values.size <= hold:
        return float(values.min()) if values.size else float("nan")
    return float(sliding_window_view(values, hold).min(axis=1).max())


def _signals(rng: np.random.Generator) -> list[np.ndarray]:
    n = int(rng.integers(2, 3000))
    bump = np.sin(np.linspace(0, rng.uniform(1, 9), n)) + rng.normal(0, 0.05, n)
    flat = np.round(bump, 1)  # plateaus: samples equal to the level
    holed = bump.copy()
    holed[rng.integers(0, n, 3)] = np.nan
    return [bump, flat, holed]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a level equal to both samples: 0/0 both ways
@pytest.mark.parametrize("seed", range(40))
def test_level_crossing_as_the_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for b in _signals(rng):
        t = np.arange(b.size) / 2000.0
        for i in {0, 1, b.size - 2, b.size - 1, *rng.integers(0, b.size, 6).tolist()}:
            for level in (float(b[i]) if np.isfinite(b[i]) else 0.0, 0.3, 0.0, -2.0, 2.0):
                for step in (-1, 1):
                    got = level_crossing_s(t, b, level, i, step)
                    want = _crossing_loop(t, b, level, i, step)
                    assert got == want or (np.isnan(got) and np.isnan(want)), (i, level, step)


@pytest.mark.parametrize("seed", range(40))
def test_held_max_as_every_window(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for values in _signals(rng):
        for hold in {1, 2, 3, 7, 200, values.size - 1, values.size, values.size + 5} - {0}:
            got, want = _held_max(values, hold), _held_max_windows(values, hold)
            assert got == want or (np.isnan(got) and np.isnan(want)), hold
