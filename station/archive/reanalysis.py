"""`reanalyze`: the core again over archived trials, on a local process pool or a Dask cluster.

The parent process picks the trials (those with a trial file that is not missing), decides each one's
settings (the trial's own stored config, or one config for all) and so its analysis version
(rows.analysis_version: software + config hash), skips a trial that already has that version, and hands
the rest to the workers. A worker runs `reanalyse_file(path, config)` (rerun_worker.py): it reads only
the streams the core eats (force, markers, the virtual dowel series; no raw counts, camera index or
stills) and returns the reps as plain JSON. The longest trials go first, so that no worker is left with a
long one while the others have nothing left to do. The parent alone writes: the new analyses (a
transaction per batch of finished trials) beside the older ones, never over them, each compared with the
trial's newest previous analysis.

The same task function runs in both executors and returns plain data, so a pool and a cluster give the
same reps; a worker that loaded other analysis code (another install, or a long-running worker that
imported the core before it was edited: rerun_worker.code_fingerprint) is named and its results are not
stored. Workers on a cluster must see the trial files at the same absolute paths as this station.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from station import __version__
from station.archive import schema as t
from station.archive.index import Indexer
from station.archive.location import resolve_stored
from station.archive.rerun_worker import CODE, NOT_CONFIG_KEYS, WARM_MODULES, reanalyse_file, stored_config
from station.archive.rows import analysis_version, file_sha256
from station.errors import StationError
from station.results import RepResult

KIND = "reanalysis"
WRITE_BATCH = 32  # finished trials stored per transaction (at the latest WRITE_EVERY_S after the first)
WRITE_EVERY_S = 1.0


# --- executors: a local process pool, or a Dask cluster -------------------------------------------------
@dataclass
class Job:
    order: int  # position in the archive's order (subject, date, start, file): the report's order
    trial_uid: str
    subject: str
    name: str
    rel: str
    path: Path
    config: dict
    version: str
    config_hash: str
    length_s: float = 0.0  # the trial's recorded duration (0: unknown): the longest are handed out first


def _pool_context() -> BaseContext:
    """A fork server that imported the worker's modules (WARM_MODULES) once: every worker forked from it
    starts warm, where spawned ones each paid ~1 s of imports, all at once, on a machine with as many cores
    as workers. The server is a fresh interpreter (no database connection, lock or thread of this process is
    inherited) and its children leave with os._exit (no interpreter teardown at the pool's end). Spawn where
    there is no fork server."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", *WARM_MODULES])  # used when the server starts (once a process)
    return ctx


def start_local() -> None:
    """Start the local pool's fork server now, so its imports overlap the parent's planning."""
    if _pool_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()  # returns at once: the server imports in the background


def by_length(jobs: list[Job]) -> list[Job]:
    """Longest trial first (archive order among equals): the run ends with short trials on every worker, not
    one worker finishing a long trial while the others wait."""
    return sorted(jobs, key=lambda job: -job.length_s)


def run_local(jobs: list[Job], workers: int) -> Iterator[tuple[Job, dict]]:
    """(job, result) as each finishes, on `workers` local processes (_pool_context), longest trial first."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not jobs:
        return
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=_pool_context())
    try:
        futures = {pool.submit(reanalyse_file, str(job.path), job.config): job for job in by_length(jobs)}
        for future in as_completed(futures):
            yield futures[future], _result(future, futures[future])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_dask(jobs: list[Job], address: str) -> Iterator[tuple[Job, dict]]:
    """(job, result) as each finishes, on the Dask cluster whose scheduler is at `address`."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise StationError(f"--dask: dask.distributed is not installed ({exc})") from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StationError(f"--dask {address}: cannot reach the scheduler ({first})") from None
    try:
        if not jobs:
            return
        jobs = by_length(jobs)
        futures = client.map(reanalyse_file, [str(j.path) for j in jobs], [j.config for j in jobs],
                             pure=False)
        by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        for future in as_completed(futures, loop=client.loop):
            yield by_key[future.key], _result(future, by_key[future.key])
    finally:
        client.close()


