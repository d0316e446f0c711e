"""Movement patterns and the trial timeline: joint-angle targets per rep, tempo, fidget, sync events.

Each rep moves every joint angle from standing to its bottom value and back along a minimum-jerk
profile (smooth position, velocity and acceleration, so the forces derived from it are smooth), with
a pause at the bottom and between reps. The centre of mass follows a target along the foot (people
balance with the ankles), plus physiological sway.

The lockout patterns change what happens after the ascent: `lean_back` overshoots into a lean-back
(pelvis tipped back, low back arched) as the hips come through and returns to standing; in
`incomplete_lockout` the ascent stops short, still a little hinged (weight a little forward, as when
the hips never come through), and only stands up fully after the lockout second. `neck_extension` looks
up at the bottom; `pause` holds the bottom for 1.3-1.7 s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

PATTERNS = ("hinge", "squat", "toe_shift", "shallow", "rounding", "arching",
            "lean_back", "incomplete_lockout", "neck_extension", "pause")


@dataclass(frozen=True)
class Posture:
    """Joint angles (deg) and where the centre of mass sits along the foot (0 heel, 1 toe)."""

    knee_deg: float
    pelvis_deg: float
    lumbar_deg: float
    com_foot_pos: float
    neck_deg: float = 0.0


STANDING = Posture(knee_deg=3.0, pelvis_deg=2.0, lumbar_deg=0.0, com_foot_pos=0.45)

# bottom postures; every faulty pattern sits well past its threshold, the hinge well inside
BOTTOM = {
    "hinge": Posture(knee_deg=18.0, pelvis_deg=54.0, lumbar_deg=0.0, com_foot_pos=0.43),
    "squat": Posture(knee_deg=88.0, pelvis_deg=54.0, lumbar_deg=0.0, com_foot_pos=0.50),
    "toe_shift": Posture(knee_deg=22.0, pelvis_deg=58.0, lumbar_deg=0.0, com_foot_pos=0.80),
    "shallow": Posture(knee_deg=16.0, pelvis_deg=26.0, lumbar_deg=0.0, com_foot_pos=0.45),
    # a rounded low back comes with the head dropping forward; an arched one with the chin up
    "rounding": Posture(knee_deg=18.0, pelvis_deg=42.0, lumbar_deg=25.0, com_foot_pos=0.43, neck_deg=15.0),
    "arching": Posture(knee_deg=18.0, pelvis_deg=66.0, lumbar_deg=-22.0, com_foot_pos=0.43, neck_deg=-18.0),
    # looking up at a mirror ahead from the bottom: the head extended ~35 deg on the trunk
    "neck_extension": Posture(knee_deg=18.0, pelvis_deg=54.0, lumbar_deg=0.0, com_foot_pos=0.43,
                              neck_deg=-35.0),
}
for _name in ("lean_back", "incomplete_lockout", "pause"):
    BOTTOM[_name] = BOTTOM["hinge"]
# where the lockout patterns go after the ascent (scaled per rep): the lean-back's extreme, and the posture
# an incomplete lockout stops in (trunk ~8 deg forward of standing, hips ~15 mm back: inside the 15% rule)
LEAN_BACK = Posture(knee_deg=3.0, pelvis_deg=-9.0, lumbar_deg=-12.0, com_foot_pos=0.45)
LEAN_BACK_S = (0.5, 0.15, 0.6)  # into the lean, held, back to standing
LEAN_BACK_FROM = 0.75  # the lean starts when the ascent is this far through (after the rep's 15% end)
SHORT_LOCKOUT = Posture(knee_deg=3.0, pelvis_deg=10.5, lumbar_deg=0.0, com_foot_pos=0.52)
SHORT_LOCKOUT_RELEASE_S = (1.0, 0.6)  # stands up fully this long after the ascent, over this long
PAUSE_HOLD_S = (1.3, 1.7)
EXPECTED_FAULTS = {
    "hinge": [], "squat": ["squat_pattern"], "toe_shift": ["toe_shift"], "shallow": ["shallow"],
    # the arched back comes with the chin up, ~25 deg of neck extension against the trunk line
    "rounding": ["back_rounding"], "arching": ["back_arching", "neck_extension"],
    "lean_back": ["lean_back"], "incomplete_lockout": ["incomplete_lockout"],
    # the extended head pushes into the dowel line and leaves the upper back off it (a real dowel does the
    # same): the dowel's truth reads that as an upper-back gap, back_arching
    "neck_extension": ["back_arching", "neck_extension"], "pause": [],
}
FIDGET_SCALE = 0.13            # of a hinge, hip moves ~20 mm
FIDGET_HALF_S = 0.42
HEEL_RAISE_DEG = 10.0
HEEL_RAISE_COM_FOOT_POS = 0.80


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """0 -> 1 on tau in [0, 1] with zero velocity and acceleration at both ends; clamped outside."""
    u = np.clip(tau, 0.0, 1.0)
    return u ** 3 * (10 - 15 * u + 6 * u ** 2)


@dataclass(frozen=True)
class Movement:
    """One down-hold-up movement: a rep or the fidget."""

    t0_s: float
    descent_s: float
    hold_s: float
    ascent_s: float
    bottom: Posture
    is_rep: bool
    top: Posture | None = None  # where the ascent ends (None: standing)
    release_s: tuple[float, float] | None = None  # (start, duration): from `top` to standing

    @property
    def t_end_s(self) -> float:
        return self.t0_s + self.descent_s + self.hold_s + self.ascent_s

    @property
    def t_free_s(self) -> float:
        """When the subject stands again (after the release of an incomplete lockout)."""
        return self.t_end_s if self.release_s is None else sum(self.release_s)

    def profile(self, t_s: np.ndarray) -> np.ndarray:
        down = min_jerk((t_s - self.t0_s) / self.descent_s)
        t_up = self.t0_s + self.descent_s + self.hold_s
        up = min_jerk((t_s - t_up) / self.ascent_s)
        return down - up


@dataclass(frozen=True)
class Timeline:
    excursions: list[Movement]
    standing_end_s: float
    fidget: Movement | None
    heel_raise_t_s: float | None      # the instant the heels start to lift
    hop_t_s: float | None             # take-off
    duration_s: float


def build_timeline(pattern: str, *, reps: int, seed: int, standing_s: float, fidget: bool, hop: bool,
                   heel_raise: bool, tempo_s: float, lumbar_flexion_deg: float | None) -> Timeline:
    if pattern not in PATTERNS:
        raise ValueError(f"pattern={pattern!r}: expected one of {PATTERNS}")
    if reps < 1:
        raise ValueError(f"reps={reps}: need at least one")
    if not 0.6 <= tempo_s <= 4.0:
        raise ValueError(f"tempo_s={tempo_s}: expected 0.6-4.0 s")
    rng = np.random.default_rng(seed)
    base = BOTTOM[pattern]
    t = float(standing_s)
    out: list[Movement] = []
    fidget_ex = None
    for i in range(reps):
        depth = rng.uniform(0.93, 1.07)
        lumbar = base.lumbar_deg * depth + rng.uniform(-2.0, 2.0)
        if lumbar_flexion_deg is not None:
            lumbar = lumbar_flexion_deg + rng.uniform(-0.5, 0.5)
        bottom = Posture(
            knee_deg=STANDING.knee_deg + (base.knee_deg - STANDING.knee_deg) * rng.uniform(0.93, 1.07),
            pelvis_deg=STANDING.pelvis_deg + (base.pelvis_deg - STANDING.pelvis_deg) * depth,
            lumbar_deg=lumbar,
            com_foot_pos=base.com_foot_pos + rng.uniform(-0.015, 0.015),
            neck_deg=base.neck_deg * depth,
        )
        descent = tempo_s * rng.uniform(0.85, 1.15)  # drawn in this order: the same seed, the same trial
        hold = rng.uniform(*PAUSE_HOLD_S) if pattern == "pause" else rng.uniform(0.3, 0.6)
        ex = Movement(t, descent, hold, tempo_s * rng.uniform(0.85, 1.1), bottom, True)
        if pattern == "incomplete_lockout":
            ex = replace(ex, top=_scaled(SHORT_LOCKOUT, rng.uniform(0.95, 1.05)),
                         release_s=(ex.t_end_s + SHORT_LOCKOUT_RELEASE_S[0], SHORT_LOCKOUT_RELEASE_S[1]))
        out.append(ex)
        if pattern == "lean_back":
            down, held, up = LEAN_BACK_S
            t_lean = ex.t0_s + ex.descent_s + ex.hold_s + LEAN_BACK_FROM * ex.ascent_s
            out.append(Movement(t_lean, down, held, up, _scaled(LEAN_BACK, rng.uniform(0.9, 1.1)), False))
        t = max(ex.t_free_s, out[-1].t_end_s) + rng.uniform(0.9, 1.3)
        if fidget and fidget_ex is None and (i == 0 or reps == 1):
            fid_bottom = _scaled(BOTTOM["hinge"], FIDGET_SCALE)
            fid_bottom = Posture(fid_bottom.knee_deg, fid_bottom.pelvis_deg, 0.0,
                                 STANDING.com_foot_pos + 0.04)
            fidget_ex = Movement(t, FIDGET_HALF_S, 0.05, FIDGET_HALF_S, fid_bottom, False)
            out.append(fidget_ex)
            t = fidget_ex.t_end_s + 1.2
    t += 0.8
    heel_t = hop_t = None
    if heel_raise:
        heel_t = t + 0.7          # the centre of mass moves forward first, then the heels lift
        t += 3.5
    if hop:
        hop_t = t + 0.6
        t += 3.0
    return Timeline(out, float(standing_s), fidget_ex, heel_t, hop_t, t)


def _scaled(p: Posture, f: float) -> Posture:
    s = STANDING
    def mix(name: str) -> float:
        return getattr(s, name) + f * (getattr(p, name) - getattr(s, name))

    return Posture(*(mix(n) for n in ("knee_deg", "pelvis_deg", "lumbar_deg", "com_foot_pos", "neck_deg")))


def sway_m(t_s: np.ndarray, seed: int) -> np.ndarray:
    """Anterior-posterior centre-of-mass sway: a few mm, below 1 Hz (quiet-standing literature)."""
    rng = np.random.default_rng(seed + 7919)
    amps = np.array([1.8, 1.1, 0.6, 0.3]) * 1e-3
    freqs = np.array([0.11, 0.27, 0.53, 0.9]) * rng.uniform(0.9, 1.1, 4)
    phases = rng.uniform(0, 2 * np.pi, 4)
    return np.sum(amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t_s[None, :] + phases[:, None]), axis=0)


def angle_tracks(tl: Timeline, t_s: np.ndarray) -> dict[str, np.ndarray]:
    """knee, pelvis, lumbar, neck, heel (deg) and com_foot_pos over t_s, before balance and sway."""
    s = STANDING
    tracks = {"knee": np.full_like(t_s, s.knee_deg), "pelvis": np.full_like(t_s, s.pelvis_deg),
              "lumbar": np.full_like(t_s, s.lumbar_deg), "com_foot_pos": np.full_like(t_s, s.com_foot_pos),
              "heel": np.zeros_like(t_s), "neck": np.full_like(t_s, s.neck_deg)}
    fields = {"knee": "knee_deg", "pelvis": "pelvis_deg", "lumbar": "lumbar_deg",
              "com_foot_pos": "com_foot_pos", "neck": "neck_deg"}
    for ex in tl.excursions:
        down = min_jerk((t_s - ex.t0_s) / ex.descent_s)
        up = min_jerk((t_s - ex.t0_s - ex.descent_s - ex.hold_s) / ex.ascent_s)
        top = ex.top or s
        released = 0.0 if ex.release_s is None else min_jerk((t_s - ex.release_s[0]) / ex.release_s[1])
        for track, name in fields.items():
            b, st, tp = getattr(ex.bottom, name), getattr(s, name), getattr(top, name)
            tracks[track] += (b - st) * down - (b - tp) * up + (st - tp) * released
    if tl.heel_raise_t_s is not None:
        t0 = tl.heel_raise_t_s
        shift = Movement(t0 - 0.7, 0.6, 1.5, 0.6, s, False).profile(t_s)
        lift = Movement(t0, 0.4, 0.5, 0.4, s, False).profile(t_s)
        tracks["com_foot_pos"] += (HEEL_RAISE_COM_FOOT_POS - s.com_foot_pos) * shift
        tracks["heel"] += HEEL_RAISE_DEG * lift
    return tracks
