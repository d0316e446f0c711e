"""The fast renderer (body pixels only, over cached static buffers) against the plain full-frame renderer it
replaced (tests/drivers/render_reference.py), and the render process that runs it as the camera's silicon."""

import pickle
import time

import numpy as np
import pytest

from drivers.sim.pose import Capsule, Pose
from drivers.sim.raycast import ray_round_cone
from drivers.sim.render import Renderer, default_intrinsics
from drivers.sim.render_process import SLOTS, RenderPlan, RenderProcess, slots_for
from drivers.sim.simcamera import SimCamera
from drivers.sim.softcam import DEVICE_CLOCK_START_MS
from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from tests.drivers.render_reference import ReferenceRenderer
from tests.support.camera_fixtures import StickSubject, stick_pose


def _left_camera() -> StationConfig:
    cfg = StationConfig()
    cfg.camera.side, cfg.camera.position_m = "left", [0.0, 2.2, 0.9]
    return cfg


def _at_an_edge(renderer, clean_depth: np.ndarray, pose: Pose, pixels) -> bool:
    """Each pixel has, in its 3x3 neighbourhood, either a change of the surface seen (a silhouette, also of
    a limb in front of another; cast in float64 against each capsule) or of valid / no depth in the frame
    without noise or dropouts (a shadow's, a marker ring's edge)."""
    H, W = clean_depth.shape
    for v, u in zip(*pixels, strict=True):
        vs, us = slice(max(v - 1, 0), min(v + 2, H)), slice(max(u - 1, 0), min(u + 2, W))
        valid = clean_depth[vs, us] > 0
        if valid.any() and not valid.all():
            continue
        rd = renderer._rd[vs, us].reshape(-1, 3).astype(float)
        rd /= np.linalg.norm(rd, axis=1, keepdims=True)
        z = [renderer._z_static[vs, us].reshape(-1).astype(float)]
        for cap in pose.capsules:
            t = ray_round_cone(renderer._origin, rd, np.asarray(cap.p0, float), np.asarray(cap.p1, float),
                               cap.r0, cap.r1)
            z.append(t * renderer._z_per_range[vs, us].reshape(-1))
        seen = np.argmin(np.array(z), axis=0)
        if np.all(seen == seen[0]):
            return False
    return True


def _assert_equivalent(ref, new, poses, clean):
    """Same seed, same poses in the same order: the same noise, dropouts and dot pattern, so the frames
    agree up to float32 rounding: a millimetre where rint sits on a half, and a few rays that graze a
    silhouette or a shadow's edge (hit in one, missed in the other), which `clean` (the same renderer
    without noise or dropouts) must show at an edge."""
    for pose in poses:
        d0, i0 = ref.render(pose)
        d1, i1 = new.render(pose)
        assert d1.dtype == np.uint16 and i1.dtype == np.uint8 and d1.shape == d0.shape
        diff = np.abs(d0.astype(int) - d1)
        n = d0.size
        assert (diff == 0).mean() > 0.999, f"t={pose.t_s}: {(diff != 0).sum()} depth pixels differ"
        far = diff > 1
        assert far.sum() <= 2e-4 * n, f"t={pose.t_s}: {far.sum()} pixels differ by more than 1 unit"
        if far.any():
            assert _at_an_edge(new, clean.render(pose)[0], pose, np.nonzero(far)), "a difference off an edge"
        assert ((d0 == 0) != (d1 == 0)).sum() <= 2e-4 * n  # valid / invalid (shadow, range, markers)
        assert (i0 != i1).mean() < 1e-4  # marker disc edges, body / plate contact (albedo)
        assert ref.last_marker_coverage.keys() == new.last_marker_coverage.keys()
        for name, cov in ref.last_marker_coverage.items():  # px; a sub-ray is 1/16 px
            assert abs(new.last_marker_coverage[name] - cov) <= 0.5, name


@pytest.mark.parametrize("arms, load_kg, config", [("crossed", 0.0, None), ("dowel", 0.0, None),
                                                   ("weights", 20.0, None), ("crossed", 0.0, "left")])
