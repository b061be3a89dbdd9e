"""The store's tables, in one module that the migrations, the issue log and the results store all read.

Why a module of its own: the Alembic migrations need the tables (autogenerate compares against them)
and the stores need the migrations (they upgrade on open); with the tables inside the stores the two
imported each other. Tables here, behaviour in :mod:`harness.store.issue_log` and
:mod:`harness.store.results`, history in :mod:`harness.store.migrations`: every import points one way.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: The number of the newest Alembic revision (``0004``), written into ``dmct_meta`` by the migrations.
SCHEMA_VERSION = 4

# ---------------------------------------------------------------------------------------- issue log

metadata = MetaData()

meta_table = Table(
    "dmct_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

issues_table = Table(
    "testing_issues",
    metadata,
    Column("id", String(64), primary_key=True),
    # Position in the log: exports list issues in this order so export -> import -> export is stable.
    Column("seq", Integer, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("entries", JSON, nullable=False),
    Column("route", String(1)),
    Column("exclusion_rationale", Text),
    Column("exclusion_tag", String(16)),
    Column("dispute_severity", Integer),
    Column("dispute_state", String(16)),
    Column("service_provider", String(255)),
    Column("title", Text, nullable=False),
    Column("raised", String(64)),
    Column("tests", JSON, nullable=False),
    CheckConstraint("severity BETWEEN 1 AND 5", name="ck_issue_severity"),
    CheckConstraint("status IN ('open', 'closed')", name="ck_issue_status"),
    CheckConstraint("route IS NULL OR route IN ('a', 'b', 'c', 'd')", name="ck_issue_route"),
    CheckConstraint(
        "exclusion_tag IS NULL OR exclusion_tag IN ('pending', 'agreed', 'disagreed')",
        name="ck_issue_exclusion_tag",
    ),
    CheckConstraint(
        "dispute_severity IS NULL OR dispute_severity BETWEEN 1 AND 5", name="ck_issue_dispute_severity"
    ),
    CheckConstraint(
        "dispute_state IS NULL OR dispute_state IN ('pending', 'resolved')", name="ck_issue_dispute_state"
    ),
    CheckConstraint("version >= 1", name="ck_issue_version"),
    # Schema version 3 (migration 0003). Exclusions in respect of one planned entry (20.29):
    # {entry id: {rationale, tag}}, NULL = none.
    Column("exclusions", JSON),
    # DMCT 20.38 (a): "disagreed" = the TAG considers the severity under review right (the review's
    # dispute_state stays "pending"; the interchange says dispute.state: disagreed); NULL otherwise.
    Column("dispute_tag", String(16)),
    # 20.20-20.27: the process of the current route (harness.model.interchange.RouteProcess); NULL = none.
    Column("route_process", JSON),
)

history_table = Table(
    "testing_issue_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "issue_id",
        String(64),
        ForeignKey("testing_issues.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Copied out of ``record`` for querying (who changed what, when); ``record`` is what is exported.
    Column("at", String(64)),
    Column("actor", String(255)),
    Column("action", String(32)),
    Column("field", String(64)),
    Column("record", JSON, nullable=False),
)

#: Store-level events that belong to no single issue (an import), kept out of the issues' own history
#: so that importing an export does not change what the next export says.
events_table = Table(
    "dmct_store_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", JSON, nullable=False),
)


# ------------------------------------------------------------------------------------ results journal

#: The results tables (created by migration 0002; :func:`harness.store.migrations.target_metadata` joins them
#: with the issue log's).
results_metadata = MetaData()

runs_table = Table(
    "dmct_runs",
    results_metadata,
    Column("run_id", String(64), primary_key=True),
    Column("plan", Text, nullable=False),
    Column("first_pushed", String(64), nullable=False),
)

pushes_table = Table(
    "dmct_result_pushes",
    results_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("dmct_runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("at", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("source", Text, nullable=False),
    Column("facts", Text),
    Column("lines", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Index("ix_dmct_result_pushes_run_id", "run_id"),
)

lines_table = Table(
    "dmct_result_lines",
    results_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("dmct_runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("push_id", Integer, ForeignKey("dmct_result_pushes.id", ondelete="CASCADE"), nullable=False),
    Column("entry", String(255), nullable=False),
    Column("pack", String(255), nullable=False),
    Column("test", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("at", String(32), nullable=False),
    Column("line", Text, nullable=False),
    UniqueConstraint("run_id", "digest", name="uq_dmct_result_lines_run_digest"),
    CheckConstraint(
        "outcome IN ('passed', 'failed', 'error', 'skipped', 'blocked')", name="ck_result_outcome"
    ),
    Index("ix_dmct_result_lines_run_at", "run_id", "at"),
)

# ------------------------------------------------------------------------------- DMCT entry lifecycle

#: The DMCT Status List and Schedule (20.8, 20.9; harness/store/entries.py), created by migration 0004.
entries_metadata = MetaData()

entries_table = Table(
    "dmct_entries",
    entries_metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    # Copied out of ``record`` for querying; ``record`` (harness.model.entries.EntryRecord) is the truth.
    Column("status", String(32), nullable=False),
    Column("record", JSON, nullable=False),
    CheckConstraint("version >= 1", name="ck_entry_version"),
)

entry_history_table = Table(
    "dmct_entry_history",
    entries_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "entry_id", String(64), ForeignKey("dmct_entries.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("at", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("field", String(64)),
    Column("record", JSON, nullable=False),
)
