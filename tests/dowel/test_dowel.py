"""Virtual dowel vs the simulator's truth, on rendered 848x480 depth frames at 2.2 m (a few frames per case).

Tolerance (issue 8): gap error at most 5 mm RMS per condition against drivers/sim/truth.py dowel_gaps_m.
Frames that cannot be measured must say why (gap None + reason) and never carry a number.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.samples import CameraFrame
from drivers.sim.pose import Pose
from drivers.sim.render import Renderer
from drivers.sim.subject import VirtualSubject, coached_arms
from station.config import StationConfig
from station.dowel.series import dowel_block, dowel_faults, rep_dowel_gaps
from station.dowel.tracker import DowelTracker
from station.report.figures import dowel_png
from station.streams import DOWEL_REGIONS
from station.streams import DOWEL_REGIONS as REGIONS  # the one region order
from tests.support.dowel_helpers import config_for, frame_at, instants, markers_at, true_gaps_mm

GAP_RMS_MAX_MM = 5.0


def _run(pattern: str, *, side: str = "right", arms: str = "crossed", lumbar: float | None = None,
         load_kg: float = 0.0, times: list[float] | None = None, seed: int = 1):
    cfg = config_for(side)
    subject = VirtualSubject(pattern, reps=1, fidget=False, arms=arms, load_kg=load_kg,
                             lumbar_flexion_deg=lumbar, config=cfg, seed=seed)
    renderer = Renderer(config=cfg, seed=seed)
    tracker = DowelTracker(cfg)
    out = []
    for i, t in enumerate(times or instants(subject)):
        frame = frame_at(renderer, subject, t, i)
        out.append((t, frame, tracker.update(frame, markers_at(subject, t), t), true_gaps_mm(subject, t)))
    return subject, out


def _rms_mm(results) -> float:
    err = [d.gap_mm[r] - truth[r] for _, _, d, truth in results for r in REGIONS]
    return float(np.sqrt(np.mean(np.square(err))))


@pytest.mark.parametrize("pattern, lumbar, side, arms, load_kg", [
    ("hinge", None, "right", "crossed", 0.0),
    ("rounding", 15.0, "right", "crossed", 0.0),
    ("rounding", 30.0, "right", "crossed", 0.0),
    ("arching", None, "right", "crossed", 0.0),
    ("hinge", None, "left", "crossed", 0.0),
    ("rounding", 30.0, "left", "crossed", 0.0),
    ("arching", None, "left", "crossed", 0.0),
    ("hinge", None, "right", "weights", 20.0),
])
def test_gap_accuracy_against_truth(pattern, lumbar, side, arms, load_kg):
    _, results = _run(pattern, side=side, arms=arms, lumbar=lumbar, load_kg=load_kg)
    measured = [r for r in results if r[2].gap_mm is not None]
    assert len(measured) >= len(results) - 1, [r[2].reason for r in results]
    assert _rms_mm(measured) <= GAP_RMS_MAX_MM, (_rms_mm(measured), [(r[2].gap_mm, r[3]) for r in measured])
    for _, _, d, _ in measured:  # the dowel's sacrum end stands off the sacrum contact by its gap
        assert d.real_dowel is False and d.dowel_xyz.shape == (2, 3)
        stand_off_mm = 1000 * np.linalg.norm(d.dowel_xyz[0] - d.contacts_xyz["sacrum"])
        assert abs(stand_off_mm - d.gap_mm["sacrum"]) < 1.0, (stand_off_mm, d.gap_mm)
    bottom = [d for t, _, d, _ in measured if t > 2.0]
    curve = np.median([d.lumbar_curve_mm for d in bottom])
    if pattern == "rounding":  # the low back bulges out of the chord when flexed, dips in when arched
        assert curve > 10 and all(d.worst_region == "sacrum" for d in bottom)
    elif pattern == "arching":
        assert curve < -10 and all(d.worst_region == "upper_back" for d in bottom)


@pytest.mark.parametrize("pattern, lumbar, expected", [
    ("hinge", None, []), ("rounding", 15.0, ["back_rounding"]), ("arching", None, ["back_arching"])])
def test_rep_faults_match_truth(pattern, lumbar, expected):
    """30 fps frames over the bottom of the rep: held gaps per region, faults, and the core's block."""
    probe = VirtualSubject(pattern, reps=1, fidget=False, lumbar_flexion_deg=lumbar, config=config_for(),
                           seed=1)
    rep = probe.truth.reps[0]
    times = list(rep.t_bottom + np.arange(-18, 19) / 30.0)
    _, results = _run(pattern, lumbar=lumbar, times=times)
    frames = [d for _, _, d, _ in results]
    held = rep_dowel_gaps(frames, times[0], times[-1], probe.config.thresholds.dowel_hold_frames)
    for region in REGIONS:
        assert abs(held[region] - rep.dowel_gap_mm[region]) <= GAP_RMS_MAX_MM, (region, held,
                                                                                 rep.dowel_gap_mm)
    faults = dowel_faults(held, probe.config.thresholds)
    assert faults == expected == [f for f in rep.faults if f.startswith("back_")]
    block = dowel_block(frames)
    assert len(block) == len(frames) and np.all(np.isfinite(block.gap_mm))
    regions = {DOWEL_REGIONS[i] for i in block.region}
    if expected == ["back_rounding"]:
        assert regions == {"sacrum"} and np.min(block.gap_mm) > 20
    elif expected == ["back_arching"]:
        assert regions == {"upper_back"} and np.min(block.gap_mm) > 20
    else:
        assert np.max(block.gap_mm) < 10


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pattern, lumbar", [("hinge", None), ("rounding", 15.0), ("arching", None)])
def test_hands_on_hips_measured_against_truth(pattern, lumbar, side):
    """Hands on hips: the upper arms run along the back (over it in the deep hinge) but the back's rim stays
    visible beside them; read from the back's own depth layer, the gaps meet the same 5 mm RMS."""
    _, results = _run(pattern, side=side, arms="hips", lumbar=lumbar)
    measured = [r for r in results if r[2].gap_mm is not None]
    assert len(measured) >= len(results) - 1, [r[2].reason for r in results]
    for _, _, d, _ in results:
        if d.gap_mm is None:  # only ever a region hidden, said so
            assert d.reason.split(":")[0] in REGIONS and "hidden" in d.reason and d.worst_gap_mm is None
    assert _rms_mm(measured) <= GAP_RMS_MAX_MM, (_rms_mm(measured), [(r[2].gap_mm, r[3]) for r in measured])


