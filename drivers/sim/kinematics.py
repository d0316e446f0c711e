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


_Trig = tuple[np.ndarray, np.ndarray]  # (sin, cos) of a segment angle


def tilt(angle: np.ndarray, fwd: float | np.ndarray, lat: float | np.ndarray, up: float | np.ndarray
         ) -> np.ndarray:
    """Local (forward, lateral, up) in a segment tilted by `angle` -> plate-frame offset (N,3)."""
    return _tilted((np.sin(angle), np.cos(angle)), fwd, lat, up)


def _tilted(sc: _Trig, fwd: float | np.ndarray, lat: float | np.ndarray, up: float | np.ndarray
            ) -> np.ndarray:
    """`tilt` from the angle's (sin, cos), which a segment's offsets share (sin/cos dominate on the fine
    grid). Columns filled in place: np.stack and broadcast_to cost more than the arithmetic at one instant."""
    s, c = sc
    out = np.empty(s.shape + (3,))
    out[..., 0] = fwd * c + up * s
    out[..., 1] = lat
    out[..., 2] = -fwd * s + up * c
    return out


def _trig(angle: np.ndarray) -> _Trig:
    return np.sin(angle), np.cos(angle)


def _row_sum(p: np.ndarray) -> np.ndarray:
    """np.add.reduce(p, axis=-1) of (N,3). On the fine grid by the reduction's own additions, 0.0 + p0 + p1
    + p2 (checked bit for bit, signed zeros too): numpy reduces a length-3 last axis ~10x slower than that."""
    if p.shape[0] <= 16:  # a pose: one call beats four
        return np.add.reduce(p, axis=-1)
    return 0.0 + p[:, 0] + p[:, 1] + p[:, 2]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise a.b (N,1), as np.sum(a * b, axis=-1, keepdims=True)."""
    return _row_sum(a * b)[:, None]


def _norm(v: np.ndarray) -> np.ndarray:
    """np.linalg.norm(v, axis=-1, keepdims=True): the same operations (sqrt of the summed squares)."""
    return np.sqrt(_row_sum(v * v))[:, None]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / _norm(v)


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, l1: float, l2: float, pole: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Two-link arm: elbow bulging toward `pole`; an unreachable wrist is pulled in along the line."""
    d = wrist - shoulder
    dist = _norm(d)
    reach = 0.999 * (l1 + l2)
    dist_c = np.minimum(np.maximum(dist, abs(l1 - l2) + 1e-3), reach)  # np.clip, without its wrapper
    e_d = d / dist
    wrist = shoulder + e_d * dist_c
    a = (l1 ** 2 - l2 ** 2 + dist_c ** 2) / (2 * dist_c)
    h = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    p = pole - _dot(pole, e_d) * e_d
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
        off = (q - a) - _dot(q - a, u) * u
        return _row_sum(off * post)

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
    return _head_ends(centre, _trig(thorax), body)


def _head_ends(centre: np.ndarray, thorax: _Trig, body: Body) -> tuple[tuple[np.ndarray, float], ...]:
    H, r = body.height_m, body.r_head_m
    return ((centre - _tilted(thorax, 0.0, 0.0, 0.01 * H), r),
            (centre + _tilted(thorax, 0.0, 0.0, 0.03 * H), 0.9 * r))


def _skull_contact(centre: np.ndarray, sacrum: np.ndarray, thorax: _Trig, forward: np.ndarray, body: Body
                   ) -> np.ndarray:
    """Where a dowel laid along the back touches the skull: the head's surface point furthest out of the
    back, square to the sacrum -> head line (a flexed neck turns the skull's own "back" point inside that
    outline). The head is `head_capsule`; a convex hull of two spheres has its support point on one of
    them. `forward` is the thorax's forward axis, tilt(thorax, 1, 0, 0)."""
    ends = _head_ends(centre, thorax, body)
    post = -forward
    contact = centre + body.r_head_m * post
    for _ in range(3):  # the chord depends on the contact; converges to < 0.1 mm in three steps
        chord = _unit(contact - sacrum)
        post = np.empty_like(chord)  # (chord_z, 0, -chord_x)
        post[..., 0] = chord[..., 2]
        post[..., 1] = 0.0
        post[..., 2] = -chord[..., 0]
        post = np.where(_dot(post, forward) > 0, -post, post)
        cand = [c + rr * post for c, rr in ends]
        lo_wins = _dot(cand[0] - cand[1], post) >= 0
        contact = np.where(lo_wins, cand[0], cand[1])
    return contact


