"""The subject archive (station/archive): scan speed, history query time, two stations at once.

- `archive scan` of 1,000 trial files (metadata + sha256; raw streams not parsed): trials per second,
  first scan and a second (idempotent) scan, on SQLite and, when a server is given, PostgreSQL.
- `history` of a subject with 100 visits (one session of 3 sets each): query time, median of 20.
- two stations indexing 100 trials each into one archive at the same moment: rows lost or duplicated.

Run: .venv/bin/python bench/archive.py [--pg postgresql+psycopg://postgres@127.0.0.1:55432/postgres]
     (`eval "$(bash scripts/services.sh start)"` gives a throwaway server) -> bench/results/archive.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench._results import machine_fields, write_results  # noqa: E402

RESULTS = REPO / "bench" / "results" / "archive.json"
N_TRIALS = 1000
N_VISITS = 100


def _pg_database(server_url: str) -> str:
    import psycopg

    name = f"hinge_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def bench_scan(url: str, folder: Path, root: Path) -> dict:
    from station.archive.index import Indexer, scan_folder
    from station.archive.store import open_archive

    archive = open_archive(url)
    indexer = Indexer(archive, root, "bench")
    t0 = time.perf_counter()
    first = scan_folder(indexer, folder)
    t1 = time.perf_counter()
    second = scan_folder(indexer, folder)
    t2 = time.perf_counter()
    archive.dispose()
    assert len(first.added) == N_TRIALS and not first.errors, (len(first.added), first.errors[:3])
    assert len(second.unchanged) == N_TRIALS and not second.added
    return {"trials": N_TRIALS, "first_scan_s": round(t1 - t0, 2),
            "first_scan_trials_per_s": round(N_TRIALS / (t1 - t0), 1),
            "second_scan_s": round(t2 - t1, 2), "second_scan_trials_per_s": round(N_TRIALS / (t2 - t1), 1)}


def bench_history(url: str, folder: Path, root: Path) -> dict:
    from station.archive.index import Indexer, scan_folder
    from station.archive.queries import history
    from station.archive.store import open_archive
    from tests.support.archive_files import rep, write_session

    for v in range(N_VISITS):
        day = f"{2024 + v // 300}-{1 + (v // 28) % 12:02d}-{1 + v % 28:02d}"
        write_session(folder, "S-HIST", day, [("dowel_hinge", None, [rep(i) for i in range(8)]),
                                              ("bw_rdl", "arms_crossed", [rep(i) for i in range(10)]),
                                              ("bw_rdl", "arms_crossed", [rep(i) for i in range(10)])])
    archive = open_archive(url)
    scan_folder(Indexer(archive, root, "bench"), folder)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        doc = history(archive, "S-HIST")
        times.append(time.perf_counter() - t0)
    archive.dispose()
    assert len(doc["sessions"]) == N_VISITS, len(doc["sessions"])
    return {"visits": N_VISITS, "sets_per_visit": 3,
            "history_ms_median": round(1000 * statistics.median(times), 1),
            "history_ms_max": round(1000 * max(times), 1)}


STATION = """
import sys
from pathlib import Path
from station.archive.index import Indexer
from station.archive.store import open_archive
archive = open_archive(sys.argv[1])
indexer = Indexer(archive, Path(sys.argv[2]), sys.argv[3])
for path in sorted(Path(sys.argv[2], sys.argv[3]).glob("*.h5")):
    indexer.index_trial_file(path)
"""


def bench_two_stations(url: str, root: Path) -> dict:
    import sqlalchemy as sa

    from station.archive.store import open_archive
    from tests.support.archive_files import write_trial

    for station in ("station-a", "station-b"):
        for i in range(100):
            write_trial(root / station / f"t{i:03d}.h5", f"S{i % 9}")
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", STATION, url, str(root), s], cwd=REPO)
             for s in ("station-a", "station-b")]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - t0
    archive = open_archive(url, write=False)
    with archive.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*), count(DISTINCT file_path) FROM trials")).one()
    archive.dispose()
    return {"trials_written": 200, "rows": rows[0], "distinct_files": rows[1], "lost": 200 - rows[1],
            "duplicated": rows[0] - rows[1], "exit_codes": codes, "seconds": round(seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("HINGE_TEST_PG_URL"),
                        help="PostgreSQL server URL (a database is created per measurement)")
    args = parser.parse_args()
    from tests.support.archive_files import write_trial

    result: dict = {"bench": "archive", **machine_fields()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "recordings"
        t0 = time.perf_counter()
        for i in range(N_TRIALS):
            write_trial(folder / f"d{i // 100}" / f"t{i:04d}.h5", f"S{i % 50:03d}")
        result["trial_file_bytes"] = (folder / "d0" / "t0000.h5").stat().st_size
        result["writing_fixture_s"] = round(time.perf_counter() - t0, 1)
        engines = {"sqlite": lambda name: f"sqlite:///{root / (name + '.sqlite')}"}
        if args.pg:
            engines["postgresql"] = lambda _name: _pg_database(args.pg)
        for engine, make in engines.items():
            fig = {"scan": bench_scan(make("scan"), folder, root)}
            hist = root / f"history-{engine}"
            hist.mkdir()
            fig["history"] = bench_history(make("history"), hist, root)
            fig["two_stations"] = bench_two_stations(make("two"), root / f"two-{engine}")
            result[engine] = fig
    result["goals"] = {"scan_trials_per_s": 50, "history_ms": 200, "two_stations_lost_or_duplicated": 0}
    write_results(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