@pytest.mark.parametrize("arms, regions", [("dowel", ("sacrum",)),
                                           ("hands_low_back", ("sacrum", "upper_back"))])
def test_truly_hidden_regions_say_so_instead_of_guessing(arms, regions):
    """A hand on a real dowel at the low back covers the sacrum from the side; hands on the low back cover
    the sacrum and bring the elbows back over the upper back. Where the region is hidden, the frame names it
    and what hides it; whatever is still measured must be right."""
    _, results = _run("hinge", arms=arms)
    hidden = 0
    for _, _, d, truth in results:
        if d.gap_mm is None:
            assert d.reason.split(":")[0] in regions and d.worst_gap_mm is None, d.reason
            assert d.reason.split(": ", 1)[1].startswith("hidden by something"), d.reason
            assert "in front of the back" in d.reason
            hidden += 1
        else:
            assert max(abs(d.gap_mm[r] - truth[r]) for r in REGIONS) <= 2 * GAP_RMS_MAX_MM, (d.gap_mm, truth)
    assert hidden >= len(results) // 2


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("arms, pattern, lumbar", [("fingertips_ears", "hinge", None),
                                                   ("fingertips_ears", "rounding", 30.0),
                                                   ("hands_low_back", "rounding", 30.0)])
def test_arm_variations_never_pass_a_limb_off_as_the_back(arms, pattern, lumbar, side):
    """The drills' arm variations put a limb where the back's outline would be without being in front of
    it: fingertips at the ears take the far elbow out behind the upper back (0.2-0.3 m farther than the
    back's outline), hands on the low back bridge the forearm over the sacrum with a gap between arm and
    back. Neither is the back: every frame is within 2x the RMS goal of the truth or names the region
    hidden, and no neutral hinge gets a gap over the fault threshold (before: 15-58 mm upper-back gaps, a
    false back_arching, and a 30 deg rounded sacrum read at 21-24 mm against 55 mm)."""
    _, results = _run(pattern, side=side, arms=arms, lumbar=lumbar)
    threshold = StationConfig().thresholds.dowel_gap_max_mm
    measured = []
    for _, _, d, truth in results:
        if d.gap_mm is None:
            assert d.reason.split(":")[0] in REGIONS and "hidden by something" in d.reason, d.reason
            continue
        measured.append(d)
        assert max(abs(d.gap_mm[r] - truth[r]) for r in REGIONS) <= 2 * GAP_RMS_MAX_MM, (d.gap_mm, truth)
        assert (d.worst_gap_mm > threshold) == (max(truth.values()) > threshold), (d.gap_mm, truth)
    if arms == "fingertips_ears":  # the elbows leave the back seen in most frames: it is measured
        assert len(measured) >= 4, [r[2].reason for r in results]


