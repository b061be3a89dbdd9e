"""The DMCT Status List and Schedule: planned entries and their audit history (schema version 4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

New tables only (harness/store/entries.py): ``dmct_entries`` holds each planned entry on the EPCL as
the JSON of :class:`harness.model.entries.EntryRecord` (status copied out for querying) with an
optimistic-locking version; ``dmct_entry_history`` one record per changed field, like the issue log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_meta = sa.table("dmct_meta", sa.column("key", sa.String), sa.column("value", sa.String))


def _schema_version(value: str) -> None:
    op.execute(_meta.update().where(_meta.c.key == op.inline_literal("schema_version")).values(
        value=op.inline_literal(value)))  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "dmct_entries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_entry_version"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "dmct_entry_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["dmct_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_dmct_entry_history_entry_id"), "dmct_entry_history", ["entry_id"], unique=False)
    _schema_version("4")


def downgrade() -> None:
    op.drop_index(op.f("ix_dmct_entry_history_entry_id"), table_name="dmct_entry_history")
    op.drop_table("dmct_entry_history")
    op.drop_table("dmct_entries")
    _schema_version("3")
