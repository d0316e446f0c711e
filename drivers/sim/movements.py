"""The two movements besides the hinge drills (issue 19, item 8): the kettlebell swing and the step tap-down
and step-up.

- **Swing** (`swing`, `swing_squat`, `swing_lean_back`): the ballistic hinge with a kettlebell held in both
  hands. Each swing is a backswing (hips back, bell between the thighs) and a hip snap (hips forward to a
  standing plank, the bell floating up to chest height), ~1.1 s a swing. The arms swing as a straight
  pendulum from the shoulders (`arms="swing"`, an arm angle track) and the bell is part of the centre of
  mass, so the plate's force is the physics of body plus bell: Fz = M (g + z'') swings around (body + bell)
  weight, and the CoP comes from the moments of every segment and the bell (swing_com_target_x,
  multibody_cop_x: the body moves against the bell to keep it on the foot). `swing_squat` is the squat
  swing fault: knees bend, hips go down more than back, trunk stays upright; `swing_lean_back` overshoots
  into a lean-back at every top.
- **Step tap-down** (`step_down` hip-dominant, `step_down_knee` knee-dominant): the subject stands on one
  leg on the plate (the plate on a step), lowers the other foot to tap the floor in front of the step and
  comes back up. The tap is light (no weight on the tapping foot), so the plate carries the whole body
  through the stance foot: the centre of pressure sits under that foot (y of the stance foot), its x
  follows the balance along the foot. The stance leg is the camera-side leg (its markers are the ones
  worn). In the figure the far leg mirrors the stance leg (the chain is symmetric); its mass is where it
  is drawn, so forces and figure agree.
- **Step-up** (`step_up` hip-dominant, `step_up_knee` knee-dominant): the plate on the step, the working
  (camera-side) foot on it; between reps the other foot rests on the floor in front of the step, so the
  subject waits with the working leg bent (the rest posture, the quiet standing the metrics refer to). A rep
  rises onto the step (the hip goes *up*: the leg straightens, the trunk comes up), stands on it a moment
  and steps back down to the rest posture. The floor foot bears no weight ("drive through the top foot, do
  not push off the bottom one"), so, as in the tap-down, the plate carries the whole body throughout. A
  hip-dominant step-up waits and drives with the trunk leaning forward about as far as the shin; a
  knee-dominant one keeps the trunk upright with the knee far over the toes.

Patterns here are kept out of patterns.PATTERNS: the hinge drills' tests run over that tuple with the hinge
core, and these movements need the movement's own core (`station.core` movement "swing" / "step").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers.sim import patterns as pt
from drivers.sim.patterns import STANDING, Movement, Posture, Timeline, min_jerk

SWING_PATTERNS = ("swing", "swing_squat", "swing_lean_back")
STEP_UP_PATTERNS = ("step_up", "step_up_knee")
STEP_PATTERNS = ("step_down", "step_down_knee", *STEP_UP_PATTERNS)
MOVEMENT_PATTERNS = SWING_PATTERNS + STEP_PATTERNS
MOVEMENT_OF = {**{p: "swing" for p in SWING_PATTERNS}, **{p: "step" for p in STEP_PATTERNS}}

# backswing bottoms: a hardstyle swing hinges (hips back, shins near vertical, trunk 55-65 deg); the squat
# swing bends the knees ~80 deg with the trunk upright (hips down more than back)
SWING_BOTTOM = {
    "swing": Posture(knee_deg=22.0, pelvis_deg=60.0, lumbar_deg=0.0, com_foot_pos=0.40),
    "swing_squat": Posture(knee_deg=85.0, pelvis_deg=32.0, lumbar_deg=0.0, com_foot_pos=0.45),
}
SWING_BOTTOM["swing_lean_back"] = SWING_BOTTOM["swing"]
# swing_lean_back: at every top the hips overshoot into a lean-back (pelvis tipped back, low back arched), the
# fault of "squeezing" by bending backwards; into it from late in the hip drive, out of it as the bell drops
SWING_LEAN_BACK = Posture(knee_deg=3.0, pelvis_deg=-10.0, lumbar_deg=-12.0, com_foot_pos=0.45)
SWING_LEAN_BACK_S = (0.22, 0.05, 0.25)  # into the lean, held, back
SWING_LEAN_BACK_FROM = 0.7  # the lean starts when the hip drive is this far through
SWING_BACKSWING_S = (0.42, 0.50)  # hips back, bell back between the thighs
SWING_SNAP_S = (0.40, 0.48)       # hips forward to lockout
SWING_FLOAT_S = (0.18, 0.26)      # at the top before the next backswing (the bell floats)
SWING_ARM_BOTTOM_DEG = -35.0      # arms behind vertical, bell between the thighs
SWING_ARM_TOP_DEG = (80.0, 90.0)  # arms forward, bell at chest height
SWING_ARM_FLOAT_LAG_S = 0.10      # the bell keeps rising this long after the hips lock out
SWING_PARK_S = 0.8                # after the last swing: the bell lowered to hanging
SWING_COP_SHIFT_FOOT = 0.28       # CoP along the foot per unit sin(arm angle): 0.30 back, 0.73 at the top
SWING_BELL_KG = 16.0              # the default bell when the pattern is given without a load
EXPECTED = {"swing": [], "swing_squat": ["squat_swing"], "swing_lean_back": ["lean_back"], "step_down": [],
            "step_down_knee": ["knee_dominant"], "step_up": [], "step_up_knee": ["knee_dominant"]}

# step tap-down bottoms on the stance leg: hip-dominant = trunk leans forward more than the shin, hips go
# back; knee-dominant = the knee travels forward over the toes with the trunk upright
STEP_BOTTOM = {
    "step_down": Posture(knee_deg=52.0, pelvis_deg=42.0, lumbar_deg=0.0, com_foot_pos=0.45),
    "step_down_knee": Posture(knee_deg=68.0, pelvis_deg=10.0, lumbar_deg=0.0, com_foot_pos=0.55),
}
STEP_TAP_S = (0.15, 0.30)  # the foot touches the floor at the bottom
# step-up rest postures (working foot on a ~25 cm step, the other on the floor); the top is standing on the
# step, each rep straightening this share of the way (a tall finish leaves the knee a few degrees bent)
STEP_UP_REST = {
    "step_up": Posture(knee_deg=62.0, pelvis_deg=48.0, lumbar_deg=0.0, com_foot_pos=0.45),
    "step_up_knee": Posture(knee_deg=72.0, pelvis_deg=14.0, lumbar_deg=0.0, com_foot_pos=0.56),
}
STEP_UP_REACH = (0.93, 1.0)
STEP_UP_TOP_S = (0.25, 0.45)  # standing on the step before stepping back down


@dataclass(frozen=True)
class MovementTimeline(Timeline):
    movement: str = "hinge"
    arm_keys: tuple[tuple[float, float], ...] = ()  # (t s, arm angle deg from hanging, forward +)
    stance_side: int = 0  # the loaded foot for a single-leg movement (+1 left, -1 right), 0 = both
    rest: Posture | None = None  # the posture between reps when it is not standing (the step-up's)


def setup(pattern: str, arms: str, load_kg: float) -> tuple[str, float]:
    """The arms and load a movement is done with: a swing holds a bell in both hands (16 kg unless given)."""
    if pattern in SWING_PATTERNS:
        return "swing", load_kg if load_kg > 0 else SWING_BELL_KG
    return arms, load_kg


def build_timeline(pattern: str, *, reps: int, seed: int, standing_s: float, tempo_s: float,
                   stance_side: int) -> MovementTimeline:
    if reps < 1:
        raise ValueError(f"reps={reps}: need at least one")
    rng = np.random.default_rng(seed)
    t = float(standing_s)
    out: list[Movement] = []
    keys: list[tuple[float, float]] = []
    if pattern in SWING_PATTERNS:
        base = SWING_BOTTOM[pattern]
        keys.append((t, 0.0))  # arms hanging until the first backswing
        for _ in range(reps):
            depth = rng.uniform(0.94, 1.06)
            bottom = _mix(base, depth)
            down, up = rng.uniform(*SWING_BACKSWING_S), rng.uniform(*SWING_SNAP_S)
            ex = Movement(t, down, 0.0, up, bottom, True)  # up to a standing plank: the standing trunk
            out.append(ex)
            if pattern == "swing_lean_back":
                into, held, back = SWING_LEAN_BACK_S
                out.append(Movement(t + down + SWING_LEAN_BACK_FROM * up, into, held, back,
                                    _mix(SWING_LEAN_BACK, rng.uniform(0.9, 1.1)), False))
            keys += [(t + down, SWING_ARM_BOTTOM_DEG * depth),
                     (ex.t_end_s + SWING_ARM_FLOAT_LAG_S, rng.uniform(*SWING_ARM_TOP_DEG))]
            t = ex.t_end_s + rng.uniform(*SWING_FLOAT_S)
        keys.append((keys[-1][0] + SWING_PARK_S, 0.0))
        t = keys[-1][0] + 1.5
        side = 0
    elif pattern in STEP_UP_PATTERNS:
        rest = STEP_UP_REST[pattern]
        for _ in range(reps):
            top = _toward(rest, STANDING, rng.uniform(*STEP_UP_REACH))
            ex = Movement(t, tempo_s * rng.uniform(0.85, 1.15), rng.uniform(*STEP_UP_TOP_S),
                          tempo_s * rng.uniform(0.85, 1.1), _relative(top, rest), True)
            out.append(ex)
            t = ex.t_end_s + rng.uniform(0.9, 1.3)
        t += 0.8
        return MovementTimeline(out, float(standing_s), None, None, None, t, movement="step",
                                stance_side=stance_side, rest=rest)
    elif pattern in STEP_PATTERNS:
        base = STEP_BOTTOM[pattern]
        for _ in range(reps):
            bottom = _mix(base, rng.uniform(0.94, 1.06))
            ex = Movement(t, tempo_s * rng.uniform(0.85, 1.15), rng.uniform(*STEP_TAP_S),
                          tempo_s * rng.uniform(0.85, 1.1), bottom, True)
            out.append(ex)
            t = ex.t_end_s + rng.uniform(0.9, 1.3)
        t += 0.8
        side = stance_side
    else:
        raise ValueError(f"pattern={pattern!r}: expected one of {MOVEMENT_PATTERNS}")
    return MovementTimeline(out, float(standing_s), None, None, None, t, movement=MOVEMENT_OF[pattern],
                            arm_keys=tuple(keys), stance_side=side)


def _mix(p: Posture, f: float) -> Posture:
    s = STANDING
    return Posture(*(getattr(s, n) + f * (getattr(p, n) - getattr(s, n))
                     for n in ("knee_deg", "pelvis_deg", "lumbar_deg", "com_foot_pos", "neck_deg")))


POSTURE_FIELDS = {"knee": "knee_deg", "pelvis": "pelvis_deg", "lumbar": "lumbar_deg",
                  "com_foot_pos": "com_foot_pos", "neck": "neck_deg"}


def _toward(a: Posture, b: Posture, f: float) -> Posture:
    """The posture f of the way from a to b."""
    return Posture(*(getattr(a, n) + f * (getattr(b, n) - getattr(a, n)) for n in POSTURE_FIELDS.values()))


def _relative(p: Posture, rest: Posture) -> Posture:
    """p as a movement's target for patterns.angle_tracks, which moves from STANDING: the tracks get the
    rest posture's offset from standing added back (angle_tracks)."""
    names = POSTURE_FIELDS.values()
    return Posture(*(getattr(STANDING, n) + getattr(p, n) - getattr(rest, n) for n in names))


