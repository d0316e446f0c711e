"""Reanalysis (station/archive/reanalysis.py): the core again over archived trials, pool or Dask.

- x real time per worker (trial seconds / wall seconds / workers) of `reanalyze` over an archive of
  recorded trials with 1 and 2 local worker processes, end to end (choosing the trials, starting the
  pool, the workers' reads and core, the parent's database writes) and compute only (the workers' part,
  one warm process); goals: >= 200x per worker, 2 workers >= 1.7x one.
- the same run on Dask (--dask / $HINGE_TEST_DASK, else a LocalCluster of 2 worker processes): the reps
  stored must be identical to the local pool's.
- where a worker's time goes: reading the file (only the streams the core eats, against read_trial's
  everything), the core, and the core's low-pass filtering.

- where the 2 workers lose against 1: each run in a fresh process, as the CLI runs it (the pool's start,
  its fork server's imports, is paid by every run), and each task timed inside its worker: start-up (until
  every worker has started its first task), the task's wall and CPU time, the workers' idle time between
  tasks, the tail (one worker done, another still busy), the end (last task done -> reanalyze returned:
  the last results, the last write, the pool's shutdown), the parent's CPU; and the host's own ceiling:
  two pure-Python processes against one.

Trials: two `hinge-station record` runs (sim hinge and sim squat, stills on, as a station records them),
copied with fresh trial_uids into an archive of 2 x --copies trials. A long-running Dask worker that
imported the core before it was edited is refused by reanalyze (its "errors" say so): restart it first.

Run: .venv/bin/python bench/reanalyze.py [--seconds 30] [--copies 24] [--dask tcp://HOST:PORT]
     [--rounds N] [--fixture DIR] [--no-dask] [--out FILE] -> bench/results/reanalyze.json
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench._results import machine_fields, write_results  # noqa: E402

RESULTS = REPO / "bench" / "results" / "reanalyze.json"
GOAL_X_PER_WORKER = 200
GOAL_SCALING = 1.7


def record(folder: Path, seconds: float) -> list[Path]:
    out = []
    folder.mkdir(parents=True)
    for pattern in ("hinge", "squat"):
        path = folder / f"{pattern}.h5"
        env = dict(os.environ, HINGE_DATA_ROOT=str(folder))
        r = subprocess.run([sys.executable, "-m", "station", "record", "--plate", f"sim:{pattern}",
                            "--camera", f"sim:{pattern}", "--subject", f"B-{pattern}", "--drill", "bw_rdl",
                            "--arms", "arms_crossed", "--duration", str(seconds), "--out", str(path),
                            "--db", f"sqlite:///{folder / 'recorded.sqlite'}"],
                           cwd=REPO, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out.append(path)
    return out


def copies(sources: list[Path], folder: Path, n: int) -> None:
    """n copies of each source, each its own trial (fresh trial_uid in metadata_json)."""
    import h5py

    folder.mkdir(parents=True)
    for src in sources:
        for i in range(n):
            dst = folder / f"{src.stem}-{i:03d}.h5"
            shutil.copyfile(src, dst)
            with h5py.File(dst, "r+") as f:
                meta = json.loads(f.attrs["metadata_json"])
                meta["trial_uid"] = uuid.uuid4().hex
                f.attrs["metadata_json"] = json.dumps(meta, sort_keys=True)


def archive_of(root: Path, name: str):
    from station.archive.index import Indexer, scan_folder
    from station.archive.store import open_archive

    (root / (name + ".sqlite")).unlink(missing_ok=True)  # a fresh archive: every trial to reanalyse
    archive = open_archive(f"sqlite:///{root / (name + '.sqlite')}")
    indexer = Indexer(archive, root, "bench")
    result = scan_folder(indexer, root / "recordings")
    assert not result.errors and not result.changed, result.errors[:3]
    return indexer


def stored_reps(indexer) -> list[tuple]:
    import sqlalchemy as sa

    with indexer.archive.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT t.file_path, r.rep_index, r.rep_json FROM reps r JOIN analyses a "
            "ON a.analysis_uid = r.analysis_uid JOIN trials t ON t.trial_uid = a.trial_uid "
            "WHERE a.kind = 'reanalysis' ORDER BY t.file_path, r.rep_index"))]


def timed_task(path: str, config: dict) -> dict:
    """The workers' task (reanalyse_file), and where and when it ran: (pid, start, end, CPU seconds).
    perf_counter is the system's monotonic clock, the same in every process of this host."""
    from station.archive.rerun_worker import reanalyse_file

    t0, c0 = time.perf_counter(), time.process_time()
    result = reanalyse_file(path, config)
    result["_timing"] = (os.getpid(), t0, time.perf_counter(), time.process_time() - c0)
    return result


