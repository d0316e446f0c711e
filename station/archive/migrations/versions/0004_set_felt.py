"""Schema 4: where the subject felt each set ("Where did you feel it?", issue 19 item 5).

`trials.felt`: hamstrings_glutes, low_back or nowhere (station.screening.felt.FELT_VALUES); NULL when not
asked (a lone trial file, a refused set, a session from before the question). A set felt in the low back
blocks progression for its session, in the gate and in the stage the archive says a subject reached.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("trials", sa.Column("felt", sa.String(32)))  # nullable: plain ALTER TABLE on both


def downgrade() -> None:
    with op.batch_alter_table("trials") as batch:  # batch: SQLite before 3.35 cannot drop a column
        batch.drop_column("felt")