def skeleton(body: Body, feet: Feet, dofs: Dofs, arms: str) -> Skeleton:
    """All points needed for markers, centre of mass and capsules."""
    return _skeleton(body, feet, dofs, arms, back_line=True)


def _skeleton(body: Body, feet: Feet, dofs: Dofs, arms: str, back_line: bool) -> Skeleton:
    """`skeleton`; without the back line (head_back, dowel_a/b) unless back_line or a dowel grip needs it."""
    sk = Skeleton()
    n = dofs.knee.shape[0]
    lf = feet.foot_length_m
    # foot: rigid, rotating about the metatarsal heads in a heel raise
    pivot = np.array([feet.heel_x_m + MTP_FRACTION * lf, 0.0])
    sin_g, cos_g = _trig(dofs.heel)

    def foot_point(x_from_heel: float, z: float) -> np.ndarray:
        vx = feet.heel_x_m + x_from_heel - pivot[0]
        out = np.empty((n, 3))
        out[:, 0] = pivot[0] + vx * cos_g + z * sin_g
        out[:, 1] = 0.0
        out[:, 2] = -vx * sin_g + z * cos_g + dofs.lift_m
        return out

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
    head = thorax + dofs.neck
    sk.angles["head"] = head
    trig = {name: _trig(a) for name, a in sk.angles.items()}  # each segment's sin/cos, once

    def off(segment: str, fwd: float, lat: float, up: float) -> np.ndarray:
        return _tilted(trig[segment], fwd, lat, up)

    sk.p["ankle"] = ankle
    knee = ankle + off("shank", 0.0, 0.0, body.shank_m)
    hip = knee + off("thigh", 0.0, 0.0, body.thigh_m)
    sk.p["knee"], sk.p["hip"] = knee, hip
    l5s1 = hip + off("pelvis", body.pelvis_l5s1_fwd_m, 0.0, body.pelvis_l5s1_up_m)
    t12 = l5s1 + off("lumbar_seg", 0.0, 0.0, body.lumbar_m)
    c7 = t12 + off("thorax", 0.0, 0.0, body.thorax_m)
    sk.p.update(l5s1=l5s1, t12=t12, c7=c7)
    b = body.back_depth_m
    sk.p["tragus"] = c7 + off("head", body.tragus_fwd_m, 0.0, body.tragus_up_m)
    sk.p["head_centre"] = c7 + off("head", body.r_head_m - b, 0.0, body.tragus_up_m)
    # posterior skin points on one straight "back line" when the spine is neutral
    sk.p["sacrum"] = l5s1 + off("pelvis", -b, 0.0, -0.035 * body.height_m)
    sk.p["upper_back"] = c7 + off("thorax", -b, 0.0, -0.4 * body.thorax_m)
    forward = off("thorax", 1.0, 0.0, 0.0)
    back_line = back_line or arms in DOWEL_GRIPS
    if back_line:
        sk.p["head_back"] = _skull_contact(sk.p["head_centre"], sk.p["sacrum"], trig["thorax"], forward, body)
    sk.p["pelvis_com"] = hip + off("pelvis", 0.005 * body.height_m, 0.0, 0.02 * body.height_m)
    sk.p["lumbar_com"] = l5s1 + off("lumbar_seg", body.r_lumbar_m - b, 0.0,
                                    (1 - COM_FRACTION["lumbar"]) * body.lumbar_m)
    sk.p["thorax_com"] = t12 + off("thorax", body.r_thorax_m - b, 0.0, 0.5 * body.thorax_m)
    if dofs.arm is not None:
        sk.angles["arm"] = dofs.arm
    if back_line:
        sk.p["dowel_a"], sk.p["dowel_b"] = _dowel_line(sk.p["sacrum"], sk.p["upper_back"], sk.p["head_back"],
                                                       -forward)
    for s in (1, -1):
        lat = np.array([0.0, 1.0, 0.0]) * s
        sk.side["ankle", s] = ankle + lat * body.ankle_half_width_m
        sk.side["hip", s] = hip + lat * body.hip_half_width_m
        sk.side["knee", s] = knee + lat * body.knee_half_width_m
        for name in ("heel", "mtp", "toe", "foot_com"):
            sk.side[name, s] = sk.p[name] + lat * body.ankle_half_width_m
        _arm(sk, body, s, arms, trig["thorax"], trig["pelvis"])
    return sk