def host_cpu_s() -> tuple[float, float] | None:
    """(busy, steal) CPU seconds of the whole host since boot, every process's (/proc/stat; None elsewhere):
    steal is time the hypervisor gave this VM's CPUs to others."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"), steal / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait_s: float, busy_max: float = 0.1, window_s: float = 3.0) -> float | None:
    """Wait (at most max_wait_s) until the host's CPUs were busy less than busy_max CPUs over window_s; the
    busy CPUs last seen. Two workers on a 2-core host measure the other processes' load as much as theirs."""
    deadline = time.monotonic() + max_wait_s
    while True:
        a = host_cpu_s()
        time.sleep(window_s)
        b = host_cpu_s()
        if a is None or b is None:
            return None
        busy = (b[0] - a[0]) / window_s
        if busy < busy_max or time.monotonic() >= deadline:
            return round(busy, 2)


def run(root: Path, name: str, config: dict, workers: int, dask: str | None = None,
        quiet_wait_s: float = 0.0) -> tuple[dict, list]:
    """One `reanalyze` in a fresh process (one_run), as the CLI runs it: the local pool's fork server is
    per process, and one started by an earlier run here would hand the next run warm workers for free."""
    busy_before = wait_quiet(quiet_wait_s) if quiet_wait_s else None
    spec, out = root / f"{name}.spec.json", root / f"{name}.out.json"
    spec.write_text(json.dumps({"root": str(root), "name": name, "config": config, "workers": workers,
                                "dask": dask, "out": str(out)}))
    r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one-run", str(spec)], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    if busy_before is not None:
        data["fig"]["host_busy_cpus_before"] = busy_before
    return data["fig"], [tuple(row) for row in data["reps"]]


def one_run(spec_path: Path) -> None:
    from station.archive import reanalysis

    spec = json.loads(spec_path.read_text())
    root, workers, dask, config = Path(spec["root"]), spec["workers"], spec["dask"], spec["config"]
    reanalysis.reanalyse_file = timed_task  # the same task, timed inside the worker
    indexer = archive_of(root, spec["name"])
    stamps: list[tuple[float, float, tuple]] = []  # (arrival, trial seconds, timing) of each worker result

    def arrived(_job, r: dict) -> None:
        stamps.append((time.perf_counter(), r.get("duration_s") or 0.0, r.get("_timing")))

    load = os.getloadavg()[0]
    me, host0 = resource.getrusage(resource.RUSAGE_SELF), host_cpu_s()
    t0 = time.perf_counter()
    report = reanalysis.reanalyze(indexer, config=config, workers=workers, dask=dask, on_result=arrived)
    wall = time.perf_counter() - t0
    mine, host1 = resource.getrusage(resource.RUSAGE_SELF), host_cpu_s()
    parent_cpu = mine.ru_utime + mine.ru_stime - me.ru_utime - me.ru_stime
    again = reanalysis.reanalyze(indexer, config=config, workers=workers, dask=dask)  # adds nothing
    reps = stored_reps(indexer)
    indexer.archive.dispose()
    # after start-up: from the moment every worker has delivered once (its start and imports paid)
    warm_t = stamps[workers - 1][0]
    warm_trial_s = sum(s for _, s, _ in stamps[workers:])
    warm_x = warm_trial_s / (stamps[-1][0] - warm_t) / workers
    by_worker: dict[int, list[tuple]] = {}
    for _, _, (pid, start, end, cpu) in (s for s in stamps if s[2]):
        by_worker.setdefault(pid, []).append((start, end, cpu))
    tasks = sorted(t for ts in by_worker.values() for t in ts)
    busy = sum(end - start for start, end, _ in tasks)
    task_cpu = sum(cpu for *_, cpu in tasks)
    ends = [max(end for _, end, _ in ts) for ts in by_worker.values()]
    fig = {"trials": len(report.analysed), "trial_s": round(report.trial_seconds, 1),
           "wall_s": round(wall, 2), "workers": workers, "x_real_time": round(report.trial_seconds / wall, 1),
           "x_real_time_per_worker": round(report.trial_seconds / wall / workers, 1),
           "start_up_s": round(warm_t - t0, 2),
           "x_real_time_per_worker_after_start_up": round(warm_x, 1),
           # CPU seconds of the tasks, not wall: the figure on a machine doing nothing else
           "x_real_time_per_worker_task_cpu": round(report.trial_seconds / task_cpu, 1),
           "task_ms_mean": round(1e3 * busy / len(tasks), 1),
           "task_cpu_ms_mean": round(1e3 * task_cpu / len(tasks), 1),
           "workers_seen": len(by_worker),
           "first_task_start_s": sorted(round(min(s for s, _, _ in ts) - t0, 2) for ts in by_worker.values()),
           # between a worker's first task's start and its last task's end, not in a task
           "worker_idle_between_tasks_s": round(sum(max(e for _, e, _ in ts) - min(s for s, _, _ in ts)
                                                    - sum(e - s for s, e, _ in ts)
                                                    for ts in by_worker.values()), 3),
           "tail_s": round(max(ends) - min(ends), 3),  # one worker done, another still in its last task
           "end_s": round(t0 + wall - max(ends), 3),  # last task done -> reanalyze returned
           "parent_cpu_s": round(parent_cpu, 2),
           "load_avg_1min": round(load, 2),
           # the whole host's busy CPU seconds during the run, less the tasks' and the parent's: the pool's
           # start (fork server imports, ~1 s) and everything else that ran on the host meanwhile
           "host_cpu_s_besides_tasks_and_parent": round(host1[0] - host0[0] - task_cpu - parent_cpu, 2)
           if host0 and host1 else None,
           "host_steal_s": round(host1[1] - host0[1], 2) if host0 and host1 else None,
           "reps_changed": len(report.changed()), "errors": len(report.errors),
           "first_error": report.errors[0] if report.errors else None,
           "second_run_trials": len(again.analysed), "second_run_skipped": len(again.skipped),
           "second_run_s": round(again.seconds, 2)}
    Path(spec["out"]).write_text(json.dumps({"fig": fig, "reps": reps}))


