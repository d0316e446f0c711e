"""Measured-looking streams from the virtual subject: 30 fps markers with ~3 mm noise and a few short
dropouts, 1 kHz cells with ~1 N noise (what a real station hands the core)."""

from __future__ import annotations

import numpy as np

from drivers.sim.subject import VirtualSubject
from station.streams import ForceBlock, MarkerBlock


def measured(subject: VirtualSubject, *, seed: int = 0, fps: float = 30.0, force_hz: float = 1000.0,
             marker_noise_m: float = 0.003, cell_noise_n: float = 1.0, dropouts: int = 4):
    rng = np.random.default_rng(seed + 1000)
    tm = np.arange(0.0, subject.duration_s, 1.0 / fps)
    positions = {k: v + rng.normal(0, marker_noise_m, v.shape) for k, v in subject.markers(tm).items()}
    for _ in range(dropouts):  # occlusions of 1-3 frames, one marker at a time
        name = rng.choice(list(positions))
        i = int(rng.integers(0, tm.size - 3))
        positions[name][i:i + int(rng.integers(1, 4))] = np.nan
    tf = np.arange(0.0, subject.duration_s, 1.0 / force_hz)
    cells = subject.cell_loads_n(tf) + rng.normal(0, cell_noise_n, (tf.size, 4))
    return ForceBlock(tf, cells), MarkerBlock(tm, positions)
