"""The store's schema history as Alembic migrations, run from the installed package.

Why Alembic rather than ``metadata.create_all``: the store is shared (PostgreSQL, several hosts and
engineers, dmct versions upgraded one host at a time), so a schema change must be an explicit,
ordered, transactional step that every copy of dmct agrees on, not whatever the newest dmct happens to
create. The revisions live in ``versions/`` beside this file and are found through ``script_location``
pointing here, so no ``alembic.ini`` is needed at run time.

Revision ids are the schema version written with four digits (``0001``, ``0002``, …): each migration
also writes its number into ``dmct_meta.schema_version``, the check that dmct before Alembic made, so an
old dmct refuses a newer store instead of misreading it. :data:`harness.store.issue_log.SCHEMA_VERSION` is the
head's number (a test keeps them equal).

:func:`upgrade_store` is what :func:`harness.store.issue_log.open_store` calls. A store at head costs two
small
queries and no import of Alembic (a sixth of a second, on every command). Otherwise, holding a lock
that serialises concurrent openers (``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on
PostgreSQL), it adopts a store created before Alembic (the tables of schema version 1 without an
``alembic_version`` table: stamped as ``0001``, data untouched) and upgrades to head, all in one
transaction.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

from harness.errors import DmctInputError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

#: Where Alembic finds ``env.py`` and ``versions/``: this package's directory.
SCRIPT_LOCATION = str(Path(__file__).resolve().parent)
#: The revision that creates the schema dmct wrote before Alembic (schema version 1).
LEGACY_REVISION = "0001"
#: The tables of schema version 1: a store holding them but no ``alembic_version`` is adopted.
LEGACY_TABLES = frozenset({"dmct_meta", "testing_issues", "testing_issue_history", "dmct_store_events"})
#: Key of the PostgreSQL advisory lock held while migrating (any fixed 64-bit number works).
_PG_LOCK = zlib.crc32(b"dmct store migration")


@dataclass(frozen=True, slots=True)
class Migration:
    """What :func:`upgrade_store` did: the revision found (None for an empty database) and the one left."""

    found: str | None
    now: str
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.found != self.now or self.adopted


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic :class:`Config` for this package's migrations, without an ini file.

    ``connection`` is handed to ``env.py`` (which then migrates inside the caller's transaction);
    ``url`` is only for offline (``--sql``) runs.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")  # a module name: r0003_what.py
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ini-style interpolation
    config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision, from the scripts (:func:`expected_head` says what it must be)."""
    head = _script().get_current_head()
    assert head is not None, "harness/store/migrations/versions has no revision"
    return head


def expected_head() -> str:
    """The head revision by the naming rule, without loading Alembic: the schema version, 4 digits."""
    from harness.store.schema import SCHEMA_VERSION

    return f"{SCHEMA_VERSION:04d}"


def known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in _script().walk_revisions())


def target_metadata() -> MetaData:
    """Every table of the store in one :class:`MetaData` (what autogenerate compares against)."""
    from harness.store.schema import entries_metadata, metadata, results_metadata

    combined = MetaData()
    for part in (metadata, results_metadata, entries_metadata):
        for table in part.tables.values():
            table.to_metadata(combined)
    return combined


def current_revision(connection: Connection) -> str | None:
    """The store's revision (None: no ``alembic_version`` table or no row), read with plain SQL."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:
        raise DmctInputError("alembic_version", f"several heads {sorted(found)}: not a dmct store")
    return found[0] if found else None


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other dmct migrates in at the same time; committed on success."""
    with engine.connect() as conn:
        backend = engine.dialect.name
        if backend == "sqlite":
            # pysqlite starts transactions lazily; take the write lock now so a second opener waits.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        yield conn
        conn.commit()


def _check_known(found: str | None, where: str) -> None:
    if found is not None and found not in known_revisions():
        raise DmctInputError(
            where,
            f"store schema revision {found} is newer than this dmct knows (up to {head_revision()}); "
            "upgrade dmct",
        )


def _legacy_version(conn: Connection, tables: set[str], where: str) -> str:
    """Check that a store without ``alembic_version`` is a complete schema-version-1 store."""
    missing = sorted(LEGACY_TABLES - tables)
    if missing:
        raise DmctInputError(
            where, f"not a dmct store: it has tables but no {', '.join(missing)} (and no alembic_version)"
        )
    value = conn.execute(text("SELECT value FROM dmct_meta WHERE key = 'schema_version'")).scalar()
    if value != "1":
        raise DmctInputError(
            where, f"store schema version {value}, without Alembic revision; cannot adopt it"
        )
    return LEGACY_REVISION


def upgrade_store(engine: Engine, where: str) -> Migration:
    """Bring the store at ``engine`` to the head revision (see the module docstring); ``where`` names it
    in errors. Raises :class:`DmctInputError` for a store newer than this dmct or one it cannot adopt."""
    with engine.connect() as conn:
        found = current_revision(conn)
    if found is not None and found == expected_head():
        return Migration(found, found)
    from alembic import command
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    head = head_revision()
    _check_known(found, where)
    try:
        with _migration_lock(engine) as conn:
            found = current_revision(conn)  # again: another opener may have migrated meanwhile
            _check_known(found, where)
            adopted = False
            if found is None:
                tables = set(inspect(conn).get_table_names())
                if tables & LEGACY_TABLES:
                    command.stamp(alembic_config(conn), _legacy_version(conn, tables, where))
                    adopted = True
            command.upgrade(alembic_config(conn), "head")
    except (CommandError, RevisionError) as exc:
        raise DmctInputError(where, f"cannot migrate the store: {' '.join(str(exc).split())}") from None
    return Migration(found, head, adopted)


def upgrade_sql(url: str, output: TextIO) -> None:
    """Write the SQL that creates the whole schema on an empty database of ``url``'s dialect, without
    connecting (Alembic offline mode): for a database administrator who applies DDL by hand."""
    from alembic import command

    config = alembic_config(url=url)
    config.output_buffer = output
    command.upgrade(config, "head", sql=True)
