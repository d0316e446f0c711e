"""The virtual subject's markers sit on the skin facing the camera and the camera sees them."""

import numpy as np
import pytest

from drivers.sim.render import Renderer
from drivers.sim.subject import ARMS, PATTERNS, VirtualSubject
from station.config import StationConfig

N_FRAMES = 12
MIN_VISIBLE_FRAC = 0.9  # occasional occlusion (a dumbbell in front of the knee at a squat's bottom) is real


def _config(side: str) -> StationConfig:
    cfg = StationConfig()
    cfg.camera.side = side
    cfg.camera.position_m = [0.0, -2.2 if side == "right" else 2.2, 0.9]
    return cfg


def _subject(pattern: str, arms: str, cfg: StationConfig) -> VirtualSubject:
    return VirtualSubject(pattern, reps=1, standing_s=1.0, arms=arms, fidget=False, config=cfg,
                          load_kg=16.0 if arms == "weights" else 0.0)


def _depth_inside_capsule_m(p: np.ndarray, cap) -> float:
    """How deep p lies inside a tapered capsule (negative: outside), from spheres sampled along its axis."""
    f = np.linspace(0.0, 1.0, 101)[:, None]
    centres = cap.p0 + f * (cap.p1 - cap.p0)
    radii = cap.r0 + f[:, 0] * (cap.r1 - cap.r0)
    return float(np.max(radii - np.linalg.norm(p - centres, axis=1)))


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("arms", ARMS)
def test_every_marker_sphere_outside_every_capsule_and_on_the_skin(side, arms):
    cfg = _config(side)
    subj = _subject("hinge", arms, cfg)
    toward_camera = -1.0 if side == "right" else 1.0
    for t in np.linspace(0.2, subj.duration_s - 0.1, 6):
        pose = subj.pose(t)
        r = pose.marker_radius_m
        for name, centre in pose.markers.items():
            # body capsules only: the dumbbells are objects, drawn through the thigh (a known shortcut)
            inside = max(_depth_inside_capsule_m(centre, c) for c in pose.capsules
                         if not c.name.startswith("weight"))
            # sphere clear of the body (0.3 mm for the sampled-sphere approximation of the hull) ...
            assert inside <= -r + 0.0003, (name, t, inside)
            # ... and touching it: the skin point under the marker is within 1.5 mm of the sphere
            assert inside >= -r - 0.0015, (name, t, inside)
            # the marker is on the camera's side of the body
            assert centre[1] * toward_camera > 0.05, (name, centre)


@pytest.mark.parametrize("arms", ARMS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_marker_visible_in_most_frames(pattern, arms):
    side = "right" if (PATTERNS.index(pattern) + ARMS.index(arms)) % 2 == 0 else "left"
    cfg = _config(side)
    frac = visible_fraction(_subject(pattern, arms, cfg), cfg, N_FRAMES)
    assert min(frac.values()) >= MIN_VISIBLE_FRAC, frac


def visible_fraction(subj: VirtualSubject, cfg: StationConfig, n_frames: int) -> dict[str, float]:
    """Per marker, the share of n_frames rendered over the trial in which the camera sees it."""
    renderer = Renderer(config=cfg)
    visible = dict.fromkeys(subj.pose(0.0).markers, 0)
    for t in np.linspace(0.2, subj.duration_s - 0.1, n_frames):
        pose = subj.pose(t)
        renderer.render(pose)
        for name in visible:
            # an unoccluded disc covers pi (fx r / distance)^2 pixels; half of it still gives a centroid
            dist_m = np.linalg.norm(pose.markers[name] - renderer.T_plate_from_camera[:3, 3])
            disc_px = np.pi * (renderer.intrinsics.fx * pose.marker_radius_m / dist_m) ** 2
            visible[name] += renderer.last_marker_coverage.get(name, 0.0) > 0.5 * disc_px
    return {name: n / n_frames for name, n in visible.items()}
