"""Alembic environment: always run from station.archive.store with an open connection (no alembic.ini)."""

from alembic import context

connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table (a no-op on PostgreSQL)
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
