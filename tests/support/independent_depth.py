"""Depth recordings of an unmarked body that the station's simulator did not make (issue 23's acceptance).

What is independent of drivers/sim (render.py, figure.py, subject.py, kinematics.py are not imported):

- Motion: tests/support/independent_hinge.py's sagittal linkage (Winter proportions, its two BODIES, its
  cycloidal reps, its whole-body plate force), with two movements added here without touching what that
  module's own variants draw: a squat (knees 95-110 deg, hips down more than back) and a rounded back (the
  lumbar spine flexes 18-24 deg and the thoracic spine 20-28 deg more at the bottom).
- Body: a volume of its own built on those joints: every segment a tapered elliptic cylinder with ellipsoid
  caps (thigh, shank with a calf bulge, foot, pelvis and buttocks, a trunk in sections along a spine that
  bends as an arc so the back's skin rounds when the spine flexes, neck, head, arms crossed on the chest),
  a loose shirt (the trunk's front hanging straight from the chest, a hem over the belt), girths of their
  own (the tall body wider: 98 kg at 1.95 m). Its own ray-caster (tests/support/depth_raycast.py); only
  the static scene (floor, plate, wall) comes from tests/support/depth_noise.scene_depth.
- Camera: the station's pose (config.camera) but D455-like intrinsics of its own (fx 428 px, principal point
  off-centre), depth through depth_noise's D455 model (disparity-domain blobs, fixed pattern, edge
  fattening, flying pixels, stereo shadow), a plain IR image without stickers.
- Truth: from the noise-free joints (independent_truth.rep_truth: docs/metrics.md's definitions) and, for the
  virtual dowel, from this body's own skin points (sacrum, between the shoulder blades, occiput).

Speed: the static scene and one noise realisation of it are made once; a frame ray-casts only the pixels
inside each primitive's projected bounding box, and the noise model runs on a fixed crop around the body
(~15-25 ms a frame at 848x480).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drivers.samples import Intrinsics
from station.config import StationConfig
from station.streams import ForceBlock
from tests.support.depth_raycast import Cone, DepthCamera, Ellipsoid, d455_intrinsics
from tests.support.independent_hinge import (
    FORCE_HZ,
    Body,
    Pose,
    joints,
    marker_positions,
    plate_load,
    scripted_pose,
    station_config,
    sway_target,
)
from tests.support.independent_reps import KNEE_STANDING_DEG, HingeRep, overshoot, progress
from tests.support.independent_truth import rep_truth

DEPTH_VARIANTS = ("good", "squat", "rounding")
STANDING_S = 1.3  # quiet standing before the first rep (the tracker needs ~0.4 s of it, the core 0.5 s)
# girth factor per body (the linkage's BODIES): the tall one heavier for his height (BMI 25.8 vs 21.3)
GIRTH = {"short": 0.95, "tall": 1.13}
DOWEL_GAP_MAX_MM = 20.0  # docs/metrics.md back_rounding / back_arching limit ...
DOWEL_HOLD_FRAMES = 3    # ... held this many frames


# --- scripted reps ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpineRep:
    """What the linkage's HingeRep cannot say: lumbar flexion (deg) and extra thoracic flexion (deg) at the
    bottom of a rep (0 for a neutral back)."""

    lumbar_flex_deg: float = 0.0
    thoracic_flex_deg: float = 0.0


def script_depth_reps(variant: str, n_reps: int, seed: int) -> tuple[list[HingeRep], list[SpineRep], float]:
    """(reps, their spine, trial duration s). A generator of its own (seeded apart from script_reps), so the
    independent_hinge variants draw exactly what they drew before."""
    if variant not in DEPTH_VARIANTS:
        raise ValueError(variant)
    rng = np.random.default_rng(seed + 104_729)
    reps, spines, t = [], [], STANDING_S
    for _ in range(n_reps):
        tempo = rng.uniform(2.1, 2.7)
        down = tempo * rng.uniform(0.45, 0.55)
        if variant == "squat":  # knees far forward, trunk fairly upright: hips go down, not back
            knee = rng.uniform(95.0, 110.0)
            hip_flex = knee + rng.uniform(30.0, 40.0)
            spine = SpineRep()
        elif variant == "rounding":  # the pelvis tilts less, the lumbar and thoracic spine flex
            knee = rng.uniform(15.0, 25.0)
            hip_flex = rng.uniform(60.0, 72.0)
            spine = SpineRep(rng.uniform(18.0, 24.0), rng.uniform(20.0, 28.0))
        else:
            knee = rng.uniform(15.0, 25.0)
            hip_flex = rng.uniform(70.0, 85.0)
            spine = SpineRep()
        rep = HingeRep(t0_s=t, descent_s=down, hold_s=rng.uniform(0.0, 0.15), ascent_s=tempo - down,
                       hip_flexion_deg=hip_flex, knee_deg=knee, lean_back_deg=rng.uniform(0.0, 2.0),
                       neck_ext_deg=rng.uniform(4.0, 10.0), overshoot_at=rng.uniform(0.8, 0.95),
                       rise_s=0.3, lean_hold_s=0.1, return_s=0.4)
        reps.append(rep)
        spines.append(spine)
        t = max(rep.done_s, rep.ascent_start_s + rep.ascent_s) + rng.uniform(0.8, 1.0)
    return reps, spines, t + 0.3


def pose_depth(t: np.ndarray, body: Body, reps: list[HingeRep], spines: list[SpineRep], sway_seed: int
               ) -> tuple[Pose, np.ndarray]:
    """independent_hinge.pose_at's scripting plus the spine: (Pose, spine arc turn (rad, + = flexed: the
    back convex), (N,)). The lumbar flexion turns the trunk on the pelvis (Pose.lumbar); the arc's turn is
    twice that (the pelvis end of the arc stays with the pelvis) plus the thoracic flexion."""
    target = sway_target(t, body, sway_seed)
    knee = np.full_like(t, KNEE_STANDING_DEG)
    pelvis = np.full_like(t, body.standing_trunk_deg)
    lumbar = np.zeros_like(t)
    thoracic = np.zeros_like(t)
    neck_ext = np.zeros_like(t)
    for r, sp in zip(reps, spines, strict=True):
        s = progress(t, r)
        o = overshoot(t, r)
        pelvis_b = r.hip_flexion_deg - r.knee_deg
        knee += (r.knee_deg - KNEE_STANDING_DEG) * s ** 0.8 - 0.8 * KNEE_STANDING_DEG * o
        pelvis += (pelvis_b - body.standing_trunk_deg) * s - 0.4 * r.lean_back_deg * o
        lumbar += sp.lumbar_flex_deg * s - 0.6 * r.lean_back_deg * o
        thoracic += sp.thoracic_flex_deg * s
        neck_ext += r.neck_ext_deg * s
    pose = scripted_pose(body, knee, pelvis, lumbar, neck_ext, target)
    return pose, np.radians(2.0 * lumbar + thoracic)


# --- the body's volume ----------------------------------------------------------------------------------
def _sagittal_axes(angle: float) -> np.ndarray:
    """Rows: forward, lateral (+y), up of a segment tilted by angle (rad, + top forward) in the x-z plane."""
    s, c = math.sin(angle), math.cos(angle)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def _p3(xz: np.ndarray, y: float = 0.0) -> np.ndarray:
    return np.array([xz[0], y, xz[1]], float)


# trunk sections along the spine arc (fraction of the linkage's L5/S1 joint -> C7 spinous process, a skin
# point): skin behind that line, sagittal depth and half-width (m at 1.75 m; depths and widths times the
# girth). Lordosis at 0.2 (skin nearer the line), shoulder blades at 0.7 (sacrum, shoulder blades and
# occiput about on one line when standing, as a dowel on a neutral back shows); the shirt's front hangs
# from the chest (0.2-0.45 as deep as the chest) and its hem hangs over the belt (-0.15).
TRUNK_F = np.array([-0.15, 0.0, 0.2, 0.45, 0.7, 0.88, 1.0])
TRUNK_BACK = np.array([0.085, 0.080, 0.048, 0.040, 0.035, 0.022, 0.004])
TRUNK_DEPTH = np.array([0.235, 0.225, 0.225, 0.230, 0.235, 0.205, 0.120])
TRUNK_HALF_W = np.array([0.165, 0.150, 0.145, 0.150, 0.165, 0.160, 0.070])


@dataclass
class BodyShape:
    """The volume on the linkage's joints: build(i) -> primitives of frame i, skin points for the dowel."""

    body: Body
    pts: dict[str, np.ndarray]  # independent_hinge.joints (x, z), (N, 2) each
    pose: Pose
    spine_turn: np.ndarray  # (N,) rad
    girth: float
    near_y_sign: float  # the camera's side of the body: -1 right (camera at -y), +1 left

    def _spine(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arc L5 -> C7 through the linkage's points at the TRUNK_F fractions: (points (n, 2), forward
        normals (n, 2), back skin points (n, 2)) in x-z."""
        k, w = self.body.k, self.girth
        a, b = self.pts["l5"][i], self.pts["c7"][i]
        chord = b - a
        length = float(np.linalg.norm(chord))
        e = chord / length
        fwd = np.array([e[1], -e[0]])  # the chord's forward normal (the subject faces +x)
        beta = float(self.spine_turn[i])
        f = TRUNK_F
        if abs(beta) < 1e-4:
            pts = a + np.outer(f, chord)
            tang = np.tile(e, (f.size, 1))
        else:  # circular arc, convex backwards for beta > 0; tangent turns by beta from bottom to top
            rad = length / (2.0 * math.sin(beta / 2.0))
            phi = beta * (f - 0.5)  # tangent's turn from the chord's direction (+: top forward)
            along = rad * (np.sin(phi) + math.sin(beta / 2.0))
            back = rad * (np.cos(phi) - math.cos(beta / 2.0))  # bulge behind the chord
            pts = a + np.outer(along, e) - np.outer(back, fwd)
            tang = np.outer(np.cos(phi), e) + np.outer(np.sin(phi), fwd)
        normals = np.column_stack([tang[:, 1], -tang[:, 0]])
        skin = pts - normals * (TRUNK_BACK * k * math.sqrt(w))[:, None]
        return pts, normals, skin

    def skin_points(self, i: int) -> dict[str, np.ndarray]:
        """The virtual dowel's three contacts on this body's skin (x, z): sacrum (the pelvis's back at the
        L5 level), between the shoulder blades (the spine's 0.7), the occiput (the head's most posterior
        point across the sacrum -> head line)."""
        _, _, skin = self._spine(i)
        head = self._head(i)
        sacrum = skin[1]
        chord = head.centre[[0, 2]] - sacrum
        e = chord / np.linalg.norm(chord)
        back = -np.array([e[1], -e[0]])
        b3 = np.array([back[0], 0.0, back[1]])
        # support point of the ellipsoid in direction b3 (the midline's furthest back point)
        m = head.axes @ b3 * head.radii
        occiput = head.centre + head.axes.T @ (head.radii * m / np.linalg.norm(m))
        return {"sacrum": sacrum, "upper_back": skin[4], "head": occiput[[0, 2]]}

    def _head(self, i: int) -> Ellipsoid:
        k, w = self.body.k, self.girth
        tilt = float(self.pose.head[i]) - math.radians(90.0 - self.body.cva_deg)
        ax = _sagittal_axes(tilt)
        centre = _p3(self.pts["head"][i]) + ax[0] * 0.012 * k + ax[2] * 0.022 * k
        return Ellipsoid(centre, ax, np.array([0.100, 0.078 * w, 0.115]) * k)

    def build(self, i: int) -> list[Cone | Ellipsoid]:
        k, w, p = self.body.k, self.girth, self.pts
        pose = self.pose
        prims: list[Cone | Ellipsoid] = []
        hjc, knee, ankle = p["hjc"][i], p["knee_joint"][i], p["ankle_joint"][i]
        pelvis = float(pose.pelvis[i])
        thigh = float(pose.thigh[i])
        shank = float(pose.shank[i])
        for side in (-1.0, 1.0):
            y = side * 0.088 * k * w
            y_knee, y_ankle = side * 0.085 * k, side * 0.080 * k
            # buttock: behind and below the hip joint, turning half with the pelvis, half with the thigh
            ax = _sagittal_axes(0.5 * (pelvis + thigh))
            prims.append(Ellipsoid(_p3(hjc, y) + ax[0] * (-0.052 * k * w) + ax[2] * (-0.025 * k), ax,
                                   np.array([0.082 * w, 0.085 * w, 0.105]) * k))
            prims.append(Cone(_p3(hjc, y), _p3(knee, y_knee), 0.080 * k * w, 0.050 * k * w, 0.95))
            prims.append(Ellipsoid(_p3(knee, y_knee), _sagittal_axes(thigh),
                                   np.array([0.052, 0.050, 0.06]) * k * w))
            # shank: the calf bulges behind the bones a third of the way down
            ax = _sagittal_axes(shank)
            calf = _p3(knee, y_knee) - ax[2] * 0.33 * self.body.shank_m - ax[0] * 0.012 * k * w
            prims.append(Cone(_p3(knee, y_knee), calf, 0.050 * k * w, 0.056 * k * w, 0.92))
            prims.append(Cone(calf, _p3(ankle, y_ankle), 0.056 * k * w, 0.030 * k, 0.92))
            prims.append(Ellipsoid(_p3(ankle, y_ankle), ax, np.array([0.034, 0.032, 0.04]) * k))
            heel = np.array([self.body.heel_x_m + 0.03 * k, 0.036 * k])
            toe = np.array([self.body.heel_x_m + self.body.foot_m - 0.02 * k, 0.022 * k])
            prims.append(Cone(_p3(heel, y_ankle), _p3(toe, y_ankle * 1.1), 0.036 * k, 0.020 * k, 1.3,
                              np.array([0.0, 1.0, 0.0])))
            prims.append(Ellipsoid(_p3(heel, y_ankle), np.eye(3), np.array([0.035, 0.035, 0.036]) * k))
        # pelvis (both hips), tilting with the pelvis
        ax = _sagittal_axes(pelvis)
        prims.append(Ellipsoid(_p3(hjc) + ax[0] * (-0.012 * k) + ax[2] * (0.055 * k), ax,
                               np.array([0.112 * w, 0.170 * w, 0.115]) * k))
        # trunk: sections along the spine arc, a cone between each two and an ellipsoid at each
        spine, normals, skin = self._spine(i)
        half_d = 0.5 * TRUNK_DEPTH * k * w
        centres = skin + normals * half_d[:, None]
        ratio = TRUNK_HALF_W * k * w / half_d
        for j in range(len(TRUNK_F) - 1):
            prims.append(Cone(_p3(centres[j]), _p3(centres[j + 1]), half_d[j], half_d[j + 1],
                              float(0.5 * (ratio[j] + ratio[j + 1]))))
        for j in range(1, len(TRUNK_F) - 1):
            up = spine[j + 1] - spine[j - 1]
            tilt = math.atan2(up[0], up[1])
            prims.append(Ellipsoid(_p3(centres[j]), _sagittal_axes(tilt),
                                   np.array([half_d[j], TRUNK_HALF_W[j] * k * w, 0.6 * half_d[j]])))
        # shoulders: round caps over the glenohumeral joints
        gh = p["gh"][i]
        torso = float(pose.torso[i])
        ax = _sagittal_axes(torso)
        for side in (-1.0, 1.0):
            prims.append(Ellipsoid(_p3(gh, side * 0.175 * k * w), ax,
                                   np.array([0.060, 0.055, 0.060]) * k * w))
        # arms crossed on the chest: upper arms down the sides to the elbows in front of the lower chest,
        # forearms across to the other arm; the camera's-side forearm in front
        chest = spine[4] + normals[4] * (TRUNK_DEPTH[4] * k * w - TRUNK_BACK[4] * k * math.sqrt(w))
        for side in (-1.0, 1.0):
            shoulder = _p3(gh, side * 0.185 * k * w) + ax[2] * 0.01 * k
            elbow = _p3(chest, side * 0.19 * k * w) + ax[0] * 0.035 * k - ax[2] * 0.13 * k
            in_front = 0.045 * k if side == self.near_y_sign else 0.0
            hand = _p3(chest, -side * 0.15 * k * w) + ax[0] * (0.055 * k + in_front) + ax[2] * 0.03 * k
            elbow = elbow + ax[0] * in_front
            prims.append(Cone(shoulder, elbow, 0.050 * k * w, 0.038 * k * w))
            prims.append(Ellipsoid(elbow, np.eye(3), np.full(3, 0.040 * k * w)))
            prims.append(Cone(elbow, hand, 0.038 * k * w, 0.028 * k * w))
            prims.append(Ellipsoid(hand, np.eye(3), np.array([0.045, 0.03, 0.045]) * k))
        # neck and head
        c7 = p["c7"][i]
        head = self._head(i)
        neck0 = _p3(c7) + ax[0] * 0.045 * k + ax[2] * -0.01 * k
        neck1 = head.centre - head.axes[2] * 0.07 * k - head.axes[0] * 0.03 * k
        prims.append(Cone(neck0, neck1, 0.060 * k * w, 0.052 * k * w, 1.05, np.array([0.0, 1.0, 0.0])))
        prims.append(head)
        return prims


# --- a whole recording -------------------------------------------------------------------------------------
@dataclass
class DepthTrial:
    variant: str
    body_name: str
    body: Body
    side: str
    fps: float
    reps: list[HingeRep]
    spines: list[SpineRep]
    config: StationConfig
    force: ForceBlock
    t_s: np.ndarray  # frame times (s)
    shape: BodyShape
    camera: DepthCamera
    truth: list[dict]  # per rep: independent_truth.rep_truth + dowel_gap_mm and the dowel faults
    standing: dict
    hip_xz_m: np.ndarray  # exact trochanter (x, z) per frame (N, 2)

    def frames(self):
        """The recording's CameraFrames, rendered one at a time."""
        for i, t in enumerate(self.t_s):
            yield self.camera.frame(self.shape.build(i), i + 1, float(t))


