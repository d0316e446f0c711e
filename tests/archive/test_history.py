"""Across visits: subjects, a subject's history, and `screen` starting where the archive says they got to."""

import json
import os

import sqlalchemy as sa

from station.archive.store import open_archive
from tests.conftest import run_cli
from tests.support.archive_files import rep, write_session


def clean(n):
    return [rep(i) for i in range(n)]


def faulty(n, bad):
    return [rep(i, faults=("back_rounding",) if i in bad else ()) for i in range(n)]


def build_two_visits(folder):
    """S05: visit 1 dowel not passed (rep 4 rounded); visit 2 dowel passed (8 clean), then a bw set."""
    write_session(folder, "S05", "2026-11-02", [("dowel_hinge", None, faulty(8, {3}))], trial_files=True)
    write_session(folder, "S05", "2026-11-09", [("dowel_hinge", None, clean(8)),
                                                ("bw_rdl", "hands_low_back", faulty(10, {0, 1}))])
    write_session(folder, "S06", "2026-11-03", [("dowel_hinge", None, faulty(6, {0, 1, 2, 3, 4, 5}))])


def cli(db_url, *args, root=None):
    env = dict(os.environ, HINGE_DATA_ROOT=str(root)) if root else None
    r = run_cli(*args, "--db", db_url, env=env)
    assert r.returncode == 0, r.stderr
    return r


def test_subjects_and_history_across_visits(db_url, tmp_path):
    build_two_visits(tmp_path / "rec")
    out = json.loads(cli(db_url, "archive", "scan", str(tmp_path / "rec"), "--json", root=tmp_path).stdout)
    # 3 session files and the one trial file of visit 1
    assert len(out["added"]) == 4 and out["errors"] == []
    rows = json.loads(cli(db_url, "subjects", "--json").stdout)
    assert rows == [
        {"subject": "S05", "sessions": 2, "trials": 3, "last_date": "2026-11-09", "stage": "bw_rdl"},
        {"subject": "S06", "sessions": 1, "trials": 1, "last_date": "2026-11-03", "stage": "dowel_hinge"},
    ]
    doc = json.loads(cli(db_url, "history", "S05", "--json").stdout)
    assert doc["subject"] == "S05" and doc["stage"] == "bw_rdl"
    assert [s["date"] for s in doc["sessions"]] == ["2026-11-02", "2026-11-09"]
    first, second = doc["sessions"]
    assert [(t["trial_id"], t["drill"], t["reps"], t["clean_reps"]) for t in first["trials"]] == [
        ("T1", "dowel_hinge", 8, 7)]
    assert first["trials"][0]["faults"] == {"back_rounding": 1} and first["trials"][0]["file"].endswith(".h5")
    assert [(t["trial_id"], t["drill"], t["reps"], t["clean_reps"]) for t in second["trials"]] == [
        ("T1", "dowel_hinge", 8, 8), ("T2", "bw_rdl", 10, 8)]
    # visit 2 is judged on its bw set (not passed), yet its dowel stage passed: that is what unlocked bw_rdl
    assert first["gate"]["passed"] is False and second["gate"]["current_stage"] == "bw_rdl"
    assert doc["stage_detail"]["date"] == "2026-11-09" and doc["stage_detail"]["evidence"] == [
        ["T1", [1, 2, 3, 4, 5, 6, 7, 8]]]
    r = run_cli("history", "S99", "--db", db_url)
    assert r.returncode == 2 and "S99" in r.stderr


def test_screen_starts_at_the_archived_stage_and_needs_a_reason_to_go_beyond(db_url, tmp_path):
    build_two_visits(tmp_path / "rec")
    cli(db_url, "archive", "scan", str(tmp_path / "rec"), root=tmp_path)
    base = ("screen", "--subject", "S05", "--answers", "no,no,no,no", "--sim", "hinge", "--reps", "2",
            "--out-dir", str(tmp_path / "today"))
    # no --drill: the archived stage, shown with its evidence
    r = cli(db_url, *base, "--arms", "arms_crossed")
    assert "archive: S05: bw_rdl unlocked on 2026-11-09 (T1 reps 1-8)" in r.stdout
    assert "Bodyweight" in r.stdout or "bodyweight" in r.stdout
    session = json.loads(next((tmp_path / "today").glob("S05_*.session.json")).read_text())
    assert session["trials"][0]["drill"] == "bw_rdl"
    # beyond the archived stage: refused without a reason, in one line naming the stage
    weighted = ("--drill", "weighted_rdl", "--load-kg", "20", "--implement", "dumbbell")
    r = run_cli(*base, *weighted, "--db", db_url)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "reached bw_rdl" in r.stderr and "--override-reason" in r.stderr
    # with a reason: recorded, and the override stored with who and why
    r = cli(db_url, *base, *weighted, "--operator", "physio-7",
            "--override-reason", "cleared by the surgeon's protocol")
    assert "override stored: bw_rdl -> weighted_rdl by physio-7" in r.stdout
    archive = open_archive(db_url, write=False)
    with archive.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT from_stage, to_stage, reason, operator FROM gate_overrides")).one()
    archive.dispose()
    assert tuple(row) == ("bw_rdl", "weighted_rdl", "cleared by the surgeon's protocol", "physio-7")
    assert json.loads(cli(db_url, "subjects", "--json").stdout)[0]["stage"] == "weighted_rdl"
    # a subject the archive has never seen starts at the dowel hinge
    r = cli(db_url, "screen", "--subject", "S-NEW", "--answers", "no,no,no,no", "--sim", "hinge", "--reps",
            "2", "--out-dir", str(tmp_path / "today"))
    assert "starting at the dowel hinge" in r.stdout
