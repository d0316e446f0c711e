"""Forward kinematics of the virtual subject: joint angles -> 3D points, centre of mass, ankle balance.

Sagittal chain from the (fixed) ankle up: shank, thigh, pelvis, lumbar, thorax, neck/head. Both legs
move together (symmetric drills). Segment angles are measured from vertical, positive when the
segment's top tips forward (+x). A segment frame maps local (forward, lateral, up) to the plate frame.
The ankle angle is not prescribed: it is solved so that the whole-body centre of mass sits at the
pattern's target (people balance over the feet with the ankles), which also produces the sway.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from drivers.sim.anthropometry import COM_FRACTION, Body

# "dowel": right hand behind the neck, left at the low back; "dowel_left_high": the mirror grip
ARM_OPTIONS = ("crossed", "hips", "dowel", "dowel_left_high", "weights", "hands_low_back", "fingertips_ears",
               "swing")  # "swing": both hands on a kettlebell, the arms swinging (drivers.sim.swing_arm)
DOWEL_GRIPS = {"dowel": -1, "dowel_left_high": +1}  # the side (s) whose hand is behind the neck
MTP_FRACTION = 0.75      # metatarsal heads along the foot (heel raise pivot)
ANKLE_FRACTION = 0.21    # lateral malleolus along the foot from the heel
DOWEL_RADIUS_M = 0.0125


@dataclass
class Dofs:
    """Joint angles (rad) over N instants. shank is solved by `solve_shank_for_com`."""

    knee: np.ndarray                      # flexion, 0 = straight
    pelvis: np.ndarray                    # pelvis segment angle from vertical (forward +)
    lumbar: np.ndarray                    # lumbar flexion (+ rounding, - arching), half at each end
    shank: np.ndarray                     # shank angle from vertical (forward + = dorsiflexion)
    heel: np.ndarray                      # heel raise: foot rotation about the metatarsal heads
    lift_m: np.ndarray                    # whole-body vertical offset (hop flight only)
    neck: np.ndarray                      # head flexion relative to the thorax (+ chin down / head forward)
    arm: np.ndarray | None = None         # "swing" arms: angle from hanging (forward +); None: not swinging

    FIELDS = ("knee", "pelvis", "lumbar", "shank", "heel", "lift_m", "neck", "arm")


@dataclass
class Feet:
    heel_x_m: float
    foot_length_m: float


def tilt(angle: np.ndarray, fwd: float | np.ndarray, lat: float | np.ndarray, up: float | np.ndarray
         ) -> np.ndarray:
    """Local (forward, lateral, up) in a segment tilted by `angle` -> plate-frame offset (N,3)."""
    s, c = np.sin(angle), np.cos(angle)
    fwd = np.broadcast_to(fwd, angle.shape)
    up = np.broadcast_to(up, angle.shape)
    return np.stack([fwd * c + up * s, np.broadcast_to(lat, angle.shape), -fwd * s + up * c], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, l1: float, l2: float, pole: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Two-link arm: elbow bulging toward `pole`; an unreachable wrist is pulled in along the line."""
    d = wrist - shoulder
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    reach = 0.999 * (l1 + l2)
    dist_c = np.clip(dist, abs(l1 - l2) + 1e-3, reach)
    e_d = d / dist
    wrist = shoulder + e_d * dist_c
    a = (l1 ** 2 - l2 ** 2 + dist_c ** 2) / (2 * dist_c)
    h = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    p = pole - np.sum(pole * e_d, axis=-1, keepdims=True) * e_d
    p = _unit(p)
    return shoulder + a * e_d + h * p, wrist


@dataclass
class Skeleton:
    """Named plate-frame points (N,3) and per-side points keyed by (name, side) with side in (+1, -1)."""

    p: dict[str, np.ndarray] = field(default_factory=dict)
    side: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    angles: dict[str, np.ndarray] = field(default_factory=dict)


