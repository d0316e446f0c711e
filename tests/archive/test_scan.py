"""`archive scan`: trials and sessions on disk into the archive; idempotent; changes reported; bad files
named."""

import json
import os

import sqlalchemy as sa

from station.archive.store import open_archive
from tests.conftest import run_cli, run_cli_together
from tests.support.archive_files import rep, write_trial


def scan(db_url, folder, root, *extra):
    env = dict(os.environ, HINGE_DATA_ROOT=str(root))
    r = run_cli("archive", "scan", str(folder), "--db", db_url, "--json", *extra, env=env)
    assert r.stdout.strip(), r.stderr
    return r, json.loads(r.stdout)


def count(db_url, table):
    archive = open_archive(db_url, write=False)
    try:
        with archive.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    finally:
        archive.dispose()


def test_scan_indexes_trials_once_and_a_second_scan_adds_nothing(db_url, tmp_path):
    rec = tmp_path / "recordings"
    write_trial(rec / "a.h5", "S01", reps=[rep(0), rep(1, faults=("squat_pattern",)), rep(2)])
    write_trial(rec / "b.h5", "S01", drill="dowel_hinge", arms="")
    write_trial(rec / "visit2" / "c.h5", "S02")
    r, first = scan(db_url, rec, tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(first["added"]) == ["recordings/a.h5", "recordings/b.h5", "recordings/visit2/c.h5"]
    assert first["unchanged"] == first["changed"] == first["missing"] == first["errors"] == []
    r, second = scan(db_url, rec, tmp_path)
    assert second["added"] == [] and len(second["unchanged"]) == 3
    assert count(db_url, "trials") == 3 and count(db_url, "subjects") == 2
    assert count(db_url, "reps") == 3 + 3 + 3 and count(db_url, "analyses") == 3
    archive = open_archive(db_url, write=False)
    with archive.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT file_path, file_sha256, file_size, station_id FROM trials "
                                   "WHERE file_path = 'recordings/a.h5'")).one()
        faults = conn.execute(sa.text("SELECT r.faults FROM reps r JOIN analyses a USING (analysis_uid) "
                                      "JOIN trials t USING (trial_uid) WHERE t.file_path = 'recordings/a.h5' "
                                      "ORDER BY r.rep_index")).scalars().all()
    archive.dispose()
    import hashlib

    assert row.file_sha256 == hashlib.sha256((rec / "a.h5").read_bytes()).hexdigest()
    assert row.file_size == (rec / "a.h5").stat().st_size and row.station_id
    assert faults == ["", "squat_pattern", ""]


def test_a_changed_file_is_reported_and_its_rows_kept(db_url, tmp_path):
    rec = tmp_path / "rec"
    path = write_trial(rec / "a.h5", "S01")
    scan(db_url, rec, tmp_path)
    archive = open_archive(db_url, write=False)
    with archive.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT file_sha256 FROM trials")).scalar()
    archive.dispose()
    write_trial(path.with_name("tmp.h5"), "S01", reps=[rep(0, faults=("shallow",))])
    os.replace(path.with_name("tmp.h5"), path)  # same name, other content (another trial)
    r, out = scan(db_url, rec, tmp_path)
    assert out["changed"] == ["rec/a.h5"] and out["added"] == []
    assert "changed since indexed" not in r.stdout  # JSON only on stdout
    archive = open_archive(db_url, write=False)
    with archive.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT file_sha256 FROM trials")).scalars().all() == [before]
        assert conn.execute(sa.text("SELECT count(*) FROM reps WHERE faults = 'shallow'")).scalar() == 0
    archive.dispose()


def test_a_touched_but_identical_file_is_unchanged(db_url, tmp_path):
    path = write_trial(tmp_path / "rec" / "a.h5", "S01")
    scan(db_url, tmp_path / "rec", tmp_path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    _, out = scan(db_url, tmp_path / "rec", tmp_path)
    assert out["unchanged"] == ["rec/a.h5"] and out["changed"] == []


def test_moved_or_deleted_files_are_marked_missing_and_their_rows_kept(db_url, tmp_path):
    rec = tmp_path / "rec"
    write_trial(rec / "a.h5", "S01")
    b = write_trial(rec / "b.h5", "S01")
    scan(db_url, rec, tmp_path)
    b.rename(tmp_path / "elsewhere.h5")
    _, out = scan(db_url, rec, tmp_path)
    assert out["missing"] == ["rec/b.h5"] and out["unchanged"] == ["rec/a.h5"]
    assert count(db_url, "trials") == 2 and count(db_url, "reps") == 6
    # found again under a new name (same trial_uid): the row follows the file, nothing duplicated
    (tmp_path / "elsewhere.h5").rename(rec / "moved.h5")
    _, out = scan(db_url, rec, tmp_path)
    assert out["missing"] == [] and "rec/moved.h5" in out["unchanged"]
    assert count(db_url, "trials") == 2
    archive = open_archive(db_url, write=False)
    with archive.engine.connect() as conn:
        query = "SELECT file_path FROM trials WHERE missing = false ORDER BY 1"
        paths = conn.execute(sa.text(query)).scalars()
        assert list(paths) == ["rec/a.h5", "rec/moved.h5"]
    archive.dispose()


def test_a_corrupt_trial_is_named_in_one_line_and_the_scan_goes_on(db_url, tmp_path):
    rec = tmp_path / "rec"
    write_trial(rec / "good.h5", "S01")
    (rec / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 300)
    (rec / "other.h5").write_bytes(b"not hdf5 at all")
    r, out = scan(db_url, rec, tmp_path)
    assert r.returncode == 1
    assert out["added"] == ["rec/good.h5"]
    assert sorted(e["path"] for e in out["errors"]) == ["rec/broken.h5", "rec/other.h5"]
    for e in out["errors"]:
        assert "\n" not in e["error"] and e["path"].rsplit("/", 1)[-1] in e["error"]


def test_two_scans_at_once_add_each_file_once(db_url, tmp_path):
    rec = tmp_path / "rec"
    for i in range(40):
        write_trial(rec / f"t{i:02d}.h5", f"S{i % 4}")
    env = dict(os.environ, HINGE_DATA_ROOT=str(tmp_path))
    scan_args = ["archive", "scan", str(rec), "--db", db_url, "--json"]
    procs = run_cli_together(scan_args, scan_args, timeout=120, env=env)
    assert all(p.returncode == 0 for p in procs), [p.stderr for p in procs]
    outs = [json.loads(p.stdout) for p in procs]
    assert all(o["errors"] == [] for o in outs)
    assert len(outs[0]["added"]) + len(outs[1]["added"]) == 40  # each file added by exactly one of them
    assert count(db_url, "trials") == 40 and count(db_url, "reps") == 120 and count(db_url, "subjects") == 4
