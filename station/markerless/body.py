"""Body proportions for the markerless chain: segment lengths from stature, by published ratios.

Stature is the top of the subject's silhouette in the standing pose at the start of the trial (the head's
vertex over the plate top). Landmark heights as fractions of stature are Winter, *Biomechanics and Motor
Control of Human Movement* (4th ed., 2009), Fig. 4.1 after Drillis & Contini (1966): lateral malleolus
0.039, femoral condyles (knee) 0.285, greater trochanter 0.530, acromion 0.818, and the tragus about
0.92 (between the chin, 0.870, and the eye, 0.936). Where the malleolus sits along the foot (about a
fifth of the foot length in front of the heel's back edge) is the usual foot proportion (Winter's foot
segment: heel to ankle ~0.2 of the foot length); the feet calibration gives the heel line and the length.

Real bodies differ from these ratios by a few percent (a 3% longer thigh is 13 mm at the hip of a 1.75 m
subject); that spread is part of the expected error the station states beside the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

# landmark heights, fraction of stature (Winter 2009 after Drillis & Contini)
ANKLE_H = 0.039
KNEE_H = 0.285
HIP_H = 0.530
SHOULDER_H = 0.818
TRAGUS_H = 0.920
MALLEOLUS_ALONG_FOOT = 0.21  # lateral malleolus in front of the heel's back edge, fraction of foot length
STATURE_RANGE_M = (1.2, 2.2)
# the station's shoulder landmark is where its marker sits: a 19 mm sphere on the acromion's top, its centre
# one radius plus skin above the bony landmark Winter's height gives
ACROMION_MARKER_ABOVE_M = 0.02


@dataclass(frozen=True)
class Proportions:
    """Segment lengths (m) of one subject and where the ankle is (plate x, z), from stature."""

    stature_m: float
    shank_m: float
    thigh_m: float
    trunk_m: float       # greater trochanter -> acromion
    neck_m: float        # acromion -> tragus (standing height difference)
    ankle_xz: tuple[float, float]

    @staticmethod
    def from_stature(stature_m: float, heel_x_m: float, foot_length_m: float) -> Proportions:
        h = float(stature_m)
        return Proportions(h, (KNEE_H - ANKLE_H) * h, (HIP_H - KNEE_H) * h,
                           (SHOULDER_H - HIP_H) * h + ACROMION_MARKER_ABOVE_M,
                           (TRAGUS_H - SHOULDER_H) * h,
                           (heel_x_m + MALLEOLUS_ALONG_FOOT * foot_length_m, ANKLE_H * h))
