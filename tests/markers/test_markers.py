"""Marker detection, 3D, labelling, tracking and gap bridging on the hand-made stick body (known truth)."""

import numpy as np
import pytest

from drivers.samples import CameraFrame
from drivers.sim.render import Renderer
from station.config import StationConfig
from station.markers.detect import detect_markers, to_plate
from station.markers.tracking import MarkerTracker, bridge_gaps
from tests.support.camera_fixtures import StickSubject, stick_pose


def project(T, intr, p):
    """Plate-frame points (..., 3) -> pixels (..., 2), pinhole (test's own geometry)."""
    c = (np.asarray(p) - T[:3, 3]) @ T[:3, :3]
    u = intr.fx * c[..., 0] / c[..., 2] + intr.ppx
    return np.stack([u, intr.fy * c[..., 1] / c[..., 2] + intr.ppy], -1)


def camera_config(side: str) -> StationConfig:
    cfg = StationConfig()
    cfg.camera.side = side
    cfg.camera.position_m = [0.0, -2.2 if side == "right" else 2.2, 0.9]
    return cfg


def frames_of(subject, renderer, fps=30):
    for n in range(int(subject.duration_s * fps)):
        depth, ir = renderer.render(subject.pose(n / fps))
        yield CameraFrame(n + 1, 5000.0 + n * 1000.0 / fps, "hardware_clock", 0, depth, ir, 0.001,
                          renderer.intrinsics)


@pytest.mark.parametrize("hinge", [0.0, 0.6, 1.0])
def test_detection_pixel_and_3d_accuracy(hinge):
    r = Renderer(seed=2)
    pose = stick_pose(hinge)
    depth, ir = r.render(pose)
    det = detect_markers(CameraFrame(1, 0.0, "hardware_clock", 0, depth, ir, 0.001, r.intrinsics))
    assert len(det) == 5
    xyz = to_plate(r.T_plate_from_camera, det.xyz_cam)
    for name, centre in pose.markers.items():
        uv = project(r.T_plate_from_camera, r.intrinsics, centre)
        i = np.argmin(np.linalg.norm(det.uv - uv, axis=1))
        assert np.linalg.norm(det.uv[i] - uv) < 0.25, name  # sub-pixel centre of the disc
        err = xyz[i] - centre
        # x, z come from the pixel (precise); y (along the view) from noisy depth around the disc
        assert abs(err[0]) < 0.005 and abs(err[2]) < 0.005 and abs(err[1]) < 0.02, (name, err)


def test_bridge_gaps_fills_short_runs_only():
    t = np.arange(90) / 30.0
    truth = np.stack([np.sin(t), np.cos(t), t], axis=1)
    p = truth.copy()
    p[10:16] = np.nan  # 0.2 s
    p[40:55] = np.nan  # 0.5 s
    p[85:] = np.nan  # open end: nothing to bridge towards
    filled, bridged = bridge_gaps(t, p, 0.3)
    assert bridged[10:16].all() and bridged.sum() == 6
    assert np.allclose(filled[10:16], truth[10:16], atol=3e-3)  # PCHIP over 0.23 s of a 1 m swing
    assert np.isnan(filled[40:55]).all() and np.isnan(filled[85:]).all()
    p2 = truth.copy()
    p2[20:29] = np.nan  # exactly 0.3 s missing (9 frames) is bridged, 10 frames is not
    assert bridge_gaps(t, p2, 0.3)[1].sum() == 9
    p2[29] = np.nan
    assert bridge_gaps(t, p2, 0.3)[1].sum() == 0


@pytest.mark.parametrize("side", ["right", "left"])
def test_labels_follow_a_deep_hinge_facing_either_way(side, artifacts_dir):
    cfg = camera_config(side)
    r = Renderer(seed=4, config=cfg)
    subject = StickSubject(duration_s=3.0, period_s=2.5, flip=(side == "left"))  # one full deep rep
    tracker = MarkerTracker(config=cfg)
    frames = list(frames_of(subject, r))
    for f in frames:
        tracker.update(f)
    track = tracker.finish()
    truth = subject.markers(track.t_s)
    for name in truth:
        uv_true = project(r.T_plate_from_camera, r.intrinsics, truth[name])
        miss = np.linalg.norm(track.pixels[name] - uv_true, axis=1)
        assert np.all(miss < 1.0), (name, np.nanmax(miss))  # every frame labelled, and labelled right
        err = track.positions[name] - truth[name]
        assert np.sqrt(np.mean(err[:, [0, 2]] ** 2)) < 0.004 and np.sqrt(np.mean(err[:, 1] ** 2)) < 0.015
    if side == "right":
        _save_labelled(frames[37], track, 37, artifacts_dir / "camera_markers_labelled.png")


def _save_labelled(frame, track, i, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10.6, 6))
    ax.imshow(frame.ir, cmap="gray", vmin=0, vmax=255)
    for name, uv in track.pixels.items():
        ax.plot(*uv[i], "o", mfc="none", mec="r", ms=12)
        ax.annotate(name, uv[i], xytext=(8, -8), textcoords="offset points", color="yellow")
    ax.set_title(f"left IR, frame {frame.frame_number}: detected markers and their labels")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


@pytest.mark.parametrize("hidden_s, expect_bridged", [(0.2, True), (0.5, False)])
def test_hidden_marker_is_bridged_or_left_empty(hidden_s, expect_bridged):
    subject = StickSubject(duration_s=2.0, hidden={"knee": (1.0, 1.0 + hidden_s)})
    tracker = MarkerTracker()
    for f in frames_of(subject, Renderer(seed=6)):
        tracker.update(f)
    block = tracker.finish().to_block(gap_max_s=0.3)
    gap = (block.t_s >= 1.0 - 1e-9) & (block.t_s < 1.0 + hidden_s - 1e-9)
    knee, bridged = block.positions["knee"], block.bridged["knee"]
    truth = subject.markers(block.t_s)["knee"]
    assert np.all(np.isfinite(knee[~gap])) and not bridged[~gap].any()
    if expect_bridged:
        assert bridged[gap].all()
        assert np.max(np.linalg.norm(knee[gap] - truth[gap], axis=1)) < 0.02
    else:
        assert np.isnan(knee[gap]).all() and not bridged.any()
    for name in ("head", "shoulder", "hip", "ankle"):  # the others are untouched
        assert np.all(np.isfinite(block.positions[name])) and not block.bridged[name].any()