def _dowel_truth(shape: BodyShape, t_s: np.ndarray, truth: list[dict]) -> None:
    """Per rep: the worst held dowel gap (mm) and back_rounding / back_arching from this body's own skin
    points (docs/metrics.md: the dowel parallel to the sacrum -> occiput chord on the most posterior
    contact; the upper back behind the chord = rounding, in front = arching), held DOWEL_HOLD_FRAMES
    frames."""
    behind = np.empty(t_s.size)
    for i in range(t_s.size):
        sk = shape.skin_points(i)
        chord = sk["head"] - sk["sacrum"]
        e = chord / np.linalg.norm(chord)
        back = np.array([-e[1], e[0]])  # out of the back for a subject facing +x
        behind[i] = 1000.0 * float((sk["upper_back"] - sk["sacrum"]) @ back)
    from numpy.lib.stride_tricks import sliding_window_view

    for tr in truth:
        sel = (t_s >= tr["t_start"]) & (t_s <= tr["t_end"])
        b = behind[sel]
        held = sliding_window_view(b, DOWEL_HOLD_FRAMES)
        rounding = float(held.min(axis=1).max())
        arching = float((-held).min(axis=1).max())
        tr["dowel_behind_mm"] = b
        tr["dowel_gap_mm"] = max(rounding, arching, 0.0)
        extra = []
        if rounding > DOWEL_GAP_MAX_MM:
            extra.append("back_rounding")
        if arching > DOWEL_GAP_MAX_MM:
            extra.append("back_arching")
        tr["faults"] = sorted(set(tr["faults"]) | set(extra))


