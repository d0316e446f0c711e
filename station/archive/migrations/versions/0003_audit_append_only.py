"""Schema 3: the audit log is append-only in the database itself (UPDATE and DELETE on it fail).

Triggers, not permissions: they hold for every login of the archive, SQLite file or PostgreSQL (whose
owner could still drop them deliberately; that is a schema change, not an edit of the log).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MESSAGE = "audit_log is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""")
        return
    for what in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER audit_log_no_{what.lower()} BEFORE {what} ON audit_log
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
        return
    for what in ("update", "delete"):
        op.execute(f"DROP TRIGGER audit_log_no_{what}")
