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


DOWEL_REGIONS = ("head", "upper_back", "sacrum")


@dataclass
class DowelBlock:
    """Per-frame 'virtual dowel' check (depth feature): the worst gap from the best line through head,
    upper back and sacrum. t_s: (K,) s; gap_mm: (K,) mm, NaN = not measured; region: (K,) int index into
    DOWEL_REGIONS saying which point was farthest from the line."""

    t_s: np.ndarray
    gap_mm: np.ndarray
    region: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])
