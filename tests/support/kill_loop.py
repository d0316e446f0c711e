"""Power loss, many times over: SIGKILL `hinge-station record` at random moments, with the archive on, and
check after each kill that the trial file and the archive open, that at most LOSS_BOUND_S of data was lost,
and that no archive row points at data that is not there.

Starting a fresh interpreter per run costs seconds of imports on a busy 2-core host, so a "zygote" process
imports the station once and forks one recording process per run (no threads exist in it when it forks);
each child runs the real `record` command (station.cli.main) and is killed with SIGKILL by the zygote at
the moment the test asks for. Used by tests/trial/test_kill.py (20 kills) and bench/kill_loop.py (longer).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path

LOSS_BOUND_S = 1.0
REPO = Path(__file__).resolve().parents[2]

_ZYGOTE = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    sys.path[:0] = [{repo!r}]
    import h5py, numpy, scipy.signal, serial, sqlalchemy  # noqa: F401 - what every run needs, imported once
    import station.cli, station.commands.record, station.recording.writer, station.trial.runner  # noqa
    import station.archive.station_archive, station.archive.store, station.archive.audit  # noqa
    import drivers.sim.simplate, drivers.forceplate, drivers.registry, calibration.clocks  # noqa
    import station.core.hinge_core, station.trial.consumers, station.archive.index  # noqa
    print("READY", threading.active_count(), flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "RUN":
            spec = json.loads(arg)
            fork_ns = time.monotonic_ns()
            pid = os.fork()
            if pid == 0:  # the recording process
                fd = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                try:
                    code = station.cli.main(spec["argv"])
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:
                    import traceback
                    traceback.print_exc()
                    code = 1
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code or 0)
            print("PID", pid, fork_ns, flush=True)
        elif cmd == "KILL":
            pid, at_ns = (int(x) for x in arg.split())
            done, status = os.waitpid(pid, os.WNOHANG)
            while done == 0 and time.monotonic_ns() < at_ns:  # a run that ends first is not waited for
                time.sleep(min(0.005, max(0.0, (at_ns - time.monotonic_ns()) / 1e9)))
                done, status = os.waitpid(pid, os.WNOHANG)
            kill_ns = time.monotonic_ns()
            if done == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                print("KILLED", pid, kill_ns, "killed", flush=True)
            else:
                print("KILLED", pid, kill_ns, "exited:%d" % os.waitstatus_to_exitcode(status), flush=True)
""")


@dataclass
class KillRun:
    """One run: when it was killed (s after the fork), what the file and the archive said."""

    index: int
    kill_after_s: float
    outcome: str = ""  # "killed" or "exited:N" (the recording ended before the kill moment)
    file: str = "none"  # "none" (killed before the file existed), "interrupted", "complete"
    lost_s: float | None = None  # kill moment minus the last plate sample on file (killed runs)
    sources_started: bool = False  # the command said "recording to": its sources were streaming
    last_sample_s: float | None = None
    archive_rows: int = 0
    problems: list[str] = field(default_factory=list)


