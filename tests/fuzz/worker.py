"""The fuzz worker: a child process that runs one reader per request, so that a hang or a native crash
(segfault, abort, out of memory) in a reader is caught by the parent (tests/fuzz/harness.py) and charged
to the one input that caused it, instead of taking the test run down.

Protocol: one JSON request per line on stdin, {"target": NAME, "path": FILE}; one JSON line back per
request: {"steps": [[step, outcome, message], ...]} with outcome "ok", "station_error" (message = the
error's text) or "crash" (message = type, text and traceback). Started as `python -m tests.fuzz.worker`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

# address space of a worker: a reader that allocates without end fails here (std::bad_alloc, MemoryError),
# which the property counts as a failure, instead of taking the machine's memory
MEMORY_LIMIT_BYTES = 3 << 30


def _options():
    from station.analysis.inputs import LoadOptions
    from station.config import StationConfig

    return LoadOptions(config=StationConfig())


def _analyze(path: Path) -> None:
    """What `hinge-station analyze FILE` does with a recorded input (.c3d, .h5, .db3)."""
    from station.analysis.analyze import analyze_path

    result = analyze_path(path, _options())
    json.dumps(result.to_json(), allow_nan=True)  # what `analyze --json` prints must be JSON-able


def _trial_summary(path: Path) -> None:
    """What `archive scan` reads of a trial file."""
    from station.recording.reader import read_trial_summary

    read_trial_summary(path)


def _make_db3_seed(name: str) -> Callable[[Path], None]:
    """`hinge-station sim camera ... --out PATH` in this process (it has pyrealsense2 loaded already)."""

    def make(path: Path) -> None:
        from station.cli import main
        from tests.fuzz.seeds import DB3_SEEDS

        code = main(["sim", "camera", *DB3_SEEDS[name], "--out", str(path)])
        if code:
            raise RuntimeError(f"sim camera exit code {code}")

    return make


TARGETS: dict[str, list[tuple[str, Callable[[Path], None]]]] = {
    "c3d": [("analyze", _analyze)],
    "db3": [("analyze", _analyze)],
    "h5": [("analyze", _analyze), ("read_trial_summary", _trial_summary)],
    "make_db3:sim_hinge": [("sim camera", _make_db3_seed("sim_hinge"))],
    "make_db3:sim_hinge_png": [("sim camera", _make_db3_seed("sim_hinge_png"))],
}


def run(target: str, path: Path) -> list[list[str]]:
    steps = []
    for name, step in TARGETS[target]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                step(path)
            steps.append([name, "ok", ""])
        except Exception as exc:  # noqa: BLE001 - sorting every failure is the point
            from station.errors import StationError

            if isinstance(exc, StationError):
                steps.append([name, "station_error", str(exc)])
            else:
                steps.append([name, "crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"])
    return steps


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        replies.write(json.dumps({"steps": run(request["target"], Path(request["path"]))}) + "\n")


if __name__ == "__main__":
    main()
