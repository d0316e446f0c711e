"""The audit log on both engines: one row per action (who, what, when, which code), append-only, and a
write that fails never costs the work it records."""

from __future__ import annotations

import argparse
import importlib
import json

import pytest
import sqlalchemy as sa

from station.archive.audit import audit, audit_entries, read_audit_jsonl
from station.archive.store import open_archive
from station.config import StationConfig
from station.errors import StationError
from tests.support.archive_files import rep, write_session, write_trial

NAME = "Ottoline Brackenbury"


def command(name: str, *argv: str) -> int:
    """A subcommand in this process, exactly as the command line parses it (no umask change)."""
    module = importlib.import_module(f"station.commands.{name}")
    parser = argparse.ArgumentParser()
    module.configure(parser)
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def test_each_action_leaves_one_row_with_operator_action_time_and_code(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HINGE_DATA_ROOT", str(tmp_path))
    monkeypatch.delenv("HINGE_IDENTITIES", raising=False)
    monkeypatch.chdir(tmp_path)
    db = ["--db", db_url]
    assert command("subject", "add", "--name", NAME, "--born", "1964-05-06", "--json", *db) == 0
    code = json.loads(capsys.readouterr().out)["subject"]
    assert command("record", "--plate", "sim:hinge", "--subject", code, "--drill", "bw_rdl", "--duration",
                   "1", "--zero-check-s", "0", "--operator", "dr-rec", "--out", tmp_path / "r.h5", *db) == 0
    assert command("screen", "--subject", code, "--sim", "hinge", "--reps", "2", "--drill", "dowel_hinge",
                   "--answers", "no,no,no,no", "--out-dir", tmp_path / "rec", "--operator", "dr-screen",
                   *db) == 0
    write_trial(tmp_path / "t.h5", code)
    assert command("export", tmp_path / "t.h5", "--format", "csv", "--deidentify", "--operator", "dr-x",
                   *db) == 0
    session = write_session(tmp_path, code, "2026-01-05", [("dowel_hinge", None, [rep(i) for i in range(3)])])
    assert command("report", session, "--identify", "--out", tmp_path / "id.html", *db) == 0
    assert command("report", session, "--deidentify", *db) == 0
    capsys.readouterr()
    archive = open_archive(db_url, write=False)
    rows = audit_entries(archive, code)
    archive.dispose()
    assert [r["action"] for r in rows] == ["subject_add", "record", "screen", "export", "identity_lookup",
                                           "report", "report"]
    assert [r["operator"] for r in rows[1:4]] == ["dr-rec", "dr-screen", "dr-x"]
    assert rows[0]["operator"] and all(r["subject"] == code and r["at"] for r in rows)
    assert "de-identified" in rows[3]["detail"] and "r.h5" in rows[1]["detail"]
    assert not any(part in json.dumps(rows, default=str) for part in NAME.split())  # codes only
    assert not (tmp_path / "hinge-audit.jsonl").exists()  # the archive took them all


def test_the_audit_log_is_append_only(db_url):
    config = StationConfig()
    assert audit("report", "S01", "x", config=config, db=db_url) is None
    archive = open_archive(db_url)
    for sql in ("UPDATE audit_log SET operator = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), archive.transaction() as conn:
            conn.execute(sa.text(sql))
    assert [r["operator"] for r in audit_entries(archive)] != ["someone else"]
    assert len(audit_entries(archive)) == 1
    archive.dispose()


def test_an_unreachable_archive_keeps_the_entry_beside_the_recordings(tmp_path, monkeypatch):
    monkeypatch.setenv("HINGE_DATA_ROOT", str(tmp_path))
    down = "postgresql://clinic:pw-123@127.0.0.1:1/archive"
    note = audit("record", "S01", "bw_rdl: a.h5", config=StationConfig(), db=down, operator="op")
    assert note.startswith("audit: archive postgresql://clinic:***@") and "pw-123" not in note
    assert "\n" not in note
    (entry,) = read_audit_jsonl(tmp_path / "hinge-audit.jsonl")
    assert (entry["action"], entry["subject"], entry["operator"]) == ("record", "S01", "op")
    # nowhere to write at all: one line, never an exception (the trial is kept)...
    monkeypatch.setenv("HINGE_DATA_ROOT", str(tmp_path / "hinge-audit.jsonl" / "not-a-folder"))
    note = audit("record", "S01", "x", config=StationConfig(), db=down)
    assert note.startswith("audit entry not stored") and "\n" not in note
    # ...except for an identity lookup, which is refused when it cannot be audited
    with pytest.raises(StationError, match="refused: this needs an audit entry"):
        audit("identity_lookup", "S01", "x", config=StationConfig(), db=down, required=True)
