"""The virtual subject: a whole-body model doing hinge-pattern reps on the plate, with ground truth.

Kinematics are evaluated once on a fine internal grid (2 kHz); positions are interpolated from it and
accelerations come from central differences of the smooth (minimum-jerk) trajectories. Forces follow
from the centre of mass: Fz = M (g + z''), CoP = COM - z x'' / (g + z'') (inverted pendulum), then
split over the four load cells so their sum and moments reproduce Fz and the CoP exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from drivers.sim import movements as mv
from drivers.sim import patterns as pt
from drivers.sim.anthropometry import body_from_height_mass
from drivers.sim.forces import ForceTruth, cell_loads
from drivers.sim.hanging_arms import HANGING, bar_capsules, kinematic_arms, skeleton_for
from drivers.sim.kinematics import (
    ARM_OPTIONS,
    Dofs,
    Feet,
    Skeleton,
    centre_of_mass,
    solve_shank_for_com,
    tilt,
)
from drivers.sim.pose import Pose
from drivers.sim.render_pose import capsules_for
from drivers.sim.truth import Signals, TrialTruth, rep_truths
from station.config import GRAVITY_M_S2, StationConfig

PATTERNS = pt.PATTERNS
ARMS = ("crossed", "hips", "dowel", "weights")
ARM_ALIASES = {"arms_crossed": "crossed", "hands_on_hips": "hips"}


def coached_arms(arms: str, config: StationConfig | None) -> str:
    """The arms as a coach sets the drill up for this camera: a dowel is held with the low hand on the
    camera's side, so the hand behind the neck does not hide the head from it (README, known limits of
    the virtual dowel). Any other arm position is kept as given."""
    if arms != "dowel":
        return arms
    side = (config or StationConfig()).camera.side
    return "dowel" if side == "left" else "dowel_left_high"  # "dowel": the right hand is the high one
MARKER_NAMES = ("hip", "knee", "ankle", "shoulder", "head")
MARKER_RADIUS_M = 0.0095
ACROMION_TILT_DEG = 50.0  # acromion marker direction from the glenohumeral centre, trunk up -> lateral
GRID_HZ = 2000.0
SOLVE_HZ = 250.0

__all__ = ["ARMS", "PATTERNS", "ForceTruth", "VirtualSubject"]


@dataclass
class _Grid:
    t_s: np.ndarray
    dofs: Dofs
    com: np.ndarray
    markers: dict[str, np.ndarray]
    fz_n: np.ndarray
    cop_xy_m: np.ndarray
    cells_n: np.ndarray


_ACROMION_UP = np.cos(np.radians(ACROMION_TILT_DEG))  # the marker's direction: this much of the trunk's up
_ACROMION_LATERAL = np.sin(np.radians(ACROMION_TILT_DEG))  # and this much lateral


def _trunk_up(sk: Skeleton) -> np.ndarray:
    """The thorax's up axis (N,3)."""
    return tilt(sk.angles["thorax"], 0.0, 0.0, 1.0)


def _acromion_marker(sk, body, side: int) -> np.ndarray:
    """Acromion marker: on top of the shoulder, lateral and above the humeral head (N,3).

    Its direction from the glenohumeral centre is fixed in the thorax frame (ACROMION_TILT_DEG from the
    trunk's up axis toward lateral), so a side camera sees it at every trunk angle. The centre is pushed
    out along that direction until the sphere clears the upper-arm capsule (hull of the spheres at the
    shoulder and the elbow, sampled along the arm), whatever the arm holds.
    """
    gh, elbow = sk.side["shoulder", side], sk.side["elbow", side]
    direction = _ACROMION_UP * _trunk_up(sk) + np.array([0.0, side * _ACROMION_LATERAL, 0.0])
    return _pushed_clear(gh, direction, gh, elbow, body.r_upper_arm_m, body.r_forearm_m,
                         body.r_upper_arm_m + MARKER_RADIUS_M)


_HULL_STEPS = np.linspace(0.0, 1.0, 51)[:, None]  # spheres sampled along the capsule's axis
_HULL_CELLS = 8192  # up to this many (sphere, instant) pairs in one pass (all spheres at one instant)


