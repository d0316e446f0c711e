"""Virtual dowel: time per 848x480 depth frame on one core (median, p95), rendered virtual-subject frames.

Run: /work/venv/bin/python bench/dowel.py [--quick]   -> bench/results/dowel.json
Goal (issue 8): at most 5 ms per frame. Rendering is not timed; only DowelTracker.update.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._results import machine_fields, write_results  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results" / "dowel.json"


def main() -> int:
    import cv2

    cv2.setNumThreads(1)  # one core
    from drivers.samples import CameraFrame
    from drivers.sim.render import Renderer
    from drivers.sim.subject import VirtualSubject
    from station.config import StationConfig
    from station.dowel.tracker import DowelTracker

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer frames")
    args = ap.parse_args()
    cfg = StationConfig()

    def run(arms: str, holding_dowel: bool, cfg: StationConfig) -> tuple[np.ndarray, int]:
        subject = VirtualSubject("rounding", reps=1, fidget=False, arms=arms, config=cfg, seed=0)
        renderer = Renderer(config=cfg, seed=0)
        n_frames = 20 if args.quick else 60
        times = np.linspace(1.0, subject.duration_s - 0.5, n_frames)  # standing, descent, bottom, ascent
        frames, markers = [], []
        for i, t in enumerate(times):
            depth, ir = renderer.render(subject.pose(t))
            frames.append(CameraFrame(i, 1000 * t, "hardware_clock", 0, depth, ir, renderer.depth_scale_m,
                                      renderer.intrinsics))
            markers.append({k: v[0] for k, v in subject.markers(np.array([t])).items()})
        tracker = DowelTracker(cfg, holding_dowel=holding_dowel)
        tracker.update(frames[0], markers[0], times[0])  # geometry set-up is once per camera
        per_frame_ms, measured = [], 0
        for _ in range(3 if args.quick else 5):
            for f, m, t in zip(frames, markers, times, strict=True):
                t0 = time.process_time()
                d = tracker.update(f, m, t)
                per_frame_ms.append(1000 * (time.process_time() - t0))
                measured += d.gap_mm is not None
        return np.array(per_frame_ms).reshape(-1, len(frames)), measured

    def stats(ms: np.ndarray) -> dict:
        # the median over every call, and over each frame's fastest repeat: a shared VM slows whole
        # stretches of a run down (by up to half); the best repeat is what the code itself needs
        return {"frames": int(ms.size), "median_ms": round(float(np.median(ms)), 3),
                "p95_ms": round(float(np.percentile(ms, 95)), 3),
                "median_best_of_repeats_ms": round(float(np.median(ms.min(axis=0))), 3)}

    ms, measured = run("crossed", False, cfg)
    # a real dowel held on the back, found and read around; from the left, where the hand behind the neck
    # does not hide the head, so the whole measurement runs (from the right most frames stop at "hidden")
    left = StationConfig()
    left.camera.side, left.camera.position_m = "left", [0.0, 2.2, 0.9]
    rod_ms, rod_measured = run("dowel", True, left)
    result = {
        "what": "DowelTracker.update per 848x480 frame, CPU time of this process (one thread)",
        "resolution": [cfg.camera.width, cfg.camera.height],
        **stats(ms), "measured_frames": int(measured),
        "real_dowel": {"camera_side": "left", **stats(rod_ms), "measured_frames": int(rod_measured)},
        "goal_ms": 5.0, **machine_fields(),
    }
    write_results(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
