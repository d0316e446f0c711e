"""Hand-made trials with known answers (raised-cosine reps), for core tests that need no simulator.

Truth is computed here from the noise-free geometry, independently of station.core.metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from station.config import StationConfig
from station.streams import ForceBlock, MarkerBlock

G = 9.80665


@dataclass
class SynthRep:
    t0: float
    tb: float
    t1: float
    back_m: float = 0.15
    drop_m: float = 0.03
    trunk_deg: float = 70.0
    cop_shift_m: float = -0.01  # CoP x change at the bottom
    knee_marker: bool = True


@dataclass
class SynthTruth:
    reps: list[dict] = field(default_factory=list)


def bump(t: np.ndarray, r: SynthRep) -> np.ndarray:
    """0 standing, 1 at the bottom; raised cosine down (t0->tb) and up (tb->t1)."""
    s = np.zeros_like(t)
    down = (t >= r.t0) & (t < r.tb)
    up = (t >= r.tb) & (t <= r.t1)
    s[down] = 0.5 * (1 - np.cos(np.pi * (t[down] - r.t0) / (r.tb - r.t0)))
    s[up] = 0.5 * (1 + np.cos(np.pi * (t[up] - r.tb) / (r.t1 - r.tb)))
    return s


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v))))


def positions(t: np.ndarray, reps: list[SynthRep]) -> dict[str, np.ndarray]:
    ankle0 = np.array([-0.06, -0.10, 0.08])
    hip0 = np.array([-0.05, -0.10, 0.92])
    shank, trunk_len = 0.415, 0.50
    s_all = np.zeros((len(reps), t.size))
    for k, r in enumerate(reps):
        s_all[k] = bump(t, r)
    s = s_all.max(axis=0) if reps else np.zeros_like(t)
    which = np.argmax(s_all, axis=0) if reps else np.zeros(t.size, int)
    par = lambda name: np.array([getattr(reps[w], name) for w in which]) if reps else np.zeros(t.size)  # noqa: E731
    hip = hip0 + np.column_stack([-par("back_m") * s, 0 * s, -par("drop_m") * s])
    ankle = np.tile(ankle0, (t.size, 1))
    # two-link leg: the knee sits forward of the ankle-hip line, thigh and shank of fixed length
    thigh = 0.43
    span = hip - ankle
    dist = np.linalg.norm(span, axis=1, keepdims=True)
    along = (shank**2 - thigh**2 + dist**2) / (2 * dist)
    height = np.sqrt(np.maximum(shank**2 - along**2, 0.0))
    unit = span / dist
    forward = np.column_stack([unit[:, 2], 0 * s, -unit[:, 0]])  # unit rotated -90 deg in x-z: anterior
    knee = ankle + along * unit + height * forward
    alpha = np.radians(par("trunk_deg") * s + 4.0)
    shoulder = hip + trunk_len * np.column_stack([np.sin(alpha), 0 * s, np.cos(alpha)])
    head = shoulder + 0.22 * np.column_stack([np.sin(alpha), 0 * s, np.cos(alpha)])
    return {"hip": hip, "knee": knee, "ankle": ankle, "shoulder": shoulder, "head": head}


def make_trial(reps: list[SynthRep], duration_s: float, *, config: StationConfig | None = None,
               fps: float = 30.0, force_hz: float = 1000.0, mass_kg: float = 75.0,
               marker_noise_m: float = 0.003, cell_noise_n: float = 1.0,
               seed: int = 0) -> tuple[ForceBlock, MarkerBlock, SynthTruth]:
    config = config or StationConfig()
    rng = np.random.default_rng(seed)
    tm = np.arange(0.0, duration_s, 1.0 / fps)
    pos = positions(tm, reps)
    noisy = {k: v + rng.normal(0, marker_noise_m, v.shape) for k, v in pos.items()}
    tf = np.arange(0.0, duration_s, 1.0 / force_hz)
    s_all = np.array([bump(tf, r) * r.cop_shift_m for r in reps]) if reps else np.zeros((1, tf.size))
    cop_x = -0.13 + 0.42 * 0.26 + s_all.sum(axis=0)  # quiet standing near foot_pos 0.42
    cop_y = np.zeros_like(tf)
    fz = np.full_like(tf, mass_kg * G)
    xy = config.plate.channel_xy
    a = np.vstack([np.ones(4), xy[:, 0], xy[:, 1]])
    cells = (np.linalg.pinv(a) @ np.vstack([fz, fz * cop_x, fz * cop_y])).T
    cells += rng.normal(0, cell_noise_n, cells.shape)
    truth = SynthTruth()
    level = math.acos(0.7) / math.pi  # raised cosine reaches 15% at this fraction of each half
    for r in reps:
        clean = positions(np.array([r.tb]), [r])
        stand = positions(np.array([r.t0 - 1.0]), [r])
        hip, knee, ankle, sh = (clean[k][0] for k in ("hip", "knee", "ankle", "shoulder"))
        knee_b = _angle_deg(hip - knee, knee - ankle)
        knee_s = _angle_deg(stand["hip"][0] - stand["knee"][0], stand["knee"][0] - stand["ankle"][0])
        cop_bottom = -0.13 + 0.42 * 0.26 + r.cop_shift_m
        rear = (0.25 - cop_bottom) / 0.5
        truth.reps.append(dict(
            t_start=r.t0 + level * (r.tb - r.t0), t_bottom=r.tb, t_end=r.t1 - level * (r.t1 - r.tb),
            hip_back_mm=r.back_m * 1000, hip_drop_mm=r.drop_m * 1000, knee_flexion_deg=knee_b,
            knee_flexion_change_deg=knee_b - knee_s,
            trunk_inclination_deg=_angle_deg(sh - hip, np.array([0, 0, 1.0])),
            foot_pos_bottom=(cop_bottom + 0.13) / 0.26, foot_pos_shift=max(r.cop_shift_m, 0.0) / 0.26,
            heel_load_pct=100 * rear))
    return ForceBlock(tf, cells), MarkerBlock(tm, noisy), truth
