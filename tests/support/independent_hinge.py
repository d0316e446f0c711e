"""Independent hip-hinge recordings: a body, a motion and a measurement model that share nothing with
drivers/sim (nor with station.core), for issue 19's "How we will know" on data the simulator did not make.

Model (sagittal x-z of the plate frame: +x where the subject faces, +z up, plate surface at z = 0):

- Body: a planar linkage. The feet stand still on the plate; shank, thigh, pelvis, torso (a lumbar joint at
  L5/S1 so the low back can arch), head+neck from C7. Lengths are Drillis & Contini fractions of height
  (Winter 2009, Table 4.1: shank 0.246 H, thigh 0.245 H, trochanter -> glenohumeral 0.288 H, ankle height
  0.039 H, foot 0.152 H); masses, centres of mass and radii of gyration from the same table (the trunk's
  radius of gyration is not tabulated: 0.30 of its length, an assumption); the arms are crossed on the chest.
- Motion: knee, pelvis, low back and head angles scripted directly, each rep a cycloidal progress (zero
  velocity and acceleration at both ends; not the simulator's minimum jerk) down, an optional pause, and up,
  the knees leading a little; 2-4 s a rep. The ankle keeps the centre of mass over a point that sways a few
  mm and moves 1 cm towards the heels at the bottom. A lockout may overshoot into a lean-back as the hips
  come through: the pelvis tilted back and the lumbar spine extended (the low back arched), the knees lock;
  the balance then thrusts the pelvis forward, the hip marker 5-13 cm in front of the ankle's. The overshoot
  is held 0.2-0.7 s (a glute squeeze at the top); a good hinge finishes with a 0-3 deg overshoot.
- Markers: greater trochanter, lateral femoral epicondyle, lateral malleolus, acromion, tragus, heel and
  toe, each offset from its joint centre as on a person; the trochanter slides on the thigh as the hip flexes
  (soft-tissue artefact). Noise: per marker and axis an Ornstein-Uhlenbeck drift (2-2.5 mm, 1.5 s) plus
  white noise (1.5-2.5 mm); 0.3 ms timestamp jitter; one marker hidden for up to 0.1 s every 3-6 s; 0.4% of
  camera frames lost whole (no row). 30 or 60 fps.
- Force: the plate sees the whole body's dynamics: Fz = sum m (g + z''), the CoP from the moments of every
  segment (m x (g + z'') - m z x'' - I theta'' over Fz), spread on the four cells of the plate.

Truth (`rep_truth`) applies docs/metrics.md's definitions to the noise-free marker and CoP signals,
computed here with numpy alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from station.config import StationConfig
from station.streams import ForceBlock, MarkerBlock
from tests.support.independent_reps import KNEE_STANDING_DEG, HingeRep, overshoot, progress, script_reps
from tests.support.independent_truth import rep_truth

G = 9.80665
FORCE_HZ = 1000.0
REF_HEIGHT_M = 1.75  # marker and joint offsets below are for a 1.75 m adult, scaled by height

# Winter (2009) Table 4.1: mass fraction, COM from the proximal end, radius of gyration about the COM
SHANK = (0.0465, 0.433, 0.302)
THIGH = (0.100, 0.433, 0.323)
FOOT_MASS = 0.0145
TRUNK_MASS = 0.497  # trochanter -> glenohumeral joint, COM at 0.50
PELVIS_MASS = 0.142  # the part of the trunk below L5/S1 (Dempster), moves with the pelvis
ARMS_MASS = 2 * (0.028 + 0.016 + 0.006)  # crossed on the chest: move with the torso
HEAD_MASS = 0.081  # head and neck, C7/T1 -> ear canal, COM at the ear canal
HEAD_GYRATION = 0.495
TRUNK_GYRATION = 0.30  # not in the table (assumption)


@dataclass(frozen=True)
class Body:
    height_m: float
    mass_kg: float
    standing_trunk_deg: float  # trochanter -> glenohumeral line when standing (+ forward): people differ
    cva_deg: float  # craniovertebral angle: C7 -> tragus line above horizontal (under ~50 = head forward)
    heel_x_m: float  # where the heels stand on the plate

    @property
    def k(self) -> float:
        return self.height_m / REF_HEIGHT_M

    @property
    def shank_m(self) -> float:
        return 0.246 * self.height_m

    @property
    def thigh_m(self) -> float:
        return 0.245 * self.height_m

    @property
    def trunk_m(self) -> float:
        return 0.288 * self.height_m

    @property
    def ankle_height_m(self) -> float:
        return 0.039 * self.height_m

    @property
    def foot_m(self) -> float:
        return 0.152 * self.height_m

    @property
    def c7_tragus_m(self) -> float:
        return 0.09 * self.height_m

    @property
    def ankle_xz(self) -> np.ndarray:
        return np.array([self.heel_x_m + 0.24 * self.foot_m, self.ankle_height_m])


# heights other than the simulator's 1.75 m; different standing trunk and head carriage
BODIES = {
    "short": Body(height_m=1.62, mass_kg=56.0, standing_trunk_deg=3.0, cva_deg=53.0, heel_x_m=-0.12),
    "tall": Body(height_m=1.95, mass_kg=98.0, standing_trunk_deg=-1.5, cva_deg=46.0, heel_x_m=-0.15),
}


@dataclass
class Pose:
    """Segment angles from vertical (rad, + = top forward) over N instants."""

    shank: np.ndarray
    knee: np.ndarray  # flexion; thigh = shank - knee
    pelvis: np.ndarray
    lumbar: np.ndarray  # flexion (+) / extension (-); torso = pelvis + lumbar
    head: np.ndarray  # the C7 -> tragus line
    hip_flex_rel: np.ndarray  # hip flexion over standing, share of 80 deg (the trochanter's skin slide)

    @property
    def thigh(self) -> np.ndarray:
        return self.shank - self.knee

    @property
    def torso(self) -> np.ndarray:
        return self.pelvis + self.lumbar


def _rot(angle: np.ndarray, fwd: float, up: float) -> np.ndarray:
    """Segment-frame (forward, up) offset of a segment tilted by angle -> plate (x, z), (N, 2)."""
    s, c = np.sin(angle), np.cos(angle)
    return np.stack([fwd * c + up * s, -fwd * s + up * c], axis=-1)


def joints(body: Body, pose: Pose) -> dict[str, np.ndarray]:
    """Joint centres, skin markers and segment COMs (x, z), (N, 2) each."""
    k = body.k
    n = pose.shank.shape[0]
    ankle = np.tile(body.ankle_xz, (n, 1))
    knee = ankle + _rot(pose.shank, 0.0, body.shank_m)
    hjc = knee + _rot(pose.thigh, 0.0, body.thigh_m)
    l5_local = (-0.03 * k, 0.10 * k)  # L5/S1 from the hip joint centre, pelvis frame
    l5 = hjc + _rot(pose.pelvis, *l5_local)
    gh = l5 + _rot(pose.torso, -l5_local[0], body.trunk_m - l5_local[1])
    c7 = gh + _rot(pose.torso, -0.06 * k, 0.045 * k)
    tragus = c7 + _rot(pose.head, 0.0, body.c7_tragus_m)
    slide = pose.hip_flex_rel[:, None]
    # the trochanter marker, with its skin sliding back and up over the bone as the hip flexes
    trochanter = hjc + _rot(pose.thigh, -0.012 * k, -0.010 * k) \
        + slide * _rot(pose.thigh, -0.008 * k, 0.004 * k)
    out = {
        "ankle_joint": ankle, "knee_joint": knee, "hjc": hjc, "l5": l5, "gh": gh, "c7": c7,
        "hip": trochanter,
        "knee": knee + _rot(pose.thigh, -0.004 * k, 0.018 * k),
        "ankle": ankle + np.array([-0.008 * k, -0.004 * k]),
        "shoulder": gh + _rot(pose.torso, -0.008 * k, 0.038 * k),
        "head": tragus,
        "heel": np.tile([body.heel_x_m - 0.004, 0.03 * k], (n, 1)),
        "toe": np.tile([body.heel_x_m + body.foot_m - 0.01, 0.025 * k], (n, 1)),
    }
    # segment centres of mass
    pelvis_com_local = np.array([-0.02 * k, 0.07 * k])
    trunk_com_local = np.array([0.0, 0.5 * body.trunk_m])  # from the hip joint centre, trunk frame
    upper = (TRUNK_MASS * trunk_com_local - PELVIS_MASS * pelvis_com_local) / (TRUNK_MASS - PELVIS_MASS)
    out["com_shank"] = knee + SHANK[1] * (ankle - knee)
    out["com_thigh"] = hjc + THIGH[1] * (knee - hjc)
    out["com_pelvis"] = hjc + _rot(pose.pelvis, *pelvis_com_local)
    out["com_torso"] = l5 + _rot(pose.torso, upper[0] - l5_local[0], upper[1] - l5_local[1])
    out["com_arms"] = l5 + _rot(pose.torso, 0.10 * k - l5_local[0], 0.70 * body.trunk_m - l5_local[1])
    out["com_head"] = tragus
    out["com_feet"] = np.tile([body.heel_x_m + 0.45 * body.foot_m, 0.035 * k], (n, 1))
    return out


def _segments(body: Body, pose: Pose, pts: dict[str, np.ndarray]
              ) -> list[tuple[float, np.ndarray, float, np.ndarray]]:
    """(mass kg, COM (N, 2), moment of inertia kg m^2, angle (N,)) of every segment."""
    m, k = body.mass_kg, body.k
    zero = np.zeros_like(pose.shank)
    return [
        (2 * FOOT_MASS * m, pts["com_feet"], 0.0, zero),
        (2 * SHANK[0] * m, pts["com_shank"], 2 * SHANK[0] * m * (SHANK[2] * body.shank_m) ** 2, pose.shank),
        (2 * THIGH[0] * m, pts["com_thigh"], 2 * THIGH[0] * m * (THIGH[2] * body.thigh_m) ** 2, pose.thigh),
        (PELVIS_MASS * m, pts["com_pelvis"], PELVIS_MASS * m * (0.10 * k) ** 2, pose.pelvis),
        ((TRUNK_MASS - PELVIS_MASS) * m, pts["com_torso"],
         (TRUNK_MASS - PELVIS_MASS) * m * (TRUNK_GYRATION * body.trunk_m) ** 2, pose.torso),
        (ARMS_MASS * m, pts["com_arms"], ARMS_MASS * m * (0.12 * k) ** 2, pose.torso),
        (HEAD_MASS * m, pts["com_head"], HEAD_MASS * m * (HEAD_GYRATION * body.c7_tragus_m) ** 2, pose.head),
    ]


def com_x(body: Body, pose: Pose) -> np.ndarray:
    segs = _segments(body, pose, joints(body, pose))
    return sum(mass * c[:, 0] for mass, c, _, _ in segs) / body.mass_kg


def _solve_shank(body: Body, pose: Pose, target_x: np.ndarray) -> np.ndarray:
    """Ankle angles (rad) that put the COM at target_x, everything else as posed (Newton, vectorised):
    people balance over the feet with the ankles."""
    shank = pose.shank.copy()
    for _ in range(12):
        pose.shank = shank
        miss = com_x(body, pose) - target_x
        if np.max(np.abs(miss)) < 1e-8:
            break
        pose.shank = shank + 1e-5
        slope = (com_x(body, pose) - target_x - miss) / 1e-5
        shank = shank - miss / slope
    pose.shank = shank
    return shank


def sway_target(t: np.ndarray, body: Body, sway_seed: int) -> np.ndarray:
    """Where the ankle balances the COM when standing (m, plate x): 4.5 cm (scaled) in front of the ankle
    joint, swaying a few mm at two slow frequencies of the seed's own."""
    rng = np.random.default_rng(sway_seed)
    f1, f2, p1, p2 = rng.uniform(0.15, 0.25), rng.uniform(0.4, 0.55), *rng.uniform(0, 2 * np.pi, 2)
    return body.ankle_xz[0] + 0.045 * body.k + 0.002 * np.sin(2 * np.pi * f1 * t + p1) \
        + 0.001 * np.sin(2 * np.pi * f2 * t + p2)


