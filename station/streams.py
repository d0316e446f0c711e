"""The calibrated streams the core consumes: one clock (host seconds), one frame (plate, metres).

Every source (live devices, simulator, .h5 replay, C3D import) ends up as these two blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MARKER_NAMES = ("hip", "knee", "ankle", "shoulder", "head")


@dataclass
class ForceBlock:
    """Calibrated plate samples. t_s: (N,) seconds on the trial clock; cells_n: (N, 4) newtons per cell."""

    t_s: np.ndarray
    cells_n: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


@dataclass
class MarkerBlock:
    """Marker positions in the plate frame. t_s: (M,) seconds; positions[name]: (M, 3) metres, NaN = missing.

    bridged[name]: (M,) bool, True where the position was interpolated across a short gap.
    """

    t_s: np.ndarray
    positions: dict[str, np.ndarray]
    bridged: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])
