"""A recording indexes itself when it ends; an archive it cannot reach never costs the trial."""

import json
import os
import subprocess
import sys

import sqlalchemy as sa

from station.archive.store import open_archive
from station.recording.reader import read_trial
from tests.conftest import REPO, camera_at_15_fps, run_cli, run_cli_together
from tests.support.archive_files import write_trial

# rep 1 ends at ~7.3 s and its lockout is judged by ~8.3 s: 11 s leaves a loaded host a margin
RECORD = ("record", "--plate", "sim:hinge", "--camera", "sim:hinge", "--subject", "S11", "--drill", "bw_rdl",
          "--arms", "arms_crossed", "--duration", "11", "--no-stills")


def test_record_indexes_its_trial_and_an_unreachable_archive_costs_only_a_line(tmp_path):
    env = dict(os.environ, HINGE_DATA_ROOT=str(tmp_path))
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    (tmp_path / "rec").mkdir()
    # the lab's PostgreSQL is down for the second recording (made at the same time, no rep needed: only
    # the file and the line)
    down = "postgresql://station:pw-123@127.0.0.1:1/archive"
    config = ("--config", str(camera_at_15_fps(tmp_path)))  # indexing does not depend on the frame rate
    r, late = run_cli_together(
        [*RECORD, *config, "--out", str(tmp_path / "rec" / "ok.h5"), "--db", db],
        [*RECORD[:-3], *config, "--duration", "3", "--no-stills", "--out", str(tmp_path / "rec" / "late.h5"),
         "--db", down], env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ok.h5 indexed" in r.stdout
    archive = open_archive(db, write=False)
    with archive.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT subject, drill, arms, file_path, status FROM trials")).one()
        n_reps = conn.execute(sa.text("SELECT count(*) FROM reps")).scalar()
    archive.dispose()
    assert tuple(row) == ("S11", "bw_rdl", "arms_crossed", "rec/ok.h5", "complete")
    assert n_reps == len(read_trial(tmp_path / "rec" / "ok.h5").reps) >= 1
    # the lab's PostgreSQL is down: the trial is written all the same, and says so in one line
    r = late
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "not indexed" in ln]
    assert len(lines) == 1 and "pw-123" not in r.stdout and "archive scan" in lines[0]
    assert read_trial(tmp_path / "rec" / "late.h5").complete
    # a later scan picks it up
    r = run_cli("archive", "scan", str(tmp_path / "rec"), "--db", db, "--json", env=env)
    out = json.loads(r.stdout)
    assert out["added"] == ["rec/late.h5"] and out["unchanged"] == ["rec/ok.h5"]


STATION_SCRIPT = """
import sys
from pathlib import Path
from station.archive.index import Indexer
from station.archive.store import open_archive
archive = open_archive(sys.argv[1])
indexer = Indexer(archive, Path(sys.argv[2]), sys.argv[3])
for path in sorted(Path(sys.argv[2], sys.argv[3]).glob("*.h5")):
    assert indexer.index_trial_file(path) == "added", path
"""


STATION_TRIALS = 40  # each station's trials: enough for their writes to interleave many times


def test_two_stations_write_to_one_archive_at_the_same_moment(db_url, tmp_path):
    for station in ("station-a", "station-b"):
        for i in range(STATION_TRIALS):
            write_trial(tmp_path / station / f"t{i:03d}.h5", f"S{i % 7}")  # the same subjects at both
    procs = [subprocess.Popen([sys.executable, "-c", STATION_SCRIPT, db_url, str(tmp_path), station],
                              cwd=REPO, stderr=subprocess.PIPE, text=True)
             for station in ("station-a", "station-b")]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    archive = open_archive(db_url, write=False)
    with archive.engine.connect() as conn:
        by_station = dict(conn.execute(sa.text("SELECT station_id, count(*) FROM trials GROUP BY 1")).all())
        distinct = conn.execute(sa.text("SELECT count(DISTINCT file_path) FROM trials")).scalar()
        reps = conn.execute(sa.text("SELECT count(*) FROM reps")).scalar()
        subjects = conn.execute(sa.text("SELECT count(*) FROM subjects")).scalar()
        analyses = dict(conn.execute(sa.text("SELECT station_id, count(*) FROM analyses GROUP BY 1")).all())
    archive.dispose()
    assert by_station == {"station-a": STATION_TRIALS, "station-b": STATION_TRIALS}
    assert distinct == 2 * STATION_TRIALS and reps == 6 * STATION_TRIALS and subjects == 7
    assert analyses == by_station