def scripted_pose(body: Body, knee_deg: np.ndarray, pelvis_deg: np.ndarray, lumbar_deg: np.ndarray,
                  neck_ext_deg: np.ndarray, target_x: np.ndarray) -> Pose:
    """The Pose of scripted knee, pelvis, low-back and neck angles (deg): the head rides on the torso, the
    shank is solved so the COM is over target_x."""
    torso = pelvis_deg + lumbar_deg
    head = 90.0 - body.cva_deg + (torso - body.standing_trunk_deg) - neck_ext_deg
    rad = np.radians
    zeros = np.zeros_like(knee_deg)
    pose = Pose(zeros, rad(knee_deg), rad(pelvis_deg), rad(lumbar_deg), rad(head), zeros.copy())
    _solve_shank(body, pose, target_x)
    hip_flex = pelvis_deg - np.degrees(pose.thigh)
    pose.hip_flex_rel = (hip_flex - hip_flex[0]) / 80.0  # hip flexion over standing, share of 80 deg
    return pose


def pose_at(t: np.ndarray, body: Body, reps: list[HingeRep], sway_seed: int) -> Pose:
    """Joint angles of the whole trial at times t. Knee, pelvis, low back and head are scripted; the
    ankle balances the COM over a point 4.5 cm (scaled) in front of the ankle joint when standing, which
    moves 1 cm back towards the heels at the bottom ("weight in the heels") and sways a few mm."""
    target = sway_target(t, body, sway_seed)
    knee = np.full_like(t, KNEE_STANDING_DEG)
    pelvis = np.full_like(t, body.standing_trunk_deg)
    lumbar = np.zeros_like(t)
    neck_ext = np.zeros_like(t)
    for r in reps:
        s = progress(t, r)
        o = overshoot(t, r)
        # the pelvis's angle at the bottom for the rep's hip flexion with the shank about vertical
        pelvis_b = r.hip_flexion_deg - r.knee_deg
        knee += (r.knee_deg - KNEE_STANDING_DEG) * s ** 0.8 - 0.8 * KNEE_STANDING_DEG * o  # knees lead; lock
        pelvis += (pelvis_b - body.standing_trunk_deg) * s - 0.4 * r.lean_back_deg * o  # tilted back
        lumbar += -0.6 * r.lean_back_deg * o  # the low back arched
        neck_ext += r.neck_ext_deg * s
        target = target - 0.010 * body.k * s
    return scripted_pose(body, knee, pelvis, lumbar, neck_ext, target)


