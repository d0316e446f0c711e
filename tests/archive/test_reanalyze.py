"""`reanalyze`: the core again over archived trials, stored as a new analysis version beside the old ones.

Three short recorded trials (the whole stack: sim plate + sim camera -> trial file) are made once for the
module and indexed with `archive scan`; what `reanalyze` reports is checked against the verdicts the
archive held before (read back with SQL), not against its own output.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from station import __version__
from station.archive.reanalysis import pair_reps
from station.archive.store import open_archive
from station.results import ALL_FAULTS
from tests.conftest import camera_at_15_fps, run_cli, run_cli_together
from tests.support.archive_files import write_trial

TRIALS = (("S01", "hinge", "s01_hinge.h5"), ("S01", "squat", "s01_squat.h5"),
          ("S02", "hinge", "s02_hinge.h5"))
SECONDS = "12"  # the first rep ends at ~7.3 s, its lockout is judged within 1 s after


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A data root with rec/ holding three recorded trials (S01 hinge, S01 squat, S02 hinge)."""
    root = tmp_path_factory.mktemp("reanalyze")
    (root / "rec").mkdir()
    env = dict(os.environ, HINGE_DATA_ROOT=str(root))
    config = camera_at_15_fps(root)  # what is stored and re-analysed does not depend on the frame rate
    runs = run_cli_together(*(["record", "--plate", f"sim:{pattern}", "--camera", f"sim:{pattern}",
                               "--subject", subject, "--drill", "bw_rdl", "--arms", "arms_crossed",
                               "--config", str(config),
                               "--duration", SECONDS, "--no-stills", "--out", str(root / "rec" / name),
                               "--db", f"sqlite:///{root / 'recorded.sqlite'}"]
                              for subject, pattern, name in TRIALS), env=env, cwd=root)
    for r in runs:
        assert r.returncode == 0, r.stderr
    return root


@pytest.fixture(scope="module")
def dask_address():
    """HINGE_TEST_DASK (CI: scripts/services.sh, two worker processes), else a local cluster like it."""
    address = os.environ.get("HINGE_TEST_DASK")
    if address:
        yield address
        return
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def cli(root, *args):
    return run_cli(*args, env=dict(os.environ, HINGE_DATA_ROOT=str(root)), cwd=root, timeout=300)