def host_scaling(seconds: float = 1.5) -> dict:
    """This host's own ceiling for 2 workers over 1: the same pure-Python loop in one process, then in two
    at once (2 x one's time / the two's wall). A VM's second core is seldom a whole one."""
    loop = "import sys,time\nt=time.perf_counter()\nx=0\nfor i in range(int(sys.argv[1])): x+=i*i\n" \
           "print(time.perf_counter()-t)"

    def together(n: int, count: int) -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", loop, str(n)], stdout=subprocess.PIPE)
                 for _ in range(count)]
        for p in procs:
            p.communicate()
        return time.perf_counter() - t0

    n = 2_000_000
    n = int(n * seconds / together(n, 1))
    one, two = together(n, 1), together(n, 2)
    return {"one_s": round(one, 2), "two_s": round(two, 2), "two_over_one": round(2 * one / two, 2)}


def compute_only(sources: list[Path], config: dict, repeat: int = 5) -> dict:
    """One warm process: the worker's task, its read and its core, and the old read path, per trial."""
    from station.analysis.analyze import analyze_blocks
    from station.analysis.h5_input import load_h5
    from station.analysis.inputs import LoadOptions
    from station.archive.rerun_worker import load_streams, reanalyse_file
    from station.config import config_from_dict

    cfg = config_from_dict({k: v for k, v in config.items() if k != "source_path"})
    for p in sources:
        reanalyse_file(str(p), config)  # warm-up: scipy.signal's import (~1 s) is paid once per worker
    read_s = old_read_s = core_s = task_s = task_cpu_s = trial_s = 0.0
    for _ in range(repeat):
        for p in sources:
            t0 = time.perf_counter()
            force, markers, dowel, mass = load_streams(p)
            t1 = time.perf_counter()
            result = analyze_blocks(force, markers, cfg, source=str(p), dowel=dowel, body_mass_kg=mass,
                                    t_origin_s=0.0)
            t2 = time.perf_counter()
            load_h5(p, LoadOptions(config=cfg))
            t3 = time.perf_counter()
            c3 = time.process_time()
            reanalyse_file(str(p), config)
            t4 = time.perf_counter()
            task_cpu_s += time.process_time() - c3
            read_s, core_s, old_read_s, task_s = read_s + t1 - t0, core_s + t2 - t1, old_read_s + t3 - t2, \
                task_s + t4 - t3
            trial_s += result.summary["duration_s"]
    profile = cProfile.Profile()
    profile.enable()
    for p in sources:
        reanalyse_file(str(p), config)
    profile.disable()
    stats = pstats.Stats(profile).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = sum(v[2] for v in stats.values())

    def cum(name: str, file_part: str) -> float:
        return sum(v[3] for k, v in stats.items() if k[2] == name and file_part in k[0])

    n = repeat * len(sources)
    return {"trial_s_each": round(trial_s / n, 1), "task_ms": round(1e3 * task_s / n, 1),
            "x_real_time_one_process": round(trial_s / task_s, 1),
            "x_real_time_one_process_cpu": round(trial_s / task_cpu_s, 1),
            "read_ms": round(1e3 * read_s / n, 1), "read_trial_ms_before": round(1e3 * old_read_s / n, 1),
            "core_ms": round(1e3 * core_s / n, 1),
            "core_share_in_lowpass_filter": round(cum("lowpass", "filtering")
                                                  / cum("analyze_blocks", "analyze"), 2),
            "core_measure_rep_calls_per_trial": round(sum(v[1] for k, v in stats.items()
                                                          if k[2] == "measure_rep") / len(sources), 1),
            "profiled_s": round(total, 3)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each recorded trial")
    parser.add_argument("--copies", type=int, default=48, help="copies of each recorded trial archived")
    parser.add_argument("--dask", default=os.environ.get("HINGE_TEST_DASK"),
                        help="Dask scheduler (default $HINGE_TEST_DASK, else a LocalCluster of 2 workers)")
    parser.add_argument("--no-dask", action="store_true", help="local pool only")
    parser.add_argument("--rounds", type=int, default=1,
                        help="1 worker then 2 workers, this many times (each round's figures are kept)")
    parser.add_argument("--fixture", type=Path,
                        help="keep the recorded trials in this folder, reuse them (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="before each run wait up to S seconds for the host to be idle (< 0.1 CPU busy)")
    parser.add_argument("--one-run", type=Path, help=argparse.SUPPRESS)  # run(): one reanalyze
    args = parser.parse_args()
    if args.one_run:
        one_run(args.one_run)
        return 0
    from station.config import StationConfig

    cfg = StationConfig()
    cfg.thresholds.foot_pos_bottom_max = 0.47  # another version than the recorded one: every trial runs
    config = cfg.to_dict()
    # other work on the machine slows every figure here: say how busy it was
    result: dict = {"bench": "reanalyze", **machine_fields(), "load_avg_1min_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = (args.fixture or Path(tmp)).resolve() / f"{args.seconds:g}s-x{args.copies}"
        reused = (root / "recordings").is_dir()
        if not reused:
            shutil.rmtree(root, ignore_errors=True)
            copies(record(root / "sources", args.seconds), root / "recordings", args.copies)
        sources = [root / "sources" / "hinge.h5", root / "sources" / "squat.h5"]
        result["fixture"] = {"recorded_s": args.seconds, "trials": 2 * args.copies,
                             "trial_file_bytes": sources[0].stat().st_size,
                             "making_s": None if reused else round(time.perf_counter() - t0, 1),
                             "reused": reused}
        busy = wait_quiet(args.quiet_wait) if args.quiet_wait else None
        result["host_two_processes"] = {**host_scaling(), "host_busy_cpus_before": busy}
        result["compute_only"] = compute_only(sources, config)
        rounds = []
        for i in range(args.rounds):
            one, reps_one = run(root, f"one-{i}", config, 1, quiet_wait_s=args.quiet_wait)
            two, reps_two = run(root, f"two-{i}", config, 2, quiet_wait_s=args.quiet_wait)
            after = "x_real_time_per_worker_after_start_up"
            rounds.append({"one_wall_s": one["wall_s"], "two_wall_s": two["wall_s"],
                           "two_workers_over_one": round(two["x_real_time"] / one["x_real_time"], 2),
                           "two_workers_over_one_after_start_up": round(2 * two[after] / one[after], 2),
                           "load_avg_1min": [one["load_avg_1min"], two["load_avg_1min"]],
                           "reps_identical": bool(reps_two) and reps_one == reps_two})
        result["local_1_worker"] = one
        result["local_2_workers"] = two
        if not args.no_dask:
            cluster = None
            if not args.dask:
                from distributed import LocalCluster

                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
            try:
                address = args.dask or cluster.scheduler_address
                dask, reps_dask = run(root, "dask", config, 2, dask=address, quiet_wait_s=args.quiet_wait)
            finally:
                if cluster is not None:
                    cluster.close()
            dask["scheduler"] = "given" if args.dask else "LocalCluster(2 processes)"
            result["dask_2_workers"] = dask
        result["two_workers_over_one"] = rounds[-1]["two_workers_over_one"]
        result["two_workers_over_one_after_start_up"] = rounds[-1]["two_workers_over_one_after_start_up"]
        if args.rounds > 1:
            result["rounds"] = rounds
        result["local_1_and_2_workers_reps_identical"] = all(r["reps_identical"] for r in rounds)
        if not args.no_dask:
            result["local_and_dask_reps_identical"] = bool(reps_two) and reps_two == reps_dask == reps_one
        result["reps_compared"] = len(reps_two)
    result["load_avg_1min_at_end"] = os.getloadavg()[0]
    result["goals"] = {"x_real_time_per_worker": GOAL_X_PER_WORKER, "two_workers_over_one": GOAL_SCALING,
                       "local_and_dask_reps_identical": True}
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
