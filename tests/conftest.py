import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# every recording indexes itself in the archive when it ends: tests (and the commands they run as
# subprocesses, which inherit this) use a throwaway SQLite file per test process, never ./hinge-archive.sqlite
if "HINGE_ARCHIVE_URL" not in os.environ:
    import tempfile

    os.environ["HINGE_ARCHIVE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='hinge-test-archive-')}/a.sqlite"
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save screenshots and reports for a person to look at (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def run_cli(*args: str, timeout: float = 120, **kw):
    """Run `hinge-station ARGS` as a real subprocess (python -m station) from the repo root."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "station", *args], cwd=kw.pop("cwd", REPO),
                          capture_output=True, text=True, timeout=timeout, **kw)


def run_cli_together(*commands: list[str], timeout: float = 180, **kw) -> list:
    """Several `hinge-station` commands as concurrent subprocesses; their CompletedProcess in order.

    Real-time recordings mostly wait for their sources' pace: three at once take the wall time of one."""
    import subprocess

    cwd = kw.pop("cwd", REPO)
    procs = [subprocess.Popen([sys.executable, "-m", "station", *args], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, **kw) for args in commands]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        done.append(subprocess.CompletedProcess([sys.executable, "-m", "station", *args], proc.returncode,
                                                out, err))
    return done


# pytest-xdist hands each worker whole files (--dist loadfile) in collection order (test.sh turns its own
# reordering by test count off): the longest files first, so the run does not end on one worker alone
# with a 70-second file. The seconds are the last bench/suite.py run's (summed test durations per file);
# a file not listed yet goes first, as it may be long.
FILE_SECONDS = Path(__file__).resolve().parent / "file_seconds.json"


def pytest_collection_modifyitems(config, items) -> None:
    import json

    try:
        seconds = json.loads(FILE_SECONDS.read_text())
    except (OSError, ValueError):
        return

    def file_seconds(item) -> float:
        try:
            return -seconds.get(item.path.resolve().relative_to(REPO).as_posix(), float("inf"))
        except ValueError:  # not under the repository
            return -float("inf")

    items.sort(key=file_seconds)  # stable: each file's own order kept
