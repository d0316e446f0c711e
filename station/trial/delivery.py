"""What reached the station from its sources and what it processed: the figures of `--stats`.

camera_frames_expected: the span of frame numbers the runner saw (what the camera sent once it
streamed) = processed + dropped; delivered: frames the driver received from the device (it may hold a
few the runner never read at stop, or discard some when the station falls behind: overflowed);
processed: frames the runner measured; dropped: frame-number gaps in those (lost before the station had
them); camera_received_pct: processed / expected; camera_fps_delivered: processed frames per second
between the first and the last one's arrival. plate_samples / plate_samples_lost: samples and
sequence-number gaps.
"""

from __future__ import annotations

from drivers.samples import CameraSource


class FrameNumbers:
    """Camera frame numbers as they arrive: the gaps between them and the span they cover."""

    def __init__(self) -> None:
        self.first: tuple[int, int] | None = None  # (frame number, host ns) of the first frame
        self.last: tuple[int, int] | None = None
        self.expected_before = 0  # frame numbers spanned before the camera restarted its counter
        self.restarts = 0

    def arrived(self, frame_number: int, t_host_ns: int) -> int:
        """Record a frame; returns how many frame numbers were skipped just before it."""
        if self.first is not None and self.last is not None and frame_number <= self.last[0]:
            # a replugged camera counts from 1 again: a new span (the unplugged time is a gap in time,
            # not frames the station dropped; the trial's events say when it went and came back)
            self.expected_before += self.last[0] - self.first[0] + 1
            self.restarts += 1
            self.first = (frame_number, self.first[1])
            self.last = (frame_number, t_host_ns)
            return 0
        dropped = 0 if self.last is None else max(0, frame_number - self.last[0] - 1)
        if self.first is None:
            self.first = (frame_number, t_host_ns)
        self.last = (frame_number, t_host_ns)
        return dropped

    @property
    def expected(self) -> int:
        if self.first is None or self.last is None:
            return 0
        return self.expected_before + self.last[0] - self.first[0] + 1

    @property
    def span_s(self) -> float:
        return 0.0 if self.first is None or self.last is None else (self.last[1] - self.first[1]) / 1e9


def delivery_stats(counts: dict, frames: FrameNumbers, camera: CameraSource | None, elapsed_s: float) -> dict:
    """The --stats figures from the runner's counts, its frame numbers and the camera driver's counters."""
    driver: dict = {}
    if camera is not None:
        try:
            driver = dict(camera.stats())
        except Exception:  # a dead camera: what the runner counted
            driver = {}
    processed, expected, span_s = counts["camera_frames"], frames.expected, frames.span_s
    return {"seconds": elapsed_s, "plate_samples": counts["plate_samples"],
            "plate_samples_lost": counts["plate_lost"], "camera_fps_nominal": getattr(camera, "fps", None),
            "camera_frames_expected": expected,
            "camera_frames_delivered": int(driver.get("frames", processed)),
            "camera_frames_processed": processed, "camera_frames_dropped": counts["camera_dropped"],
            "camera_frames_overflowed": int(driver.get("overflows", 0)),
            # a recording paced by its timestamps (drivers.db3_pacing): frames lost, by reason
            **({"camera_drops_by_reason": dict(driver["drops"])} if isinstance(driver.get("drops"), dict)
               else {}),
            "camera_fps_delivered": (processed - 1) / span_s if span_s > 0 else 0.0,
            "camera_received_pct": 100.0 * processed / expected if expected else 0.0}


class CameraRateCheck:
    """Says once when a camera sends fewer frames a second than the rate it streams at (dim light lengthens
    the exposure and halves a RealSense's rate; a USB 2 port; a recording made slower than its header says).

    Counted from the camera's own frame numbers over the last `window_s` of arrivals: frames the station
    lost still count as sent (they are `dropped`, said elsewhere), a pause or an unplugged camera advances or
    restarts the numbers (the window starts again) rather than slowing them."""

    def __init__(self, window_s: float = 2.0, share: float = 0.9) -> None:
        self.window_s, self.share = window_s, share
        self._samples: list[tuple[int, int]] = []  # (frame number, host ns), about 4 a second
        self.said = False

    def check(self, last: tuple[int, int] | None, nominal_fps: float | None) -> str | None:
        """The line to say (once), from the newest frame (number, host ns) and the camera's promised fps."""
        if self.said or last is None or not nominal_fps:
            return None
        if self._samples and last[0] < self._samples[-1][0]:  # the camera counts from 1 again
            self._samples.clear()
        if not self._samples or last[1] - self._samples[-1][1] >= 250_000_000:
            self._samples.append(last)
        while len(self._samples) > 2 and (last[1] - self._samples[1][1]) / 1e9 >= self.window_s:
            self._samples.pop(0)
        number0, t0_ns = self._samples[0]
        span_s = (last[1] - t0_ns) / 1e9
        if span_s < self.window_s:
            return None
        rate = (last[0] - number0) / span_s
        if rate >= self.share * float(nominal_fps):
            return None
        self.said = True
        return (f"the camera sends {rate:.0f} frames a second, slower than the {float(nominal_fps):.0f} fps "
                "it streams at (dim light lengthens the exposure; a USB 2 port; a recording made slower)")
