"""Opening an archive: the engine, the schema version check and migrations, one-line connection errors.

SQLAlchemy 2 Core + Alembic: one code path for the embedded SQLite file and a lab's PostgreSQL, with the
schema versioned by Alembic migrations shipped inside the package (no alembic.ini, nothing to set up).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from station.archive.location import hide_password
from station.archive.schema import HEAD_VERSION
from station.errors import StationError
from station.owner_files import prepare

SQLITE_BUSY_TIMEOUT_S = 60.0  # another station or scan holding the write lock: wait, do not fail
_MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """postgres:// and postgresql:// use psycopg 3 (the declared driver), not SQLAlchemy's psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_engine(url: str) -> Engine:
    path = sa.engine.make_url(url).database
    if path and path != ":memory:" and not Path(path).parent.is_dir():
        raise StationError(f"{url}: folder {Path(path).parent} does not exist")
    if path and path != ":memory:" and not Path(path).exists():
        with contextlib.suppress(OSError):  # not writable: SQLite says so in its own words below
            prepare(path)  # owner-only before SQLite fills it (its journal takes the same mode)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over (SQLAlchemy's
    # documented recipe) and begin IMMEDIATE, so two writers queue on the lock instead of deadlocking
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _connect_error(url: str, exc: Exception) -> StationError:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return StationError(f"archive {hide_password(url)}: cannot connect ({first})")


def schema_version(conn: Connection) -> int | None:
    """The stored schema version (Alembic revision "000N" -> N); None for an empty database."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    try:
        return int(rev) if rev is not None else None
    except ValueError:
        return -1


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(conn: Connection, to: str = "head") -> None:
    """Run the migrations up to `to` ("head", or "0001" for tests of the upgrade path)."""
    from alembic import command

    command.upgrade(_alembic_config(conn), to)


@dataclass
class Archive:
    """An open archive. `url` is shown with its password hidden; `engine` is SQLAlchemy's."""

    url: str
    engine: Engine
    version: int

    @property
    def shown_url(self) -> str:
        return hide_password(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def open_archive(url: str, *, write: bool = True) -> Archive:
    """Connect, create or migrate the schema (write=True), refuse an archive newer than this station."""
    url = normalise_url(url)
    try:
        if url.startswith("sqlite"):
            engine = _sqlite_engine(url)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
    except sa.exc.ArgumentError as exc:
        raise StationError(f"archive {hide_password(url)}: not a database URL ({exc})") from None
    except ModuleNotFoundError as exc:
        raise StationError(f"archive {hide_password(url)}: no driver {exc.name!r} for this URL") from None
    try:
        with engine.connect() as conn:
            version = schema_version(conn)
            conn.rollback()
        if version is None or version < HEAD_VERSION:
            if not write:
                if version is None:
                    raise StationError(f"archive {hide_password(url)}: empty (nothing recorded or scanned "
                                       "into it yet)")
            else:
                version = _migrate(engine, url)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise _connect_error(url, exc) from None
    except sa.exc.DatabaseError as exc:
        engine.dispose()
        raise StationError(f"archive {hide_password(url)}: not a usable database "
                           f"({str(getattr(exc, 'orig', exc)).splitlines()[0]})") from None
    if version is not None and version > HEAD_VERSION and write:
        engine.dispose()
        raise StationError(f"archive {hide_password(url)}: schema version {version} is newer than this "
                           f"station writes ({HEAD_VERSION}); update the station before writing to it")
    return Archive(url=url, engine=engine, version=int(version or 0))


def _migrate(engine: Engine, url: str) -> int:
    """Upgrade to head; stations starting at once take a lock so only one migrates."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")  # held until this commits
        version = schema_version(conn)  # again, under the lock: another station may have done it
        if version is None or version < HEAD_VERSION:
            upgrade(conn)
        return schema_version(conn) or 0

