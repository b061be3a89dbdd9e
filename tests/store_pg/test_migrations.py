"""Alembic migrations of the store on SQLite and PostgreSQL: from empty, adopting a pre-Alembic store,
the migrations matching the tables the code declares, concurrent first opens, ``dmct issues migrate``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, create_engine, inspect, text

from harness.errors import DmctInputError
from harness.store.issue_log import Store, dump_issues, open_store
from harness.store.migrations import (
    LEGACY_TABLES,
    alembic_config,
    expected_head,
    head_revision,
    known_revisions,
    target_metadata,
)
from harness.store.schema import SCHEMA_VERSION, issues_table, metadata

from .conftest import PASSWORD
from .runs import dmct

HERE = Path(__file__).parent
RESULTS_TABLES = {"dmct_runs", "dmct_result_pushes", "dmct_result_lines"}
ENTRY_TABLES = {"dmct_entries", "dmct_entry_history"}
HEAD = f"{SCHEMA_VERSION:04d}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (the PostgreSQL one on the session's throwaway server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    make: Callable[[], str] = request.getfixturevalue("pg_database")
    return make()


def diff_against(url: str, target: object) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), target))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_revision_ids_are_the_schema_versions_in_order() -> None:
    assert head_revision() == expected_head() == f"{SCHEMA_VERSION:04d}"
    assert known_revisions() == {f"{n:04d}" for n in range(1, SCHEMA_VERSION + 1)}


def test_an_empty_database_is_upgraded_to_head_matching_the_declared_tables(empty_url: str) -> None:
    with open_store(empty_url) as store:
        assert store.migration is not None
        assert (store.migration.found, store.migration.now, store.migration.adopted) == (None, HEAD, False)
        assert store.schema_version() == SCHEMA_VERSION
        store.add_issue(title="works", severity=3, actor="alice")
    assert tables(empty_url) == LEGACY_TABLES | RESULTS_TABLES | ENTRY_TABLES | {"alembic_version"}
    # The migrations create exactly what the code declares: autogenerate finds nothing to do.
    assert diff_against(empty_url, target_metadata()) == []
    with open_store(empty_url) as again:
        assert again.migration is not None and not again.migration.changed


def test_the_first_revision_is_exactly_the_pre_alembic_schema(empty_url: str) -> None:
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    # The declared tables differ from it only by what later revisions add to them: 0003's columns.
    diff = diff_against(empty_url, metadata)
    assert sorted((d[0], d[2], d[3].name) for d in diff) == [  # type: ignore[index]
        ("add_column", "testing_issues", "dispute_tag"),
        ("add_column", "testing_issues", "exclusions"),
        ("add_column", "testing_issues", "route_process"),
    ]


def test_downgrade_to_nothing_and_up_again(empty_url: str) -> None:
    open_store(empty_url).close()
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    engine.dispose()
    assert tables(empty_url) == {"alembic_version"}
    with open_store(empty_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert diff_against(empty_url, target_metadata()) == []


def _legacy_store(url: str) -> str:
    """What dmct before Alembic left behind: its DDL (captured from that code), then issues written by
    the store's own methods on the issue table as it was then (without 0003's columns), and no
    ``alembic_version`` table."""
    import harness.store.issue_log

    new = ("exclusions", "dispute_tag", "route_process")
    v1 = Table(
        "testing_issues",
        MetaData(),
        *(
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in issues_table.columns
            if c.name not in new
        ),
    )
    engine = create_engine(url)
    dialect = engine.dialect.name
    ddl = (HERE / f"legacy_v1_{dialect}.sql").read_text()
    with engine.begin() as conn:
        for statement in ddl.split(";\n"):
            body = "\n".join(x for x in statement.splitlines() if not x.startswith("--")).strip()
            if body:
                conn.exec_driver_sql(body)
    store = Store(engine)  # no open_store: that would migrate
    with patch.object(harness.store.issue_log, "issues_table", v1):
        a = store.add_issue(title="ESME reboots «£»", severity=3, actor="alice", entries=["E1"]).issue.id
        b = store.add_issue(title="CH drops", severity=4, actor="bob").issue.id
        store.route(a, "c", "carol")
        store.exclude(b, "not this DMC (20.29)", "dcc")
        store.link_test(a, "E1", "srvt", "srvt-3", "alice")
        exported = dump_issues(store.export_issues())
    store.close()
    assert "alembic_version" not in tables(url)
    return exported


def test_a_store_from_before_alembic_is_adopted_without_losing_data(empty_url: str) -> None:
    before = _legacy_store(empty_url)
    with open_store(empty_url) as store:
        assert store.migration is not None and store.migration.adopted
        assert (store.migration.found, store.migration.now) == (None, HEAD)
        assert dump_issues(store.export_issues()) == before  # every field and history record kept
        assert store.get_stored("TI-0001").version == 3
        store.update("TI-0002", {"severity": 5}, "dave", expected_version=2)
        assert store.add_issue(title="next", severity=3, actor="e").issue.id == "TI-0003"
    assert diff_against(empty_url, target_metadata()) == []
    with open_store(empty_url) as again:
        assert again.migration is not None and not again.migration.changed


def test_the_migrate_command_reports_adoption_then_up_to_date(empty_url: str) -> None:
    _legacy_store(empty_url)
    first = dmct("issues", "migrate", "--store", empty_url)
    assert first.returncode == 0, first.stderr
    assert f"adopted a store from before Alembic and upgraded it to revision {HEAD}" in first.stdout
    assert PASSWORD not in first.stdout
    second = dmct("issues", "migrate", "--store", empty_url)
    assert f"up to date (revision {HEAD}, schema version {SCHEMA_VERSION})" in second.stdout


def test_migrate_sql_prints_the_ddl_without_connecting() -> None:
    out = dmct("issues", "migrate", "--sql", "--store", "postgresql+psycopg://u:pw@db.invalid:1/dmct")
    assert out.returncode == 0, out.stderr
    assert "CREATE TABLE testing_issues" in out.stdout and "CREATE TABLE dmct_result_lines" in out.stdout
    assert "SERIAL" in out.stdout and "JSONB" not in out.stdout
    assert f"UPDATE alembic_version SET version_num='{HEAD}'" in out.stdout


def test_a_store_newer_than_this_dmct_is_refused_in_one_line(empty_url: str) -> None:
    open_store(empty_url).close()
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(DmctInputError) as err:
        open_store(empty_url)
    message = str(err.value)
    assert f"store schema revision 0099 is newer than this dmct knows (up to {HEAD}); upgrade dmct" in message
    assert "\n" not in message and PASSWORD not in message


def test_a_database_with_only_some_dmct_tables_is_not_adopted(empty_url: str) -> None:
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE dmct_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(255))")
    engine.dispose()
    with pytest.raises(DmctInputError, match="not a dmct store: it has tables but no dmct_store_events"):
        open_store(empty_url)


def test_concurrent_first_opens_migrate_once(empty_url: str) -> None:
    """Several engineers' first commands against a new database at the same moment: the migration
    lock makes one migrate and the others find it done."""
    outcomes: list[object] = []

    def first_open() -> None:
        try:
            with open_store(empty_url) as store:
                outcomes.append(store.migration)
        except Exception as exc:  # reported below
            outcomes.append(exc)

    threads = [threading.Thread(target=first_open) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    created = [o for o in outcomes if getattr(o, "found", "x") is None]
    assert len(outcomes) == 4 and len(created) == 1
    assert diff_against(empty_url, target_metadata()) == []
