"""The simulator's own cost: what every simulated camera frame (render workers, demo) and most tests pay.
Building a virtual subject, its pose at one instant, a Renderer, one rendered 848x480 frame, and the bytes a
render worker receives (the pickled subject and renderer).

Run: .venv/bin/python bench/sim.py   -> bench/results/sim.json
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._results import machine_fields, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "sim.json"
CASES = (("hinge", "crossed"), ("rounding", "dowel"), ("squat", "weights"), ("hinge", "hanging"),
         ("swing", "swing"))


def _best_ms(fn, repeat: int = 5) -> float:
    """The best of `repeat` runs (ms): the cost without the host's other work."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1000.0 * best


def main() -> int:
    from drivers.sim.render import Renderer
    from drivers.sim.subject import VirtualSubject
    from station.config import StationConfig

    cfg = StationConfig()
    cfg.camera.width, cfg.camera.height = 848, 480
    rows = []
    for pattern, arms in CASES:
        subject = VirtualSubject(pattern, arms=arms, config=cfg)
        times = np.linspace(0.0, subject.duration_s - 0.1, 120)
        renderer = Renderer(config=cfg, seed=1)
        poses = [subject.pose(float(t)) for t in times]
        render_ms = []
        for pose in poses:
            t0 = time.perf_counter()
            renderer.render(pose)
            render_ms.append(1000.0 * (time.perf_counter() - t0))
        build_ms = _best_ms(lambda p=pattern, a=arms: VirtualSubject(p, arms=a, config=cfg), 3)
        pose_ms = _best_ms(lambda s=subject, ts=times: [s.pose(float(t)) for t in ts]) / len(times)
        rows.append({"pattern": pattern, "arms": arms, "build_subject_ms": round(build_ms, 1),
                     "pose_ms": round(pose_ms, 3), "render_median_ms": round(float(np.median(render_ms)), 2),
                     "render_p95_ms": round(float(np.percentile(render_ms, 95)), 2)})
    seeds = iter(range(1000, 2000))
    result = {
        "what": "virtual subject build, pose at one instant (best of 5 over 120 instants), 848x480 render",
        "cases": rows,
        "new_renderer_ms": round(_best_ms(lambda: Renderer(config=cfg, seed=1)), 2),  # a camera and seed seen
        "new_renderer_new_seed_ms": round(_best_ms(lambda: Renderer(config=cfg, seed=next(seeds))), 1),
        "render_worker_payload_bytes": len(pickle.dumps((VirtualSubject("hinge", config=cfg),
                                                         Renderer(config=cfg, seed=1)))),
        **machine_fields(),
    }
    write_results(RESULTS, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
