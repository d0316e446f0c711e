"""The virtual dowel in the live path: one DowelFrame per camera frame, at the pace the worker can keep.

DowelStep wraps dowel.tracker.DowelTracker for a stream of camera frames (the runner turns each result
into the core's DowelBlock and the live view's dict with dowel.frame; the trial file's /dowel rows are
recording.rows.dowel_row). A dowel drill (drill name containing "dowel") has a
real dowel on the back: the tracker expects it, reads the back under it (station.dowel.rod), places a
contact the holding arm hides when the dowel rests on it, and reports "not measured" with its reason when
it is not found or a hand hides a region it cannot place, never a made-up number.

Cost: DowelTracker.update takes 2-4.5 ms per 848x480 frame (bench/dowel.py), fine at 30 fps. When the
worker falls behind (a frame already older than `behind_s` when it is processed) every other frame is
skipped rather than blocking the plate; the core then waits for the next measured frame (expect_dowel),
nothing is invented.
"""

from __future__ import annotations

import time

import numpy as np

from drivers.samples import CameraFrame
from station.config import StationConfig
from station.dowel.frame import DowelFrame
from station.dowel.tracker import DowelTracker
from station.results import RepResult


def is_dowel_drill(drill: str | None) -> bool:
    """A drill done with a real dowel on the back (dowel_hinge): the virtual dowel cannot see the back."""
    return "dowel" in str(drill or "").lower()


class DowelStep:
    """Per camera frame: the virtual dowel (see the module docstring)."""

    def __init__(self, config: StationConfig, camera_T: np.ndarray | None, *, holding_dowel: bool = False,
                 behind_s: float = 0.1) -> None:
        self.tracker = DowelTracker(config, camera_T, holding_dowel=holding_dowel)
        self.behind_s = float(behind_s)
        self.skipped = 0
        self._skipped_last = False
        self.latest: DowelFrame | None = None
        self._unmeasured: list[tuple[float, str]] = []  # (t_s, reason) of frames not measured

    def explain(self, rep: RepResult) -> None:
        """A rep without a dowel gap gets the commonest reason of its unmeasured frames in notes["dowel"]."""
        notes = getattr(rep, "notes", None)
        if notes is None or getattr(rep, "dowel_gap_mm", None) is not None:
            return
        why = [r for t, r in self._unmeasured if rep.t_start <= t <= rep.t_end]
        if why:
            notes["dowel"] = "not measured: " + max(set(why), key=why.count)

    def update(self, frame: CameraFrame, positions: dict[str, np.ndarray], t_s: float,
               now_ns: int | None = None) -> DowelFrame | None:
        """The frame's DowelFrame (not measured + reason without depth); None when skipped (worker behind)."""
        if frame.depth is None:
            return DowelFrame(float(t_s), None, "no depth image in this frame")
        now = time.monotonic_ns() if now_ns is None else now_ns
        behind = frame.t_host_ns > 0 and (now - frame.t_host_ns) / 1e9 > self.behind_s
        if behind and not self._skipped_last:
            self._skipped_last = True
            self.skipped += 1
            return None
        self._skipped_last = False
        try:
            out = self.tracker.update(frame, positions, t_s)
        except Exception as exc:  # a failing frame is "not measured", never a stopped trial
            out = DowelFrame(float(t_s), None, f"dowel failed on this frame: {type(exc).__name__}: {exc}")
        return self.accept(out)

    def accept(self, out: DowelFrame | None) -> DowelFrame | None:
        """A frame's result, measured here (update) or by another process's DowelStep (the camera
        process, station.trial.camera_process: None when it skipped the frame), kept for explain()."""
        if out is None:
            self.skipped += 1
            return None
        self.latest = out
        if out.gap_mm is None and out.reason:
            self._unmeasured.append((out.t_s, out.reason))
        return out
