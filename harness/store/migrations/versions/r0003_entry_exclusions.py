"""Exclusions in respect of one planned entry and the TAG's severity disagreement (schema version 3).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

20.29: an exclusion is proposed "in respect of a planned entry on the EPCL" -- ``testing_issues.exclusions``
holds them as a JSON object keyed by entry id (NULL: none; the issue-wide ``exclusion_*`` columns keep
their meaning). 20.38 (a): in DMCT the TAG may consider that a severity should change while the DCC's
severity stays in the draft -- ``dispute_tag`` = ``disagreed`` beside ``dispute_state`` = ``pending``
(the interchange's ``dispute.state: disagreed``). 20.20-20.27: ``route_process`` (JSON) is where the
issue stands in its route's process (harness/rules/routes.py). Only columns are added: changing the
CHECK constraint of ``dispute_state`` would make SQLite recreate the table, and dropping it would
cascade to the history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_meta = sa.table("dmct_meta", sa.column("key", sa.String), sa.column("value", sa.String))


def _schema_version(value: str) -> None:
    op.execute(_meta.update().where(_meta.c.key == op.inline_literal("schema_version")).values(
        value=op.inline_literal(value)))  # fmt: skip


def upgrade() -> None:
    op.add_column("testing_issues", sa.Column("exclusions", sa.JSON(), nullable=True))
    op.add_column("testing_issues", sa.Column("dispute_tag", sa.String(length=16), nullable=True))
    op.add_column("testing_issues", sa.Column("route_process", sa.JSON(), nullable=True))
    _schema_version("3")


def downgrade() -> None:
    # Schema version 2 has no place for these: a TAG disagreement goes back to a pending review.
    op.drop_column("testing_issues", "route_process")
    op.drop_column("testing_issues", "dispute_tag")
    op.drop_column("testing_issues", "exclusions")
    _schema_version("2")