@lru_cache(maxsize=64)
def _hull_radius_sq(r0: float, r1: float) -> np.ndarray:
    """(51, 1) squared radius of each sampled sphere, from the same scalar operations as one at a time."""
    radius = [r0 + f * (r1 - r0) + MARKER_RADIUS_M + 0.0003 for f in _HULL_STEPS[:, 0]]  # hull: fuller
    out = np.array([r ** 2 for r in radius])[:, None]
    out.flags.writeable = False
    return out


def _pushed_clear(origin: np.ndarray, direction: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: float,
                  r1: float, min_reach_m: float) -> np.ndarray:
    """origin + reach * direction (N,3), reach the smallest (>= min_reach_m) at which a marker sphere
    just clears the tapered capsule p0-p1 (hull of spheres sampled along the axis; the origin is inside)."""
    direction = np.broadcast_to(direction, origin.shape)
    reach = np.full(origin.shape[0], min_reach_m)
    # per axis, not np.sum(..., axis=-1): a sum over a length-3 axis of (N,3) arrays costs ~10x the products
    base = [p0[:, k] - origin[:, k] for k in range(3)]
    axis = [p1[:, k] - p0[:, k] for k in range(3)]
    d = [np.ascontiguousarray(direction[:, k]) for k in range(3)]
    radius_sq = _hull_radius_sq(r0, r1)
    # each element sees the same operations whichever way the spheres are grouped, and max is exact
    if origin.shape[0] * _HULL_STEPS.shape[0] > _HULL_CELLS:  # the fine grid: one compiled loop
        from drivers.sim.hull_reach import hull_reach

        hull_reach(base, axis, d, _HULL_STEPS[:, 0], radius_sq[:, 0], reach)
        return origin + reach[:, None] * direction
    # a few instants (a pose): all spheres at once, (51, N)
    oc = [base[k] + _HULL_STEPS * axis[k] for k in range(3)]
    proj = oc[0] * d[0] + oc[1] * d[1] + oc[2] * d[2]
    h = proj ** 2 - (oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2] - radius_sq)
    clear = np.where(h >= 0, proj + np.sqrt(np.maximum(h, 0.0)), 0.0)
    reach = np.maximum(reach, clear.max(axis=0))
    return origin + reach[:, None] * direction


def _tragus_marker(sk, body, side: int) -> np.ndarray:
    """Head marker: on the skin over the tragus, pushed laterally out of the head capsule (N,3)."""
    tragus, centre = sk.p["tragus"], sk.p["head_centre"]
    up = _trunk_up(sk)
    lateral = np.broadcast_to(np.array([0.0, float(side), 0.0]), tragus.shape)
    h = body.height_m
    return _pushed_clear(tragus, lateral, centre - 0.01 * h * up, centre + 0.03 * h * up, body.r_head_m,
                         0.9 * body.r_head_m, MARKER_RADIUS_M)