def _dowel_line(sacrum: np.ndarray, upper: np.ndarray, head: np.ndarray, post: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """A straight dowel pressed on the back touches two of the three points, the third is not behind it."""

    def behind(a: np.ndarray, b: np.ndarray, q: np.ndarray) -> np.ndarray:
        u = _unit(b - a)
        off = (q - a) - np.sum((q - a) * u, axis=-1, keepdims=True) * u
        return np.sum(off * post, axis=-1)

    a, b = sacrum.copy(), head.copy()
    rounding = behind(sacrum, head, upper) > 0
    use_uh = rounding & (behind(upper, head, sacrum) <= 0)
    use_su = rounding & ~use_uh
    a[use_uh], b[use_uh] = upper[use_uh], head[use_uh]
    a[use_su], b[use_su] = sacrum[use_su], upper[use_su]
    return a, b


def head_capsule(centre: np.ndarray, thorax: np.ndarray, body: Body) -> tuple[tuple[np.ndarray, float], ...]:
    """The head as the renderer draws it: a tapered capsule along the thorax, ((lower end, radius m),
    (upper end, radius m))."""
    H, r = body.height_m, body.r_head_m
    return ((centre - tilt(thorax, 0.0, 0.0, 0.01 * H), r),
            (centre + tilt(thorax, 0.0, 0.0, 0.03 * H), 0.9 * r))


def _skull_contact(centre: np.ndarray, sacrum: np.ndarray, thorax: np.ndarray, body: Body) -> np.ndarray:
    """Where a dowel laid along the back touches the skull: the head's surface point furthest out of the
    back, square to the sacrum -> head line (a flexed neck turns the skull's own "back" point inside that
    outline). The head is `head_capsule`; a convex hull of two spheres has its support point on one of
    them."""
    ends = head_capsule(centre, thorax, body)
    post = -tilt(thorax, 1.0, 0.0, 0.0)
    contact = centre + body.r_head_m * post
    for _ in range(3):  # the chord depends on the contact; converges to < 0.1 mm in three steps
        chord = _unit(contact - sacrum)
        post = np.stack([chord[..., 2], np.zeros_like(chord[..., 0]), -chord[..., 0]], axis=-1)
        post = np.where(np.sum(post * tilt(thorax, 1.0, 0.0, 0.0), axis=-1, keepdims=True) > 0, -post, post)
        cand = [c + rr * post for c, rr in ends]
        lo_wins = np.sum((cand[0] - cand[1]) * post, axis=-1, keepdims=True) >= 0
        contact = np.where(lo_wins, cand[0], cand[1])
    return contact


def skeleton(body: Body, feet: Feet, dofs: Dofs, arms: str) -> Skeleton:
    """All points needed for markers, centre of mass and capsules."""
    sk = Skeleton()
    n = dofs.knee.shape[0]
    zeros = np.zeros(n)
    lf = feet.foot_length_m
    # foot: rigid, rotating about the metatarsal heads in a heel raise
    pivot = np.array([feet.heel_x_m + MTP_FRACTION * lf, 0.0])

    def foot_point(x_from_heel: float, z: float) -> np.ndarray:
        vx = feet.heel_x_m + x_from_heel - pivot[0]
        g = dofs.heel
        x = pivot[0] + vx * np.cos(g) + z * np.sin(g)
        zz = -vx * np.sin(g) + z * np.cos(g) + dofs.lift_m
        return np.stack([x, zeros, zz], axis=-1)

    ankle = foot_point(ANKLE_FRACTION * lf, body.ankle_height_m)
    sk.p["heel"] = foot_point(0.035, 0.035)
    sk.p["mtp"] = foot_point(MTP_FRACTION * lf, 0.025) + np.array([0.0, 0.0, 0.0])
    sk.p["toe"] = foot_point(lf - 0.02, 0.02)
    sk.p["foot_com"] = foot_point(0.44 * lf, 0.035)
    shank, knee_flex, pelvis, lumbar = dofs.shank, dofs.knee, dofs.pelvis, dofs.lumbar
    thigh = shank - knee_flex  # thigh top tips backward when the knee flexes
    lumbar_seg = pelvis + 0.5 * lumbar
    thorax = pelvis + lumbar
    sk.angles.update(shank=shank, thigh=thigh, pelvis=pelvis, lumbar_seg=lumbar_seg, thorax=thorax)
    sk.p["ankle"] = ankle
    knee = ankle + tilt(shank, 0.0, 0.0, body.shank_m)
    hip = knee + tilt(thigh, 0.0, 0.0, body.thigh_m)
    sk.p["knee"], sk.p["hip"] = knee, hip
    l5s1 = hip + tilt(pelvis, body.pelvis_l5s1_fwd_m, 0.0, body.pelvis_l5s1_up_m)
    t12 = l5s1 + tilt(lumbar_seg, 0.0, 0.0, body.lumbar_m)
    c7 = t12 + tilt(thorax, 0.0, 0.0, body.thorax_m)
    sk.p.update(l5s1=l5s1, t12=t12, c7=c7)
    b = body.back_depth_m
    head = thorax + dofs.neck
    sk.angles["head"] = head
    sk.p["tragus"] = c7 + tilt(head, body.tragus_fwd_m, 0.0, body.tragus_up_m)
    sk.p["head_centre"] = c7 + tilt(head, body.r_head_m - b, 0.0, body.tragus_up_m)
    # posterior skin points on one straight "back line" when the spine is neutral
    sk.p["sacrum"] = l5s1 + tilt(pelvis, -b, 0.0, -0.035 * body.height_m)
    sk.p["upper_back"] = c7 + tilt(thorax, -b, 0.0, -0.4 * body.thorax_m)
    sk.p["head_back"] = _skull_contact(sk.p["head_centre"], sk.p["sacrum"], thorax, body)
    sk.p["pelvis_com"] = hip + tilt(pelvis, 0.005 * body.height_m, 0.0, 0.02 * body.height_m)
    sk.p["lumbar_com"] = l5s1 + tilt(lumbar_seg, body.r_lumbar_m - b, 0.0,
                                     (1 - COM_FRACTION["lumbar"]) * body.lumbar_m)
    sk.p["thorax_com"] = t12 + tilt(thorax, body.r_thorax_m - b, 0.0, 0.5 * body.thorax_m)
    if dofs.arm is not None:
        sk.angles["arm"] = dofs.arm
    post = -tilt(thorax, 1.0, 0.0, 0.0)
    sk.p["dowel_a"], sk.p["dowel_b"] = _dowel_line(sk.p["sacrum"], sk.p["upper_back"], sk.p["head_back"],
                                                   post)
    for s in (1, -1):
        lat = np.array([0.0, 1.0, 0.0]) * s
        sk.side["ankle", s] = ankle + lat * body.ankle_half_width_m
        sk.side["hip", s] = hip + lat * body.hip_half_width_m
        sk.side["knee", s] = knee + lat * body.knee_half_width_m
        for name in ("heel", "mtp", "toe", "foot_com"):
            sk.side[name, s] = sk.p[name] + lat * body.ankle_half_width_m
        _arm(sk, body, s, arms, thorax, pelvis)
    return sk


def _arm(sk: Skeleton, body: Body, s: int, arms: str, thorax: np.ndarray, pelvis: np.ndarray) -> None:
    """Shoulder, elbow, wrist, fingertip of one side for the drill's arm position."""
    k = body.height_m / 1.75
    c7, b = sk.p["c7"], body.back_depth_m
    gh = c7 + tilt(thorax, body.shoulder_fwd_m, s * body.shoulder_half_width_m, -body.shoulder_down_m)
    l1, l2 = body.upper_arm_m, body.forearm_m
    down = np.array([0.0, 0.0, -1.0])
    if arms == "swing":
        from drivers.sim.swing_arm import swing_arm
        sk.side["shoulder", s] = gh
        swing_arm(sk, body, s, sk.angles.get("arm", np.zeros(gh.shape[0])))
        return
    if arms == "weights":
        # arms hang a little abducted so the forearms pass outside the hips (and the hip marker)
        clear_y = body.leg_marker_y_m + body.marker_radius_m + body.r_forearm_m + 0.01 * k
        out = np.maximum(clear_y - np.abs(gh[:, 1:2]), 0.0)
        hang = _unit(down * (l1 + l2) + np.array([0.0, float(s), 0.0]) * out)
        elbow = gh + hang * l1
        wrist = gh + hang * (l1 + l2)
        tip = wrist + hang * body.hand_m
    else:
        if arms == "crossed":
            chest = 2 * body.r_thorax_m - b
            wrist = c7 + tilt(thorax, chest + (0.02 if s > 0 else 0.06) * k, -s * 0.10 * k, -0.08 * k)
            pole = tilt(thorax, 1.0, s * 0.4, -1.0)
        elif arms == "hips":
            wrist = sk.p["hip"] + tilt(pelvis, 0.0, s * (body.hip_half_width_m + 0.09 * k), 0.10 * k)
            pole = tilt(pelvis, -0.5, s * 1.0, 0.0)
        elif arms == "hands_low_back":
            wrist = sk.p["l5s1"] + tilt(pelvis, -b - 0.05 * k, s * 0.08 * k, 0.02 * k)
            pole = tilt(pelvis, -0.6, s * 1.0, 0.0)
        elif arms == "fingertips_ears":
            wrist = sk.p["tragus"] + tilt(thorax, -0.03 * k, s * 0.12 * k, -0.17 * k)
            pole = tilt(thorax, 0.0, s * 1.0, -0.3)
        elif arms in DOWEL_GRIPS:
            # one hand behind the neck, the other at the low back, both on the dowel
            a, bb = sk.p["dowel_a"], sk.p["dowel_b"]
            u = _unit(bb - a)
            high = s == DOWEL_GRIPS[arms]
            level = c7 if high else sk.p["l5s1"]
            grip = a + np.sum((level - a) * u, axis=-1, keepdims=True) * u
            wrist = grip + tilt(thorax, -0.04 * k, s * 0.05 * k, 0.0)
            pole = tilt(thorax, -0.3, s * 1.0, 0.5 if high else -0.5)
        else:
            raise ValueError(f"arms={arms!r}: expected one of {ARM_OPTIONS}")
        elbow, wrist = _elbow(gh, wrist, l1, l2, pole)
        if arms == "fingertips_ears":
            tip = wrist + _unit(sk.p["tragus"] + tilt(thorax, 0.0, s * 0.08 * k, 0.0) - wrist) * body.hand_m
        else:
            tip = wrist + _unit(wrist - elbow) * body.hand_m
    sk.side["shoulder", s], sk.side["elbow", s], sk.side["wrist", s], sk.side["fingertip", s] = (
        gh, elbow, wrist, tip)
    sk.side["grip", s] = wrist + (tip - wrist) * 0.4


def segment_masses(body: Body, sk: Skeleton, load_kg: float) -> list[tuple[float, np.ndarray]]:
    """(mass kg, centre (N,3)) for every segment and the held load."""
    m = body.segment_mass_kg
    out: list[tuple[float, np.ndarray]] = [
        (m("pelvis"), sk.p["pelvis_com"]), (m("lumbar"), sk.p["lumbar_com"]),
        (m("thorax"), sk.p["thorax_com"]), (m("head"), sk.p["head_centre"]),
    ]
    for s in (1, -1):
        sd = sk.side
        out += [
            (m("foot"), sd["foot_com", s]),
            (m("shank"), sd["knee", s] + COM_FRACTION["shank"] * (sd["ankle", s] - sd["knee", s])),
            (m("thigh"), sd["hip", s] + COM_FRACTION["thigh"] * (sd["knee", s] - sd["hip", s])),
            (m("upper_arm"),
             sd["shoulder", s] + COM_FRACTION["upper_arm"] * (sd["elbow", s] - sd["shoulder", s])),
            (m("forearm"), sd["elbow", s] + COM_FRACTION["forearm"] * (sd["wrist", s] - sd["elbow", s])),
            (m("hand"), sd["wrist", s] + COM_FRACTION["hand"] * (sd["fingertip", s] - sd["wrist", s])),
        ]
        if load_kg > 0:
            out.append((0.5 * load_kg, sd["grip", s]))
    return out


def centre_of_mass(body: Body, sk: Skeleton, load_kg: float) -> np.ndarray:
    parts = segment_masses(body, sk, load_kg)
    total = sum(mass for mass, _ in parts)
    return sum(mass * point for mass, point in parts) / total


def solve_shank_for_com(body: Body, feet: Feet, dofs: Dofs, arms: str, load_kg: float,
                        target_com_x_m: np.ndarray, iterations: int = 8) -> Dofs:
    """Newton on the ankle angle so the centre of mass x equals the target (to ~1e-12 m)."""
    shank = np.zeros_like(dofs.knee) if dofs.shank is None else dofs.shank.copy()
    eps = 1e-6
    for _ in range(iterations):
        d0 = replace(dofs, shank=shank)
        x0 = centre_of_mass(body, skeleton(body, feet, d0, arms), load_kg)[:, 0]
        x1 = centre_of_mass(body, skeleton(body, feet, replace(dofs, shank=shank + eps), arms), load_kg)[:, 0]
        step = (target_com_x_m - x0) / ((x1 - x0) / eps)
        shank = shank + step
        if np.max(np.abs(step)) < 1e-13:
            break
    return replace(dofs, shank=shank)
