"""Every archive test runs on both engines: the embedded SQLite file and a real PostgreSQL server."""

import pytest

from tests.support.archive_files import PostgresDatabases, postgres_server_url


@pytest.fixture(scope="session")
def pg_server():
    """A per-session registry of throwaway PostgreSQL databases (dropped at the end)."""
    dbs = PostgresDatabases(postgres_server_url())
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty archive URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite'}"
    return request.getfixturevalue("pg_server").new()
