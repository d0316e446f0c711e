"""Segment lengths, masses and surface sizes of the virtual subject, scaled by height and mass.

Sources: segment lengths and mass fractions from Winter, *Biomechanics and Motor Control of Human
Movement* (4th ed., 2009), Table 4.1 (lengths as fractions of height H, after Drillis & Contini;
mass fractions after Dempster). Heights of the standing joints: ankle 0.039 H, knee 0.285 H,
hip (greater trochanter) 0.530 H, shoulder 0.818 H, ear 0.92 H. The trunk is split at L5/S1, T12/L1
and C7/T1 into pelvis (0.142 M), abdomen/lumbar (0.139 M) and thorax (0.216 M); head and neck 0.081 M;
per side thigh 0.100, shank 0.0465, foot 0.0145, upper arm 0.028, forearm 0.016, hand 0.006 M.
Surface radii (the capsules the renderer draws) are plausible adult values scaled by height; they
are not from the table and only shape the picture and the back-surface (dowel) points.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_HEIGHT_M = 1.75

# Winter (2009) Table 4.1 mass fractions of total body mass
MASS_FRACTION = {
    "foot": 0.0145, "shank": 0.0465, "thigh": 0.100,
    "pelvis": 0.142, "lumbar": 0.139, "thorax": 0.216, "head": 0.081,
    "upper_arm": 0.028, "forearm": 0.016, "hand": 0.006,
}
# centre of mass as a fraction of segment length from the proximal end (Winter 2009 Table 4.1)
COM_FRACTION = {"thigh": 0.433, "shank": 0.433, "upper_arm": 0.436, "forearm": 0.430, "hand": 0.506,
                "lumbar": 0.44}


@dataclass(frozen=True)
class Body:
    """One subject's dimensions (m) and masses (kg).

    Sagittal offsets are (forward, up) in a segment's frame.
    """

    height_m: float
    mass_kg: float
    shank_m: float
    thigh_m: float
    ankle_height_m: float
    pelvis_l5s1_fwd_m: float      # L5/S1 relative to the hip joint centre, pelvis frame
    pelvis_l5s1_up_m: float
    lumbar_m: float               # L5/S1 -> T12/L1
    thorax_m: float               # T12/L1 -> C7/T1
    back_depth_m: float           # spine line -> posterior skin (the dowel contact line)
    tragus_fwd_m: float           # C7 -> tragus, thorax/head frame
    tragus_up_m: float
    shoulder_fwd_m: float         # C7 -> glenohumeral joint centre
    shoulder_down_m: float
    acromion_fwd_m: float         # C7 -> acromion (shoulder marker landmark)
    acromion_down_m: float
    shoulder_half_width_m: float  # glenohumeral centres at +-this y
    acromion_half_width_m: float
    hip_half_width_m: float       # hip joint centres at +-this y
    ankle_half_width_m: float     # stance: ankle centres at +-this y
    upper_arm_m: float
    forearm_m: float
    hand_m: float
    # surface radii (renderer, back points)
    r_pelvis_m: float
    r_lumbar_m: float
    r_thorax_m: float
    r_head_m: float
    r_neck_m: float
    r_thigh_m: tuple[float, float]
    r_shank_m: tuple[float, float]
    r_upper_arm_m: float
    r_forearm_m: float
    r_hand_m: float
    trunk_half_spread_m: float    # the trunk is drawn as a left and a right capsule this far from y=0
    # lateral marker plane for hip/knee/ankle: all three at one y so 3D angle = sagittal angle
    leg_marker_y_m: float
    knee_half_width_m: float      # knee joint centres at +-this y
    marker_radius_m: float        # retroreflective sphere radius (markers sit on the skin, centre r outward)

    def segment_mass_kg(self, name: str) -> float:
        return MASS_FRACTION[name] * self.mass_kg


def body_from_height_mass(height_m: float = 1.75, mass_kg: float = 75.0) -> Body:
    """Winter's fractions of height for lengths; everything else scales with height too."""
    if not 1.2 <= height_m <= 2.2:
        raise ValueError(f"height_m={height_m}: expected 1.2-2.2 m")
    if not 30.0 <= mass_kg <= 200.0:
        raise ValueError(f"mass_kg={mass_kg}: expected 30-200 kg")
    H = height_m
    k = H / REFERENCE_HEIGHT_M
    marker_r = 0.0095
    # The greater trochanter is the widest point of the hips: the lateral skin there is the pelvis
    # capsule's surface (left/right capsule at +-spread, radius r_pelvis, axis `pelvis_axis_fwd` in front
    # of the hip centre). Knee and ankle sit where the thigh/shank skin reaches that same lateral plane,
    # so all three markers lie on the skin and in one sagittal plane (3D knee angle = sagittal angle).
    r_pelvis, spread, back_depth = 0.110 * k, 0.065 * k, 0.034 * H
    pelvis_axis_fwd = -0.017 * H + r_pelvis - back_depth
    trochanter_skin_y = spread + (r_pelvis ** 2 - pelvis_axis_fwd ** 2) ** 0.5
    r_thigh, r_shank = (0.070 * k, 0.052 * k), (0.050 * k, 0.038 * k)
    # hip 0.530 H; L5/S1 0.055 H above and a little behind it; C7 at 0.83 H
    return Body(
        height_m=H, mass_kg=mass_kg,
        shank_m=(0.285 - 0.039) * H, thigh_m=(0.530 - 0.285) * H, ankle_height_m=0.039 * H,
        pelvis_l5s1_fwd_m=-0.017 * H, pelvis_l5s1_up_m=0.055 * H,
        lumbar_m=0.100 * H, thorax_m=0.145 * H,
        back_depth_m=back_depth,
        tragus_fwd_m=0.015 * H, tragus_up_m=0.090 * H,
        shoulder_fwd_m=0.026 * H, shoulder_down_m=0.020 * H,
        acromion_fwd_m=0.020 * H, acromion_down_m=0.004 * H,
        shoulder_half_width_m=0.104 * H, acromion_half_width_m=0.109 * H,
        hip_half_width_m=0.049 * H, ankle_half_width_m=trochanter_skin_y - r_shank[1],
        upper_arm_m=0.186 * H, forearm_m=0.146 * H, hand_m=0.108 * H,
        r_pelvis_m=r_pelvis, r_lumbar_m=0.096 * k, r_thorax_m=0.110 * k, r_head_m=0.096 * k,
        r_neck_m=0.052 * k, r_thigh_m=r_thigh, r_shank_m=r_shank,
        r_upper_arm_m=0.045 * k, r_forearm_m=0.036 * k, r_hand_m=0.026 * k,
        trunk_half_spread_m=spread,
        leg_marker_y_m=trochanter_skin_y + marker_r,
        knee_half_width_m=trochanter_skin_y - r_thigh[1],
        marker_radius_m=marker_r,
    )