def _crop(cam_T: np.ndarray, intr: Intrinsics, pts: dict[str, np.ndarray], body: Body) -> tuple[int, ...]:
    """Fixed pixel window over the whole trial: every joint of every frame, grown by 0.22 m (scaled) at its
    depth, down to the plate and up over the head."""
    R, o = cam_T[:3, :3], cam_T[:3, 3]
    xz = np.concatenate([pts[n] for n in ("hjc", "knee_joint", "ankle_joint", "gh", "c7", "head", "l5")])
    xz = np.concatenate([xz, [[body.heel_x_m - 0.1, 0.0], [body.heel_x_m + body.foot_m + 0.1, 0.0]]])
    grow = 0.22 * body.k  # the widest part (buttocks, head) ~0.15 m from its joint, plus the edges' reach
    us, vs = [], []
    for dx in (-grow, grow):
        for dz in (-grow, grow):
            p = np.column_stack([xz[:, 0] + dx, np.zeros(len(xz)), np.clip(xz[:, 1] + dz, -0.05, None)])
            pc = (p - o) @ R
            us.append(intr.fx * pc[:, 0] / pc[:, 2] + intr.ppx)
            vs.append(intr.fy * pc[:, 1] / pc[:, 2] + intr.ppy)
    u, v = np.concatenate(us), np.concatenate(vs)
    return (max(int(v.min()), 0), min(int(v.max()) + 1, intr.height),
            max(int(u.min()), 0), min(int(u.max()) + 1, intr.width))


