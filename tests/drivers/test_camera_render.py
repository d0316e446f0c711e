"""The camera simulator's geometry and D4xx artefacts, checked against closed-form truth."""

import numpy as np
import pytest

from drivers.sim.pose import Capsule, Pose
from drivers.sim.raycast import ray_round_cone
from drivers.sim.render import Renderer, default_intrinsics
from tests.support.camera_fixtures import stick_pose


def _hull_distance(points, pa, pb, ra, rb, n=4001):
    """Signed distance to the convex hull of two spheres, brute force over the swept spheres."""
    s = np.linspace(0, 1, n)
    centres = pa[None] + s[:, None] * (pb - pa)[None]
    radii = ra + s * (rb - ra)
    d = np.linalg.norm(points[:, None, :] - centres[None], axis=2) - radii[None]
    return d.min(axis=1)


@pytest.mark.parametrize("ra, rb", [(0.08, 0.05), (0.05, 0.09), (0.06, 0.06), (0.2, 0.01)])
def test_round_cone_hits_lie_on_the_surface_with_nothing_nearer(ra, rb):
    rng = np.random.default_rng(1)
    pa, pb = np.array([0.1, 2.0, -0.1]), np.array([-0.05, 2.2, 0.25])
    ro = np.zeros(3)
    targets = pa + (pb - pa) * rng.random((400, 1)) + rng.normal(0, 0.12, (400, 3))
    rd = targets / np.linalg.norm(targets, axis=1, keepdims=True)
    t = ray_round_cone(ro, rd, pa, pb, ra, rb).astype(float)
    hit = np.isfinite(t)
    assert 50 < hit.sum() < 400  # both hits and misses are exercised
    on_surface = _hull_distance(rd[hit] * t[hit, None], pa, pb, ra, rb)
    assert np.max(np.abs(on_surface)) < 1e-4
    # just before the hit (and everywhere on missing rays) the ray is still outside the hull
    before = _hull_distance(rd[hit] * (t[hit, None] - 2e-3), pa, pb, ra, rb)
    assert np.all(before > 0)
    for frac in (0.25, 0.5, 0.75):
        probe = rd[~hit] * (np.linalg.norm(pa) + (frac - 0.5) * 0.8)
        assert np.all(_hull_distance(probe, pa, pb, ra, rb) > 0)


def test_default_intrinsics_per_resolution():
    for (w, h), fx in {(848, 480): 426.0, (640, 480): 383.0, (1280, 720): 640.0}.items():
        intr = default_intrinsics(w, h)
        assert (intr.width, intr.height, intr.fx, intr.fy) == (w, h, fx, fx)
        assert intr.ppx == w / 2 and intr.ppy == h / 2


def _project(renderer, p):
    intr, T = renderer.intrinsics, renderer.T_plate_from_camera
    c = (np.asarray(p) - T[:3, 3]) @ T[:3, :3]
    return np.array([intr.fx * c[0] / c[2] + intr.ppx, intr.fy * c[1] / c[2] + intr.ppy]), c[2]


def test_wall_depth_and_noise_follow_the_d4xx_model():
    r = Renderer(seed=3, dropout_frac=0.0)
    empty = Pose(0.0, (), {})
    depth, ir = r.render(empty)
    # the back wall is 2.2 + 2.5 m ahead of the level camera: camera z is constant over it
    wall = depth[40:120, 100:740].astype(float) * r.depth_scale_m
    z_true = 4.7
    sigma_model = z_true**2 * 0.08 / (426.0 * 0.050)
    valid = wall > 0
    assert valid.mean() > 0.99
    assert abs(np.median(wall[valid]) - z_true) < 0.01
    assert 0.8 * sigma_model < np.std(wall[valid]) < 1.2 * sigma_model
    assert 25 <= np.median(ir[40:120, 100:740]) <= 140


def test_capsule_depth_markers_and_occlusion():
    r = Renderer(seed=0, dropout_frac=0.0)
    # one vertical limb 2.0 m in front of the camera, a marker on its camera side, one behind it
    limb = Capsule("limb", np.array([0.0, -0.2, 0.5]), np.array([0.0, -0.2, 1.2]), 0.06, 0.06)
    front = np.array([0.0, -0.2 - 0.06 - 0.0095, 0.9])
    back = np.array([0.0, -0.2 + 0.06 + 0.0095, 0.7])
    depth, ir = r.render(Pose(0.0, (limb,), {"front": front, "back": back}))
    uv, _ = _project(r, front)
    u, v = np.rint(uv).astype(int)
    assert ir[v, u] >= 200 and depth[v, u] == 0  # saturated disc, no depth under it
    assert r.last_marker_coverage["back"] == 0.0  # hidden behind the limb
    ub, vb = np.rint(_project(r, back)[0]).astype(int)
    assert ir[vb, ub] < 200
    # the limb's front surface: camera z = 2.2 - 0.2 - 0.06 on the limb's axis (beside the marker)
    patch = depth[vb - 6:vb + 7, ub - 1:ub + 2].astype(float) * r.depth_scale_m
    assert abs(np.median(patch[patch > 0]) - 1.94) < 0.01
    # the disc's intensity-weighted centre is the projected sphere centre
    win = ir[v - 5:v + 6, u - 5:u + 6].astype(float)
    w = np.clip(win - np.median(win), 0, None)
    vv, uu = np.mgrid[v - 5:v + 6, u - 5:u + 6]
    centroid = np.array([(w * uu).sum(), (w * vv).sum()]) / w.sum()
    assert np.linalg.norm(centroid - uv) < 0.1


def test_stereo_shadow_left_of_a_near_object():
    r = Renderer(seed=0, dropout_frac=0.0)
    depth, _ = r.render(stick_pose(0.0))
    # the wall left of the trunk is hidden from the right imager for fx*b*(1/z_body - 1/z_wall) ~ 6 px
    shadow_px = []
    for row in range(200, 260, 5):
        z = depth[row].astype(float) * r.depth_scale_m
        left_edge = np.flatnonzero((z > 0) & (z < 2.5)).min()
        shadow_px.append(left_edge - np.flatnonzero(z[:left_edge] > 3.0).max() - 1)
        assert (depth[row, left_edge - 40:left_edge - 20] == 0).mean() < 0.2  # only dropouts there
    assert 4 <= np.median(shadow_px) <= 9
