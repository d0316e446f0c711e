"""Offline-rendered frames of the virtual subject for the markerless tests: the estimates beside the truth,
and whole trials through the core by both paths (IR markers, markerless) side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from drivers.sim.render import Renderer
from drivers.sim.subject import VirtualSubject
from drivers.sim.truth import knee_flexion_deg, trunk_inclination_deg
from station.analysis.analyze import analyze_blocks
from station.config import StationConfig
from station.dowel.series import dowel_block
from station.dowel.tracker import DowelTracker
from station.markerless.tracker import STANDING_FRAMES, DepthMarkerTracker
from station.markers.tracking import MarkerTracker
from station.streams import MARKER_NAMES, ForceBlock, MarkerBlock
from tests.support.dowel_helpers import config_for, frame_at

if TYPE_CHECKING:
    from tests.support.depth_noise import D455DepthModel

BODIES = {"small": (1.60, 55.0), "large": (1.90, 95.0)}
# frames at 30 fps before the measured ones: as many as the tracker's standing pose takes (0.4 s); a pose
# not taken in them leaves measured frames unmeasured, which the tests count
CALIBRATION_S = STANDING_FRAMES / 30
# quiet standing before the first rep: the least VirtualSubject makes (the tracker's standing pose takes 0.4 s
# of it, the core's baseline 0.5 s); longer only measures the same still pose again, at ~10 ms a frame
STANDING_S = 1.0
# quiet standing kept after the fidget, the trial's last movement (the simulator stands 2 s): over the 12
# both_paths cases the same reps, t_bottom, hip back and faults to the bit as with the whole 2 s
AFTER_FIDGET_S = 0.5


def subject_for(pattern: str, side: str, arms: str, body: str, *, reps: int = 1,
                standing_s: float = STANDING_S, seed: int = 1) -> tuple[VirtualSubject, StationConfig]:
    cfg = config_for(side)
    height_m, mass_kg = BODIES[body]
    return VirtualSubject(pattern, reps=reps, arms=arms, config=cfg, seed=seed, height_m=height_m,
                          mass_kg=mass_kg, standing_s=standing_s), cfg


@dataclass
class Errors:
    """Per measured frame: hip (x, z) error (m), knee and trunk angle errors (deg); share not measured."""

    hip_m: np.ndarray
    knee_deg: np.ndarray
    trunk_deg: np.ndarray
    unmeasured_frac: float
    reasons: set[str]

    @staticmethod
    def rms(a: np.ndarray) -> float:
        """RMS over the measured frames; NaN when none was measured."""
        a = np.asarray(a, float)[np.isfinite(a)]
        return float(np.sqrt(np.mean(np.square(a)))) if a.size else float("nan")


def trial_end_s(subject: VirtualSubject) -> float:
    """Where the rendered trial ends: AFTER_FIDGET_S after the fidget where quiet standing follows it to the
    end (drivers.sim.patterns without heel raise or hop), else the simulator's end."""
    tl = subject.timeline
    if tl.fidget is None or tl.excursions[-1] is not tl.fidget or tl.heel_raise_t_s is not None \
            or tl.hop_t_s is not None:
        return subject.duration_s
    return min(subject.duration_s, tl.fidget.t_end_s + AFTER_FIDGET_S)


def frame_times(subject: VirtualSubject, step_s: float, end_margin_s: float = 0.05
                ) -> tuple[np.ndarray, np.ndarray]:
    """(every frame's time, the measured frames' times): the standing pose's frames at 30 fps, then every
    step_s after them up to end_margin_s before the trial's end (trial_end_s)."""
    measured = np.arange(CALIBRATION_S, trial_end_s(subject) - end_margin_s, step_s)
    return np.concatenate([np.arange(STANDING_FRAMES) / 30, measured]), measured


