"""Power loss, many times over: SIGKILL `hinge-station record` at random moments, with the archive on, and
check after each kill that the trial file and the archive open, that at most LOSS_BOUND_S of data was lost,
and that no archive row points at data that is not there.

Starting a fresh interpreter per run costs seconds of imports on a busy 2-core host, so each run is a
`record` process forked from the tests' warm server (tests/support/warm_cli.py: the station imported once,
no thread running when it forks), killed with SIGKILL at the moment the test asks for. Used by
tests/trial/test_kill.py (20 kills) and bench/kill_loop.py (longer).
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.support.warm_cli import WarmProcess, the_server

LOSS_BOUND_S = 1.0
REPO = Path(__file__).resolve().parents[2]

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


def _start(argv: list[str], log: Path, env: dict[str, str]) -> WarmProcess:
    """`hinge-station ARGV` forked from the warm server (tests/support/warm_cli.py), its output to log."""
    with open(log, "wb") as out, open(os.devnull, "rb") as devnull:
        return the_server().start(argv, cwd=REPO, env=env, stdin=devnull.fileno(), stdout=out.fileno(),
                                  stderr=out.fileno())


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

    Without kill_window_s each moment is 0.1 L to 1.25 L, L the median lifetime of the runs that ended on
    their own so far (the first: one recording let run to its end before the loop): how long a run lives
    depends on the host's load, and a fixed window put most kills after the end on a quiet host and none
    after it on a busy one; one lifetime measured while the host was busier put 14 of 20 after the end."""
    from station.archive.store import open_archive

    rng = random.Random(seed)
    data_root = workdir / "data"
    (data_root / "recordings").mkdir(parents=True, exist_ok=True, mode=0o700)
    url = f"sqlite:///{data_root / 'hinge-archive.sqlite'}"
    open_archive(url).dispose()  # the station's archive exists already (an empty one is refused by readers)
    env = dict(os.environ, HINGE_ARCHIVE_URL=url, HINGE_DATA_ROOT=str(data_root), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    out: list[KillRun] = []
    lifetimes_s: list[float] = []
    if kill_window_s is None:
        lifetimes_s.append(_lifetime_s(workdir, data_root, duration_s, plate, camera, env))
        log(f"one run lives {lifetimes_s[0]:.2f} s: kills from 0.1 to 1.25 times the runs' median lifetime")
    for i in range(runs):
        lifetime_s = statistics.median(lifetimes_s) if lifetimes_s else None
        window = (0.1 * lifetime_s, 1.25 * lifetime_s) if lifetime_s else kill_window_s
        run = KillRun(i, round(rng.uniform(*window), 3))
        path = data_root / "recordings" / f"kill-{i:02d}.h5"
        argv = _record_argv(plate, camera, duration_s, path)
        proc = _start(argv, workdir / f"kill-{i:02d}.log", env)
        kill_ns, run.outcome = proc.kill_at(proc.fork_ns + int(run.kill_after_s * 1e9))
        if lifetimes_s and run.outcome.startswith("exited"):  # it ended on its own: a lifetime, measured
            lifetimes_s.append((kill_ns - proc.fork_ns) / 1e9)
        said = (workdir / f"kill-{i:02d}.log").read_text(errors="replace")
        run.sources_started = "recording to" in said
        check_file(path, kill_ns, run)
        check_archive(url, data_root, run)
        problems = f"; PROBLEMS: {run.problems}" if run.problems else ""
        log(f"kill {i:2d} at {run.kill_after_s:.2f} s: {run.outcome}, file {run.file}, lost {run.lost_s} "
            f"s, archive rows {run.archive_rows}{problems}")
        out.append(run)
    return out


def _record_argv(plate: str, camera: str | None, duration_s: float, path: Path) -> list[str]:
    return ["record", "--plate", plate, *(["--camera", camera] if camera else []), "--subject", "K1",
            "--drill", "bw_rdl", "--duration", str(duration_s), "--out", str(path)]


def _lifetime_s(workdir: Path, data_root: Path, duration_s: float, plate: str, camera: str | None,
                env: dict[str, str]) -> float:
    """Seconds from fork to exit of one recording nobody kills (it is indexed like the others)."""
    path = data_root / "recordings" / "lifetime.h5"
    proc = _start(_record_argv(plate, camera, duration_s, path), workdir / "lifetime.log", env)
    end_ns, outcome = proc.kill_at(proc.fork_ns + int(600e9))
    if outcome != "exited:0":
        said = (workdir / "lifetime.log").read_text()
        raise RuntimeError(f"kill loop: the unkilled run ended {outcome}: {said}")
    return (end_ns - proc.fork_ns) / 1e9


def summary(runs: list[KillRun]) -> dict:
    lost = [r.lost_s for r in runs if r.lost_s is not None]
    kinds = ("none", "interrupted", "complete", "unreadable")
    return {"runs": len(runs), "killed": sum(r.outcome == "killed" for r in runs),
            "files": {k: sum(r.file == k for r in runs) for k in kinds},
            "lost_s_max": max(lost) if lost else None,
            "lost_s_median": sorted(lost)[len(lost) // 2] if lost else None,
            "archive_rows": runs[-1].archive_rows if runs else 0,
            "problems": [p for r in runs for p in r.problems], "each": [asdict(r) for r in runs]}
