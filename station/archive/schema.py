"""The archive's tables as the code reads and writes them (schema version HEAD_VERSION).

Migrations in `migrations/versions/` build exactly this from nothing or from any earlier version;
tests/archive/test_migrations.py checks the two agree. Raw data stays in the trial files: the archive is
an index (who, when, which file with which hash, which reps with which verdicts, which gate decision).

Ids are random hex UUIDs made by the station that adds the row, so stations writing to one database at
once cannot collide; every row carries the `station_id` that wrote it. Times are ISO-8601 text (UTC for
`*_at`, the local calendar day for `date`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

HEAD_VERSION = 4  # the newest migration (migrations/versions/000N_*.py); stored in alembic_version

metadata = MetaData()

UID = 32  # uuid4().hex

subjects = Table(
    "subjects", metadata,
    Column("subject", String(64), primary_key=True, comment="pseudonymous code, never a name"),
    Column("created_at", String(32), nullable=False),
    Column("station_id", String(64), nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("session_uid", String(UID), primary_key=True),
    Column("subject", String(64), ForeignKey("subjects.subject"), nullable=False, index=True),
    Column("date", String(10), nullable=False, comment="YYYY-MM-DD of the visit"),
    Column("file_path", Text, unique=True, comment="session JSON, relative to the data root"),
    Column("file_sha256", String(64)),
    Column("file_size", BigInteger),
    Column("file_mtime_ns", BigInteger),
    Column("prescribed_load_kg", Float),
    Column("missing", Boolean, nullable=False, default=False),
    Column("indexed_at", String(32), nullable=False),
    Column("station_id", String(64), nullable=False),
)

trials = Table(
    "trials", metadata,
    Column("trial_uid", String(UID), primary_key=True, comment="the trial file's own trial_uid"),
    Column("subject", String(64), ForeignKey("subjects.subject"), nullable=False, index=True),
    Column("session_uid", String(UID), ForeignKey("sessions.session_uid"), index=True),
    Column("set_id", String(16), comment="T1, T2... within the session; NULL for a lone trial"),
    Column("drill", String(32), nullable=False),
    Column("arms", String(32)),
    Column("implement", String(32)),
    Column("load_kg", Float),
    Column("side", String(8)),
    Column("status", String(16), nullable=False, comment="complete | stopped | refused | interrupted"),
    Column("stop_reason", Text),
    Column("pain_at_rep", Integer),
    Column("felt", String(32), comment="schema 4: where the set was felt (hamstrings_glutes | low_back | "
                                       "nowhere); NULL: not asked"),
    Column("started_at", String(32)),
    Column("date", String(10), nullable=False),
    Column("duration_s", Float),
    Column("source", Text),
    Column("file_path", Text, unique=True, comment="trial HDF5, relative to the data root; NULL: no file"),
    Column("file_sha256", String(64)),
    Column("file_size", BigInteger),
    Column("file_mtime_ns", BigInteger),
    Column("calibration_json", Text, comment="the calibrations in force (status, plate, clocks, files)"),
    Column("screening_json", Text, comment="contraindication answers asked before the set"),
    Column("missing", Boolean, nullable=False, default=False),
    Column("indexed_at", String(32), nullable=False),
    Column("station_id", String(64), nullable=False),
    UniqueConstraint("session_uid", "set_id", name="uq_trials_session_set"),
)

analyses = Table(
    "analyses", metadata,
    Column("analysis_uid", String(UID), primary_key=True),
    Column("trial_uid", String(UID), ForeignKey("trials.trial_uid"), nullable=False, index=True),
    Column("version", String(64), nullable=False, comment="SOFTWARE+CONFIGHASH, e.g. 0.1.0+3f2a9c01"),
    Column("software_version", String(32), nullable=False),
    Column("config_hash", String(16), nullable=False),
    Column("kind", String(16), nullable=False, comment="recorded (live core) | reanalysis"),
    Column("created_at", String(32), nullable=False),
    Column("station_id", String(64), nullable=False),
    UniqueConstraint("trial_uid", "version", name="uq_analyses_trial_version"),
)

reps = Table(
    "reps", metadata,
    Column("analysis_uid", String(UID), ForeignKey("analyses.analysis_uid"), primary_key=True),
    Column("rep_index", Integer, primary_key=True, comment="from 1 within the trial"),
    Column("t_start", Float), Column("t_bottom", Float), Column("t_end", Float),
    Column("passed", Boolean, nullable=False),
    Column("hip_back_mm", Float), Column("hip_drop_mm", Float), Column("hinge_ratio", Float),
    Column("knee_flexion_deg", Float), Column("trunk_inclination_deg", Float),
    Column("foot_pos_bottom", Float), Column("foot_pos_shift", Float), Column("dowel_gap_mm", Float),
    Column("faults", Text, nullable=False, default="", comment="comma-separated fault names"),
    Column("rep_json", Text, nullable=False, comment="the whole rep as `analyze --json` gives it"),
)

gate_decisions = Table(
    "gate_decisions", metadata,
    Column("decision_uid", String(UID), primary_key=True),
    Column("session_uid", String(UID), ForeignKey("sessions.session_uid"), nullable=False, index=True),
    Column("subject", String(64), ForeignKey("subjects.subject"), nullable=False, index=True),
    Column("decided_at", String(32), nullable=False),
    Column("current_stage", String(32), nullable=False),
    Column("unlocked", String(32)),
    Column("passed", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decision_json", Text, nullable=False, comment="GateDecision.to_json(): evidence, stages, rules"),
    Column("station_id", String(64), nullable=False),
)

# schema 2: the clinician's override of the archived stage, and the audit log
gate_overrides = Table(
    "gate_overrides", metadata,
    Column("override_uid", String(UID), primary_key=True),
    Column("subject", String(64), ForeignKey("subjects.subject"), nullable=False, index=True),
    Column("from_stage", String(32), nullable=False, comment="the stage the archive gave"),
    Column("to_stage", String(32), nullable=False, comment="the stage the clinician chose"),
    Column("reason", Text, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("decided_at", String(32), nullable=False),
    Column("station_id", String(64), nullable=False),
)

# append-only: schema 3 adds triggers that make UPDATE and DELETE on it fail (station.archive.audit)
audit_log = Table(
    "audit_log", metadata,
    Column("entry_uid", String(UID), primary_key=True),
    Column("at", String(32), nullable=False, index=True),
    Column("operator", String(64), nullable=False),
    Column("action", String(32), nullable=False,
           comment="audit.ACTIONS: record, screen, export, report, identity_lookup, ..."),
    Column("subject", String(64), index=True),
    Column("detail", Text, nullable=False, default=""),
    Column("station_id", String(64), nullable=False),
)
