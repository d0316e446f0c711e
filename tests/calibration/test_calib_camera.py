"""Camera extrinsics from corner markers on the rendered empty plate, against the renderer's true pose.

Two depth models: the station's own renderer (depth-domain noise correlated over ~2 px, a 1 px invalid
ring at the discs) and tests/support/depth_noise.py, a D455-like model of another shape (disparity-domain
noise in 8-15 px blobs, half of it fixed over frames, 1/32 px quantisation, foreground fattening and
flying pixels at the plate's edges and the markers' rims), so the calibration is not tuned to one of them.
"""

import numpy as np
import pytest

from calibration.camera import CORNER_NAMES, calibrate_camera, corner_centres
from drivers.samples import CameraFrame
from station.config import StationConfig
from station.errors import StationError

render = pytest.importorskip("drivers.sim.render")
pytest.importorskip("station.markers.detect")
from drivers.sim.pose import Pose  # noqa: E402
from station.markers.detect import detect_markers  # noqa: E402
from tests.support.depth_noise import D455Depth, d455_frames, scene_depth  # noqa: E402

MARKER_R = 0.0095


def _rot(axis, deg):
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R = np.eye(3)
    R[i, i], R[i, j], R[j, i], R[j, j] = c, -s, s, c
    return R


def _perturbed_pose(side, yaw, pitch, roll, shift_m):
    cfg = StationConfig()
    cfg.camera.side = side
    if side == "left":  # the camera stands at +y, looking at -y
        cfg.camera.position_m = [0.0, 2.2, 0.9]
    T = cfg.camera.T_plate_from_camera()
    # perturb: rotate the camera about plate axes and move it a few cm
    T[:3, :3] = _rot(2, yaw) @ _rot(0, pitch) @ _rot(1, roll) @ T[:3, :3]
    T[:3, 3] += shift_m
    return cfg, T


def _frames(T, cfg, corners_shown=CORNER_NAMES, n=4, seed=0):
    r = render.Renderer(T_plate_from_camera=T, seed=seed, config=cfg)
    centres = corner_centres(cfg, MARKER_R)
    markers = {name: centres[CORNER_NAMES.index(name)] for name in corners_shown}
    frames = []
    for k in range(n):
        depth, ir = r.render(Pose(k / 30, (), markers, MARKER_R))
        frames.append(CameraFrame(k + 1, k * 33.3, "hardware_clock", 0, depth, ir, r.depth_scale_m,
                                  r.intrinsics))
    return frames


def _other_frames(T, cfg, corners_shown=CORNER_NAMES, n=4, seed=0):
    """The renderer's IR with the D455-like depth model's depth (tests/support/depth_noise.py)."""
    centres = corner_centres(cfg, MARKER_R)
    markers = {name: centres[CORNER_NAMES.index(name)] for name in corners_shown}
    return d455_frames(T, cfg, markers, MARKER_R, n=n, seed=seed)


def _errors(cal, T_true):
    """Rotation error (deg), translation error (mm) and its component along the camera's viewing axis (mm)."""
    dt = cal.T_plate_from_camera[:3, 3] - T_true[:3, 3]
    return (_angle_deg(cal.T_plate_from_camera[:3, :3], T_true[:3, :3]), 1000 * float(np.linalg.norm(dt)),
            1000 * float(dt @ T_true[:3, 2]))


# the two perturbed cameras of test_pose_recovered_within_goals; for three corners, the one of
# test_three_markers_meet_the_goal and its mirror image on the left
POSES = {"right": (3.0, -4.0, 2.0, [0.04, -0.05, 0.03]), "left": (-2.5, 3.0, -1.5, [-0.03, 0.06, -0.04])}
POSES_3 = {"right": (2.0, -2.0, 1.0, [0.02, -0.03, 0.02]), "left": (-2.0, 2.0, -1.0, [-0.02, 0.03, 0.02])}


