"""Power loss, the long version of tests/trial/test_kill.py's loop: SIGKILL `hinge-station record` at random
moments (random.Random(seed)), with the archive on, many times; after each kill the trial file and the
archive must open, at most 1 s of plate data may be lost, and no archive row may point at data that is not
there (tests/support/kill_loop.py). Writes bench/results/kill_loop.json.

    .venv/bin/python bench/kill_loop.py [--runs 100] [--camera] [--duration 3] [--seed 7]

--camera adds the simulated camera (`sim:hinge` plate and camera: the render process, markers, the virtual
dowel) to every run; the kill window then stretches over the longer start-up and stop.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._results import machine_fields, write_results  # noqa: E402
from tests.support.kill_loop import LOSS_BOUND_S, kill_loop, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds each recording asks for")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--camera", action="store_true", help="sim:hinge camera too (slower runs)")
    opts = parser.parse_args()
    plate, camera = ("sim:hinge", "sim:hinge") if opts.camera else ("sim:stand", None)
    # kill anywhere from start-up to a little after the recording would have ended and been indexed
    window = (0.2, opts.duration + (6.0 if opts.camera else 1.6))
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        runs = kill_loop(Path(tmp), runs=opts.runs, seed=opts.seed, duration_s=opts.duration,
                         kill_window_s=window, plate=plate, camera=camera)
    result = summary(runs)
    result.pop("each")
    write_results(ROOT / "bench" / "results" / "kill_loop.json",
                  {"plate": plate, "camera": camera, "duration_s": opts.duration, "seed": opts.seed,
                   "kill_window_s": list(window), "loss_bound_s": LOSS_BOUND_S,
                   "holds": not result["problems"], **result, "wall_s": round(time.monotonic() - t0, 1),
                   "load_avg_1min_before": round(load_before, 2),
                   "load_avg_1min_after": round(os.getloadavg()[0], 2),
                   **machine_fields()})
    if result["problems"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
