"""Column buffers (amortised doubling), time first: the core keeps what arrived and may drop the oldest rows.

Dropping moves a start offset; the rows still held are moved to the front only when the array is full, so
a buffer whose oldest rows are dropped as fast as new ones arrive stays at about twice the rows it holds.
"""

from __future__ import annotations

import numpy as np


class ColumnBuffer:
    """Rows of `width` float64 columns; `view` is the rows held (no copy), oldest first."""

    def __init__(self, width: int, capacity: int = 4096):
        self._data = np.empty((capacity, width))
        self._start = 0  # first held row in _data (rows before it were dropped)
        self._end = 0
        self._last_t = -np.inf  # time of the newest row ever added: kept when rows are dropped
        self.dropped = 0  # rows dropped so far

    @property
    def n(self) -> int:
        """Rows held."""
        return self._end - self._start

    def extend(self, rows: np.ndarray) -> None:
        m = rows.shape[0]
        if m == 0:
            return
        if self._end + m > self._data.shape[0]:
            held = self.n
            if self._start and held + m <= self._data.shape[0] // 2:  # room once the dropped rows go
                self._data[:held] = self._data[self._start:self._end]
            else:
                bigger = np.empty((max(2 * self._data.shape[0], 2 * (held + m)), self._data.shape[1]))
                bigger[:held] = self._data[self._start:self._end]
                self._data = bigger
            self._start, self._end = 0, held
        self._data[self._end:self._end + m] = rows
        self._end += m
        self._last_t = float(rows[-1, 0])

    @property
    def view(self) -> np.ndarray:
        return self._data[self._start:self._end]

    def last_t(self) -> float:
        return self._last_t

    def drop_before(self, t_s: float, spare_rows: int = 0) -> int:
        """Drop the rows older than t_s except the `spare_rows` just before it; the newest row always stays
        (last_t and "has rows" do not change). Returns the rows dropped now."""
        k = int(np.searchsorted(self.view[:, 0], t_s, side="left")) - spare_rows
        k = min(k, self.n - 1)
        if k <= 0:
            return 0
        self._start += k
        self.dropped += k
        return k
