"""First schema: subjects, sessions, trials (files by relative path + sha256), analyses, reps, gate decisions.

Frozen as first released: later changes are new revisions, never edits here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UID = 32


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("session_uid", sa.String(UID), primary_key=True),
        sa.Column("subject", sa.String(64), sa.ForeignKey("subjects.subject"), nullable=False, index=True),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("file_path", sa.Text, unique=True),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("file_size", sa.BigInteger),
        sa.Column("file_mtime_ns", sa.BigInteger),
        sa.Column("prescribed_load_kg", sa.Float),
        sa.Column("missing", sa.Boolean, nullable=False),
        sa.Column("indexed_at", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "trials",
        sa.Column("trial_uid", sa.String(UID), primary_key=True),
        sa.Column("subject", sa.String(64), sa.ForeignKey("subjects.subject"), nullable=False, index=True),
        sa.Column("session_uid", sa.String(UID), sa.ForeignKey("sessions.session_uid"), index=True),
        sa.Column("set_id", sa.String(16)),
        sa.Column("drill", sa.String(32), nullable=False),
        sa.Column("arms", sa.String(32)),
        sa.Column("implement", sa.String(32)),
        sa.Column("load_kg", sa.Float),
        sa.Column("side", sa.String(8)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stop_reason", sa.Text),
        sa.Column("pain_at_rep", sa.Integer),
        sa.Column("started_at", sa.String(32)),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("duration_s", sa.Float),
        sa.Column("source", sa.Text),
        sa.Column("file_path", sa.Text, unique=True),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("file_size", sa.BigInteger),
        sa.Column("file_mtime_ns", sa.BigInteger),
        sa.Column("calibration_json", sa.Text),
        sa.Column("screening_json", sa.Text),
        sa.Column("missing", sa.Boolean, nullable=False),
        sa.Column("indexed_at", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("session_uid", "set_id", name="uq_trials_session_set"),
    )
    op.create_table(
        "analyses",
        sa.Column("analysis_uid", sa.String(UID), primary_key=True),
        sa.Column("trial_uid", sa.String(UID), sa.ForeignKey("trials.trial_uid"), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("software_version", sa.String(32), nullable=False),
        sa.Column("config_hash", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("trial_uid", "version", name="uq_analyses_trial_version"),
    )
    op.create_table(
        "reps",
        sa.Column("analysis_uid", sa.String(UID), sa.ForeignKey("analyses.analysis_uid"), primary_key=True),
        sa.Column("rep_index", sa.Integer, primary_key=True),
        sa.Column("t_start", sa.Float), sa.Column("t_bottom", sa.Float), sa.Column("t_end", sa.Float),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("hip_back_mm", sa.Float), sa.Column("hip_drop_mm", sa.Float),
        sa.Column("hinge_ratio", sa.Float), sa.Column("knee_flexion_deg", sa.Float),
        sa.Column("trunk_inclination_deg", sa.Float), sa.Column("foot_pos_bottom", sa.Float),
        sa.Column("foot_pos_shift", sa.Float), sa.Column("dowel_gap_mm", sa.Float),
        sa.Column("faults", sa.Text, nullable=False),
        sa.Column("rep_json", sa.Text, nullable=False),
    )
    op.create_table(
        "gate_decisions",
        sa.Column("decision_uid", sa.String(UID), primary_key=True),
        sa.Column("session_uid", sa.String(UID), sa.ForeignKey("sessions.session_uid"), nullable=False,
                  index=True),
        sa.Column("subject", sa.String(64), sa.ForeignKey("subjects.subject"), nullable=False, index=True),
        sa.Column("decided_at", sa.String(32), nullable=False),
        sa.Column("current_stage", sa.String(32), nullable=False),
        sa.Column("unlocked", sa.String(32)),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decision_json", sa.Text, nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for name in ("gate_decisions", "reps", "analyses", "trials", "sessions", "subjects"):
        op.drop_table(name)