def plate_load(body: Body, t: np.ndarray, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """(Fz N, CoP x m) of the whole body on a uniform time grid t, from every segment's dynamics."""
    pts = joints(body, pose)
    dt = float(t[1] - t[0])
    ddot = lambda y: np.gradient(np.gradient(y, dt), dt)  # noqa: E731
    fz = np.zeros_like(t)
    moment = np.zeros_like(t)
    for mass, c, inertia, angle in _segments(body, pose, pts):
        x, z = c[:, 0], c[:, 1]
        xdd, zdd = ddot(x), ddot(z)
        fz += mass * (G + zdd)
        moment += mass * (x * (G + zdd) - z * xdd) - inertia * ddot(angle)
    return fz, moment / fz


def _to_3d(xz: np.ndarray, y_m: float) -> np.ndarray:
    return np.column_stack([xz[:, 0], np.full(xz.shape[0], y_m), xz[:, 1]])


MARKER_Y_M = {"hip": 0.10, "knee": 0.055, "ankle": 0.045, "shoulder": 0.19, "head": 0.075, "heel": 0.10,
              "toe": 0.11}  # lateral offsets (1.75 m): the markers on the camera's side of the body
STATION_MARKERS = ("hip", "knee", "ankle", "shoulder", "head")


def marker_positions(body: Body, pose: Pose, side: str,
                     names: tuple[str, ...] = STATION_MARKERS) -> dict[str, np.ndarray]:
    """Noise-free skin markers (N, 3), plate frame; the camera's side of the body (right = -y)."""
    sign = -1.0 if side == "right" else 1.0
    pts = joints(body, pose)
    return {n: _to_3d(pts[n], sign * MARKER_Y_M[n] * body.k) for n in names}


def _ou_drift(rng: np.random.Generator, t: np.ndarray, sigma_m: float, tau_s: float,
              shape: tuple[int, ...]) -> np.ndarray:
    """Ornstein-Uhlenbeck drift (stationary std sigma_m, correlation time tau_s) sampled at t."""
    out = np.empty((t.size, *shape))
    out[0] = rng.normal(0, sigma_m, shape)
    for i in range(1, t.size):
        a = math.exp(-(t[i] - t[i - 1]) / tau_s)
        out[i] = a * out[i - 1] + math.sqrt(1 - a * a) * rng.normal(0, sigma_m, shape)
    return out


@dataclass
class IndependentTrial:
    variant: str
    body: Body
    side: str
    fps: float
    reps: list[HingeRep]
    config: StationConfig
    force: ForceBlock
    markers: MarkerBlock  # as the camera gave them: noisy, jittered, occlusions, dropped frames
    c3d_markers: dict[str, np.ndarray]  # the same frames on the camera's uniform grid (dropped = NaN)
    fz_n: np.ndarray  # from the noisy cells (what a C3D export of the plate carries)
    cop_xy_m: np.ndarray
    truth: list[dict] = field(default_factory=list)
    standing: dict = field(default_factory=dict)


def station_config(body: Body, side: str) -> StationConfig:
    """The station as a clinician would set it for this subject: camera side, heel line, foot length."""
    cfg = StationConfig()
    cfg.camera.side = side
    cfg.camera.position_m = [0.0, -2.2 if side == "right" else 2.2, 0.9]
    cfg.feet.heel_x_m = body.heel_x_m
    cfg.feet.foot_length_m = body.foot_m
    return cfg


def make_independent_trial(variant: str, body: Body, *, fps: float, side: str, n_reps: int = 5,
                           seed: int = 0, drift_m: float | None = None, white_m: float | None = None,
                           lean_hold_s: tuple[float, float] = (0.2, 0.7)) -> IndependentTrial:
    """One recording: `n_reps` reps of `variant` by `body`, filmed at `fps` from `side`. Marker noise per
    axis: drift_m of slow drift plus white_m of white noise (default 2 + 1.5 mm at 30 fps, 2.5 + 2.5 mm at
    60 fps: a faster camera gets less light per frame)."""
    drift_m = drift_m if drift_m is not None else (0.002 if fps <= 30 else 0.0025)
    white_m = white_m if white_m is not None else (0.0015 if fps <= 30 else 0.0025)
    reps, duration_s = script_reps(variant, n_reps, seed, lean_hold_s)
    config = station_config(body, side)
    rng = np.random.default_rng(seed + 7919)
    # force: whole-body dynamics on the plate's 1 kHz grid
    tf = np.arange(0.0, duration_s, 1.0 / FORCE_HZ)
    pose_f = pose_at(tf, body, reps, sway_seed=seed)
    fz, cop_x = plate_load(body, tf, pose_f)
    cop_y = np.zeros_like(tf)  # both feet, symmetric about the plate's centre line
    xy = config.plate.channel_xy
    a = np.vstack([np.ones(4), xy[:, 0], xy[:, 1]])
    cells = (np.linalg.pinv(a) @ np.vstack([fz, fz * cop_x, fz * cop_y])).T
    cells += rng.normal(0, 1.0, cells.shape)
    fz_meas = cells.sum(axis=1)
    cop_meas = (cells @ xy) / fz_meas[:, None]
    # camera: jittered frame times, noise of its own shape, occlusions, dropped frames
    n_frames = int(duration_s * fps)
    tm = np.arange(n_frames) / fps + rng.normal(0, 0.0003, n_frames)
    tm[0] = max(tm[0], 0.0)
    clean = marker_positions(body, pose_at(tm, body, reps, sway_seed=seed), side)
    noisy = {}
    for name, pos in clean.items():
        drift = _ou_drift(rng, tm, drift_m, 1.5, (3,))
        noisy[name] = pos + drift + rng.normal(0, white_m, pos.shape)
    t_occ = 2.0 + rng.uniform(0, 3.0)
    while t_occ < duration_s - 0.2:  # one marker hidden for up to 0.1 s every 3-6 s
        name = str(rng.choice(STATION_MARKERS))
        i = int(np.searchsorted(tm, t_occ))
        noisy[name][i:i + int(rng.integers(1, max(2, int(0.1 * fps)) + 1))] = np.nan
        t_occ += rng.uniform(3.0, 6.0)
    dropped = rng.choice(np.arange(10, n_frames - 10), size=max(2, n_frames // 250), replace=False)
    keep = np.ones(n_frames, bool)
    keep[dropped] = False  # a whole frame lost in transfer (no row at all)
    c3d = {n: np.where(keep[:, None], p, np.nan) for n, p in noisy.items()}
    feet = marker_positions(body, pose_at(tm[:1], body, reps, sway_seed=seed), side, ("heel", "toe"))
    c3d |= {n: np.tile(p, (n_frames, 1)) + rng.normal(0, white_m, (n_frames, 3)) for n, p in feet.items()}
    trial = IndependentTrial(
        variant=variant, body=body, side=side, fps=fps, reps=reps, config=config,
        force=ForceBlock(tf, cells), markers=MarkerBlock(tm[keep], {n: p[keep] for n, p in noisy.items()}),
        c3d_markers=c3d, fz_n=fz_meas, cop_xy_m=cop_meas)
    exact = marker_positions(body, pose_f, side)
    trial.standing, trial.truth = rep_truth(reps, tf, exact, cop_x, config)
    return trial