def test_bad_views_give_none_with_a_reason():
    right, left = config_for("right"), config_for("left")
    subject = VirtualSubject("hinge", reps=1, fidget=False, config=right, seed=3)
    renderer = Renderer(config=right, seed=3)
    tracker = DowelTracker(right)
    t = subject.truth.reps[0].t_bottom
    markers = markers_at(subject, t)
    frame = frame_at(renderer, subject, t)
    depth, ir = renderer.render(Pose(t, (), {}))
    empty = CameraFrame(1, 1000 * t, "hardware_clock", 0, depth, ir, 0.001, renderer.intrinsics)
    cases = {
        "no subject": (empty, markers, "no subject"),
        "no markers": (frame, {}, "marker"),
        "off the plate": (frame, {k: v + np.array([1.2, 0.0, 0.0]) for k, v in markers.items()},
                          "off the plate"),
    }
    for name, (f, m, words) in cases.items():
        d = tracker.update(f, m, t)
        assert d.gap_mm is None and d.worst_gap_mm is None and words in d.reason, (name, d.reason)
    # camera really on the subject's left while the config says right: the subject seems to face -x
    subject_l = VirtualSubject("hinge", reps=1, fidget=False, config=left, seed=3)
    renderer_l = Renderer(config=left, seed=3)
    T_wrong = right.camera.T_plate_from_camera() @ np.linalg.inv(left.camera.T_plate_from_camera())
    seen = {k: T_wrong[:3, :3] @ v + T_wrong[:3, 3] for k, v in markers_at(subject_l, t).items()}
    d = tracker.update(frame_at(renderer_l, subject_l, t), seen, t)
    assert d.gap_mm is None and "faces -x" in d.reason
    # a camera looking along the subject (front view) never sees the back in profile
    front = np.eye(4)
    front[:3, :3] = np.column_stack([[0, 1, 0], [0, 0, -1], [-1, 0, 0]])  # camera x, y, z: looks along -x
    d = DowelTracker(right, T_plate_from_camera=front).update(frame, markers, t)
    assert d.gap_mm is None and "sagittal" in d.reason


def test_overlay_picture(artifacts_dir):
    _, results = _run("rounding", lumbar=30.0, times=None)
    t, frame, d, truth = results[3]
    ov = d.overlay()
    assert ov["line"] is not None and set(ov["contacts"]) == set(REGIONS) and len(ov["contour"]) > 50
    u = [p[0] for p in ov["contacts"].values()]
    assert all(0 <= x < frame.intrinsics.width for x in u)
    png = dowel_png(frame.depth, ov)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (artifacts_dir / "dowel_rounding30.png").write_bytes(png)
    _, results = _run("arching", times=None)
    (artifacts_dir / "dowel_arching.png").write_bytes(dowel_png(results[3][1].depth, results[3][2].overlay()))


