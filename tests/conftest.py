import gc
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# every recording indexes itself in the archive when it ends: tests (and the commands they run as
# subprocesses, which inherit this) use a throwaway SQLite file per test process, never ./hinge-archive.sqlite
if "HINGE_ARCHIVE_URL" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _archive_dir = tempfile.mkdtemp(prefix="hinge-test-archive-")
    atexit.register(shutil.rmtree, _archive_dir, True)  # the process that made it removes it
    os.environ["HINGE_ARCHIVE_URL"] = f"sqlite:///{_archive_dir}/a.sqlite"
REPO = Path(__file__).resolve().parents[1]
# The test process's garbage collector runs its collections less often (CPython's default: a young one every
# 700 new container objects, a full one every 100 young ones); with what collection loaded frozen out of them
# (pytest_collection_finish), a full collection no longer walks every module, test function and hypothesis
# table. Measured on three files (158 tests): 1.42 -> 0.37 CPU-s in the collector, 33.6 -> 31.9 CPU-s in all.
# Tests that need garbage gone collect it themselves (gc.collect()); commands run in their own processes.
gc.set_threshold(10_000, 20, 20)
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save screenshots and reports for a person to look at (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def run_cli(*args: str, timeout: float = 120, **kw):
    """Run `hinge-station ARGS` as a real process from the repo root (or cwd=, env=): a CompletedProcess.

    The process is forked from a server that has imported the station once (tests/support/warm_cli.py)."""
    return run_cli_together(list(args), timeout=timeout, **kw)[0]


def run_cli_together(*commands: list[str], timeout: float = 180, cwd=REPO, env=None) -> list:
    """Several `hinge-station` commands as concurrent processes; their CompletedProcess in order.

    Real-time recordings mostly wait for their sources' pace: three at once take the wall time of one."""
    from tests.support.warm_cli import run_commands

    return run_commands([list(map(str, c)) for c in commands], timeout=timeout, cwd=cwd, env=env)


def camera_at_15_fps(folder: Path, more_toml: str = "") -> Path:
    """A station.toml in folder that runs the camera at 15 fps, one of the D435's own rates, for recordings
    whose checks do not depend on the frame rate: each renders and tracks half the frames (a 12 s
    recording with sim plate and camera: ~1.5 CPU-s less; the suite runs its tests 4 at a time on 2 cores).
    more_toml: the test's other settings (other tables)."""
    path = Path(folder) / "station.toml"
    path.write_text("[camera]\nfps = 15\n" + more_toml)
    return path


def start_cli(*args: str, cwd=REPO, env=None):
    """`hinge-station ARGS` started and left running, as subprocess.Popen would give it (pid, poll, wait,
    terminate, communicate; stdout a text pipe, stderr.read()), forked from the same warm server."""
    from tests.support.warm_cli import start_command

    return start_command([str(a) for a in args], cwd=cwd, env=env)


# pytest-xdist hands each worker whole files (--dist loadfile), collected here longest first (test.sh turns
# xdist's reordering by test count off), each chosen so that files that wait on real-time sources run on at
# most half the workers (pytest_xdist_make_scheduler below): the 2 cores stay busy and the run does not end
# on one worker alone with a 70-second file (tests/support/file_order.py). The costs are the last
# bench/suite.py run's; a file not listed yet goes first, as it may be long. bench/suite.py measures them:
# HINGE_TEST_COSTS_OUT names a folder where each pytest process writes its files' wall and CPU seconds.
FILE_SECONDS = Path(__file__).resolve().parent / "file_seconds.json"
_costs_out = os.environ.get("HINGE_TEST_COSTS_OUT")
_measured: dict[str, list[float]] = {}


def pytest_collection_finish(session) -> None:
    gc.collect()
    gc.freeze()  # what collection loaded stays out of every later collection (see gc.set_threshold above)


def pytest_collection_modifyitems(config, items) -> None:
    from tests.support.file_order import longest_first, read_costs

    rank = {name: i for i, name in enumerate(longest_first(read_costs(FILE_SECONDS)))}

    def handing_out_rank(item) -> int:
        try:
            return rank.get(item.path.resolve().relative_to(REPO).as_posix(), -1)
        except ValueError:  # not under the repository
            return -1

    items.sort(key=handing_out_rank)  # stable: each file's own order kept


# optional: pytest run without xdist (-p no:xdist) does not know the hook
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile: each file handed out chosen by what the other workers run (the files that wait on
    real-time sources on at most half of them: tests/support/mixed_scheduling.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.support.file_order import read_costs
    from tests.support.mixed_scheduling import MixedLoadFileScheduling

    return MixedLoadFileScheduling(config, log, read_costs(FILE_SECONDS))


if _costs_out:
    import time

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        from tests.support.file_order import cpu_seconds
        from tests.support.warm_cli import running_server_pid

        wall0, cpu0 = time.monotonic(), cpu_seconds(running_server_pid())
        yield
        wall_cpu = _measured.setdefault(item.path.resolve().relative_to(REPO).as_posix(), [0.0, 0.0])
        wall_cpu[0] += time.monotonic() - wall0
        wall_cpu[1] += cpu_seconds(running_server_pid()) - cpu0

    def pytest_sessionfinish(session) -> None:
        import json

        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(_costs_out, f"{worker}.json").write_text(json.dumps(_measured))
