"""The wall drill (issue 19, item 7): did the hip reach a wall the coach set behind the heel line?

"Feet about a foot's length from a wall, reach your butt back to the wall." The coach types the wall's
distance behind the heel line in mm (`--wall-mm`, `[feet] wall_mm`); in the plate frame (+x forward) the
wall stands at x = heel_x_m - wall_mm / 1000. The station follows the hip (trochanter) marker, so the wall is
the line the hip marker must reach: a rep reaches it when the hip's rearmost filtered position during the
rep is at or behind the wall, and `target_short_mm` is how far in front of the wall it stayed (0 when
reached). Both are null when no wall is set, or when the hip was not seen in the rep.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from station.config import StationConfig
from station.documents import DocumentValue
from station.errors import StationError

# the wall stands behind the heel line (at least 1 mm); 2 m behind it is beyond any plate and camera view
WALL_MIN_MM = 1.0
WALL_MAX_MM = 2000.0


def check_wall_mm(value: DocumentValue, where: str = "--wall-mm") -> float | None:
    """The wall distance as a float in mm, None for no wall; one-line StationError naming `where`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StationError(f"{where}: expected a distance in mm behind the heel line, got {value!r}")
    mm = float(value)
    if not math.isfinite(mm) or not WALL_MIN_MM <= mm <= WALL_MAX_MM:
        raise StationError(f"{where}: {value!r} mm is not a wall distance "
                           f"({WALL_MIN_MM:g}-{WALL_MAX_MM:g} mm behind the heel line)")
    return mm


def wall_x_m(heel_x_m: float, wall_mm: float) -> float:
    """The wall's x in the plate frame (+x is where the subject faces, so behind = smaller x)."""
    return heel_x_m - wall_mm / 1000.0


def wall_reach(hip_x_m: np.ndarray, heel_x_m: float, wall_mm: float | None
               ) -> tuple[bool | None, float | None]:
    """(reached_target, target_short_mm) from the hip's x over one rep (filtered, NaN where unseen)."""
    if wall_mm is None:
        return None, None
    seen = hip_x_m[np.isfinite(hip_x_m)]
    if seen.size == 0:
        return None, None
    short_mm = (float(seen.min()) - wall_x_m(heel_x_m, wall_mm)) * 1000.0
    reached = short_mm <= 0.0
    return reached, 0.0 if reached else short_mm


def with_recorded_wall(config: StationConfig, recorded_wall_mm: DocumentValue) -> StationConfig:
    """The config a recorded trial is analysed with: its own wall (root attribute `wall_mm`, NaN = none set)
    wins over the config's, so `analyze` gives the values the live core gave; a file from before the wall
    drill (no attribute: None here) keeps the config's."""
    if recorded_wall_mm is None:
        return config
    wall = None if isinstance(recorded_wall_mm, float) and math.isnan(recorded_wall_mm) else \
        check_wall_mm(recorded_wall_mm, "trial attribute wall_mm")
    if wall == config.feet.wall_mm:
        return config
    config = copy.deepcopy(config)
    config.feet.wall_mm = wall
    return config