def test_frames_match_the_full_frame_reference(arms, load_kg, config):
    cfg = _left_camera() if config == "left" else StationConfig()
    subject = VirtualSubject("hinge", arms=arms, load_kg=load_kg, config=cfg, reps=1)
    times = np.linspace(0.0, subject.duration_s, 7, endpoint=False)
    poses = [subject.pose(t) for t in times] + [Pose(9.0, (), {})]
    _assert_equivalent(ReferenceRenderer(seed=7, config=cfg), Renderer(seed=7, config=cfg), poses,
                       Renderer(config=cfg, subpixel=0.0, dropout_frac=0.0))


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_other_resolutions_match_the_reference(size):
    intr = default_intrinsics(*size)
    poses = [stick_pose(h, t_s=h) for h in (0.0, 0.5, 1.0)]
    _assert_equivalent(ReferenceRenderer(intr, seed=2), Renderer(intr, seed=2), poses,
                       Renderer(intr, subpixel=0.0, dropout_frac=0.0))


def test_a_frame_without_the_body_is_the_reference_frame_exactly():
    """After drawing bodies, the buffers hold the static scene again: nothing of the last frame stays."""
    ref, new = ReferenceRenderer(seed=4, dropout_frac=0.02), Renderer(seed=4, dropout_frac=0.02)
    empty = Pose(0.0, (), {})
    for pose in (stick_pose(1.0), stick_pose(0.3), empty, stick_pose(0.7), empty):
        d0, i0 = ref.render(pose)
        d1, i1 = new.render(pose)
    assert np.array_equal(d0, d1) and np.array_equal(i0, i1)
    new.dropout_frac = 0.0  # a changed attribute is honoured (the cached dropout bank follows it)
    ref.dropout_frac = 0.0
    d0, _ = ref.render(empty)
    d1, _ = new.render(empty)
    assert np.array_equal(d0, d1)


def test_the_band_of_rays_cast_per_capsule_misses_no_hit():
    """Each capsule is cast only where |ray . n| <= k (n: normal of the plane through the camera and its
    axis): the same z-buffer, bit for bit, as casting its whole box, for limbs at every slant and distance."""
    rng = np.random.default_rng(11)
    caps = []
    for i in range(60):
        a = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-1.5, 1.5), rng.uniform(0.0, 1.8)])
        b = a + rng.normal(0.0, 0.3, 3)
        caps.append(Capsule(f"c{i}", a, b, rng.uniform(0.01, 0.15), rng.uniform(0.01, 0.15)))
    pose = Pose(0.0, tuple(caps), {})
    banded, whole = Renderer(seed=0), Renderer(seed=0)
    whole._bands = lambda c0, c1, r: (np.zeros_like(c0), np.zeros(len(c0)))  # k = 0: whole boxes
    banded.render(pose)
    whole.render(pose)
    assert np.array_equal(banded._frame.z, whole._frame.z)
    assert banded.last_rays_cast < 0.8 * whole.last_rays_cast  # and the band does narrow the slanted ones


def test_render_into_given_arrays_and_pickle_without_buffers():
    r = Renderer(seed=3)
    pose = stick_pose(0.6)
    depth, ir = np.empty((480, 848), np.uint16), np.empty((480, 848), np.uint8)
    twin = pickle.loads(pickle.dumps(r))
    got = r.render(pose, out=(depth, ir))
    assert got[0] is depth and got[1] is ir
    d, i = twin.render(pose)  # same state, same frame
    assert np.array_equal(d, depth) and np.array_equal(i, ir)
    assert len(pickle.dumps(r)) == len(pickle.dumps(twin))  # the per-frame buffers are not pickled


