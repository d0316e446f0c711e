"""What every fuzz target shares: the budgets, the property, the worker process and the hang guard.

The property (issue 20, item 8): a reader given any input either returns a result or raises a
StationError whose message is one line naming the file (or port); it never raises anything else, never
dies and never hangs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hypothesis import HealthCheck, settings

from station.errors import StationError

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"


def budget(max_examples: int) -> settings:
    """A fixed, deterministic budget: the same examples on every run and every machine, no database.
    HINGE_FUZZ_SCALE=N runs N times as many (a longer hunt, by hand or nightly)."""
    scale = max(1, int(os.environ.get("HINGE_FUZZ_SCALE", "1")))
    return settings(max_examples=max_examples * scale, deadline=None, derandomize=True, database=None,
                    print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example,
                                           HealthCheck.function_scoped_fixture])


class Seeds(dict):
    """name -> seed (bytes or path), shown short when hypothesis reports a failing example."""

    def __repr__(self) -> str:
        return f"<seeds {', '.join(self)}>"


class Hang(Exception):
    """A reader took longer than its guard allows."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Hang guard for readers run in this process (main thread): SIGALRM interrupts them."""

    def _expired(signum, frame):
        raise Hang(f"{what}: no result after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_station_error(exc: BaseException, names: str | Path, what: str = "") -> None:
    """The error a user may see: a StationError, one line, naming the file or port."""
    assert isinstance(exc, StationError), f"{what}: {type(exc).__name__}: {exc}"
    message = str(exc)
    assert "\n" not in message and "\r" not in message, f"{what}: message is not one line: {message!r}"
    assert str(names) in message, f"{what}: message does not name {names}: {message!r}"


def run_guarded(call, names: str | Path, what: str, timeout_s: float = 5.0):
    """call() in this process under the hang guard; the result, or None after a proper StationError."""
    try:
        with time_limit(timeout_s, what):
            return call()
    except StationError as exc:
        check_station_error(exc, names, what)
    return None


def keep_crasher(target: str, data: bytes, suffix: str) -> Path:
    """Save an input that broke the property where a person can add it to the corpus.

    Hypothesis shrinks a failure, then runs the minimised example once more: the failure report names
    that last file (names sort by time). Copy it to tests/fuzz/corpus/<target>/ to keep it."""
    default = Path(tempfile.gettempdir()) / "hinge-fuzz-crashers"
    folder = Path(os.environ.get("HINGE_FUZZ_CRASHERS") or default) / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}-{len(data)}-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    path.write_bytes(data)
    return path


class Worker:
    """A tests/fuzz/worker.py child; run() gives each step's (outcome, message) or "hang" / "died"."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def _start(self) -> None:
        self.starts += 1
        self.log = open(self.log_dir / f"worker-{self.starts}.log", "wb")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
        env.pop("HINGE_STATION_CONFIG", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, bufsize=1)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.replies), daemon=True).start()

    @staticmethod
    def _read(proc: subprocess.Popen, replies: queue.Queue) -> None:
        for line in proc.stdout:
            replies.put(line)
        replies.put(None)  # end of stream: the process has died

    def run(self, target: str, path: Path, timeout_s: float) -> list[tuple[str, str, str]]:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps({"target": target, "path": str(path)}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            self._kill()
            return [("worker", "hang", f"{target} {path}: no result after {timeout_s:g} s")]
        if line is None:
            code = self.proc.wait()
            self.proc = None
            return [("worker", "died", f"{target} {path}: the reader's process died (exit code {code})")]
        return [tuple(step) for step in json.loads(line)["steps"]]

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        self.proc = None


def check_worker_steps(steps: list[tuple[str, str, str]], path: Path, what: str) -> None:
    """Each step gave a result or a one-line StationError naming the file."""
    for step, outcome, message in steps:
        assert outcome in ("ok", "station_error"), f"{what} [{step}] {outcome}: {message}"
        assert "bad_alloc" not in message, f"{what} [{step}] ran out of memory (3 GB): {message}"
        if outcome == "station_error":
            check_station_error(StationError(message), path, f"{what} [{step}]")


def fuzz_file(worker: Worker, target: str, data: bytes, suffix: str, workdir: Path,
              timeout_s: float) -> None:
    """Write data to a file, run the target on it in the worker, check the property; keep a crasher."""
    path = workdir / f"input{suffix}"
    path.write_bytes(data)
    steps = worker.run(target, path, timeout_s)
    try:
        check_worker_steps(steps, path, f"{target} ({len(data)} bytes)")
    except AssertionError as exc:
        kept = keep_crasher(target, data, suffix)
        raise AssertionError(f"{exc}\n(input kept as {kept})") from None


def fuzz_recipe(worker: Worker, target: str, seed: Path, recipe: dict, suffix: str, workdir: Path,
                timeout_s: float) -> None:
    """The seed with the recipe's mutations (tests/fuzz/mutate.py) through the target; a crasher is kept
    as its recipe (JSON), which replays exactly on the same seed."""
    from tests.fuzz.mutate import materialise, recipe_text

    path = materialise(seed, recipe, workdir / f"input{suffix}")
    steps = worker.run(target, path, timeout_s)
    try:
        check_worker_steps(steps, path, f"{target} {recipe}")
    except AssertionError as exc:
        kept = keep_crasher(target, recipe_text(recipe).encode(), ".json")
        raise AssertionError(f"{exc}\n(recipe kept as {kept})") from None


def fresh_dir(base: Path, name: str) -> Path:
    path = base / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
