"""Append-only column buffers (amortised doubling): the core keeps what arrived, time first."""

from __future__ import annotations

import numpy as np


class ColumnBuffer:
    """Rows of `width` float64 columns; `view` is the filled part (no copy)."""

    def __init__(self, width: int, capacity: int = 4096):
        self._data = np.empty((capacity, width))
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        m = rows.shape[0]
        if self.n + m > self._data.shape[0]:
            bigger = np.empty((max(2 * self._data.shape[0], self.n + m), self._data.shape[1]))
            bigger[:self.n] = self._data[:self.n]
            self._data = bigger
        self._data[self.n:self.n + m] = rows
        self.n += m

    @property
    def view(self) -> np.ndarray:
        return self._data[:self.n]

    def last_t(self) -> float:
        return float(self._data[self.n - 1, 0]) if self.n else -np.inf