class Zygote:
    """The forking parent (a subprocess); `run(argv, log)` -> pid and fork time, `kill(pid, at_ns)`."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _ZYGOTE.format(repo=str(REPO))], cwd=REPO,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError(f"kill-loop zygote did not start: {ready}")
        self.threads_at_fork = int(ready[1])

    def _ask(self, line: str, expect: str) -> list[str]:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if not reply or reply[0] != expect:
            raise RuntimeError(f"kill-loop zygote: {line!r} -> {reply}")
        return reply[1:]

    def run(self, argv: list[str], log: Path) -> tuple[int, int]:
        pid, fork_ns = self._ask("RUN " + json.dumps({"argv": argv, "log": str(log)}), "PID")
        return int(pid), int(fork_ns)

    def kill(self, pid: int, at_ns: int) -> tuple[int, str]:
        _, kill_ns, outcome = self._ask(f"KILL {pid} {at_ns}", "KILLED")
        return int(kill_ns), outcome

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(path: Path, kill_ns: int, run: KillRun) -> None:
    """The trial file (if the kill came after it was made) opens, and what was lost is within the bound."""
    import h5py

    from station.recording.reader import read_trial

    if not path.exists():
        return
    try:
        with h5py.File(path, "r", swmr=True) as f:  # opens as a SWMR reader, no repair step
            t0_ns = int(f.attrs["t0_host_ns"]) if "t0_host_ns" in f.attrs else None
            arrived_ns = f["plate/raw/t_host_ns"][:] if "plate/raw/t_host_ns" in f else []
        trial = read_trial(path)
    except Exception as exc:  # noqa: BLE001 - the finding is the point
        run.file = "unreadable"
        run.problems.append(f"{path.name}: does not open: {type(exc).__name__}: {exc}")
        return
    run.file = "complete" if trial.complete else "interrupted"
    if trial.complete or run.outcome != "killed" or t0_ns is None:
        return
    # lost: plate samples that had reached the station (host arrival) but not the disk, up to the kill
    run.last_sample_s = round((int(arrived_ns[-1]) - t0_ns) / 1e9, 3) if len(arrived_ns) else None
    if run.last_sample_s is None and not run.sources_started:
        run.lost_s = 0.0  # killed while its devices were still opening (t0 comes first): no data yet
        return
    since_t0_s = (kill_ns - t0_ns) / 1e9
    run.lost_s = round(since_t0_s - max(run.last_sample_s or 0.0, 0.0), 3)
    if run.lost_s > LOSS_BOUND_S:
        run.problems.append(f"{path.name}: {run.lost_s:.2f} s lost (killed {since_t0_s:.2f} s after t0, last "
                            f"sample at {run.last_sample_s})")


def check_archive(url: str, data_root: Path, run: KillRun) -> None:
    """The archive opens (the station's own way and as SQLite), is intact, and every trial row's file is
    there with the bytes the row says."""
    from station.archive.store import open_archive
    from station.recording.reader import read_trial

    try:
        archive = open_archive(url, write=False)
        archive.dispose()
    except Exception as exc:  # noqa: BLE001
        run.problems.append(f"archive does not open: {type(exc).__name__}: {exc}")
        return
    con = sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro", uri=True)
    try:
        if (ok := con.execute("PRAGMA integrity_check").fetchone()[0]) != "ok":
            run.problems.append(f"archive integrity_check: {ok}")
        rows = con.execute("SELECT file_path, file_sha256, file_size, status FROM trials").fetchall()
    finally:
        con.close()
    run.archive_rows = len(rows)
    for rel, digest, size, status in rows:
        p = data_root / rel
        if not p.exists():
            run.problems.append(f"archive row points at {rel}, which is not there")
        elif p.stat().st_size != size or sha256(p) != digest:
            run.problems.append(f"archive row for {rel} does not match the file's bytes")
        elif status == "complete" and not read_trial(p).complete:
            run.problems.append(f"archive says {rel} is complete; the file is not")


def kill_loop(workdir: Path, *, runs: int = 20, seed: int = 20, duration_s: float = 1.0,
              kill_window_s: tuple[float, float] | None = None, plate: str = "sim:stand",
              camera: str | None = None, log=print) -> list[KillRun]:
    """`runs` recordings of `duration_s` (the plate: `sim:stand`, a person standing still, needs no
    virtual subject built per run; `sim:hinge` plate and camera in bench/kill_loop.py), each killed at a
    moment drawn uniformly from kill_window_s (seconds after its fork; random.Random(seed)): some while it
    starts, records, stops, writes and indexes, some after it ended.

    Without kill_window_s the window is set from one recording let run to its end first (its lifetime L,
    0.1 L to 1.25 L): how long a run lives depends on the host's load, and a fixed window put most kills
    after the end on a quiet host and none after it on a busy one."""
    from station.archive.store import open_archive

    rng = random.Random(seed)
    data_root = workdir / "data"
    (data_root / "recordings").mkdir(parents=True, exist_ok=True, mode=0o700)
    url = f"sqlite:///{data_root / 'hinge-archive.sqlite'}"
    open_archive(url).dispose()  # the station's archive exists already (an empty one is refused by readers)
    env = dict(os.environ, HINGE_ARCHIVE_URL=url, HINGE_DATA_ROOT=str(data_root), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    zygote = Zygote(env)
    out: list[KillRun] = []
    try:
        if kill_window_s is None:
            lifetime_s = _lifetime_s(zygote, workdir, data_root, duration_s, plate, camera)
            kill_window_s = (round(0.1 * lifetime_s, 3), round(1.25 * lifetime_s, 3))
            log(f"one run lives {lifetime_s:.2f} s: kills from {kill_window_s[0]} to {kill_window_s[1]} s")
        for i in range(runs):
            run = KillRun(i, round(rng.uniform(*kill_window_s), 3))
            path = data_root / "recordings" / f"kill-{i:02d}.h5"
            argv = _record_argv(plate, camera, duration_s, path)
            pid, fork_ns = zygote.run(argv, workdir / f"kill-{i:02d}.log")
            kill_ns, run.outcome = zygote.kill(pid, fork_ns + int(run.kill_after_s * 1e9))
            said = (workdir / f"kill-{i:02d}.log").read_text(errors="replace")
            run.sources_started = "recording to" in said
            check_file(path, kill_ns, run)
            check_archive(url, data_root, run)
            problems = f"; PROBLEMS: {run.problems}" if run.problems else ""
            log(f"kill {i:2d} at {run.kill_after_s:.2f} s: {run.outcome}, file {run.file}, lost {run.lost_s} "
                f"s, archive rows {run.archive_rows}{problems}")
            out.append(run)
    finally:
        zygote.close()
    return out


def _record_argv(plate: str, camera: str | None, duration_s: float, path: Path) -> list[str]:
    return ["record", "--plate", plate, *(["--camera", camera] if camera else []), "--subject", "K1",
            "--drill", "bw_rdl", "--duration", str(duration_s), "--out", str(path)]


def _lifetime_s(zygote: Zygote, workdir: Path, data_root: Path, duration_s: float, plate: str,
                camera: str | None) -> float:
    """Seconds from fork to exit of one recording nobody kills (it is indexed like the others)."""
    path = data_root / "recordings" / "lifetime.h5"
    pid, fork_ns = zygote.run(_record_argv(plate, camera, duration_s, path), workdir / "lifetime.log")
    end_ns, outcome = zygote.kill(pid, fork_ns + int(600e9))
    if outcome != "exited:0":
        said = (workdir / "lifetime.log").read_text()
        raise RuntimeError(f"kill loop: the unkilled run ended {outcome}: {said}")
    return (end_ns - fork_ns) / 1e9


def summary(runs: list[KillRun]) -> dict:
    lost = [r.lost_s for r in runs if r.lost_s is not None]
    kinds = ("none", "interrupted", "complete", "unreadable")
    return {"runs": len(runs), "killed": sum(r.outcome == "killed" for r in runs),
            "files": {k: sum(r.file == k for r in runs) for k in kinds},
            "lost_s_max": max(lost) if lost else None,
            "lost_s_median": sorted(lost)[len(lost) // 2] if lost else None,
            "archive_rows": runs[-1].archive_rows if runs else 0,
            "problems": [p for r in runs for p in r.problems], "each": [asdict(r) for r in runs]}