def _dowel_frames(pattern: str, lumbar: float | None, side: str, *, hands: bool):
    """Frames of a subject holding a real dowel on the back; hands=False leaves the arm capsules out of
    the picture (the dowel alone on the back)."""
    cfg = config_for(side)
    subject = VirtualSubject(pattern, reps=1, fidget=False, arms="dowel", config=cfg, seed=1,
                             lumbar_flexion_deg=lumbar)
    renderer = Renderer(config=cfg, seed=1)
    for i, t in enumerate(instants(subject)):
        pose = subject.pose(t)
        if not hands:
            pose = Pose(t, tuple(c for c in pose.capsules if not c.name.startswith(("hand", "forearm",
                                                                                       "upper_arm"))),
                        pose.markers, pose.marker_radius_m)
        depth, ir = renderer.render(pose)
        frame = CameraFrame(i, 1000 * t, "hardware_clock", 0, depth, ir, 0.001, renderer.intrinsics)
        yield cfg, t, frame, markers_at(subject, t), true_gaps_mm(subject, t)


DOWEL_CASES = [("hinge", None), ("rounding", 15.0), ("rounding", 30.0), ("arching", None)]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pattern, lumbar", DOWEL_CASES)
def test_real_dowel_is_read_around_against_truth(pattern, lumbar, side):
    """A real 25 mm dowel on the back, hands out of the picture: it is found (straight dorsal edge with free
    spans), taken out of the mask and the back read under it, with or without the drill's flag. Every frame
    is measured, within the same 5 mm RMS; read as the back, its diameter would add 25 mm where it touches."""
    told = untold = None
    results = []
    for cfg, t, frame, markers, truth in _dowel_frames(pattern, lumbar, side, hands=False):
        told = told or DowelTracker(cfg, holding_dowel=True)
        untold = untold or DowelTracker(cfg)
        for tracker in (told, untold):
            d = tracker.update(frame, markers, t)
            assert d.gap_mm is not None and d.real_dowel, d.reason
            results.append((t, frame, d, truth))
    assert _rms_mm(results) <= GAP_RMS_MAX_MM, (_rms_mm(results), [(r[2].gap_mm, r[3]) for r in results])


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pattern, lumbar", [DOWEL_CASES[0], DOWEL_CASES[2], DOWEL_CASES[3]])
def test_real_dowel_held_in_the_hands_measures_or_says_hidden(pattern, lumbar, side):
    """The usual grip: one hand behind the neck, one at the low back. From the side, the near arm covers
    the head (hand behind the neck) or lies along the back (hand at the low back). Every frame is either
    measured or names the region hidden and what hides it; what covers the dowel covers the back beside it,
    and the hand gripping it (outline past the dowel's outer edge) is not the back. Measured frames: the
    5 mm RMS goal over the case, each frame within 8 mm (6.1 mm at most over these cases), and on the same
    side of the 20 mm fault threshold as the truth. Not told of the dowel, a frame is hidden or within 8 mm
    (before, the hand at the low back read as a 110-127 mm upper-back gap from the left)."""
    measured = []
    threshold = StationConfig().thresholds.dowel_gap_max_mm
    for cfg, t, frame, markers, truth in _dowel_frames(pattern, lumbar, side, hands=True):
        # not told (a drill without the dowel flag): it may not find the dowel, but must not make numbers up
        untold = DowelTracker(cfg).update(frame, markers, t)
        if untold.gap_mm is not None:
            assert max(abs(untold.gap_mm[r] - truth[r]) for r in REGIONS) <= 8.0, (t, untold.gap_mm, truth)
        d = DowelTracker(cfg, holding_dowel=True).update(frame, markers, t)
        if d.gap_mm is None:
            assert d.reason.split(":")[0] in REGIONS and "hidden" in d.reason, d.reason
            if d.reason.startswith("head"):  # tells the lab what to change
                assert d.reason.endswith("; swap the hands or the camera side") and len(d.reason) <= 160
            continue
        measured.append((t, frame, d, truth))
        assert d.real_dowel
        for r in REGIONS:
            assert abs(d.gap_mm[r] - truth[r]) <= 8.0, (t, d.gap_mm, truth)
            assert (d.gap_mm[r] > threshold) == (truth[r] > threshold), (t, d.gap_mm, truth)
    if measured:
        assert _rms_mm(measured) <= GAP_RMS_MAX_MM, [(r[2].gap_mm, r[3]) for r in measured]
    if side == "left" and pattern != "rounding":
        # the hand at the low back no longer stands in for the sacrum: every frame is measured
        assert len(measured) == 6


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pattern", ["rounding", "hinge", "arching"])
def test_a_contact_hidden_under_the_arm_is_read_on_the_dowel_resting_on_it(pattern, side):
    """The coached grip (low hand on the camera's side), frames over the whole rep: near the bottom the low
    arm lies along the back and hides the upper back. A straight dowel pressed on the back rests on two of
    the three contacts: lifted off the sacrum and touching the head, it rests on the hidden upper back, which
    is read there (the rounded back measured, not "hidden"). Lying on sacrum and head (good hinge, arched
    back) it does not say how far in front of it the upper back is: not measured, never a rounding."""
    cfg = config_for(side)
    subject = VirtualSubject(pattern, reps=1, fidget=False, arms=coached_arms("dowel", cfg), config=cfg,
                             seed=1)
    renderer = Renderer(config=cfg, seed=1)
    tracker = DowelTracker(cfg, holding_dowel=True)
    rep = subject.truth.reps[0]
    threshold = cfg.thresholds.dowel_gap_max_mm
    results = []
    for i, t in enumerate(np.linspace(rep.t_start, rep.t_end, 12)):
        d = tracker.update(frame_at(renderer, subject, t, i), markers_at(subject, t), t)
        truth = true_gaps_mm(subject, t)
        results.append((t, d, truth))
        if d.gap_mm is None:
            assert d.reason.split(":")[0] in REGIONS and "hidden" in d.reason, d.reason
        elif d.on_dowel is not None:  # read on the dowel: within 10 mm (7 mm at most over these cases)
            assert d.on_dowel in ("upper_back", "sacrum") and d.real_dowel
            assert max(abs(d.gap_mm[r] - truth[r]) for r in REGIONS) <= 10.0, (t, d.gap_mm, truth, d.on_dowel)
    if pattern == "rounding":
        bottom = [d for _, d, truth in results if truth["sacrum"] > 2 * threshold]
        assert bottom and all(d.gap_mm is not None and d.gap_mm["sacrum"] > threshold for d in bottom)
        assert any(d.on_dowel == "upper_back" for d in bottom)
    else:
        assert all(d.gap_mm is None or d.gap_mm["sacrum"] <= threshold for _, d, _ in results)


def test_the_per_frame_dowel_leaves_the_warning_filters_alone():
    """The dowel runs on every frame beside the plate reader, the GUI and the camera's threads:
    warnings.catch_warnings rewrites the whole process's filters and is not thread-safe (numpy's errstate,
    per thread, is what a frame's NaN arithmetic needs)."""
    import warnings

    _run("rounding", lumbar=30.0)  # once before: what it imports on first use may use catch_warnings
    calls = []
    original = warnings.catch_warnings

    class Counted(original):
        def __init__(self, *args, **kwargs) -> None:
            calls.append(args)
            super().__init__(*args, **kwargs)

    warnings.catch_warnings = Counted  # by hand: pytest's own reporting uses it, so no monkeypatch
    try:
        _, results = _run("rounding", lumbar=30.0)
    finally:
        warnings.catch_warnings = original
    assert len(results) >= 5 and any(np.isfinite(d.gap_mm["upper_back"]) for _, _, d, _ in results)
    assert calls == []
