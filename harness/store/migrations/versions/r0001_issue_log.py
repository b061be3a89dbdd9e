"""The Testing Issue log: issues, their audit history, store events and dmct_meta (schema version 1).

Revision ID: 0001
Revises:
Create Date: 2026-11-30

Exactly the schema dmct created with ``metadata.create_all`` before Alembic, so a store from then is
adopted by stamping it with this revision (harness/store/migrations/__init__.py). Constraint names and
types must therefore never change here: a later change is a new revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    meta = op.create_table(
        "dmct_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "dmct_store_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "testing_issues",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("route", sa.String(length=1), nullable=True),
        sa.Column("exclusion_rationale", sa.Text(), nullable=True),
        sa.Column("exclusion_tag", sa.String(length=16), nullable=True),
        sa.Column("dispute_severity", sa.Integer(), nullable=True),
        sa.Column("dispute_state", sa.String(length=16), nullable=True),
        sa.Column("service_provider", sa.String(length=255), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("raised", sa.String(length=64), nullable=True),
        sa.Column("tests", sa.JSON(), nullable=False),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="ck_issue_severity"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_issue_status"),
        sa.CheckConstraint("route IS NULL OR route IN ('a', 'b', 'c', 'd')", name="ck_issue_route"),
        sa.CheckConstraint(
            "exclusion_tag IS NULL OR exclusion_tag IN ('pending', 'agreed', 'disagreed')",
            name="ck_issue_exclusion_tag",
        ),
        sa.CheckConstraint(
            "dispute_severity IS NULL OR dispute_severity BETWEEN 1 AND 5", name="ck_issue_dispute_severity"
        ),
        sa.CheckConstraint(
            "dispute_state IS NULL OR dispute_state IN ('pending', 'resolved')", name="ck_issue_dispute_state"
        ),
        sa.CheckConstraint("version >= 1", name="ck_issue_version"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "testing_issue_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["testing_issues.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_testing_issue_history_issue_id"), "testing_issue_history", ["issue_id"], unique=False
    )
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    op.drop_index(op.f("ix_testing_issue_history_issue_id"), table_name="testing_issue_history")
    op.drop_table("testing_issue_history")
    op.drop_table("testing_issues")
    op.drop_table("dmct_store_events")
    op.drop_table("dmct_meta")