def scan(root, db, folder="rec"):
    r = cli(root, "archive", "scan", str(root / folder), "--db", db, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def reanalyze(root, db, *args, ok=True):
    r = cli(root, "reanalyze", "--db", db, "--json", *args)
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    return r, json.loads(r.stdout) if r.stdout.strip() else None


def query(db, sql, **params):
    archive = open_archive(db, write=False)
    try:
        with archive.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        archive.dispose()


def recorded_reps(db):
    """(trial_uid, rep number, faults list, foot_pos_bottom) of every rep of the recorded analyses."""
    rows = query(db, "SELECT a.trial_uid, r.rep_index, r.faults, r.foot_pos_bottom FROM reps r "
                     "JOIN analyses a ON a.analysis_uid = r.analysis_uid WHERE a.kind = 'recorded' "
                     "ORDER BY a.trial_uid, r.rep_index")
    return [(uid, i, faults.split(",") if faults else [], fp) for uid, i, faults, fp in rows]


def verdict(faults):
    return "FAIL " + ",".join(faults) if faults else "PASS"


def threshold_between(values):
    """A foot_pos_bottom_max in the widest gap of the recorded values: some reps above it, some below."""
    v = sorted(values)
    gap, i = max((b - a, k) for k, (a, b) in enumerate(zip(v, v[1:], strict=False)))
    assert gap > 0.02, f"the recorded reps' foot_pos_bottom values are too close to split: {v}"
    return round((v[i] + v[i + 1]) / 2, 4)


def toml(root, name, **thresholds):
    path = root / name
    path.write_text("[thresholds]\n" + "".join(f"{k} = {v}\n" for k, v in thresholds.items()))
    return path


def analyses(db):
    return query(db, "SELECT trial_uid, version, kind, analysis_uid FROM analyses ORDER BY trial_uid, kind")


def test_defaults_reanalyse_nothing_when_software_and_settings_are_the_ones_recorded(recorded, tmp_path):
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert len(scan(recorded, db)["added"]) == 3
    before = analyses(db)
    r, out = reanalyze(recorded, db)
    assert out == {"trials": 0, "analysis_version": out["analysis_version"], "changed": [],
                   "seconds": out["seconds"]}
    # the version each trial was recorded with (its own settings, this software): already there
    assert {row.version for row in before} == {out["analysis_version"]}
    assert "3 trials already at that analysis version (skipped)" in r.stderr
    assert analyses(db) == before


def test_a_tightened_threshold_flips_exactly_the_reps_beyond_it_and_keeps_the_old_rows(recorded, db_url,
                                                                                        tmp_path):
    scan(recorded, db_url)
    old = recorded_reps(db_url)
    assert len({uid for uid, *_ in old}) == 3 and len(old) >= 3
    limit = threshold_between([fp for *_, fp in old])
    config = toml(tmp_path, "tight.toml", foot_pos_bottom_max=limit)
    # expected from the archive's own rows: a rep beyond the new limit gains toe_shift, no other rep changes
    expected = []
    for uid, number, faults, fp in old:
        if fp > limit and "toe_shift" not in faults:
            now = [f for f in ALL_FAULTS if f in {*faults, "toe_shift"}]
            expected.append({"trial_id": uid, "rep": number, "was": verdict(faults), "now": verdict(now)})
    assert expected and len(expected) < len(old), (limit, old)
    recorded_rows = analyses(db_url)

    r, out = reanalyze(recorded, db_url, "--config", str(config), "--workers", "2")
    assert out["trials"] == 3
    key = lambda c: (c["trial_id"], c["rep"])  # noqa: E731
    assert sorted(out["changed"], key=key) == sorted(expected, key=key)
    new = [row for row in analyses(db_url) if row.kind == "reanalysis"]
    assert len(new) == 3 and {row.version for row in new} == {out["analysis_version"]}
    assert out["analysis_version"].startswith(__version__ + "+")
    assert out["analysis_version"] not in {row.version for row in recorded_rows}
    # the old analyses and their reps are still there, untouched
    assert [row for row in analyses(db_url) if row.kind == "recorded"] == recorded_rows
    assert recorded_reps(db_url) == old
    # the new reps say what `changed` said
    rows = query(db_url, "SELECT a.trial_uid, r.rep_index, r.faults FROM reps r JOIN analyses a "
                         "ON a.analysis_uid = r.analysis_uid WHERE a.kind = 'reanalysis'")
    now = {(uid, i): verdict(f.split(",") if f else []) for uid, i, f in rows}
    assert len(now) == len(old)
    for c in expected:
        assert now[(c["trial_id"], c["rep"])] == c["now"]

    # the same settings again: nothing added, the three trials counted as skipped
    r, again = reanalyze(recorded, db_url, "--config", str(config), "--workers", "2")
    assert again["trials"] == 0 and again["changed"] == []
    assert again["analysis_version"] == out["analysis_version"]
    assert "3 trials already at that analysis version (skipped)" in r.stderr
    assert len(analyses(db_url)) == 6


def test_local_pool_and_dask_store_identical_reps_the_same_as_analyze(recorded, dask_address, tmp_path):
    config = toml(tmp_path, "hinge.toml", hinge_ratio_squat_max=7.7, foot_pos_bottom_max=0.47)
    reps = {}
    for where, args in (("local", ("--workers", "2")), ("dask", ("--dask", dask_address))):
        db = f"sqlite:///{tmp_path / (where + '.sqlite')}"
        scan(recorded, db)
        r, out = reanalyze(recorded, db, "--config", str(config), *args)
        assert out["trials"] == 3, r.stderr
        rows = query(db, "SELECT t.file_path, r.rep_index, r.rep_json FROM reps r JOIN analyses a "
                         "ON a.analysis_uid = r.analysis_uid JOIN trials t ON t.trial_uid = a.trial_uid "
                         "WHERE a.kind = 'reanalysis' ORDER BY t.file_path, r.rep_index")
        changed = sorted(out["changed"], key=lambda c: (c["trial_id"], c["rep"]))
        reps[where] = ([tuple(row) for row in rows], changed)
    assert reps["local"] == reps["dask"]
    assert reps["local"][0]
    # and what `analyze --config` gives for each file
    for _, _, name in TRIALS:
        r = cli(recorded, "analyze", str(recorded / "rec" / name), "--config", str(config), "--json")
        assert r.returncode == 0, r.stderr
        stored = [json.loads(j) for path, _, j in reps["local"][0] if path == f"rec/{name}"]
        assert stored == json.loads(r.stdout)["reps"]


def test_lost_reps_unreadable_trials_and_one_subject(recorded, tmp_path):
    shutil.copytree(recorded / "rec", tmp_path / "rec")
    write_trial(tmp_path / "rec" / "no_streams.h5", "S03")  # reps, but no force or marker samples
    gone = write_trial(tmp_path / "rec" / "gone.h5", "S03")
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert len(scan(tmp_path, db)["added"]) == 5
    gone.unlink()  # not scanned since: the archive still thinks it is there
    old = recorded_reps(db)
    by_uid = {uid: file for uid, file in query(db, "SELECT trial_uid, file_path FROM trials")}

    # one subject only
    r, out = reanalyze(tmp_path, db, "--subject", "S02", "--config",
                       str(toml(tmp_path, "none.toml", rep_min_amplitude_m=5.0)))
    assert out["trials"] == 1
    assert {by_uid[c["trial_id"]] for c in out["changed"]} == {"rec/s02_hinge.h5"}

    # no rep is that deep: every rep is gone, named with its old verdict (S02's newest analysis is the one
    # just stored, without reps: nothing changes there); the bad files cost a line each, the run goes on
    r, out = reanalyze(tmp_path, db, "--config", str(toml(tmp_path, "none2.toml", rep_min_amplitude_m=4.0)),
                       ok=False)
    assert r.returncode == 1
    assert out["trials"] == 3
    expected = [{"trial_id": uid, "rep": n, "was": verdict(f), "now": None} for uid, n, f, _ in old
                if by_uid[uid] in ("rec/s01_hinge.h5", "rec/s01_squat.h5")]
    key = lambda c: (c["trial_id"], c["rep"])  # noqa: E731
    assert expected and sorted(out["changed"], key=key) == sorted(expected, key=key)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("not reanalysed")]
    assert len(lines) == 2, r.stderr
    assert any("gone.h5" in ln for ln in lines) and any("no_streams.h5" in ln for ln in lines)

    r = cli(tmp_path, "reanalyze", "--db", db, "--subject", "NOBODY")
    assert r.returncode == 2 and "NOBODY" in r.stderr and len(r.stderr.strip().splitlines()) == 1

    # the reps back (text form): each trial's newest analysis had none
    r = cli(tmp_path, "reanalyze", "--db", db, "--subject", "S01", "--workers", "1", "--config",
            str(toml(tmp_path, "loose.toml", foot_pos_bottom_max=0.95)))
    assert r.returncode == 0, r.stderr
    assert "rec/s01_squat.h5" in r.stdout and "0 reps -> " in r.stdout and "rep 1: no rep -> " in r.stdout