def angle_tracks(tl: Timeline, t_s: np.ndarray) -> dict[str, np.ndarray]:
    """patterns.angle_tracks plus "arm" (deg from hanging, forward +): minimum-jerk between the swing's key
    angles (the bell stops at the back and at the top of each swing), hanging for every other pattern.
    A timeline with a rest posture (the step-up) has every track moved from standing to that posture."""
    tracks = pt.angle_tracks(tl, t_s)
    rest = getattr(tl, "rest", None)
    if rest is not None:
        for track, name in POSTURE_FIELDS.items():
            tracks[track] += getattr(rest, name) - getattr(STANDING, name)
    arm = np.zeros_like(t_s)
    keys = getattr(tl, "arm_keys", ())
    for (t0, a0), (t1, a1) in zip(keys[:-1], keys[1:], strict=True):
        arm += (a1 - a0) * min_jerk((t_s - t0) / (t1 - t0))
    tracks["arm"] = arm
    return tracks


def stance_cop(tl: Timeline, cop_xy_m: np.ndarray, ankle_half_width_m: float) -> np.ndarray:
    """Single-leg stance: the centre of pressure lies under the stance foot (the subject keeps the centre of
    mass over it sideways; the sagittal model does not move it, so its y is set here)."""
    side = getattr(tl, "stance_side", 0)
    if side:
        cop_xy_m = cop_xy_m.copy()
        cop_xy_m[:, 1] = side * ankle_half_width_m
    return cop_xy_m


