"""The live marker tracker keeps a bounded history (issue 20 item 6) and tracks exactly as the offline one."""

import numpy as np

from drivers.sim.render import Renderer
from station.config import StationConfig
from station.markers.detect import detect_markers
from station.markers.tracking import MarkerTracker
from station.trial.steps import LIVE_TRACK_FRAMES, MarkerStep
from tests.markers.test_markers import frames_of
from tests.support.camera_fixtures import StickSubject


def test_bounded_history_tracks_the_same_and_keeps_the_newest_frames():
    # a hidden knee: the gate widening and the re-association run in both trackers
    subject = StickSubject(duration_s=3.0, period_s=2.5, hidden={"knee": (1.0, 1.4)})
    whole, bounded = MarkerTracker(), MarkerTracker(history_frames=5)
    n = 0
    for frame in frames_of(subject, Renderer(seed=6)):
        det = detect_markers(frame)
        a, b = whole.update(frame, det), bounded.update(frame, det)
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
        last = bounded.last_pixels
        assert last.keys() == a.keys()
        for name, uv in whole.finish().pixels.items():
            np.testing.assert_array_equal(last[name], uv[-1])  # NaN where not found, in both
        n += 1
    full, tail = whole.finish(), bounded.finish()
    assert len(full) == n == 90 and len(tail) == 5
    np.testing.assert_array_equal(tail.t_s, full.t_s[-5:])
    np.testing.assert_array_equal(tail.frame_numbers, full.frame_numbers[-5:])
    for name in full.positions:
        np.testing.assert_array_equal(tail.positions[name], full.positions[name][-5:])
        np.testing.assert_array_equal(tail.pixels[name], full.pixels[name][-5:])
    assert np.isnan(full.positions["knee"][35, 0])  # the knee was hidden in the whole track


def test_live_marker_step_keeps_no_per_frame_history():
    step = MarkerStep(StationConfig(), None)
    subject = StickSubject(duration_s=2.0)
    pixels = {}
    for frame in frames_of(subject, Renderer(seed=2)):
        positions, pixels, _ = step.update(frame)
    assert len(step.tracker.finish()) == LIVE_TRACK_FRAMES
    assert set(pixels) == set(positions) and all(np.all(np.isfinite(v)) for v in pixels.values())