def _result(future, job: Job) -> dict:  # noqa: ANN001 (a concurrent.futures or a Dask future)
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker that died: this trial is named, the run goes on
        first = (str(exc).strip().splitlines() or [""])[0]
        return {"error": f"{job.rel}: worker failed ({type(exc).__name__}: {first})"}


# --- the parent's side: choose, skip, store, compare ----------------------------------------------------
def verdict(faults: Iterable[str]) -> str:
    """"PASS", or "FAIL fault1,fault2" (as `analyze` prints a rep)."""
    faults = [f for f in faults if f]
    return "FAIL " + ",".join(faults) if faults else "PASS"


@dataclass
class TrialChange:
    """One trial's new analysis against its newest previous one."""

    order: int
    trial_uid: str
    name: str
    rel: str
    subject: str
    version: str
    previous_version: str | None
    reps_before: int
    reps_after: int
    reps: list[dict] = field(default_factory=list)  # {"rep", "was", "now"}: only the reps that changed


@dataclass
class ReanalysisReport:
    analysed: list[TrialChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files already at the version this run would add
    errors: list[str] = field(default_factory=list)  # one line per trial that could not be reanalysed
    versions: set[str] = field(default_factory=set)
    trial_seconds: float = 0.0  # length of the trials analysed (for x real time)
    seconds: float = 0.0
    where: str = ""  # "2 local worker processes", "Dask tcp://...", "" when there was nothing to run

    @property
    def analysis_version(self) -> str | list[str] | None:
        if len(self.versions) == 1:
            return next(iter(self.versions))
        return sorted(self.versions) or None

    def changed(self) -> list[dict]:
        return [{"trial_id": tc.trial_uid, "rep": r["rep"], "was": r["was"], "now": r["now"]}
                for tc in sorted(self.analysed, key=lambda tc: tc.order) for r in tc.reps]

    def to_json(self) -> dict:
        return {"trials": len(self.analysed), "analysis_version": self.analysis_version,
                "changed": self.changed(), "seconds": round(self.seconds, 3)}


def _trial_rows(conn: Connection, subject: str | None) -> list:
    query = (sa.select(t.trials.c.trial_uid, t.trials.c.subject, t.trials.c.set_id, t.trials.c.file_path,
                       t.trials.c.file_size, t.trials.c.file_mtime_ns, t.trials.c.file_sha256,
                       t.trials.c.duration_s)
             .where(t.trials.c.file_path.isnot(None), t.trials.c.missing == sa.false())
             .order_by(t.trials.c.subject, t.trials.c.date, t.trials.c.started_at, t.trials.c.file_path))
    if subject is not None:
        query = query.where(t.trials.c.subject == subject)
    return list(conn.execute(query))


def _versions(conn: Connection, subject: str | None) -> dict[str, set[str]]:
    query = sa.select(t.analyses.c.trial_uid, t.analyses.c.version).join(
        t.trials, t.trials.c.trial_uid == t.analyses.c.trial_uid)
    if subject is not None:
        query = query.where(t.trials.c.subject == subject)
    out: dict[str, set[str]] = {}
    for uid, version in conn.execute(query):
        out.setdefault(uid, set()).add(version)
    return out


def _unchanged_file(path: Path, row) -> str | None:  # noqa: ANN001 (a trials row)
    """None when the file is the one indexed; else why not (a file changed since must not be re-judged)."""
    try:
        stat = path.stat()
    except OSError:
        return f"{row.file_path}: no such trial file ({path}); `archive scan` marks it missing"
    if stat.st_size == row.file_size and stat.st_mtime_ns == row.file_mtime_ns:
        return None
    if stat.st_size == row.file_size and row.file_sha256 and file_sha256(path) == row.file_sha256:
        return None  # touched, not changed
    return f"{row.file_path}: changed since it was indexed (`archive scan` reports it)"


def plan(indexer: Indexer, *, subject: str | None = None, config: dict | None = None,
         report: ReanalysisReport | None = None,
         on_first_job: Callable[[], None] | None = None) -> tuple[list[Job], ReanalysisReport]:
    """The trials to reanalyse, with their settings; skipped and unreadable ones noted in the report.
    on_first_job() is called once, when the first trial to reanalyse is found (start the workers early)."""
    report = report or ReanalysisReport()
    with indexer.archive.engine.connect() as conn:
        if subject is not None and conn.execute(
                sa.select(t.subjects.c.subject).where(t.subjects.c.subject == subject)).first() is None:
            raise StationError(f"subject {subject!r}: not in the archive {indexer.archive.shown_url}")
        rows = _trial_rows(conn, subject)
        done = _versions(conn, subject)
    if config is not None:
        config = {k: v for k, v in config.items() if k not in NOT_CONFIG_KEYS}
        report.versions.add(analysis_version(config)[0])
    jobs: list[Job] = []
    for order, row in enumerate(rows):
        path = resolve_stored(row.file_path, indexer.root)
        why = _unchanged_file(path, row)
        if why is not None:
            report.errors.append(why)
            continue
        try:
            own = config if config is not None else stored_config(path)
        except (StationError, OSError, RuntimeError, ValueError) as exc:
            report.errors.append(_line(row.file_path, exc))
            continue
        version, chash = analysis_version(own)
        report.versions.add(version)
        if version in done.get(row.trial_uid, ()):
            report.skipped.append(row.file_path)
            continue
        name = row.set_id or row.file_path.rsplit("/", 1)[-1].removesuffix(".h5")
        if not jobs and on_first_job is not None:
            on_first_job()
        jobs.append(Job(order, row.trial_uid, row.subject, name, row.file_path, path.resolve(), own, version,
                        chash, float(row.duration_s or 0.0)))
    return jobs, report


def _line(rel: str, exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if rel in text or rel.rsplit("/", 1)[-1] in text else f"{rel}: {text}"


def _previous(conn: Connection, trial_uid: str) -> tuple[str | None, list]:
    """The trial's newest analysis (a later reanalysis wins a tie with the recording) and its reps."""
    rows = conn.execute(sa.select(t.analyses.c.analysis_uid, t.analyses.c.version, t.analyses.c.created_at,
                                  t.analyses.c.kind).where(t.analyses.c.trial_uid == trial_uid)).all()
    if not rows:
        return None, []
    newest = max(rows, key=lambda a: (a.created_at, a.kind == KIND))
    reps = conn.execute(sa.select(t.reps.c.rep_index, t.reps.c.t_start, t.reps.c.t_end, t.reps.c.faults)
                        .where(t.reps.c.analysis_uid == newest.analysis_uid)
                        .order_by(t.reps.c.rep_index)).all()
    return newest.version, [(r.rep_index, r.t_start, r.t_end, r.faults.split(",") if r.faults else [])
                            for r in reps]


def pair_reps(old: list[tuple], new: list[tuple]) -> list[tuple[tuple | None, tuple | None]]:
    """Old and new reps, each (number, t_start, t_end, faults), paired by overlapping time (by number when
    a time is unknown); a rep only one side has is paired with None."""
    if any(r[1] is None or r[2] is None for r in (*old, *new)):
        n = max(len(old), len(new))
        return [(old[i] if i < len(old) else None, new[i] if i < len(new) else None) for i in range(n)]
    out: list[tuple[tuple | None, tuple | None]] = []
    i = j = 0
    while i < len(old) or j < len(new):
        a = old[i] if i < len(old) else None
        b = new[j] if j < len(new) else None
        if a is not None and b is not None and max(a[1], b[1]) < min(a[2], b[2]):
            out.append((a, b))
            i, j = i + 1, j + 1
        elif b is None or (a is not None and a[1] < b[1]):
            out.append((a, None))
            i += 1
        else:
            out.append((None, b))
            j += 1
    return out


def _store_in(conn: Connection, indexer: Indexer, job: Job, result: dict) -> TrialChange | None:
    """Add the new analysis and say what changed; None if another run added that version first."""
    reps = [RepResult.from_json(r) for r in result["reps"]]
    exists = conn.execute(sa.select(t.analyses.c.analysis_uid).where(
        t.analyses.c.trial_uid == job.trial_uid, t.analyses.c.version == job.version)).first()
    if exists is not None:
        return None
    before_version, before = _previous(conn, job.trial_uid)
    indexer.add_analysis(conn, job.trial_uid, job.config, __version__, KIND, reps)
    after = [(i + 1, r.t_start, r.t_end, list(r.faults)) for i, r in enumerate(reps)]
    change = TrialChange(job.order, job.trial_uid, job.name, job.rel, job.subject, job.version,
                         before_version, len(before), len(after))
    if before_version is None:
        return change
    for was, now in pair_reps(before, after):
        v_was = verdict(was[3]) if was is not None else None
        v_now = verdict(now[3]) if now is not None else None
        if v_was != v_now:
            change.reps.append({"rep": (now or was)[0], "was": v_was, "now": v_now,
                                "was_rep": was[0] if was else None})
    return change


def _store(indexer: Indexer, done: list[tuple[Job, dict]], report: ReanalysisReport) -> None:
    """Store finished trials: one transaction for the batch (a commit costs more than the rows), each
    trial on its own if another run added one of them meanwhile."""
    if not done:
        return
    try:
        with indexer.archive.transaction() as conn:
            changes = [_store_in(conn, indexer, job, result) for job, result in done]
    except sa.exc.IntegrityError:
        changes = []
        for job, result in done:
            try:
                with indexer.archive.transaction() as conn:
                    changes.append(_store_in(conn, indexer, job, result))
            except sa.exc.IntegrityError:  # stored by another run between our look and our write
                changes.append(None)
    for (job, result), change in zip(done, changes, strict=True):
        if change is None:
            report.skipped.append(job.rel)
        else:
            report.analysed.append(change)
            report.trial_seconds += float(result.get("duration_s") or 0.0)


def _other_code(job: Job, result: dict) -> str:
    return (f"{job.rel}: the worker ran other analysis code (hinge-station "
            f"{result.get('software')}, code {result.get('code')}) than this station ({__version__}, code "
            f"{CODE}); restart the workers, or install the same version there")


def reanalyze(indexer: Indexer, *, subject: str | None = None, config: dict | None = None,
              workers: int | None = None, dask: str | None = None,
              on_result: Callable[[Job, dict], None] | None = None) -> ReanalysisReport:
    """Reanalyse the archived trials (all, or one subject's) and store each as a new analysis version.

    config: one StationConfig.to_dict() for every trial (None: each trial's own stored config).
    workers: local processes (default: this machine's cores); dask: a scheduler address instead.
    on_result(job, result) is called as each worker's result arrives (progress, timing).
    """
    start = time.perf_counter()
    # local: the pool's fork server imports the worker's modules while the rest of the trials are planned
    jobs, report = plan(indexer, subject=subject, config=config, on_first_job=None if dask else start_local)
    if dask:
        report.where = f"Dask {dask}" if jobs else ""
        results = run_dask(jobs, dask)
    else:
        n = min(workers or os.cpu_count() or 1, len(jobs))
        report.where = f"{n} local worker process{'es' if n > 1 else ''}" if jobs else ""
        results = run_local(jobs, n)
    done: list[tuple[Job, dict]] = []
    flushed = time.perf_counter()
    try:
        with contextlib.closing(results):
            for job, result in results:
                if on_result is not None:
                    on_result(job, result)
                if "error" in result:
                    report.errors.append(_line(job.rel, StationError(result["error"])))
                elif result.get("software") != __version__ or result.get("code") != CODE:
                    report.errors.append(_other_code(job, result))
                else:
                    done.append((job, result))
                if len(done) >= WRITE_BATCH or (done and time.perf_counter() - flushed >= WRITE_EVERY_S):
                    _store(indexer, done, report)
                    done, flushed = [], time.perf_counter()
    except BaseException:
        with contextlib.suppress(Exception):
            _store(indexer, done, report)  # what finished before an interruption is kept
        raise
    _store(indexer, done, report)
    report.analysed.sort(key=lambda tc: tc.order)
    report.seconds = time.perf_counter() - start
    return report
