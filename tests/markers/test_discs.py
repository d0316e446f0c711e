"""The fast disc finder (station/markers/discs.py, compiled) finds the same discs at the same sub-pixel
centres as the reference (detect.py's flood fill + per-disc centroid in numpy), frame by frame, on the
simulator's frames, on noisy ones, with distractors and discs cut by the image's edges."""

import numpy as np

from calibration.camera import CORNER_NAMES, corner_centres
from drivers.sim.render import Renderer
from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from station.markers.detect import _disc, bright_components
from station.markers.discs import find_discs
from tests.support.depth_noise import d455_frames

TOL_PX = 0.05


def reference(ir: np.ndarray, threshold: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(K, 2) centres and (K,) areas of the full-frame reference, 2..4000 px discs."""
    comps = [c for c in bright_components(ir, threshold) if 2 <= c.size <= 4000]
    uv = np.array([_disc(ir, c)[:2] for c in comps]).reshape(-1, 2)
    return uv, np.array([c.size for c in comps], dtype=float)


def assert_same_discs(found, ir: np.ndarray, what: str) -> None:
    uv_ref, area_ref = reference(ir)
    assert len(found) == len(uv_ref), f"{what}: {len(found)} discs, reference {len(uv_ref)}"
    for (u, v), area in zip(uv_ref, area_ref, strict=True):
        d = np.linalg.norm(found.uv - (u, v), axis=1)
        i = int(np.argmin(d))
        assert d[i] <= TOL_PX, f"{what}: disc at ({u:.2f}, {v:.2f}) found {d[i]:.3f} px away"
        assert found.area_px[i] == area, what


def test_same_discs_as_the_reference_over_a_hinge_sequence():
    subject = VirtualSubject("hinge", reps=1, standing_s=1.0)
    r = Renderer(seed=3)
    for n in range(0, 45):
        _, ir = r.render(subject.pose(0.9 + n / 30))
        assert_same_discs(find_discs(ir), ir, f"frame {n}")


def test_same_discs_on_noisy_frames_with_distractors():
    """The D455-like depth model's frames (corner markers), IR with sensor noise, a lamp (thousands of
    bright pixels: the reference labels with scipy), a glint of 1 px (too small), a blob too big, and
    discs cut by the image's edges."""
    cfg = StationConfig()
    T = cfg.camera.T_plate_from_camera()
    centres = corner_centres(cfg, 0.0095)
    frames = d455_frames(T, cfg, {n: centres[i] for i, n in enumerate(CORNER_NAMES)}, 0.0095, n=4, seed=2)
    rng = np.random.default_rng(5)
    for k, f in enumerate(frames):
        ir = np.clip(f.ir.astype(np.int16) + rng.normal(0, 12, f.ir.shape), 0, 255).astype(np.uint8)
        ir[300:350, 20:90 + k] = 255  # a lamp, 3500 px
        ir[100:180, 600:660] = 250  # too big: 4800 px
        ir[5, 400] = 255  # a glint
        ir[0:3, 700 + k:704 + k] = 230  # a disc cut by the top edge
        ir[240:243, 845:848] = 240  # and one cut by the right edge
        ir[477:480, 0:2] = 210  # and one in the corner
        found = find_discs(ir)
        assert_same_discs(found, ir, f"noisy frame {k}")
        assert 3500 + 50 * k in found.area_px.tolist() and 4800 not in found.area_px.tolist()


def test_threshold_below_128_and_odd_widths_take_the_plain_path():
    rng = np.random.default_rng(1)
    ir = rng.integers(0, 100, (61, 83), dtype=np.uint8)
    ir[10:14, 20:23] = 120
    ir[40:42, 70:83] = 127
    uv_ref, _ = reference(ir, 110)
    found = find_discs(ir, 110)
    assert len(found) == len(uv_ref) >= 2
    assert np.allclose(found.uv, uv_ref, atol=TOL_PX)
