"""The Testing Issue log (harness.store.issue_log): changes, audit history, optimistic versioning,
export/import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable

from harness.errors import DmctInputError
from harness.model.interchange import Issue, load_issues
from harness.store import issue_log
from harness.store.issue_log import (
    Store,
    StoreBusy,
    StoreConflict,
    StoredIssue,
    dump_issues,
    open_store,
    resolve_actor,
    store_url,
)
from harness.store.schema import SCHEMA_VERSION, issues_table, meta_table, metadata

UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def url_for(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "log" / "dmct.sqlite"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = open_store(url_for(db))
    yield s
    s.close()


def add(store: Store, title: str = "ESME reboots", severity: int = 3, **kw: object) -> str:
    return store.add_issue(title=title, severity=severity, actor="alice", **kw).issue.id  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- basics


def test_add_allocates_ids_records_who_and_when(store: Store) -> None:
    first = store.add_issue(title="ESME reboots", severity=3, actor="alice", entries=["E1"])
    second = store.add_issue(title="CH drops", severity=4, actor="bob", service_provider="S1SP-1")
    assert (first.issue.id, second.issue.id) == ("TI-0001", "TI-0002")
    assert first.version == 1
    issue = first.issue
    assert (issue.status, issue.route, issue.entries) == ("open", None, ["E1"])
    assert issue.raised is not None and UTC_ISO.match(issue.raised)
    [record] = issue.history
    assert record["by"] == "alice" and record["action"] == "add" and UTC_ISO.match(record["at"])
    assert record["new"]["severity"] == 3 and record["new"]["entries"] == ["E1"]
    assert store.get("TI-0002").service_provider == "S1SP-1"


def test_the_database_file_and_its_directory_are_created_on_open(db: Path, store: Store) -> None:
    assert db.is_file()
    assert store.schema_version() == SCHEMA_VERSION


def test_add_with_a_given_id_and_refuses_a_duplicate(store: Store) -> None:
    add(store, issue_id="TI-0007")
    assert add(store) == "TI-0008"  # one more than the highest TI- id
    with pytest.raises(DmctInputError, match="already in the store"):
        add(store, issue_id="TI-0007")


def test_add_refuses_an_invalid_severity_and_writes_nothing(store: Store) -> None:
    with pytest.raises(DmctInputError, match="severity"):
        add(store, severity=6)
    assert store.list_issues() == []


def test_list_filters_by_status_severity_and_entry(store: Store) -> None:
    a = add(store, severity=3, entries=["E1", "E2"])
    b = add(store, severity=4, entries=["E2"])
    c = add(store, severity=3)
    store.close_issue(c, "alice")
    assert [i.id for i in store.list_issues()] == [a, b, c]
    assert [i.id for i in store.list_issues(status="open")] == [a, b]
    assert [i.id for i in store.list_issues(severity=3)] == [a, c]
    assert [i.id for i in store.list_issues(entry="E2")] == [a, b]
    assert [i.id for i in store.list_issues(entry="E1", severity=4)] == []


def test_unknown_id_is_an_input_error(store: Store) -> None:
    with pytest.raises(DmctInputError, match="TI-0404: no such issue"):
        store.route("TI-0404", "a", "alice")


# ---------------------------------------------------------------------------- changes and history


def test_update_records_field_old_and_new_and_bumps_the_version(store: Store) -> None:
    i = add(store)
    stored = store.update(i, {"severity": 4, "title": "ESME reboots twice"}, "bob")
    assert stored.version == 2
    assert (stored.issue.severity, stored.issue.title) == (4, "ESME reboots twice")
    changes = [(h["field"], h["old"], h["new"], h["by"], h["action"]) for h in stored.issue.history[1:]]
    assert changes == [
        ("severity", 3, 4, "bob", "update"),
        ("title", "ESME reboots", "ESME reboots twice", "bob", "update"),
    ]
    assert UTC_ISO.match(stored.issue.history[1]["at"])


def test_an_update_that_changes_nothing_or_is_invalid_writes_nothing(store: Store) -> None:
    i = add(store)
    with pytest.raises(DmctInputError, match="nothing to change"):
        store.update(i, {"severity": 3}, "bob")
    with pytest.raises(DmctInputError, match="severity"):
        store.update(i, {"severity": 9}, "bob")
    with pytest.raises(DmctInputError, match="cannot be changed"):
        store.update(i, {"id": "TI-9999"}, "bob")
    stored = store.get_stored(i)
    assert stored.version == 1 and len(stored.issue.history) == 1 and stored.issue.severity == 3


def test_close_and_closing_twice(store: Store) -> None:
    i = add(store)
    assert store.close_issue(i, "alice").issue.status == "closed"
    with pytest.raises(DmctInputError, match="already closed"):
        store.close_issue(i, "alice")
    assert store.get(i).history[-1] | {"at": None} == {
        "at": None,
        "by": "alice",
        "action": "close",
        "field": "status",
        "old": "open",
        "new": "closed",
    }


def test_route_takes_only_the_four_20_20_options(store: Store) -> None:
    i = add(store)
    assert store.route(i, "c", "alice").issue.route == "c"  # 20.20 (c): a change to a SMETS1 Device
    with pytest.raises(DmctInputError, match="a\\|b\\|c\\|d"):
        store.route(i, "e", "alice")
    assert store.get_stored(i).version == 2


def test_exclusion_is_proposed_pending_then_decided_by_the_tag(store: Store) -> None:
    i = add(store)
    with pytest.raises(DmctInputError, match="no exclusion has been proposed"):
        store.tag(i, "agreed", "tag-chair")
    proposed = store.exclude(i, "does not affect this entry", "dcc").issue
    # 20.29 (a): a proposal pending TAG review is excluded in the draft report.
    assert proposed.exclusion is not None and proposed.exclusion.tag == "pending"
    assert not proposed.extant
    disagreed = store.tag(i, "disagreed", "tag-chair").issue
    assert disagreed.extant  # 20.38 (b): the TAG disagreed, so it counts again
    history = disagreed.history[-1]
    assert (history["field"], history["old"]["tag"], history["new"]["tag"]) == (
        "exclusion",
        "pending",
        "disagreed",
    )
    with pytest.raises(DmctInputError, match="agreed\\|disagreed"):
        store.tag(i, "maybe", "tag-chair")


def test_a_resolved_dispute_with_a_new_severity_changes_the_severity(store: Store) -> None:
    i = add(store, severity=3)
    pending = store.dispute(i, 4, "participant").issue
    # 14.4: until the TAG determines it, the DCC's severity remains and is counted.
    assert pending.severity == 3 and pending.dispute is not None and pending.dispute.state == "pending"
    resolved = store.resolve_dispute(i, "tag-chair", severity=4).issue
    assert resolved.severity == 4
    assert resolved.dispute is not None and resolved.dispute.state == "resolved"
    last = {h["field"]: (h["old"], h["new"], h["action"], h["by"]) for h in resolved.history[-2:]}
    assert last["severity"] == (3, 4, "dispute", "tag-chair")
    assert last["dispute"][1] == {"severity": 4, "state": "resolved"}


def test_a_dispute_resolved_without_a_new_severity_keeps_the_dcc_severity(store: Store) -> None:
    i = add(store, severity=3)
    with pytest.raises(DmctInputError, match="no pending severity dispute"):
        store.resolve_dispute(i, "tag-chair")
    with pytest.raises(DmctInputError, match="already has severity 3"):
        store.dispute(i, 3, "participant")
    store.dispute(i, 5, "participant")
    resolved = store.resolve_dispute(i, "tag-chair").issue
    assert resolved.severity == 3 and resolved.dispute is not None and resolved.dispute.state == "resolved"
    with pytest.raises(DmctInputError, match="no pending severity dispute"):
        store.resolve_dispute(i, "tag-chair")


def test_link_a_failed_test_to_an_issue(store: Store) -> None:
    i = add(store, entries=["E1"])
    linked = store.link_test(i, "E1", "srvt", "test_tariff_switch", "alice").issue
    assert [(t.entry, t.pack, t.test) for t in linked.tests] == [("E1", "srvt", "test_tariff_switch")]
    assert linked.history[-1]["field"] == "tests" and linked.history[-1]["old"] == []
    with pytest.raises(DmctInputError, match="already linked"):
        store.link_test(i, "E1", "srvt", "test_tariff_switch", "alice")


# ---------------------------------------------------------------------------- optimistic versions


def test_a_stale_update_from_a_second_store_raises_and_loses_nothing(db: Path) -> None:
    first = open_store(url_for(db))
    second = open_store(url_for(db))
    try:
        i = add(first)
        seen_by_first = first.get_stored(i).version
        seen_by_second = second.get_stored(i).version
        second.update(i, {"severity": 4}, "bob", expected_version=seen_by_second)
        with pytest.raises(StoreConflict, match="expected version 1 but the store has version 2") as err:
            first.update(i, {"title": "stale edit"}, "alice", expected_version=seen_by_first)
        assert len(str(err.value).splitlines()) == 1
        stored = first.get_stored(i)
        assert stored.version == 2
        assert (stored.issue.severity, stored.issue.title) == (4, "ESME reboots")
        assert [h["by"] for h in stored.issue.history] == ["alice", "bob"]
    finally:
        first.close()
        second.close()


def test_a_writer_that_lost_the_race_recomputes_on_top_unless_it_named_a_version(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The UPDATE is guarded by the version read in the same transaction. Simulate the read having seen
    # version 1 while bob's change (version 2) was already in: without an expected version the change is
    # retried on what bob left (nothing overwritten, nothing refused); with one it is a true conflict.
    i = add(store)
    store.update(i, {"severity": 5}, "bob")
    real = Store._load_for_update
    reads: list[int] = []

    def stale_first_read(self: Store, conn: Connection, issue_id: str) -> StoredIssue:
        found = real(self, conn, issue_id)
        reads.append(found.version)
        if len(reads) == 1:
            return StoredIssue(found.issue.model_copy(update={"severity": 3}), 1)
        return found

    monkeypatch.setattr(Store, "_load_for_update", stale_first_read)
    stored = store._mutate(i, "alice", None, "update", lambda _: {"title": "not lost"})
    assert reads == [2, 2]
    assert (stored.version, stored.issue.severity, stored.issue.title) == (3, 5, "not lost")
    assert [h["by"] for h in stored.issue.history] == ["alice", "bob", "alice"]

    reads.clear()
    with pytest.raises(
        StoreConflict, match=r"changed by someone else while writing \(read version 1\)"
    ) as err:
        store._mutate(i, "carol", 1, "update", lambda _: {"title": "stale"})
    assert err.value.exit_code == 4 and reads == [3]
    assert store.get_stored(i).version == 3


def test_sqlite_writers_queue_for_the_write_lock_and_say_busy_only_after_retrying(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BEGIN IMMEDIATE: a second writer waits for the first's transaction instead of interleaving.
    monkeypatch.setattr(issue_log, "RETRY_FOR_S", 0.3)
    first = open_store(url_for(db))
    second = open_store(url_for(db) + "?timeout=0.05")
    try:
        i = add(first)
        with first.transaction() as conn:
            conn.execute(update(issues_table).where(issues_table.c.id == i).values(title="held"))
            with pytest.raises(StoreBusy, match="another writer holds the log; nothing was written") as err:
                second.update(i, {"severity": 4}, "bob")
            assert err.value.exit_code == 5
        assert second.update(i, {"severity": 4}, "bob").version == 2  # lock released: it goes through
        assert first.get(i).title == "held"
    finally:
        first.close()
        second.close()


# ----------------------------------------------------------------------------------- export/import


def populate(store: Store) -> None:
    a = add(store, "ESME reboots on tariff switch «£»", 3, entries=["E1", "E2"], service_provider="SP1")
    b = add(store, "CH drops HAN", 4, entries=["E2"])
    c = add(store, "GSME valve", 5)
    store.route(a, "a", "alice")
    store.exclude(b, "not in this DMC's functioning (20.29)", "dcc")
    store.tag(b, "agreed", "tag-chair")
    store.dispute(c, 4, "participant")
    store.link_test(a, "E1", "srvt", "test_tariff", "alice")
    store.close_issue(c, "alice")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_import_export_is_byte_identical(tmp_path: Path, store: Store, fmt: str) -> None:
    populate(store)
    text = dump_issues(store.export_issues(), fmt)  # type: ignore[arg-type]
    path = tmp_path / f"issues.{fmt}"
    path.write_text(text, encoding="utf-8")
    with open_store(url_for(tmp_path / "other.sqlite")) as other:
        assert other.import_issues(load_issues(path), "carol", source=path) == 3
        assert dump_issues(other.export_issues(), fmt) == text  # type: ignore[arg-type]
        assert other.events()[0]["action"] == "import" and other.events()[0]["by"] == "carol"
        # Importing records a store event, not a history record: histories are the originals.
        assert other.get("TI-0001").history == store.get("TI-0001").history


def test_export_is_the_interchange_model_with_history(store: Store) -> None:
    populate(store)
    exported = store.export_issues()
    assert [i.id for i in exported] == ["TI-0001", "TI-0002", "TI-0003"]
    assert exported[1].exclusion is not None and exported[1].exclusion.tag == "agreed"
    assert [h["action"] for h in exported[0].history] == ["add", "route", "link"]
    assert all({"at", "by", "action", "field", "old", "new"} <= h.keys() for i in exported for h in i.history)


def test_dates_yaml_parsed_inside_an_imported_history_are_stored_as_iso_text(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "hand-written.yaml"
    path.write_text(
        "- id: A\n  severity: 3\n  status: open\n  history:\n  - at: 2026-01-05T10:00:00Z\n    by: x\n"
    )
    store.import_issues(load_issues(path), "carol", source=path)
    assert store.get("A").history == [{"at": "2026-01-05T10:00:00Z", "by": "x"}]


def test_import_keeps_given_ids_and_new_ids_continue_after_them(store: Store) -> None:
    store.import_issues(
        [Issue(id="TI-0041", severity=3, status="open"), Issue(id="X-1", severity=5, status="open")], "c"
    )
    assert add(store) == "TI-0042"


def test_import_refuses_an_id_already_in_the_store_and_writes_nothing(tmp_path: Path, store: Store) -> None:
    add(store)
    before = dump_issues(store.export_issues())
    path = tmp_path / "issues.yaml"
    path.write_text(
        "- id: NEW-1\n  severity: 3\n  status: open\n- id: TI-0001\n  severity: 4\n  status: open\n"
    )
    with pytest.raises(DmctInputError) as err:
        store.import_issues(load_issues(path), "carol", source=path)
    assert str(err.value) == f"{path}:4: [1].id: issue id 'TI-0001' is already in the store"
    assert dump_issues(store.export_issues()) == before
    assert store.events() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- id: A\n  severity: 3\n  status: open\n- id: A\n  severity: 4\n  status: open\n",
            ":4: [1].id: duplicate",
        ),
        ("- id: A\n  severity: 7\n  status: open\n", ":2: [0].severity: "),
        ("- id: A\n  severity: 3\n  status: done\n", ":3: [0].status: "),
        ("- id: A\n  severity: 3\n  status: open\n  route: e\n", ":4: [0].route: "),
        ("- id: A\n  severity: [3\n", ":3: invalid YAML"),  # the parser notices at the end
    ],
)
def test_a_malformed_issues_file_is_one_line_and_leaves_the_store_unchanged(
    tmp_path: Path, store: Store, text: str, expected: str
) -> None:
    add(store)
    before = dump_issues(store.export_issues())
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DmctInputError) as err:
        store.import_issues(load_issues(path), "carol", source=path)
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message
    assert dump_issues(store.export_issues()) == before


# ---------------------------------------------------------------------------- URL, actor, schema


def test_store_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.delenv("DMCT_RESULTS", raising=False)
    assert store_url() == "sqlite:///results/dmct.sqlite"
    monkeypatch.setenv("DMCT_RESULTS", "/srv/dmct/results")
    assert store_url() == "sqlite:////srv/dmct/results/dmct.sqlite"
    assert store_url(results_dir=tmp_path) == f"sqlite:///{tmp_path}/dmct.sqlite"
    monkeypatch.setenv("DMCT_STORE", "postgresql://lab@db/dmct")
    assert store_url(results_dir=tmp_path) == "postgresql://lab@db/dmct"
    assert store_url("sqlite:///x.sqlite", tmp_path) == "sqlite:///x.sqlite"


def test_open_store_in_a_results_dir_creates_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.delenv("DMCT_RESULTS", raising=False)
    with open_store(results_dir=tmp_path / "run-1" / "results") as s:
        add(s)
    assert (tmp_path / "run-1" / "results" / "dmct.sqlite").is_file()


def test_actor_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMCT_USER", "env-user")
    assert resolve_actor("cli-user") == "cli-user"
    assert resolve_actor(None) == "env-user"
    monkeypatch.delenv("DMCT_USER")
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    assert resolve_actor(None) == "os-user"
    with pytest.raises(DmctInputError, match="--by"):
        resolve_actor("  ")


def test_a_missing_sqlite_file_is_an_error_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(DmctInputError, match="no Testing Issue log here"):
        open_store(url_for(tmp_path / "nowhere" / "dmct.sqlite"), create=False)
    assert not (tmp_path / "nowhere").exists()


def test_a_store_with_a_newer_schema_is_refused(db: Path) -> None:
    open_store(url_for(db)).close()
    engine = create_engine(url_for(db))
    with engine.begin() as conn:
        conn.execute(update(meta_table).where(meta_table.c.key == "schema_version").values(value="99"))
    engine.dispose()
    with pytest.raises(DmctInputError, match="schema version 99"):
        open_store(url_for(db))


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "postgresql+nosuchdriver://u@localhost/db",
        "postgresql://u:secret@127.0.0.1:1/db",  # no driver here; with one, nothing listens on port 1
    ],
)
def test_bad_store_urls_are_one_line_errors(url: str) -> None:
    with pytest.raises(DmctInputError) as err:
        open_store(url)
    assert "\n" not in str(err.value) and "secret" not in str(err.value)


def test_the_schema_compiles_for_postgresql_with_portable_types() -> None:
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = "\n".join(
        [str(CreateTable(t).compile(dialect=pg)) for t in metadata.sorted_tables]
        + [str(CreateIndex(ix).compile(dialect=pg)) for t in metadata.tables.values() for ix in t.indexes]
    )
    assert "entries JSON NOT NULL" in ddl and "record JSON NOT NULL" in ddl
    assert "JSONB" not in ddl  # JSON keeps key order: exports stay byte-identical on PostgreSQL
    assert "SERIAL" in ddl  # history order comes from an autoincrementing key on both databases
    for sqlite_only in ("AUTOINCREMENT", "WITHOUT ROWID", "json_", "PRAGMA"):
        assert sqlite_only not in ddl


def test_timestamps_come_from_the_clock_in_utc(db: Path) -> None:
    from datetime import timedelta, timezone

    local = datetime(2027, 3, 26, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    with open_store(url_for(db), clock=lambda: local) as s:
        issue = s.add_issue(title="t", severity=3, actor="a").issue
    assert issue.raised == "2027-03-26T08:30:00.000000Z"
    assert issue.history[0]["at"] == datetime(2027, 3, 26, 8, 30, tzinfo=UTC).isoformat(
        timespec="microseconds"
    ).replace("+00:00", "Z")
