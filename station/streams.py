"""The calibrated streams the core consumes: one clock (host seconds), one frame (plate, metres).

Every source (live devices, simulator, .h5 replay, C3D import) ends up as these blocks. A block is cut
by time in one way only, `block.between(t_from, t_to)` (`time_slice` for bare arrays), wherever it is
cut: feeding the core in chunks, replaying a trial, ending a set at a painful rep, a rep's data so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import numpy as np

MARKER_NAMES = ("hip", "knee", "ankle", "shoulder", "head")


def time_slice(t_s: np.ndarray, t_from: float, t_to: float, *, include_end: bool = False) -> slice:
    """The rows of sorted times t_s with t_from <= t < t_to (<= t_to with include_end): the one rule
    every cut by time uses."""
    i = int(np.searchsorted(t_s, t_from, side="left"))
    j = int(np.searchsorted(t_s, t_to, side="right" if include_end else "left"))
    return slice(i, j)


class _TimeRows:
    """Rows in time order (t_s first); subclasses say how to take a subset of their rows."""

    t_s: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def rows(self, index: slice | np.ndarray) -> Self:
        raise NotImplementedError

    def between(self, t_from: float, t_to: float, *, include_end: bool = False) -> Self:
        """The rows with t_from <= t_s < t_to (<= t_to with include_end); t_s must be sorted."""
        return self.rows(time_slice(self.t_s, t_from, t_to, include_end=include_end))


@dataclass
class ForceBlock(_TimeRows):
    """Calibrated plate samples. t_s: (N,) seconds on the trial clock; cells_n: (N, 4) newtons per cell.

    A six-component plate also gives shear_n (N, 2) Fx Fy in N and free_moment_nm (N,) Tz in N·m
    (station.core.shear); a four-cell plate measures neither (None)."""

    t_s: np.ndarray
    cells_n: np.ndarray
    shear_n: np.ndarray | None = None
    free_moment_nm: np.ndarray | None = None

    def rows(self, index: slice | np.ndarray) -> ForceBlock:
        return ForceBlock(self.t_s[index], self.cells_n[index],
                          None if self.shear_n is None else self.shear_n[index],
                          None if self.free_moment_nm is None else self.free_moment_nm[index])


@dataclass
class MarkerBlock(_TimeRows):
    """Marker positions in the plate frame. t_s: (M,) seconds; positions[name]: (M, 3) metres, NaN = missing.

    bridged[name]: (M,) bool, True where the position was interpolated across a short gap.
    """

    t_s: np.ndarray
    positions: dict[str, np.ndarray]
    bridged: dict[str, np.ndarray] = field(default_factory=dict)

    def rows(self, index: slice | np.ndarray) -> MarkerBlock:
        return MarkerBlock(self.t_s[index], {k: v[index] for k, v in self.positions.items()},
                           {k: v[index] for k, v in self.bridged.items()})


# The virtual dowel's three contact regions, from the bottom of the back up: the one order every
# module uses (gap columns, region indices, overlays). The trial file's worst_region code has its own
# table (recording.format.WORST_REGION_CODES), kept as written since the first files.
DOWEL_REGIONS = ("sacrum", "upper_back", "head")


@dataclass
class DowelBlock(_TimeRows):
    """Per-frame 'virtual dowel' check (depth feature): the worst gap from the best line through head,
    upper back and sacrum. t_s: (K,) s; gap_mm: (K,) mm, NaN = not measured; region: (K,) int index into
    DOWEL_REGIONS saying which point was farthest from the line."""

    t_s: np.ndarray
    gap_mm: np.ndarray
    region: np.ndarray

    def rows(self, index: slice | np.ndarray) -> DowelBlock:
        return DowelBlock(self.t_s[index], self.gap_mm[index], self.region[index])
