"""Skeleton points -> the capsules of the body surface (what the renderer draws), one instant."""

from __future__ import annotations

import numpy as np

from drivers.sim.anthropometry import Body
from drivers.sim.kinematics import DOWEL_GRIPS, DOWEL_RADIUS_M, Skeleton, head_capsule, tilt
from drivers.sim.pose import Capsule


def capsules_for(body: Body, sk: Skeleton, arms: str, load_kg: float) -> list[Capsule]:
    """Capsules at the first instant; trunk segments are a left and a right capsule (wider than deep)."""
    p = {k: v[0] for k, v in sk.p.items()}
    sd = {k: v[0] for k, v in sk.side.items()}
    ang = {k: np.atleast_1d(v[:1]) for k, v in sk.angles.items()}
    H, b = body.height_m, body.back_depth_m

    def local(angle: str, fwd: float, lat: float, up: float) -> np.ndarray:
        return tilt(ang[angle], fwd, lat, up)[0]

    caps: list[Capsule] = []
    for s in (1, -1):
        tag = "left" if s > 0 else "right"
        caps += [
            Capsule(f"foot_{tag}", sd["heel", s], sd["mtp", s], 0.035, 0.028),
            Capsule(f"toes_{tag}", sd["mtp", s], sd["toe", s], 0.025, 0.02),
            Capsule(f"shank_{tag}", sd["knee", s], sd["ankle", s], *body.r_shank_m),
            Capsule(f"thigh_{tag}", sd["hip", s], sd["knee", s], *body.r_thigh_m),
            Capsule(f"upper_arm_{tag}", sd["shoulder", s], sd["elbow", s], body.r_upper_arm_m,
                    body.r_forearm_m),
            Capsule(f"forearm_{tag}", sd["elbow", s], sd["wrist", s], body.r_forearm_m, body.r_hand_m),
            Capsule(f"hand_{tag}", sd["wrist", s], sd["fingertip", s], body.r_hand_m, 0.6 * body.r_hand_m),
        ]
        lat = s * body.trunk_half_spread_m
        caps += [
            Capsule(f"pelvis_{tag}", p["l5s1"] + local("pelvis", body.r_pelvis_m - b, lat, -0.065 * H),
                    p["l5s1"] + local("pelvis", body.r_pelvis_m - b, lat, 0.0),
                    body.r_pelvis_m, body.r_pelvis_m),
            Capsule(f"lumbar_{tag}", p["l5s1"] + local("lumbar_seg", body.r_lumbar_m - b, lat * 0.8, 0.0),
                    p["t12"] + local("lumbar_seg", body.r_lumbar_m - b, lat * 0.8, 0.0),
                    body.r_lumbar_m, body.r_lumbar_m),
            Capsule(f"thorax_{tag}", p["t12"] + local("thorax", body.r_thorax_m - b, lat, 0.0),
                    p["c7"] + local("thorax", body.r_thorax_m - b, lat, -0.03 * H),
                    body.r_thorax_m, body.r_thorax_m),
        ]
    caps.append(Capsule("neck", p["c7"] + local("thorax", 0.01 * H, 0.0, 0.0), p["head_centre"],
                        body.r_neck_m, body.r_neck_m))
    (lo, r_lo), (hi, r_hi) = head_capsule(p["head_centre"], ang["thorax"], body)
    caps.append(Capsule("head", lo[0], hi[0], r_lo, r_hi))
    if arms in DOWEL_GRIPS:
        a, c = p["dowel_a"], p["dowel_b"]
        u = (c - a) / np.linalg.norm(c - a)
        off = -local("thorax", DOWEL_RADIUS_M, 0.0, 0.0)
        lo = a + u * np.dot(p["sacrum"] - a, u) - 0.12 * u + off
        hi = a + u * np.dot(p["head_back"] - a, u) + 0.12 * u + off
        caps.append(Capsule("dowel", lo, hi, DOWEL_RADIUS_M, DOWEL_RADIUS_M))
    if load_kg > 0:
        # a dumbbell per hand, bar along y, plates growing with the load
        r = float(np.clip(0.03 + 0.004 * 0.5 * load_kg, 0.035, 0.08))  # per hand
        for s in (1, -1):
            g = sd["grip", s]
            caps.append(Capsule("weight_left" if s > 0 else "weight_right", g - np.array([0, 0.1, 0]),
                                g + np.array([0, 0.1, 0]), r, r))
    return caps