def frame_errors(subject: VirtualSubject, cfg: StationConfig, step_s: float = 0.1,
                 depth_model: D455DepthModel | None = None) -> Errors:
    """Markerless estimates against the marker truth over the trial (frame_times), every step_s after the
    standing pose.
    depth_model: a tests.support.depth_noise.D455DepthModel to replace the renderer's depth with."""
    # the tracker reads depth alone: with a depth model, one clean render gives its input
    renderer = (Renderer(config=cfg, seed=3) if depth_model is None
                else Renderer(config=cfg, seed=3, subpixel=0.0, dropout_frac=0.0))
    tracker = DepthMarkerTracker(cfg.camera.T_plate_from_camera(), config=cfg)
    times, measured = frame_times(subject, step_s)
    est = []
    for i, t in enumerate(times):
        frame = frame_at(renderer, subject, float(t), i)
        if depth_model is not None:
            frame.depth = _noisy_depth(frame.depth, renderer.depth_scale_m, depth_model)
        p = tracker.update(frame)
        if i >= times.size - measured.size:
            est.append(p)
    E = {k: np.array([e[k] for e in est]) for k in est[0]}
    T = subject.markers(measured)
    hip = np.linalg.norm((E["hip"] - T["hip"])[:, [0, 2]], axis=1)
    knee = (knee_flexion_deg(E["hip"], E["knee"], E["ankle"])
            - knee_flexion_deg(T["hip"], T["knee"], T["ankle"]))
    trunk = trunk_inclination_deg(E["hip"], E["shoulder"]) - trunk_inclination_deg(T["hip"], T["shoulder"])
    missing = ~np.isfinite(E["hip"][:, 0]) | ~np.isfinite(E["shoulder"][:, 0])
    reasons = set(tracker.finish().reasons[-len(est):]) - {""}
    return Errors(hip, knee, trunk, float(missing.mean()), reasons)


def _noisy_depth(clean: np.ndarray, depth_scale_m: float, model: D455DepthModel) -> np.ndarray:
    """The scene's clean depth through another camera's noise model (tests.support.depth_noise)."""
    z = np.where(clean > 0, clean.astype(float) * depth_scale_m, np.inf)
    return model.depth(z, np.zeros(clean.shape, bool))


def force_block(subject: VirtualSubject, end_s: float, rate_hz: float = 1000.0) -> ForceBlock:
    t = np.arange(0.0, end_s, 1.0 / rate_hz)
    return ForceBlock(t, subject.cell_loads_n(t))


def both_paths(pattern: str, side: str, arms: str, body: str) -> tuple[VirtualSubject, dict]:
    """One trial rendered once, read by the IR marker path and the markerless path, each through the core:
    (subject, {"ir": result, "depth": result}); the markerless reps say what they could not measure."""
    # one rep: a second passes through the same poses (the rep count is still checked against the truth)
    subject, cfg = subject_for(pattern, side, arms, body, reps=1)
    T = cfg.camera.T_plate_from_camera()
    renderer = Renderer(config=cfg, seed=5)
    paths = {"ir": MarkerTracker(T, config=cfg), "depth": DepthMarkerTracker(T, config=cfg)}
    dowels = {k: DowelTracker(cfg, T) for k in paths}
    dowel_frames: dict[str, list] = {k: [] for k in paths}
    end_s = trial_end_s(subject)
    times = np.arange(0.0, end_s - 0.02, 1.0 / cfg.camera.fps)
    for i, t in enumerate(times):
        frame = frame_at(renderer, subject, float(t), i)
        for name, tracker in paths.items():
            positions = tracker.update(frame, float(t)) if name == "depth" else tracker.update(frame)
            dowel_frames[name].append(dowels[name].update(frame, positions, float(t)))
    force = force_block(subject, end_s)
    results = {}
    for name, tracker in paths.items():
        block = tracker.block()
        block = MarkerBlock(times.copy(), {k: block.positions[k] for k in MARKER_NAMES},
                            {k: block.bridged.get(k, np.zeros(len(times), bool)) for k in MARKER_NAMES})
        result = analyze_blocks(force, block, cfg, source=name, dowel=dowel_block(dowel_frames[name]),
                                body_mass_kg=subject.mass_kg, t_origin_s=0.0)
        if name == "depth":
            for rep in result.reps:
                tracker.explain(rep)
        results[name] = result
    return subject, results