@pytest.mark.parametrize("workers", [1, 2])
def test_render_process_delivers_in_order_what_the_renderer_draws(workers):
    fps = 60
    subject = StickSubject(duration_s=1.0)
    renderer = Renderer(seed=9)
    local = [pickle.loads(pickle.dumps(renderer)) for _ in range(workers)]  # each worker's copy
    for k, copy in enumerate(local[1:], start=1):
        copy.reseed(k)  # its own noise
    assert slots_for(5) == SLOTS and slots_for(30) == 9 and slots_for(60, 1, 0.15) == 9
    assert slots_for(60, 2) == 19  # LEAD_S of frames plus one per extra worker
    proc = RenderProcess(subject, renderer, 480, 848, slots=slots_for(fps, workers), workers=workers)
    try:
        proc.start(RenderPlan(float(fps), 30, 0.0, time.monotonic() + 0.2))
        frames = []
        with pytest.raises(StopIteration):
            for _ in range(200):
                got = proc.next(2.0)
                if got is not None:
                    frames.append(got)
        stats = proc.stats()
        out_of_order = proc.dropped_out_of_order
    finally:
        proc.close()
    numbers = [n for n, _, _ in frames]
    assert numbers == sorted(set(numbers)) and numbers[-1] <= 29
    assert stats["workers"] == workers and stats["rendered"] == len(frames) + out_of_order
    assert len(frames) + stats["skipped_late"] == 30
    assert stats["render_ms_mean"] > 0 and stats["render_ms_max"] >= stats["render_ms_mean"]
    if out_of_order:
        return  # a worker drew noise for a frame that was not handed on: the streams no longer line up
    for n, depth, ir in frames:  # each worker drew exactly these, in this order: same noise, same frames
        d, i = local[n % workers].render(subject.pose(n / fps))
        assert np.array_equal(d, depth) and np.array_equal(i, ir)
    if workers == 2:  # and the two workers' noise differs
        pose = subject.pose(0.0)
        assert not np.array_equal(local[0].render(pose)[0], local[1].render(pose)[0])


def test_sim_camera_at_60_fps_reads_two_workers_frames_in_order_with_their_timestamps():
    cam = SimCamera("stick", subject=StickSubject(duration_s=1.5), fps=60)
    cam.start()
    frames = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5.0:
            frames += cam.read(0.1)
            if cam.feeding_done:  # what is still on its way, kept; nothing more: the end
                last = cam.read(0.3)
                frames += last
                if not last:
                    break
        stats = cam.stats()
    finally:
        cam.stop()
    numbers = np.array([f.frame_number for f in frames])
    assert stats["render_workers"] == 2 and len(frames) > 30
    assert np.all(np.diff(numbers) > 0) and numbers[-1] <= 90
    t_device = np.array([f.t_device_ms for f in frames])
    assert np.allclose(t_device, DEVICE_CLOCK_START_MS + (numbers - 1) * 1000.0 / 60, atol=1e-6)
    assert len(frames) + stats["dropped"] == numbers[-1] - numbers[0] + 1  # every gap counted


def test_a_renderer_from_the_cache_draws_what_one_built_afresh_draws(monkeypatch):
    """drivers.sim.render_static keeps each camera's and seed's arrays per process: a renderer that finds
    them there (the second of a camera and seed, another seed of a seen camera) gives the frames, noise
    included, of one that built them on an empty cache; what it shares is read-only; a pickled renderer
    carries none of it and draws the same frames in a process that has to build them."""
    from collections import OrderedDict

    from drivers.sim import render_static

    poses = [stick_pose(h, t_s=h) for h in (0.2, 0.6, 1.0)]

    def frames(renderer: Renderer) -> list[tuple[np.ndarray, np.ndarray]]:
        return [tuple(a.copy() for a in renderer.render(p)) for p in poses]

    def afresh(seed: int) -> list:
        monkeypatch.setattr(render_static, "_cache", OrderedDict())
        monkeypatch.setattr(render_static, "_cache_bytes", 0)
        return frames(Renderer(seed=seed))

    want5, want6 = afresh(5), afresh(6)
    cached_camera = frames(Renderer(seed=5))  # seed 6 cached the camera, seed 5 is built again
    first = Renderer(seed=6)
    both_cached = frames(first)
    twin = pickle.loads(pickle.dumps(Renderer(seed=6)))
    monkeypatch.setattr(render_static, "_cache", OrderedDict())  # the twin builds its arrays again
    unpickled = frames(twin)
    for got, want in ((cached_camera, want5), (both_cached, want6), (unpickled, want6)):
        for (d, i), (dw, iw) in zip(got, want, strict=True):
            assert np.array_equal(d, dw) and np.array_equal(i, iw)
    assert want5[0][0].tobytes() != want6[0][0].tobytes()  # the seeds' noise differs: the check can fail
    with pytest.raises(ValueError):
        first._rd[0, 0, 0] = 1.0  # shared with every renderer of this camera
    assert len(pickle.dumps(first)) < 100_000  # the construction inputs, not the ~18 MB of arrays