def _angle_deg(Ra, Rb):
    c = (np.trace(Ra.T @ Rb) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


@pytest.mark.parametrize("side,perturb", [
    ("right", (3.0, -4.0, 2.0, [0.04, -0.05, 0.03])),
    ("left", (-2.5, 3.0, -1.5, [-0.03, 0.06, -0.04])),
], ids=["right", "left"])
def test_pose_recovered_within_goals(side, perturb, artifacts_dir):
    *angles, shift = perturb
    cfg, T_true = _perturbed_pose(side, *angles, np.array(shift))
    frames = _frames(T_true, cfg)
    cal = calibrate_camera(frames, cfg, detect_markers, side=side, marker_radius_m=MARKER_R)
    rot_err = _angle_deg(cal.T_plate_from_camera[:3, :3], T_true[:3, :3])
    trans_err_mm = 1000 * np.linalg.norm(cal.T_plate_from_camera[:3, 3] - T_true[:3, 3])
    print(f"{side}: rotation error {rot_err:.3f} deg, translation error {trans_err_mm:.2f} mm "
          f"{np.round(1000 * (cal.T_plate_from_camera[:3, 3] - T_true[:3, 3]), 2)}, "
          f"residuals {cal.residuals()}")
    assert rot_err <= 0.5 and trans_err_mm <= 5.0
    assert sorted(cal.corners_found) == sorted(CORNER_NAMES)
    assert max(cal.marker_error_mm.values()) < 5.0


@pytest.mark.parametrize("side,seed", [("right", 0), ("right", 1), ("right", 2), ("left", 0), ("left", 1),
                                       ("left", 2)])
def test_three_markers_meet_the_goal(side, seed):
    # was xfail: 4.5-8.3 mm over seeds 0-2 and both sides (the detector's disc centres lean toward the
    # bright plate top, and the orthogonal plane fit read the along-ray noise as tilt); now 0.9-2.4 mm
    cfg, T_true = _perturbed_pose(side, *POSES_3[side][:3], np.array(POSES_3[side][3]))
    three = calibrate_camera(_frames(T_true, cfg, CORNER_NAMES[:3], n=10, seed=seed),  # the command default
                             cfg, detect_markers,
                             marker_radius_m=MARKER_R)
    print(f"3 corners, {side} seed {seed}: {_errors(three, T_true)}")
    assert _angle_deg(three.T_plate_from_camera[:3, :3], T_true[:3, :3]) <= 0.5
    assert 1000 * np.linalg.norm(three.T_plate_from_camera[:3, 3] - T_true[:3, 3]) <= 5.0


def test_three_markers_calibrate_two_are_refused():
    cfg, T_true = _perturbed_pose("right", 2.0, -2.0, 1.0, np.array([0.02, -0.03, 0.02]))
    three = calibrate_camera(_frames(T_true, cfg, CORNER_NAMES[:3], n=2), cfg, detect_markers,
                             marker_radius_m=MARKER_R)
    assert _angle_deg(three.T_plate_from_camera[:3, :3], T_true[:3, :3]) <= 0.5
    assert 1000 * np.linalg.norm(three.T_plate_from_camera[:3, 3] - T_true[:3, 3]) <= 8.0
    with pytest.raises(StationError, match=r"found 2 corner marker\(s\) .*need at least three"):
        two = _frames(T_true, cfg, ("front-left", "rear-right"), n=1)
        calibrate_camera(two, cfg, detect_markers, marker_radius_m=MARKER_R)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pose_on_another_depth_model_within_goals(side, seed):
    """Same cameras, a D455-like depth of another shape: within 0.5 deg and 5 mm, all four corners used.

    Before the fix (orthogonal plane fit on points selected by their own noisy positions, the detector's
    disc centres): 2.3-7.7 mm, up to 5.0 mm of it along the viewing axis; now 0.7-4.0 mm, |along| <= 2.2 mm.
    """
    cfg, T_true = _perturbed_pose(side, *POSES[side][:3], np.array(POSES[side][3]))
    cal = calibrate_camera(_other_frames(T_true, cfg, seed=seed), cfg, detect_markers, side=side,
                           marker_radius_m=MARKER_R)
    rot, trans, along = _errors(cal, T_true)
    print(f"D455-like {side} seed {seed}: {rot:.3f} deg, {trans:.2f} mm ({along:+.2f} along the view), "
          f"residuals {cal.residuals()}")
    assert rot <= 0.5 and trans <= 5.0
    assert sorted(cal.corners_found) == sorted(CORNER_NAMES)
    assert max(cal.marker_error_mm.values()) < 5.0


@pytest.mark.parametrize("side", ["right", "left"])
def test_three_markers_on_another_depth_model(side):
    cfg, T_true = _perturbed_pose(side, *POSES_3[side][:3], np.array(POSES_3[side][3]))
    worst = []
    for seed in (0, 1):
        cal = calibrate_camera(_other_frames(T_true, cfg, CORNER_NAMES[:3], n=10, seed=seed), cfg,
                               detect_markers, side=side, marker_radius_m=MARKER_R)
        worst.append(_errors(cal, T_true))
    print(f"D455-like, 3 corners, {side}: {np.round(worst, 3).tolist()}")
    assert max(w[0] for w in worst) <= 0.5 and max(w[1] for w in worst) <= 5.0


def test_other_depth_model_has_another_shape():
    """The test model is not the renderer's: its error is correlated over far more pixels, and background
    pixels at the plate's far edge carry the plate top's depth (fattening) where the renderer has none."""
    cfg, T = _perturbed_pose("right", *POSES["right"][:3], np.array(POSES["right"][3]))
    centres = corner_centres(cfg, MARKER_R)
    markers = dict(zip(CORNER_NAMES, centres, strict=True))
    same_scene = D455Depth(plate_thickness_m=0.05, wall_distance_m=2.5)  # the renderer's defaults
    sim = _frames(T, cfg, n=1)[0]
    other = d455_frames(T, cfg, markers, MARKER_R, n=1, model=same_scene)[0]
    z_true, _ = scene_depth(sim.intrinsics, T, (cfg.plate.size_x_m, cfg.plate.size_y_m), markers, MARKER_R,
                            same_scene)
    # pixels looking at the plate top or the floor: the same surfaces in both
    intr = sim.intrinsics
    v, u = np.mgrid[0:intr.height, 0:intr.width]
    rays = np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones(u.shape)], -1)
    z_plate = ((rays * z_true[..., None]) @ T[:3, :3].T + T[:3, 3])[..., 2]
    flat = (np.abs(z_plate) < 1e-4) | (np.abs(z_plate + 0.05) < 1e-4)
    stats = {}
    for name, frame in (("sim", sim), ("other", other)):
        z = frame.depth * frame.depth_scale_m
        with np.errstate(divide="ignore"):
            err_w = np.where((z > 0) & np.isfinite(z_true), 1 / z - 1 / z_true, np.nan)  # inverse depth, 1/m
        a, b = err_w[:, :-6], err_w[:, 6:]  # horizontal lag of 6 px, both on the plate top or floor
        ok = np.isfinite(a) & np.isfinite(b) & flat[:, :-6] & flat[:, 6:]
        corr6 = float(np.corrcoef(a[ok], b[ok])[0, 1])
        fattened = int(np.sum(err_w > 0.02))  # nearer than the surface hit by ~10 cm at 2.3 m: edge pixels
        stats[name] = (round(corr6, 3), fattened)
    print(stats)
    assert stats["sim"][0] < 0.1 and stats["other"][0] > 0.35
    assert stats["sim"][1] < 20 and stats["other"][1] > 100