def make_depth_trial(variant: str, body_name: str, *, side: str, fps: float = 30.0, n_reps: int = 3,
                     seed: int = 0) -> DepthTrial:
    """One unmarked recording: n_reps reps of variant by independent_hinge.BODIES[body_name] filmed from
    side; force on the plate's 1 kHz grid; truth from the exact joints and skin."""
    from tests.support.independent_hinge import BODIES

    body = BODIES[body_name]
    reps, spines, duration_s = script_depth_reps(variant, n_reps, seed)
    config = station_config(body, side)
    config.camera.markers = "depth"
    rng = np.random.default_rng(seed + 7919)
    tf = np.arange(0.0, duration_s, 1.0 / FORCE_HZ)
    pose_f, _ = pose_depth(tf, body, reps, spines, sway_seed=seed)
    fz, cop_x = plate_load(body, tf, pose_f)
    xy = config.plate.channel_xy
    a = np.vstack([np.ones(4), xy[:, 0], xy[:, 1]])
    cells = (np.linalg.pinv(a) @ np.vstack([fz, fz * cop_x, np.zeros_like(fz)])).T
    cells += rng.normal(0, 1.0, cells.shape)  # the cells' own noise (N)
    t_s = np.arange(int(duration_s * fps)) / fps
    pose_c, turn = pose_depth(t_s, body, reps, spines, sway_seed=seed)
    pts = joints(body, pose_c)
    shape = BodyShape(body, pts, pose_c, turn, GIRTH[body_name], -1.0 if side == "right" else 1.0)
    intr = d455_intrinsics(config.camera.width, config.camera.height)
    cam = DepthCamera(config, intr, _crop(config.camera.T_plate_from_camera(), intr, pts, body), seed)
    standing, truth = rep_truth(reps, tf, marker_positions(body, pose_f, side), cop_x, config)
    _dowel_truth(shape, t_s, truth)
    return DepthTrial(variant, body_name, body, side, fps, reps, spines, config, ForceBlock(tf, cells), t_s,
                      shape, cam, truth, standing, pts["hip"])
