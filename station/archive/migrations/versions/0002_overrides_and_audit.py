"""Schema 2: a clinician's override of the stage the archive gives (with the reason), and the audit log."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UID = 32


def upgrade() -> None:
    op.create_table(
        "gate_overrides",
        sa.Column("override_uid", sa.String(UID), primary_key=True),
        sa.Column("subject", sa.String(64), sa.ForeignKey("subjects.subject"), nullable=False, index=True),
        sa.Column("from_stage", sa.String(32), nullable=False),
        sa.Column("to_stage", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("entry_uid", sa.String(UID), primary_key=True),
        sa.Column("at", sa.String(32), nullable=False, index=True),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), index=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("gate_overrides")
