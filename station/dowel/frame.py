"""One frame's virtual dowel (DowelFrame) and the two small views of it the live path hands on.

Kept apart from the tracker so that what only carries or shows a result (the trial's documents, the live
view, the trial file's rows) does not load the image-processing code (OpenCV) to do so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from station.streams import DOWEL_REGIONS, DowelBlock


@dataclass
class DowelFrame:
    """One frame's virtual dowel. gap_mm: region -> gap (mm), None when not measured (see reason).

    contacts_xyz: region -> contact point (plate m); dowel_xyz: (2, 3) dowel end points (plate m);
    worst_region / worst_gap_mm: the fault-relevant gap ("sacrum" when rounded, "upper_back" when arched);
    lumbar_curve_mm: signed, + rounded; pixels: what to draw (see `overlay`)."""

    t_s: float
    gap_mm: dict[str, float] | None
    reason: str | None = None
    worst_region: str | None = None
    worst_gap_mm: float | None = None
    lumbar_curve_mm: float | None = None
    contacts_xyz: dict[str, np.ndarray] = field(default_factory=dict)
    real_dowel: bool = False  # a real dowel on the back was seen (read around) or expected
    dowel_xyz: np.ndarray | None = None
    on_dowel: str | None = None  # a contact hidden under the arm, read where the real dowel rests on it
    pixels: dict = field(default_factory=dict)

    def overlay(self, with_contour: bool = True) -> dict:
        """Pixel coordinates to draw on the depth/IR image: {"line": ((u0, v0), (u1, v1)),
        "contacts": {region: (u, v)}, "feet": {region: (u, v)} (a gap's foot on the dowel), "dorsal": (du, dv)
        (unit image direction out of the back, for placing labels),
        "gaps_mm": {region: mm}, "contour": [(u, v), ...], "reason": str | None}. Empty lists/dicts when
        nothing was measured. with_contour=False leaves out the contour (hundreds of points, per frame)."""
        out = {"line": self.pixels.get("line"), "contacts": self.pixels.get("contacts", {}),
               "dorsal": self.pixels.get("dorsal"), "feet": self.pixels.get("feet", {}),
               "gaps_mm": dict(self.gap_mm or {}), "reason": self.reason}
        if with_contour:
            uv = self.pixels.get("contour_uv")
            out["contour"] = [] if uv is None else [tuple(p) for p in uv.tolist()]
        return out


def live_dict(frame: DowelFrame) -> dict:
    """What the live snapshot carries (LiveSnapshot.live["dowel"]): plain floats/tuples, small."""
    overlay = frame.overlay(with_contour=False)  # the dashboard draws line, contacts and gaps
    return {"t_s": frame.t_s, "gap_mm": dict(frame.gap_mm) if frame.gap_mm else None,
            "worst_region": frame.worst_region, "worst_gap_mm": frame.worst_gap_mm,
            "lumbar_curve_mm": frame.lumbar_curve_mm, "reason": frame.reason, "overlay": overlay}


def block_of(frame: DowelFrame) -> DowelBlock:
    """One frame as the core's DowelBlock."""
    gap = np.nan if frame.worst_gap_mm is None else frame.worst_gap_mm
    region = DOWEL_REGIONS.index(frame.worst_region) if frame.worst_region in DOWEL_REGIONS else 0
    return DowelBlock(np.array([frame.t_s]), np.array([gap], float), np.array([region], np.int64))
