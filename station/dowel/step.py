"""The virtual dowel in the trial paths (live runner, recording, .h5/.db3 analysis, replay).

DowelStep wraps dowel.tracker.DowelTracker for a stream of camera frames: one DowelFrame per frame with
depth, the DowelBlock row the core consumes, a small copyable dict for the live snapshot, and the row the
trial file stores (/dowel, docs/trial-format.md). A dowel drill (drill name containing "dowel") has a
real dowel on the back: the tracker expects it, reads the back under it (station.dowel.rod), and reports
"not measured" with its reason when it is not found or a hand hides a region, never a made-up number.

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
from station.dowel.tracker import REGIONS, DowelFrame, DowelTracker
from station.streams import DOWEL_REGIONS, DowelBlock

REASON_BYTES = 160  # fixed-length reason text in the trial file (SWMR cannot append variable strings)


def is_dowel_drill(drill: object) -> bool:
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

    def explain(self, rep: object) -> None:
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
        self.latest = out
        if out.gap_mm is None and out.reason:
            self._unmeasured.append((out.t_s, out.reason))
        return out


def live_dict(frame: DowelFrame) -> dict:
    """What the live snapshot carries (LiveSnapshot.live["dowel"]): plain floats/tuples, small."""
    overlay = frame.overlay(with_contour=False)  # the dashboard draws line, contacts and gaps
    return {"t_s": frame.t_s, "gap_mm": dict(frame.gap_mm) if frame.gap_mm else None,
            "worst_region": frame.worst_region, "worst_gap_mm": frame.worst_gap_mm,
            "lumbar_curve_mm": frame.lumbar_curve_mm, "reason": frame.reason, "overlay": overlay}


def block_of(frame: DowelFrame) -> DowelBlock:
    """One frame as the core's DowelBlock."""
    gap = np.nan if frame.worst_gap_mm is None else frame.worst_gap_mm
    region = DOWEL_REGIONS.index(frame.worst_region) if frame.worst_region in DOWEL_REGIONS else 0
    return DowelBlock(np.array([frame.t_s]), np.array([gap], float), np.array([region], np.int64))


def record_row(frame: DowelFrame) -> dict[str, np.ndarray]:
    """The /dowel row of one frame (trial_format.DOWEL_DATASETS)."""
    gaps = [np.nan if frame.gap_mm is None else frame.gap_mm[r] for r in REGIONS]
    region = DOWEL_REGIONS.index(frame.worst_region) if frame.worst_region in DOWEL_REGIONS else -1
    return {"t_s": np.array([frame.t_s]), "gap_mm": np.array([gaps], float),
            "worst_gap_mm": np.array([np.nan if frame.worst_gap_mm is None else frame.worst_gap_mm]),
            "worst_region": np.array([region], np.int8),
            "lumbar_curve_mm": np.array([np.nan if frame.lumbar_curve_mm is None else frame.lumbar_curve_mm]),
            "reason": np.array([(frame.reason or "").encode()[:REASON_BYTES]], f"S{REASON_BYTES}")}


def block_from_record(rec: dict[str, np.ndarray]) -> DowelBlock:
    """The stored /dowel series -> the core's DowelBlock (unmeasured rows NaN)."""
    region = np.asarray(rec["worst_region"], np.int64)
    return DowelBlock(np.asarray(rec["t_s"], float), np.asarray(rec["worst_gap_mm"], float),
                      np.where(region < 0, 0, region))


def frames_from_record(rec: dict[str, np.ndarray]) -> list[DowelFrame]:
    """The stored series back as DowelFrames (gaps, worst, curve, reason; no pixels)."""
    out = []
    for i, t in enumerate(rec["t_s"]):
        g = rec["gap_mm"][i]
        k = int(rec["worst_region"][i])
        reason = rec["reason"][i].rstrip(b"\0").decode(errors="replace") or None
        gaps = None if not np.all(np.isfinite(g)) else {r: float(v) for r, v in zip(REGIONS, g, strict=True)}
        curve = float(rec["lumbar_curve_mm"][i])
        out.append(DowelFrame(float(t), gaps, reason, DOWEL_REGIONS[k] if k >= 0 else None,
                              float(rec["worst_gap_mm"][i]) if gaps else None,
                              curve if np.isfinite(curve) else None))
    return out
