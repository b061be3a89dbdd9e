"""Alembic's environment for the store: run by ``alembic.command`` with a :class:`Config` from
:func:`harness.store.migrations.alembic_config`, never from an ini file.

Online, the caller hands over its own connection (``config.attributes["connection"]``), already inside
the transaction that holds the migration lock, so the migrations run in that transaction; Alembic
notices the transaction and does not open or commit its own. Offline (``--sql``) it writes the SQL for
the URL's dialect.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from harness.store.migrations import target_metadata

config = context.config
metadata = target_metadata()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # a developer's own Config with a URL (e.g. for ``alembic revision``)
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("no connection and no sqlalchemy.url in the Alembic config")
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
