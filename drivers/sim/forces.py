"""Ground reaction: the force truth type, the split over four load cells, and the hop's flight phase."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ForceTruth:
    """fz_n (N,) total vertical force; cop_xy_m (N,2) centre of pressure (NaN while airborne);
    cells_n (N,4) newtons per load cell in the config's channel order."""

    fz_n: np.ndarray
    cop_xy_m: np.ndarray
    cells_n: np.ndarray


def _rectangle(channel_xy: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x_min, x_max, y_min, y_max) when the four cells sit on the corners of an axis-aligned rectangle."""
    xs, ys = np.unique(np.round(channel_xy[:, 0], 9)), np.unique(np.round(channel_xy[:, 1], 9))
    if len(xs) != 2 or len(ys) != 2:
        return None
    corners = {(round(x, 9), round(y, 9)) for x, y in channel_xy}
    return (xs[0], xs[1], ys[0], ys[1]) if len(corners) == 4 else None


def cell_loads(fz_n: np.ndarray, cop_xy_m: np.ndarray, channel_xy: np.ndarray) -> np.ndarray:
    """Split Fz over the cells so sum = Fz and sum(F_i (x_i, y_i)) / Fz = CoP exactly.

    Cells on a rectangle: bilinear weights (never negative while the CoP is inside the rectangle).
    Any other layout: the minimum-norm split satisfying the three equilibrium equations.
    """
    fz = np.asarray(fz_n, dtype=float)
    cop = np.nan_to_num(np.asarray(cop_xy_m, dtype=float))
    rect = _rectangle(channel_xy)
    if rect is not None:
        x0, x1, y0, y1 = rect
        u = (cop[:, 0] - x0) / (x1 - x0)
        v = (cop[:, 1] - y0) / (y1 - y0)
        wx = np.where(np.isclose(channel_xy[:, 0], x1)[None, :], u[:, None], 1 - u[:, None])
        wy = np.where(np.isclose(channel_xy[:, 1], y1)[None, :], v[:, None], 1 - v[:, None])
        return fz[:, None] * wx * wy
    a = np.vstack([np.ones(4), channel_xy[:, 0], channel_xy[:, 1]])       # (3,4)
    rhs = np.stack([fz, fz * cop[:, 0], fz * cop[:, 1]], axis=-1)        # (N,3)
    return rhs @ np.linalg.pinv(a).T
