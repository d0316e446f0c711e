"""The scripted reps of tests/support/independent_hinge.py's linkage: tempos, pauses, the lockout's overshoot,
and the cycloidal progress of each (0 standing, 1 at the bottom). Also used by independent_depth's body."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VARIANTS = ("good", "lean_back", "neck_extension")


@dataclass(frozen=True)
class HingeRep:
    t0_s: float  # the descent starts
    descent_s: float
    hold_s: float  # scripted pause at the bottom (a plain turn: under 0.15 s)
    ascent_s: float
    hip_flexion_deg: float  # hip flexion (pelvis against thigh) at the bottom
    knee_deg: float  # knee flexion at the bottom
    lean_back_deg: float  # the lockout's overshoot: torso behind its standing angle (0-3 = a normal finish)
    neck_ext_deg: float  # head extension on the torso at the bottom (4-12: a neutral head's carriage)
    # the lockout's overshoot (lean_back_deg): starts at this share of the ascent (as the hips come through,
    # around the rep's 15% end), rises, holds, comes back to standing
    overshoot_at: float = 0.85
    rise_s: float = 0.5
    lean_hold_s: float = 0.3
    return_s: float = 0.8

    @property
    def ascent_start_s(self) -> float:
        return self.t0_s + self.descent_s + self.hold_s

    @property
    def overshoot_start_s(self) -> float:
        return self.ascent_start_s + self.overshoot_at * self.ascent_s

    @property
    def done_s(self) -> float:
        return self.overshoot_start_s + self.rise_s + self.lean_hold_s + self.return_s


STANDING_S = 3.0  # quiet standing before the first rep
KNEE_STANDING_DEG = 4.0


def script_reps(variant: str, n_reps: int, seed: int, lean_hold_s: tuple[float, float] = (0.2, 0.7)
                ) -> tuple[list[HingeRep], float]:
    """Reps of one variant at 2-4 s tempos, a pause of 0.8-1.6 s on every third rep from the second, the
    lockout's overshoot held lean_hold_s (a glute squeeze at the top); (reps, trial duration s)."""
    if variant not in VARIANTS:
        raise ValueError(variant)
    rng = np.random.default_rng(seed)
    reps, t = [], STANDING_S
    for k in range(n_reps):
        tempo = rng.uniform(2.0, 4.0)
        down = tempo * rng.uniform(0.42, 0.58)
        hold = rng.uniform(0.8, 1.6) if k % 3 == 1 else rng.uniform(0.0, 0.15)
        lean = rng.uniform(15.0, 22.0) if variant == "lean_back" else rng.uniform(0.0, 3.0)
        neck = rng.uniform(28.0, 32.0) if variant == "neck_extension" else rng.uniform(4.0, 12.0)
        rep = HingeRep(t0_s=t, descent_s=down, hold_s=hold, ascent_s=tempo - down,
                       hip_flexion_deg=rng.uniform(70.0, 85.0), knee_deg=rng.uniform(15.0, 25.0),
                       lean_back_deg=lean, neck_ext_deg=neck, overshoot_at=rng.uniform(0.75, 0.95),
                       rise_s=rng.uniform(0.4, 0.6), lean_hold_s=rng.uniform(*lean_hold_s),
                       return_s=rng.uniform(0.6, 1.0))
        reps.append(rep)
        t = max(rep.done_s, rep.ascent_start_s + rep.ascent_s) + rng.uniform(1.6, 2.6)
    return reps, t + 0.5


def _cycloid(u: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero velocity and acceleration at both ends (cycloidal motion profile)."""
    u = np.clip(u, 0.0, 1.0)
    return u - np.sin(2 * np.pi * u) / (2 * np.pi)


def progress(t: np.ndarray, r: HingeRep) -> np.ndarray:
    """The hinge's progress: 0 standing, 1 at the bottom."""
    down = _cycloid((t - r.t0_s) / r.descent_s)
    up = _cycloid((t - r.ascent_start_s) / r.ascent_s)
    return np.where(t < r.ascent_start_s, down, 1.0 - up)


def overshoot(t: np.ndarray, r: HingeRep) -> np.ndarray:
    """0..1 share of the lockout overshoot: rises, holds, comes back to standing."""
    t_hold = r.overshoot_start_s + r.rise_s
    rise = _cycloid((t - r.overshoot_start_s) / r.rise_s)
    back = _cycloid((t - t_hold - r.lean_hold_s) / r.return_s)
    return np.where(t < t_hold, rise, 1.0 - back)