class VirtualSubject:
    """A subject on the plate doing `reps` repetitions of `pattern`; see the module docstring."""

    def __init__(self, pattern: str = "hinge", *, reps: int = 5, arms: str = "crossed", load_kg: float = 0.0,
                 mass_kg: float = 75.0, height_m: float = 1.75, seed: int = 0, standing_s: float = 3.0,
                 fidget: bool = True, hop: bool = False, heel_raise: bool = False, tempo_s: float = 2.0,
                 config: StationConfig | None = None, lumbar_flexion_deg: float | None = None) -> None:
        arms = ARM_ALIASES.get(arms, arms)
        arms, load_kg = mv.setup(pattern, arms, load_kg)  # a swing holds its bell
        if arms not in (*ARM_OPTIONS, HANGING):
            raise ValueError(f"arms={arms!r}: expected one of {(*ARM_OPTIONS, HANGING)}")
        if load_kg < 0:
            raise ValueError(f"load_kg={load_kg}: must be >= 0")
        if standing_s < 1.0:
            raise ValueError(f"standing_s={standing_s}: need at least 1 s of quiet standing")
        self.config = config or StationConfig()
        self.pattern, self.arms, self.seed = pattern, arms, seed
        self.load_kg = float(load_kg)  # held at the hands (dumbbells, kettlebell)
        self.mass_kg, self.height_m = float(mass_kg), float(height_m)
        self.total_mass_kg = self.mass_kg + self.load_kg
        self.body = body_from_height_mass(height_m, mass_kg)
        self.feet = Feet(self.config.feet.heel_x_m, self.config.feet.foot_length_m)
        self.side_sign = -1 if self.config.camera.side == "right" else 1
        if pattern in mv.MOVEMENT_PATTERNS:  # swing, step tap-down: the stance leg is the camera-side one
            self.timeline = mv.build_timeline(pattern, reps=reps, seed=seed, standing_s=standing_s,
                                              tempo_s=tempo_s, stance_side=self.side_sign)
        else:
            self.timeline = pt.build_timeline(pattern, reps=reps, seed=seed, standing_s=standing_s,
                                              fidget=fidget, hop=hop, heel_raise=heel_raise, tempo_s=tempo_s,
                                              lumbar_flexion_deg=lumbar_flexion_deg)
        self.duration_s = self.timeline.duration_s
        self._grid, sk = self._build_grid()
        self.truth = self._build_truth(sk)

    # ---- construction -------------------------------------------------------------------------------
    def _build_grid(self) -> tuple[_Grid, Skeleton]:
        """The fine grid, and its skeleton (the truth reads it too: built once, it is most of the cost)."""
        n = int(round(self.duration_s * GRID_HZ)) + 1
        t = np.arange(n) / GRID_HZ
        tracks = mv.angle_tracks(self.timeline, t)
        target_x = (self.feet.heel_x_m + self.feet.foot_length_m * tracks["com_foot_pos"]
                    + pt.sway_m(t, self.seed))
        dofs = Dofs(knee=np.radians(tracks["knee"]), pelvis=np.radians(tracks["pelvis"]),
                    lumbar=np.radians(tracks["lumbar"]), shank=np.zeros(n), heel=np.radians(tracks["heel"]),
                    lift_m=np.zeros(n), neck=np.radians(tracks["neck"]), arm=np.radians(tracks["arm"]))
        # balance on a coarser grid, then a C2 spline: smooth accelerations at a fraction of the cost
        coarse = slice(None, None, int(GRID_HZ // SOLVE_HZ))
        coarse_dofs = Dofs(*(getattr(dofs, f)[coarse] for f in Dofs.FIELDS))
        if self.arms == "swing":  # the body moves against the swinging bell to keep the CoP on the foot
            target_x = mv.swing_com_target_x(self.body, self.feet, dofs, self.load_kg, target_x,
                                             1.0 / GRID_HZ)
        solved = solve_shank_for_com(self.body, self.feet, coarse_dofs, kinematic_arms(self.arms),
                                     self.load_kg, target_x[coarse])
        # imported here: a render worker unpickles subjects and never builds one (scipy.interpolate: ~0.4 s)
        from scipy.interpolate import CubicSpline

        dofs.shank = CubicSpline(t[coarse], solved.shank)(t)
        if self.timeline.hop_t_s is not None:
            raise NotImplementedError("hop: not implemented yet (use heel_raise)")
        sk = skeleton_for(self.body, self.feet, dofs, self.arms)
        com = centre_of_mass(self.body, sk, self.load_kg)
        dt = 1.0 / GRID_HZ
        acc = np.gradient(np.gradient(com, dt, axis=0), dt, axis=0)
        fz = self.total_mass_kg * (GRAVITY_M_S2 + acc[:, 2])
        airborne = dofs.lift_m > 0
        fz[airborne] = 0.0
        fz = np.maximum(fz, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            cop = com[:, :2] - com[:, 2:3] * acc[:, :2] / (GRAVITY_M_S2 + acc[:, 2:3])
        cop[fz <= 0] = np.nan
        if self.arms == "swing":  # a swung bell carries angular momentum: the CoP from every segment
            fz, cop[:, 0] = mv.multibody_cop_x(self.body, sk, self.load_kg, dt)
        cop = mv.stance_cop(self.timeline, cop, self.body.ankle_half_width_m)  # one foot on the plate
        cells = cell_loads(fz, cop, self.config.plate.channel_xy)
        # column-major: _interp reads one column at a time, and np.interp copies a strided column on every
        # call (the plate emulator asks for a few samples a thousand times a second)
        cols = np.asfortranarray
        return _Grid(t, dofs, cols(com), {k: cols(v) for k, v in self._markers_from(sk).items()}, fz,
                     cols(cop), cols(cells)), sk

    def _markers_from(self, sk) -> dict[str, np.ndarray]:
        """Sphere centres on the skin facing the camera: skin point + MARKER_RADIUS_M outward."""
        c, b = self.side_sign, self.body
        leg_y = np.array([0.0, c * b.leg_marker_y_m, 0.0])
        out = {name: sk.p[name] + leg_y for name in ("hip", "knee", "ankle")}
        out["shoulder"] = _acromion_marker(sk, b, c)
        out["head"] = _tragus_marker(sk, b, c)
        return out

    def _build_truth(self, sk: Skeleton) -> TrialTruth:
        g = self._grid
        th = sk.angles["thorax"]
        posterior = np.stack([-np.cos(th), np.zeros_like(th), np.sin(th)], axis=-1)
        fz_safe = np.where(g.fz_n > 0, g.fz_n, np.nan)
        rear = self.config.plate.rear_channels
        sig = Signals(
            t_s=g.t_s, hip=g.markers["hip"], knee=g.markers["knee"], ankle=g.markers["ankle"],
            shoulder=g.markers["shoulder"], foot_pos=self._foot_pos_from(g.cop_xy_m[:, 0]),
            heel_load_frac=g.cells_n[:, rear].sum(axis=1) / fz_safe, lumbar_deg=np.degrees(g.dofs.lumbar),
            sacrum=sk.p["sacrum"], upper_back=sk.p["upper_back"], head_back=sk.p["head_back"],
            posterior=posterior, head=g.markers["head"])
        tl = self.timeline
        if isinstance(tl, mv.MovementTimeline):
            from drivers.sim.movement_truth import trial_truth
            return trial_truth(self, sig, g.cells_n.sum(axis=1))  # the plate's Fz, as forces() gives it
        rep_ex = [ex for ex in tl.excursions if ex.is_rep]
        windows = [(ex.t0_s - 0.2, ex.t_end_s + 0.2, ex.t0_s + ex.descent_s + ex.hold_s / 2) for ex in rep_ex]
        reps = rep_truths(sig, windows, tl.standing_end_s, self.config.thresholds,
                          frame_dt_s=1.0 / self.config.camera.fps)
        for r, ex in zip(reps, rep_ex, strict=True):
            r._back_points = self.spine_back_points
            r.scripted_hold_s = ex.hold_s
        fid = (tl.fidget.t0_s, tl.fidget.t_end_s) if tl.fidget is not None else None
        return TrialTruth(pattern=self.pattern, arms=self.arms, reps=reps, fidget_t_s=fid, hop_t_s=tl.hop_t_s,
                          heel_raise_t_s=tl.heel_raise_t_s, standing_end_s=tl.standing_end_s,
                          mass_kg=self.mass_kg, total_mass_kg=self.total_mass_kg, height_m=self.height_m,
                          seed=self.seed, expected_faults=list(pt.EXPECTED_FAULTS[self.pattern]))

    # ---- queries -------------------------------------------------------------------------------------
    def _checked_t(self, t_s: np.ndarray | float) -> np.ndarray:
        """t_s as a float array; ValueError if any is outside the trial."""
        t_s = np.asarray(t_s, dtype=float)
        if (t_s < -1e-9).any() or (t_s > self.duration_s + 1e-9).any():
            raise ValueError(f"t_s outside 0..{self.duration_s:.3f} s")
        return t_s

    def _interp(self, t_s: np.ndarray, values: np.ndarray) -> np.ndarray:
        return self._interp_checked(self._checked_t(t_s), values)

    def _interp_checked(self, t_s: np.ndarray, values: np.ndarray) -> np.ndarray:
        """`_interp` at times already checked (a query checks them once for all its signals)."""
        g = self._grid.t_s
        if values.ndim == 1:
            return np.interp(t_s, g, values)
        out = np.empty(t_s.shape + values.shape[1:])  # what np.stack(axis=-1) of the columns gives
        for j in range(values.shape[1]):
            out[..., j] = np.interp(t_s, g, values[:, j])
        return out

    def markers(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Marker sphere centres (plate frame, m) on the camera side: name -> (N,3)."""
        t_s = self._checked_t(t_s)
        return {name: self._interp_checked(t_s, v) for name, v in self._grid.markers.items()}

    def com(self, t_s: np.ndarray) -> np.ndarray:
        """Whole-body (+ held load) centre of mass (N,3)."""
        return self._interp(t_s, self._grid.com)

    def forces(self, t_s: np.ndarray) -> ForceTruth:
        t_s = self._checked_t(t_s)
        fz = self._interp_checked(t_s, self._grid.fz_n)
        cells = self._interp_checked(t_s, self._grid.cells_n)
        cop = np.full((fz.shape[0], 2), np.nan)
        ok = fz > 0
        xy = self.config.plate.channel_xy
        cop[ok] = (cells[ok] @ xy) / cells[ok].sum(axis=1, keepdims=True)
        return ForceTruth(fz_n=cells.sum(axis=1), cop_xy_m=cop, cells_n=cells)

    def cell_loads_n(self, t_s: np.ndarray) -> np.ndarray:
        """(N,4) newtons per load cell, channel order of config.plate.channel_xy_m."""
        return self._interp(t_s, self._grid.cells_n)

    def foot_pos(self, t_s: np.ndarray) -> np.ndarray:
        """(cop_x - heel_x) / foot_length; NaN while airborne."""
        return self._foot_pos_from(self.forces(t_s).cop_xy_m[:, 0])

    def _foot_pos_from(self, cop_x: np.ndarray) -> np.ndarray:
        return (cop_x - self.feet.heel_x_m) / self.feet.foot_length_m

    def _dofs_at(self, t_s: float) -> Dofs:
        d = self._grid.dofs
        t = self._checked_t(np.array([float(t_s)]))
        return Dofs(*(self._interp_checked(t, getattr(d, f)) for f in Dofs.FIELDS))

    def spine_back_points(self, t_s: float) -> dict[str, np.ndarray]:
        """Posterior skin points (plate frame, m): sacrum, upper back (between the shoulder blades), head."""
        sk = skeleton_for(self.body, self.feet, self._dofs_at(t_s), self.arms)
        return {"sacrum": sk.p["sacrum"][0], "upper_back": sk.p["upper_back"][0],
                "head": sk.p["head_back"][0]}

    def pose(self, t_s: float) -> Pose:
        """Capsules for the whole body (and dowel or weights) plus marker centres at t_s."""
        sk = skeleton_for(self.body, self.feet, self._dofs_at(t_s), self.arms)
        markers = {k: v[0] for k, v in self._markers_from(sk).items()}
        caps = capsules_for(self.body, sk, kinematic_arms(self.arms), self.load_kg)
        caps += bar_capsules(sk, self.arms)  # "hanging": the bar in both hands
        return Pose(t_s=float(t_s), capsules=tuple(caps), markers=markers, marker_radius_m=MARKER_RADIUS_M)


_SHARED: dict[tuple, VirtualSubject] = {}
_SHARED_KEEP = 2  # a trial's plate and camera; each subject holds ~20 MB of grid


def shared_subject(pattern: str, *, config: StationConfig | None = None, **options) -> VirtualSubject:
    """The VirtualSubject(pattern, config=config, **options) this process already built with the same
    arguments, else a new one (kept, the last two): a trial's simulated plate and camera are one person,
    built once (~0.45 s each), and both see the station's configuration (feet, plate, camera side)."""
    key = (pattern, repr(config or StationConfig()), tuple(sorted(options.items())))
    subject = _SHARED.get(key)
    if subject is None:
        subject = VirtualSubject(pattern, config=config, **options)
        _SHARED[key] = subject
        while len(_SHARED) > _SHARED_KEEP:
            _SHARED.pop(next(iter(_SHARED)))
    return subject