def swing_com_target_x(body, feet, dofs, load_kg: float, cop_target_x_m: np.ndarray, dt_s: float
                       ) -> np.ndarray:
    """The whole-body centre-of-mass x that puts the centre of pressure on `cop_target_x_m` while the arms
    swing the bell. A swing cannot balance statically (the bell's swing alone would carry the CoP off the
    foot): the swinger moves the body against the bell. With the body shifted by delta(t) in x, the moment
    balance about the CoP, sum m [(x + delta - c)(g + z'') - z (x'' + delta'')] = 0, is the linear
    boundary-value problem delta - (sum m z / Fz) delta'' = -M0 / Fz, solved here with the body standing
    still at both ends (a tridiagonal system). The ankles then place the centre of mass there
    (solve_shank_for_com), which is a rotation rather than a shift: the CoP follows the target closely,
    not exactly, and is recomputed from the final motion (multibody_cop_x)."""
    from dataclasses import replace

    from scipy.linalg import solve_banded

    from drivers.sim.kinematics import centre_of_mass, segment_masses, skeleton
    from station.config import GRAVITY_M_S2

    # weight toward the heels as the bell goes back, the forefoot as it floats in front (swing coaching)
    cop_target_x_m = cop_target_x_m + SWING_COP_SHIFT_FOOT * feet.foot_length_m * np.sin(dofs.arm)
    sk = skeleton(body, feet, replace(dofs, shank=np.zeros_like(dofs.knee)), "swing")
    fz = moment = height = 0.0
    for m, p in segment_masses(body, sk, load_kg):
        acc = np.gradient(np.gradient(p, dt_s, axis=0), dt_s, axis=0)
        vertical = m * (GRAVITY_M_S2 + acc[:, 2])
        fz, height = fz + vertical, height + m * p[:, 2]
        moment = moment + (p[:, 0] - cop_target_x_m) * vertical - m * p[:, 2] * acc[:, 0]
    k = height / fz / dt_s ** 2
    n = k.size
    bands = np.zeros((3, n))
    bands[0, 1:] = -k[:-1]
    bands[1] = 1.0 + 2.0 * k
    bands[2, :-1] = -k[1:]
    rhs = -moment / fz
    bands[1, [0, -1]], bands[0, 1], bands[2, -2] = 1.0, 0.0, 0.0  # standing still at both ends: delta = rhs
    delta = solve_banded((1, 1), bands, rhs)
    return centre_of_mass(body, sk, load_kg)[:, 0] + delta


def multibody_cop_x(body, sk, load_kg: float, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(Fz, CoP x) from every segment's point mass: Fz = sum m (g + z''), and moments about the CoP,
    sum m [(x - x_cop)(g + z'') - z x''] = 0. The inverted-pendulum form (one mass at the centre of mass)
    leaves out the swinging bell's angular momentum, which moves the CoP by decimetres in a swing."""
    from drivers.sim.kinematics import segment_masses
    from station.config import GRAVITY_M_S2

    fz = 0.0
    moment = 0.0
    for m, p in segment_masses(body, sk, load_kg):
        acc = np.gradient(np.gradient(p, dt_s, axis=0), dt_s, axis=0)
        vertical = m * (GRAVITY_M_S2 + acc[:, 2])
        fz = fz + vertical
        moment = moment + p[:, 0] * vertical - m * p[:, 2] * acc[:, 0]
    return fz, moment / fz
