"""The marker push-out over a subject's whole fine grid (drivers.sim.subject._pushed_clear) as one compiled
loop: ~30 % of building a subject was numpy passes over 51 spheres x 40,000 instants.

The same floating-point operations in the same order per element as the numpy version (no fastmath: no
reassociation, no fused multiply-add), so the reach is bit for bit the same
(tests/sim/test_hull_reach.py). numba is the station's already (the IR marker finder); this module
is imported only when a subject is built, never by a render worker (which unpickles one)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _reach(base: np.ndarray, axis: np.ndarray, d: np.ndarray, steps: np.ndarray, radius_sq: np.ndarray,
           reach: np.ndarray) -> None:  # pragma: no cover - compiled
    n = reach.shape[0]
    for s in range(steps.shape[0]):
        f = steps[s]
        r_sq = radius_sq[s]
        for i in range(n):
            o0 = base[0, i] + f * axis[0, i]
            o1 = base[1, i] + f * axis[1, i]
            o2 = base[2, i] + f * axis[2, i]
            proj = o0 * d[0, i] + o1 * d[1, i] + o2 * d[2, i]
            h = proj * proj - (o0 * o0 + o1 * o1 + o2 * o2 - r_sq)
            clear = proj + math.sqrt(h) if h >= 0.0 else 0.0
            if clear > reach[i]:
                reach[i] = clear


def hull_reach(base: list[np.ndarray], axis: list[np.ndarray], d: list[np.ndarray], steps: np.ndarray,
               radius_sq: np.ndarray, reach: np.ndarray) -> None:
    """reach (N,) raised in place to where a marker sphere clears each hull sphere; base, axis, d: the three
    (N,) components of origin -> p0, p0 -> p1 and the push direction; steps, radius_sq: (S,) per sphere."""
    # steps and radius_sq copied (S values): a read-only view of them is another type to numba, compiled
    # again (0.15 CPU-s) by every process of a fresh install that built a subject before the cache had it
    _reach(np.stack(base), np.stack(axis), np.stack(d), np.array(steps, dtype=np.float64),
           np.array(radius_sq, dtype=np.float64), reach)


def warm_up() -> None:
    """Compile (or load from numba's cache) the loop now, not in the first subject built."""
    one = [np.zeros(1)] * 3
    hull_reach(one, one, one, np.zeros(1), np.zeros(1), np.zeros(1))
