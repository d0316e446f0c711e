"""The archive's schema: built by the migrations, upgraded from the first version, refused when newer."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from station.archive import schema
from station.archive.location import archive_url, hide_password
from station.archive.store import normalise_url, open_archive, upgrade
from station.config import StationConfig
from station.errors import StationError
from tests.conftest import run_cli


def test_the_migrations_build_exactly_the_schema_the_code_uses(db_url):
    archive = open_archive(db_url)
    assert archive.version == schema.HEAD_VERSION == 4
    with archive.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    archive.dispose()
    # column comments are documentation in schema.py only; everything else must agree
    assert [d for d in diffs if not (isinstance(d, list) and d[0][0] == "modify_comment")] == []


def test_an_archive_of_the_first_schema_is_upgraded_with_its_rows(db_url):
    engine = sa.create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        upgrade(conn, "0001")
        conn.execute(sa.text("INSERT INTO subjects VALUES ('S07', '2026-01-05T10:00:00+00:00', 'st-old')"))
        conn.execute(sa.text(
            "INSERT INTO sessions (session_uid, subject, date, missing, indexed_at, station_id) "
            "VALUES ('a0000000000000000000000000000000', 'S07', '2026-01-05', false, "
            "'2026-01-05T10:00:00', 'st-old')"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        assert not sa.inspect(conn).has_table("gate_overrides")
    engine.dispose()
    archive = open_archive(db_url)  # a station of schema 4 opens it for writing: upgraded in place
    with archive.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0004"
        assert "felt" in {c["name"] for c in sa.inspect(conn).get_columns("trials")}  # schema 4
        old = conn.execute(sa.text("SELECT station_id FROM subjects WHERE subject='S07'")).scalar()
        assert old == "st-old"
        assert conn.execute(sa.text("SELECT count(*) FROM sessions")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM gate_overrides")).scalar() == 0
    archive.dispose()


def test_an_archive_with_a_newer_schema_is_refused_for_writing_naming_the_version(db_url, tmp_path):
    archive = open_archive(db_url)
    with archive.transaction() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
    archive.dispose()
    with pytest.raises(StationError, match=r"schema version 9 is newer than this station writes \(4\)"):
        open_archive(db_url)
    assert open_archive(db_url, write=False).version == 9  # reading what it can is still allowed
    r = run_cli("archive", "scan", str(tmp_path), "--db", db_url)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "schema version 9" in r.stderr


def test_a_refused_connection_is_one_line_with_the_url_and_no_password():
    url = "postgresql://clinic:s3cret-pw@127.0.0.1:1/archive"
    with pytest.raises(StationError) as err:
        open_archive(url)
    text = str(err.value)
    assert "s3cret-pw" not in text and "clinic:***@127.0.0.1:1/archive" in text and "\n" not in text
    r = run_cli("subjects", "--db", url)
    assert r.returncode == 2 and "s3cret-pw" not in r.stderr and r.stderr.count("\n") == 1


def test_the_url_comes_from_the_flag_then_the_environment_then_the_toml_then_the_data_root(tmp_path,
                                                                                            monkeypatch):
    config = StationConfig()
    config.archive.url = "postgresql://lab@db/archive"
    monkeypatch.setenv("HINGE_ARCHIVE_URL", "sqlite:////env.sqlite")
    assert archive_url("sqlite:////flag.sqlite", config) == "sqlite:////flag.sqlite"
    assert archive_url(None, config) == "sqlite:////env.sqlite"
    monkeypatch.delenv("HINGE_ARCHIVE_URL")
    assert archive_url(None, config) == "postgresql://lab@db/archive"
    config.archive.url = ""
    monkeypatch.setenv("HINGE_DATA_ROOT", str(tmp_path))
    assert archive_url(None, config) == f"sqlite:///{tmp_path / 'hinge-archive.sqlite'}"
    assert hide_password("postgresql+psycopg://u:p@h:5/d") == "postgresql+psycopg://u:***@h:5/d"
