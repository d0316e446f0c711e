"""Schema 4's `trials.felt` (issue 19, item 5) and archives of the schema before it.

Read-only commands (`subjects`, `history`, the report's Progress) open an archive without upgrading it, so
an archive last written by a station of schema 3 has no `felt` column: they must still read it."""

from __future__ import annotations

import sqlalchemy as sa

from station.archive.queries import history, subjects
from station.archive.store import normalise_url, open_archive, upgrade
from tests.conftest import run_cli


def test_a_schema_3_archive_is_read_without_upgrading_it(db_url):
    engine = sa.create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        upgrade(conn, "0003")
        conn.execute(sa.text("INSERT INTO subjects VALUES ('S07', '2026-01-05T10:00:00+00:00', 'st-old')"))
        conn.execute(sa.text(
            "INSERT INTO trials (trial_uid, subject, drill, status, date, missing, indexed_at, station_id) "
            "VALUES ('b0000000000000000000000000000000', 'S07', 'dowel_hinge', 'complete', '2026-01-05', "
            "false, '2026-01-05T10:00:00', 'st-old')"))
    engine.dispose()
    archive = open_archive(db_url, write=False)
    try:
        assert archive.version == 3
        (row,) = subjects(archive)
        assert row["subject"] == "S07" and row["trials"] == 1 and row["stage"] == "dowel_hinge"
        assert history(archive, "S07")["stage"] == "dowel_hinge"
    finally:
        archive.dispose()
    r = run_cli("subjects", "--db", db_url)
    assert r.returncode == 0 and "S07" in r.stdout, r.stderr
    with sa.create_engine(normalise_url(db_url)).connect() as conn:  # still schema 3: nothing was written
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0003"