def _arm(sk: Skeleton, body: Body, s: int, arms: str, thorax: _Trig, pelvis: _Trig) -> None:
    """Shoulder, elbow, wrist, fingertip of one side for the drill's arm position."""
    k = body.height_m / 1.75
    c7, b = sk.p["c7"], body.back_depth_m
    gh = c7 + _tilted(thorax, body.shoulder_fwd_m, s * body.shoulder_half_width_m, -body.shoulder_down_m)
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
            wrist = c7 + _tilted(thorax, chest + (0.02 if s > 0 else 0.06) * k, -s * 0.10 * k, -0.08 * k)
            pole = _tilted(thorax, 1.0, s * 0.4, -1.0)
        elif arms == "hips":
            wrist = sk.p["hip"] + _tilted(pelvis, 0.0, s * (body.hip_half_width_m + 0.09 * k), 0.10 * k)
            pole = _tilted(pelvis, -0.5, s * 1.0, 0.0)
        elif arms == "hands_low_back":
            wrist = sk.p["l5s1"] + _tilted(pelvis, -b - 0.05 * k, s * 0.08 * k, 0.02 * k)
            pole = _tilted(pelvis, -0.6, s * 1.0, 0.0)
        elif arms == "fingertips_ears":
            wrist = sk.p["tragus"] + _tilted(thorax, -0.03 * k, s * 0.12 * k, -0.17 * k)
            pole = _tilted(thorax, 0.0, s * 1.0, -0.3)
        elif arms in DOWEL_GRIPS:
            # one hand behind the neck, the other at the low back, both on the dowel
            a, bb = sk.p["dowel_a"], sk.p["dowel_b"]
            u = _unit(bb - a)
            high = s == DOWEL_GRIPS[arms]
            level = c7 if high else sk.p["l5s1"]
            grip = a + _dot(level - a, u) * u
            wrist = grip + _tilted(thorax, -0.04 * k, s * 0.05 * k, 0.0)
            pole = _tilted(thorax, -0.3, s * 1.0, 0.5 if high else -0.5)
        else:
            raise ValueError(f"arms={arms!r}: expected one of {ARM_OPTIONS}")
        elbow, wrist = _elbow(gh, wrist, l1, l2, pole)
        if arms == "fingertips_ears":
            ear = sk.p["tragus"] + _tilted(thorax, 0.0, s * 0.08 * k, 0.0)
            tip = wrist + _unit(ear - wrist) * body.hand_m
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


def _com_x(body: Body, sk: Skeleton, load_kg: float) -> np.ndarray:
    """centre_of_mass(...)[:, 0] by the same operations on the x column alone."""
    parts = segment_masses(body, sk, load_kg)
    total = sum(mass for mass, _ in parts)
    return sum(mass * point[:, 0] for mass, point in parts) / total


def solve_shank_for_com(body: Body, feet: Feet, dofs: Dofs, arms: str, load_kg: float,
                        target_com_x_m: np.ndarray, iterations: int = 8) -> Dofs:
    """Newton on the ankle angle so the centre of mass x equals the target (to ~1e-12 m)."""
    shank = np.zeros_like(dofs.knee) if dofs.shank is None else dofs.shank.copy()
    eps = 1e-6

    def com_x(shank: np.ndarray) -> np.ndarray:  # the back line only matters to a dowel grip's hands
        return _com_x(body, _skeleton(body, feet, replace(dofs, shank=shank), arms, back_line=False), load_kg)

    for _ in range(iterations):
        x0 = com_x(shank)
        x1 = com_x(shank + eps)
        step = (target_com_x_m - x0) / ((x1 - x0) / eps)
        shank = shank + step
        if np.max(np.abs(step)) < 1e-13:
            break
    return replace(dofs, shank=shank)
