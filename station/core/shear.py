"""A six-component plate's shear and free moment (a four-cell plate measures neither: it has no answer here).

Input: Fx Fy Fz (N) and Mx My Mz (N·m) as the plate sends them (drivers.samples.PlateChunk.six): the force
the subject exerts on the plate (Fz > 0 loaded), moments about the transducer origin origin_depth_m (dz)
below the top surface, x and y the station's plate axes (C3D type-2 / AMTI). Then, the standard way:

    COPx = (-My - Fx·dz) / Fz,   COPy = (Mx - Fy·dz) / Fz,   Tz = Mz - COPx·Fy + COPy·Fx

Tz is the free moment: the twist about the vertical through the CoP (a kettlebell swing's hips turning the
feet). Shear (Fx, Fy) is the horizontal force, the swing's forward-back drive. Below the CoP gate (the same
force gate as the CoP, station.core.cop) Tz is NaN like the CoP; shear is kept (it is measured even when
light). Why a separate module: the core's CoP path works on four cell loads, which both plates give.
"""

from __future__ import annotations

import numpy as np

PLATE_COMPONENTS = ("4-cell", "six-component")  # what a trial says its plate measured (plate_components)


def shear_and_free_moment(six: np.ndarray, origin_depth_m: float,
                          min_force_n: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) Fx Fy Fz Mx My Mz -> shear (N, 2) N [Fx, Fy] and free moment Tz (N,) N·m, NaN below the
    gate."""
    six = np.asarray(six, float).reshape(-1, 6)
    fx, fy, fz, mx, my, mz = (six[:, i] for i in range(6))
    dz = float(origin_depth_m)
    loaded = fz > float(min_force_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        cop_x = np.where(loaded, (-my - fx * dz) / fz, np.nan)
        cop_y = np.where(loaded, (mx - fy * dz) / fz, np.nan)
    tz = mz - cop_x * fy + cop_y * fx
    return np.column_stack([fx, fy]), tz
