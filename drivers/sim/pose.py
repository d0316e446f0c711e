"""The body pose the simulator hands to the renderer: capsules for the surface, marker centres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Capsule:
    """A tapered capsule between two points (plate frame, m) with end radii (m)."""

    name: str
    p0: np.ndarray
    p1: np.ndarray
    r0: float
    r1: float


@dataclass(frozen=True)
class Pose:
    """Everything visible at one instant, plate frame, metres.

    capsules: the body surface (both legs, pelvis, trunk, head, arms, plus a dowel/weights if held);
    markers: name -> centre of the retroreflective sphere (already offset outward from the skin);
    marker_radius_m: sphere radius.
    """

    t_s: float
    capsules: tuple[Capsule, ...]
    markers: dict[str, np.ndarray]
    marker_radius_m: float = 0.0095
