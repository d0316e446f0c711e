"""Reanalysis (station/archive/reanalysis.py): the core again over archived trials, pool or Dask.

- x real time per worker (trial seconds / wall seconds / workers) of `reanalyze` over an archive of
  recorded trials with 1 and 2 local worker processes, end to end (choosing the trials, starting the
  pool, the workers' reads and core, the parent's database writes) and compute only (the workers' part,
  one warm process); goals: >= 200x per worker, 2 workers >= 1.7x one.
- the same run on Dask (--dask / $HINGE_TEST_DASK, else a LocalCluster of 2 worker processes): the reps
  stored must be identical to the local pool's.
- where a worker's time goes: reading the file (only the streams the core eats, against read_trial's
  everything), the core, and the core's low-pass filtering.

Trials: two `hinge-station record` runs (sim hinge and sim squat, stills on, as a station records them),
copied with fresh trial_uids into an archive of 2 x --copies trials. A long-running Dask worker that
imported the core before it was edited is refused by reanalyze (its "errors" say so): restart it first.

Run: .venv/bin/python bench/reanalyze.py [--seconds 30] [--copies 24] [--dask tcp://HOST:PORT]
     -> bench/results/reanalyze.json
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


def run(root: Path, name: str, config: dict, workers: int, dask: str | None = None) -> tuple[dict, list]:
    from station.archive.reanalysis import reanalyze

    indexer = archive_of(root, name)
    stamps: list[tuple[float, float]] = []  # (arrival, trial seconds) of each worker result

    def arrived(_job, r: dict) -> None:
        stamps.append((time.perf_counter(), r.get("duration_s") or 0.0))

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    report = reanalyze(indexer, config=config, workers=workers, dask=dask, on_result=arrived)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's workers, reaped at its shutdown
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    again = reanalyze(indexer, config=config, workers=workers, dask=dask)  # idempotent: adds nothing
    reps = stored_reps(indexer)
    indexer.archive.dispose()
    # after start-up: from the moment every worker has delivered once (its start and imports paid)
    warm_t = stamps[workers - 1][0]
    warm_trial_s = sum(s for _, s in stamps[workers:])
    warm_x = warm_trial_s / (stamps[-1][0] - warm_t) / workers
    fig = {"trials": len(report.analysed), "trial_s": round(report.trial_seconds, 1),
           "wall_s": round(wall, 2), "workers": workers, "x_real_time": round(report.trial_seconds / wall, 1),
           "x_real_time_per_worker": round(report.trial_seconds / wall / workers, 1),
           "start_up_s": round(warm_t - t0, 2),
           # CPU seconds, not wall: what the figure would be on a machine doing nothing else
           "x_real_time_per_worker_cpu": round(report.trial_seconds / cpu, 1) if not dask and cpu else None,
           "x_real_time_per_worker_after_start_up": round(warm_x, 1),
           "reps_changed": len(report.changed()), "errors": len(report.errors),
           "first_error": report.errors[0] if report.errors else None,
           "second_run_trials": len(again.analysed), "second_run_skipped": len(again.skipped),
           "second_run_s": round(again.seconds, 2)}
    return fig, reps


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
    args = parser.parse_args()
    from station.config import StationConfig

    cfg = StationConfig()
    cfg.thresholds.foot_pos_bottom_max = 0.47  # another version than the recorded one: every trial runs
    config = cfg.to_dict()
    # other work on the machine slows every figure here: say how busy it was
    result: dict = {"bench": "reanalyze", **machine_fields(), "load_avg_1min_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        sources = record(root / "sources", args.seconds)
        copies(sources, root / "recordings", args.copies)
        result["fixture"] = {"recorded_s": args.seconds, "trials": 2 * args.copies,
                             "trial_file_bytes": sources[0].stat().st_size,
                             "making_s": round(time.perf_counter() - t0, 1)}
        result["compute_only"] = compute_only(sources, config)
        one, reps_one = run(root, "one", config, 1)
        two, reps_two = run(root, "two", config, 2)
        cluster = None
        if not args.dask:
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                   host="127.0.0.1")
        try:
            address = args.dask or cluster.scheduler_address
            dask, reps_dask = run(root, "dask", config, 2, dask=address)
        finally:
            if cluster is not None:
                cluster.close()
        dask["scheduler"] = "given" if args.dask else "LocalCluster(2 processes)"
        result["local_1_worker"] = one
        result["local_2_workers"] = two
        result["dask_2_workers"] = dask
        result["two_workers_over_one"] = round(two["x_real_time"] / one["x_real_time"], 2)
        after = "x_real_time_per_worker_after_start_up"
        result["two_workers_over_one_after_start_up"] = round(2 * two[after] / one[after], 2)
        result["local_and_dask_reps_identical"] = bool(reps_two) and reps_two == reps_dask == reps_one
        result["reps_compared"] = len(reps_two)
    result["load_avg_1min_at_end"] = os.getloadavg()[0]
    result["goals"] = {"x_real_time_per_worker": GOAL_X_PER_WORKER, "two_workers_over_one": GOAL_SCALING,
                       "local_and_dask_reps_identical": True}
    write_results(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
