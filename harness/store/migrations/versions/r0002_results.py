"""Shared results: runs, pushes and journal lines (schema version 2; harness/store/results.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Only new tables: the issue log is untouched, so a dmct that knows only schema version 1 keeps reading
the issues of an upgraded store's export, but refuses to open the store itself (dmct_meta says 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_meta = sa.table("dmct_meta", sa.column("key", sa.String), sa.column("value", sa.String))


def _schema_version(value: str) -> None:
    op.execute(_meta.update().where(_meta.c.key == op.inline_literal("schema_version")).values(
        value=op.inline_literal(value)))  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "dmct_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("first_pushed", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "dmct_result_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["dmct_runs.run_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dmct_result_pushes_run_id", "dmct_result_pushes", ["run_id"], unique=False)
    op.create_table(
        "dmct_result_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("push_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(length=255), nullable=False),
        sa.Column("pack", sa.String(length=255), nullable=False),
        sa.Column("test", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('passed', 'failed', 'error', 'skipped', 'blocked')", name="ck_result_outcome"
        ),
        sa.ForeignKeyConstraint(["push_id"], ["dmct_result_pushes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["dmct_runs.run_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "digest", name="uq_dmct_result_lines_run_digest"),
    )
    op.create_index("ix_dmct_result_lines_run_at", "dmct_result_lines", ["run_id", "at"], unique=False)
    _schema_version("2")


def downgrade() -> None:
    op.drop_index("ix_dmct_result_lines_run_at", table_name="dmct_result_lines")
    op.drop_table("dmct_result_lines")
    op.drop_index("ix_dmct_result_pushes_run_id", table_name="dmct_result_pushes")
    op.drop_table("dmct_result_pushes")
    op.drop_table("dmct_runs")
    _schema_version("1")
