"""Core speed: analysis x real time for a 60 s trial (1 kHz force + 30 fps markers, no depth frames),
live cost per force chunk and per marker frame, and the trial-time delay from a rep's end to its result.

Run: /work/venv/bin/python bench/core.py  ->  bench/results/core.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.sim.subject import VirtualSubject  # noqa: E402
from station.analysis.analyze import analyze_blocks  # noqa: E402
from station.config import StationConfig  # noqa: E402
from station.core.hinge_core import HingeCore  # noqa: E402
from station.streams import ForceBlock, MarkerBlock  # noqa: E402
from tests.support.sim_trials import measured  # noqa: E402


def live_run(force: ForceBlock, markers: MarkerBlock, config: StationConfig, force_chunk: int = 10):
    """Force in chunks of force_chunk samples (10 ms), markers frame by frame, in time order."""
    core = HingeCore(config)
    force_costs, frame_costs, rep_delay_s, rep_cost_s = [], [], [], []
    j = 0
    for i, t in enumerate(markers.t_s):
        k = int(np.searchsorted(force.t_s, t, side="right"))
        while j < k:
            stop = min(j + force_chunk, k)
            block = ForceBlock(force.t_s[j:stop], force.cells_n[j:stop])
            t0 = time.perf_counter()
            core.push_force(block)
            force_costs.append(time.perf_counter() - t0)
            j = stop
        frame = MarkerBlock(markers.t_s[i:i + 1], {n: p[i:i + 1] for n, p in markers.positions.items()})
        t0 = time.perf_counter()
        core.push_markers(frame)
        reps = core.poll()
        cost = time.perf_counter() - t0
        frame_costs.append(cost)
        for rep in reps:
            rep_delay_s.append(float(t - rep.t_end))
            rep_cost_s.append(cost)
    core.finish()
    return np.array(force_costs), np.array(frame_costs), rep_delay_s, rep_cost_s


def main() -> None:
    subject = VirtualSubject("hinge", reps=12, seed=1)
    config = StationConfig()
    force, markers = measured(subject, seed=1)
    cut = 60.0
    force = ForceBlock(force.t_s[force.t_s < cut], force.cells_n[force.t_s < cut])
    keep = markers.t_s < cut
    markers = MarkerBlock(markers.t_s[keep], {k: v[keep] for k, v in markers.positions.items()})
    duration = float(markers.t_s[-1])
    analyze_blocks(force, markers, config, source="warm-up")
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = analyze_blocks(force, markers, config, source="bench")
        runs.append(time.perf_counter() - t0)
    force_costs, frame_costs, delays, rep_costs = live_run(force, markers, config)
    out = {
        "trial_s": duration, "reps": len(result.reps),
        "analysis_s": min(runs), "analysis_x_real_time": duration / min(runs), "goal_x_real_time": 200,
        "live_force_chunk_10_samples_ms": {"median": 1e3 * float(np.median(force_costs)),
                                           "p99": 1e3 * float(np.percentile(force_costs, 99)),
                                           "max": 1e3 * float(force_costs.max())},
        "live_marker_frame_ms": {"median": 1e3 * float(np.median(frame_costs)),
                                 "p99": 1e3 * float(np.percentile(frame_costs, 99)),
                                 "max": 1e3 * float(frame_costs.max())},
        "rep_result_after_rep_end_ms": {
            "trial_time_max": 1e3 * max(delays), "trial_time_mean": 1e3 * float(np.mean(delays)),
            "compute_max": 1e3 * max(rep_costs),
            "total_max": 1e3 * max(d + c for d, c in zip(delays, rep_costs, strict=True)), "goal": 100},
    }
    path = ROOT / "bench" / "results" / "core.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
