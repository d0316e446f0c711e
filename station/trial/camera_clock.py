"""A replugged camera's device clock starts again (power-up); the marker tracker times its gates and its
reset after a long gap by that clock, so it is handed frames on one continuing clock instead: after a
restart (clock_restarted) the device time goes on from the last frame's by the host's
arrival clock. What is stored (camera/index/t_device_ms) stays the device's own."""

from __future__ import annotations

import dataclasses

from drivers.samples import CameraFrame


def clock_restarted(last: tuple[float, int] | None, t_device_s: float, t_host_ns: int,
                    tolerance_s: float = 1.0) -> bool:
    """The device clock went back, or jumped ahead of the host's by more than tolerance_s, since `last`:
    the device restarted (its clock starts again on power-up). Arrival jitter is milliseconds."""
    if last is None:
        return False
    device_step_s = t_device_s - last[0]
    host_step_s = (t_host_ns - last[1]) / 1e9
    return device_step_s < -tolerance_s / 100 or device_step_s - host_step_s > tolerance_s


class ContinuousDeviceClock:
    """Frames with t_device_ms shifted so it never starts again within one trial."""

    def __init__(self) -> None:
        self.offset_ms = 0.0
        self.restarts = 0
        self._last: tuple[float, int] | None = None  # (device s after the offset, host ns)

    def frame(self, frame: CameraFrame) -> CameraFrame:
        t_dev_s = (frame.t_device_ms + self.offset_ms) / 1000.0
        if clock_restarted(self._last, t_dev_s, frame.t_host_ns):
            last_s, last_ns = self._last
            t_dev_s = last_s + (frame.t_host_ns - last_ns) / 1e9
            self.offset_ms = t_dev_s * 1000.0 - frame.t_device_ms
            self.restarts += 1
        self._last = (t_dev_s, frame.t_host_ns)
        if not self.offset_ms:
            return frame
        return dataclasses.replace(frame, t_device_ms=frame.t_device_ms + self.offset_ms)
