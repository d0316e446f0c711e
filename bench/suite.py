"""The test suite's time (issue 17: under 4 minutes on 2 cores, set-up excluded): `scripts/test.sh` run with
its set-up skipped (the .venv must exist: `bash scripts/setup.sh`), timed from outside. Wall time, the CPU
seconds of every process it started, the tests passed, and the files that took longest (summed test
durations, which overlap across pytest's workers).

Run: .venv/bin/python bench/suite.py   -> bench/results/suite.json   (takes as long as the suite)
A passing run also rewrites tests/file_seconds.json, every file's summed test wall and CPU seconds: what
tests/conftest.py orders the files by when it hands them to pytest's workers (busy and waiting files
alternating, each kind longest first: tests/support/file_order.py).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._results import machine_fields, write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "suite.json"
FILE_SECONDS = REPO / "tests" / "file_seconds.json"  # read by tests/conftest.py to order the files
GOAL_S = 240.0
DURATION = re.compile(r"^([\d.]+)s (?:call|setup|teardown)\s+(\S+?)::")


def main() -> int:
    costs_dir = tempfile.mkdtemp(prefix="hinge-suite-costs-")  # each pytest process's files: wall and CPU s
    env = dict(os.environ, HINGE_SETUP_DONE="1", HINGE_TEST_COSTS_OUT=costs_dir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    # every test's duration, so the slowest files can be named
    run = subprocess.run(["bash", "scripts/test.sh", "--durations=0"], cwd=REPO, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall_s = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = run.stdout
    summary = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed).* in [\d.]+s", ln)]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)\b", summary[-1])
              } if summary else {}
    per_file: dict[str, float] = defaultdict(float)
    for line in out.splitlines():
        m = DURATION.match(line)
        if m:
            per_file[m.group(2)] += float(m.group(1))
    slowest = sorted(per_file.items(), key=lambda kv: -kv[1])[:12]
    result = {
        "what": "bash scripts/test.sh, set-up skipped (ruff, import layers, pytest -n 4), wall and CPU",
        "exit_code": run.returncode, "wall_s": round(wall_s, 1), "goal_s": GOAL_S,
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "tests": counts, "load_average_at_start": round(load_before, 2),
        "slowest_files_test_s": {name: round(s, 1) for name, s in slowest},
        **machine_fields(),
    }
    write_results(RESULTS, result)
    costs = file_costs(Path(costs_dir))
    shutil.rmtree(costs_dir, ignore_errors=True)
    if run.returncode == 0 and costs:
        FILE_SECONDS.write_text(json.dumps(costs, indent=1) + "\n")
    if run.returncode != 0:  # the whole output, to read the failures (the durations push them far up)
        log = Path(tempfile.gettempdir()) / f"hinge-suite-{time.strftime('%Y%m%d-%H%M%S')}.log"
        log.write_text(out)
        print(f"suite failed (exit {run.returncode}): output in {log}", file=sys.stderr)
    return run.returncode


def file_costs(folder: Path) -> dict[str, dict[str, float]]:
    """Every file's summed wall and CPU seconds (tests/support/file_order.py), from each pytest process's
    JSON in folder; the longest first."""
    merged: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for part in folder.glob("*.json"):
        for name, (wall_s, cpu_s) in json.loads(part.read_text()).items():
            merged[name][0] += wall_s
            merged[name][1] += cpu_s
    ordered = sorted(merged.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return {name: {"wall_s": round(wall_s, 1), "cpu_s": round(cpu_s, 1)} for name, (wall_s, cpu_s) in ordered}


if __name__ == "__main__":
    sys.exit(main())
