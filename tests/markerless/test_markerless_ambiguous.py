"""Where the silhouette cannot say where the body is, frames are marked with the reason and carry no
numbers: a second person in view, a long coat, hands hanging over the thighs. Never a guess shown as a
measurement: what is measured stays within the limits."""

from __future__ import annotations

import dataclasses

import numpy as np

from drivers.samples import CameraFrame
from drivers.sim.pose import Capsule, Pose
from drivers.sim.render import Renderer
from drivers.sim.subject import VirtualSubject
from station.markerless.tracker import DepthMarkerTracker
from tests.markerless.helpers import subject_for


def _run(subject: VirtualSubject, cfg, extra=None, step_s: float = 0.25):
    """(reasons, hip estimates, hip truth) per frame after the first 0.6 s; extra(t, pose) -> capsules."""
    renderer = Renderer(config=cfg, seed=2)
    tracker = DepthMarkerTracker(config=cfg)
    times = list(np.arange(0.0, 0.6, 1 / 30)) + list(np.arange(0.6, subject.duration_s - 0.1, step_s))
    reasons, hips, truth = [], [], []
    for i, t in enumerate(times):
        pose = subject.pose(float(t))
        if extra is not None:
            pose = Pose(pose.t_s, pose.capsules + tuple(extra(float(t), pose)), pose.markers,
                        pose.marker_radius_m)
        depth, ir = renderer.render(pose)
        p = tracker.update(CameraFrame(i, 1000 * t, "hardware_clock", 0, depth, ir, renderer.depth_scale_m,
                                       renderer.intrinsics))
        if t >= 0.6:
            reasons.append(tracker.last_reason)
            hips.append(p["hip"])
            truth.append(subject.markers(np.array([t]))["hip"][0])
    return reasons, np.array(hips), np.array(truth)


def test_second_person_in_view_is_never_measured() -> None:
    subject, cfg = subject_for("hinge", "right", "crossed", "small")
    other = VirtualSubject("squat", reps=1, config=cfg, seed=2)
    shift = np.array([0.35, 0.45, 0.0])  # beside and behind, on the plate's far edge

    def second(t: float, _pose: Pose) -> list[Capsule]:
        return [dataclasses.replace(c, p0=np.asarray(c.p0) + shift, p1=np.asarray(c.p1) + shift)
                for c in other.pose(min(t, other.duration_s)).capsules]

    reasons, hips, _ = _run(subject, cfg, second)
    assert np.all(~np.isfinite(hips[:, 0]))
    assert any("second person" in r for r in reasons)


def test_long_coat_is_never_measured() -> None:
    subject, cfg = subject_for("hinge", "right", "crossed", "small")

    def coat(t: float, _pose: Pose) -> list[Capsule]:  # shoulders to below the knees, flaring
        m = subject.markers(np.array([t]))
        top, bottom = m["shoulder"][0] * [1, 0, 1], m["knee"][0] * [1, 0, 1]
        return [Capsule("coat", top - [0, 0, 0.05], bottom - [0, 0, 0.05], 0.17, 0.25)]

    reasons, hips, _ = _run(subject, cfg, coat)
    assert np.all(~np.isfinite(hips[:, 0]))
    assert all(r for r in reasons)  # every frame says why


def test_hands_hanging_over_the_thighs_are_marked() -> None:
    subject, cfg = subject_for("hinge", "right", "weights", "small")
    reasons, hips, truth = _run(subject, cfg, step_s=0.15)
    marked = [r for r in reasons if "hands hanging" in r]
    assert marked, "the arms over the thighs went unnoticed"
    ok = np.isfinite(hips[:, 0])
    err = np.linalg.norm((hips - truth)[ok][:, [0, 2]], axis=1)
    assert float(np.sqrt(np.mean(err ** 2))) <= 0.015


def test_clean_frames_are_not_marked() -> None:
    """The marks come from what is in view, not from the movement: a plain hinge has none."""
    subject, cfg = subject_for("hinge", "left", "hips", "large")
    reasons, hips, _ = _run(subject, cfg, step_s=0.3)
    assert not [r for r in reasons if r]
    assert np.all(np.isfinite(hips[:, 0]))