def test_a_worker_that_loaded_other_analysis_code_is_named_and_nothing_stored(recorded, tmp_path,
                                                                             monkeypatch):
    from station.archive import reanalysis
    from station.archive.index import Indexer

    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    scan(recorded, db)
    before = analyses(db)
    monkeypatch.setattr(reanalysis, "CODE", "edited-since")  # as if this station's core changed meanwhile
    archive = open_archive(db)
    try:
        report = reanalysis.reanalyze(Indexer(archive, recorded, "test"), subject="S02", workers=1,
                                      config={"thresholds": {"foot_pos_bottom_max": 0.5}})
    finally:
        archive.dispose()
    assert report.analysed == [] and len(report.errors) == 1
    assert "s02_hinge.h5" in report.errors[0] and "other analysis code" in report.errors[0]
    assert analyses(db) == before


def test_the_local_pool_s_workers_start_warm(recorded):
    """The fork server imports WARM_MODULES once; a worker forked from it must not import the numeric
    libraries again at its first trial (scipy.signal alone was ~1 s in every spawned worker)."""
    probe = ("import json, sys\n"
             "from station.archive.rerun_worker import WARM_MODULES\n"
             "for name in WARM_MODULES: __import__(name)\n"
             "before = set(sys.modules)\n"
             "from station.archive.rerun_worker import reanalyse_file\n"
             "result = reanalyse_file(sys.argv[1], {})\n"
             "print(json.dumps({'reps': len(result.get('reps', [])), 'error': result.get('error'),\n"
             "                  'imported': sorted(set(sys.modules) - before)}))\n")
    r = subprocess.run([sys.executable, "-c", probe, str(recorded / "rec" / "s01_hinge.h5")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["error"] is None and out["reps"] > 0
    heavy = [m for m in out["imported"] if m.split(".")[0] in ("scipy", "numpy", "h5py", "sqlalchemy")]
    assert heavy == [], f"imported at the first trial, add to rerun_worker.WARM_MODULES: {heavy}"


def test_longest_trials_are_handed_out_first(recorded, tmp_path):
    from station.archive.index import Indexer
    from station.archive.reanalysis import Job, by_length, plan

    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    scan(recorded, db)
    archive = open_archive(db)
    try:
        jobs, _ = plan(Indexer(archive, recorded, "test"),
                       config={"thresholds": {"foot_pos_bottom_max": 0.5}})
    finally:
        archive.dispose()
    assert len(jobs) == 3 and all(job.length_s > 10 for job in jobs)  # the recorded duration_s, 12 s each

    def job(order: int, length_s: float) -> Job:
        return Job(order, f"uid{order}", "S", f"t{order}", f"t{order}.h5", tmp_path, {}, "v", "h", length_s)

    lengths = [(0, 30.0), (1, 300.0), (2, 0.0), (3, 30.0), (4, 60.0)]  # 0: unknown length
    assert [j.order for j in by_length([job(o, s) for o, s in lengths])] == [1, 4, 0, 3, 2]


def test_reps_are_paired_by_time_when_the_count_changes():
    old = [(1, 1.0, 3.0, []), (2, 4.0, 6.0, ["shallow"]), (3, 7.0, 9.0, [])]
    new = [(1, 4.1, 6.1, []), (2, 7.2, 9.1, []), (3, 10.0, 12.0, ["too_fast"])]
    assert pair_reps(old, new) == [(old[0], None), (old[1], new[0]), (old[2], new[1]), (None, new[2])]
    assert pair_reps(old, old) == [(r, r) for r in old]
