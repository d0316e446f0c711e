"""Rendered frames of the virtual subject for the virtual-dowel tests (a few instants, not whole trials)."""

from __future__ import annotations

import numpy as np

from drivers.samples import CameraFrame
from drivers.sim.render import Renderer
from drivers.sim.subject import VirtualSubject
from drivers.sim.truth import DOWEL_REGIONS, dowel_gaps_m
from station.config import StationConfig


def config_for(side: str = "right") -> StationConfig:
    cfg = StationConfig()
    cfg.camera.side = side
    cfg.camera.position_m = [0.0, -2.2 if side == "right" else 2.2, 0.9]
    return cfg


def frame_at(renderer: Renderer, subject: VirtualSubject, t_s: float, number: int = 0) -> CameraFrame:
    depth, ir = renderer.render(subject.pose(t_s))
    return CameraFrame(number, 1000.0 * t_s, "hardware_clock", 0, depth, ir, renderer.depth_scale_m,
                       renderer.intrinsics)


def markers_at(subject: VirtualSubject, t_s: float) -> dict[str, np.ndarray]:
    return {k: v[0] for k, v in subject.markers(np.array([t_s])).items()}


def true_gaps_mm(subject: VirtualSubject, t_s: float) -> dict[str, float]:
    """The simulator's truth definition at one instant (posterior = out of the back, subject facing +x)."""
    p = subject.spine_back_points(t_s)
    chord = p["head"] - p["sacrum"]
    posterior = np.array([-chord[2], 0.0, chord[0]])
    g = dowel_gaps_m(p["sacrum"][None], p["upper_back"][None], p["head"][None], posterior[None])[0]
    return {r: 1000.0 * float(v) for r, v in zip(DOWEL_REGIONS, g, strict=True)}


def instants(subject: VirtualSubject, rep: int = 0, n_bottom: int = 5, fps: float = 30.0) -> list[float]:
    """Frame times: one while standing, then n_bottom frames around the rep's bottom."""
    r = subject.truth.reps[rep]
    k = np.arange(n_bottom) - n_bottom // 2
    return [1.0] + [float(r.t_bottom + i / fps) for i in k]
