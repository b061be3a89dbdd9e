"""The Testing Issue log in a real database: SQLite by default, PostgreSQL for a log shared between hosts.

Why a database and not a YAML file: a lab's log is written by several people and, later, by concurrent
pytest workers and a nightly pipeline; it must keep an audit history of every change (who changed
which field, from what, to what, when) for the Completion Report and the auditor (Table 13.1 #5: "Logs
have been produced and stored for all Testing Issues"; 20.34 (d), (f), (g)), and two writers must never
silently overwrite each other. So:

* **One schema, in this module** (:data:`metadata`; the shared results journal's tables are in
  :mod:`harness.store.results`): portable types only (``String``, ``Integer``, ``Text``,
  ``sqlalchemy.JSON`` -> ``JSON`` on PostgreSQL, text on SQLite) and portable ``CHECK`` constraints.
  **Alembic migrations** (:mod:`harness.store.migrations`) create and change it: :func:`open_store` upgrades
  the store to the newest revision, and adopts a store created before Alembic without touching its
  data. Each migration also writes its number into ``dmct_meta.schema_version`` (:data:`SCHEMA_VERSION`
  is the newest), the check that dmct before Alembic made, so old and new dmct agree on which store
  they may use.
* **Optimistic versioning**: each issue has a ``version`` that every change increments, and every
  ``UPDATE`` is guarded by ``WHERE version = <the version read>``. A writer that read a stale version
  (or says ``expected_version`` and is wrong) gets :class:`StoreConflict` and nothing is written. On
  PostgreSQL the guarded ``UPDATE`` of a concurrent writer waits for the first one's row lock, then
  matches no row: the second writer always learns it lost, never overwrites.
* **Audit history**: every change appends one record per changed field, ``{"at", "by", "action",
  "field", "old", "new"}`` (``at`` UTC ISO 8601, ``old``/``new`` the field's whole interchange value
  before and after). It is exported as the issue's ``history``, verbatim, so an export imported into
  another store exports byte-identically.
* **The interchange format is the API boundary**: :meth:`Store.export_issues` returns
  :class:`harness.model.interchange.Issue` objects and :meth:`Store.import_issues` takes them, so ``dmct
  verdict`` and ``dmct workoff`` never need the database.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import yaml
from pydantic import ValidationError
from sqlalchemy import (
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection, Engine, Row, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
)
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from harness.errors import EXIT_BUSY, EXIT_CONFLICT, DmctInputError
from harness.model.interchange import Dispute, Exclusion, Issue, RouteProcess, TestRef, format_at
from harness.store.schema import (
    SCHEMA_VERSION,
    events_table,
    history_table,
    issues_table,
    meta_table,
)
from harness.yamlio import fail_at, field_path

if TYPE_CHECKING:
    from harness.store.migrations import Migration

#: Environment variable naming the store URL when ``--store`` is not given.
ENV_STORE = "DMCT_STORE"
#: Environment variable naming the person recorded in the history when ``--by`` is not given.
ENV_USER = "DMCT_USER"
#: File name of the default SQLite store inside the results directory.
DEFAULT_DB = "dmct.sqlite"
#: Prefix of the ids the log allocates (``TI-0001``); imported issues keep their own ids.
ID_PREFIX = "TI-"
_ID_RE = re.compile(rf"^{re.escape(ID_PREFIX)}(\d+)$")
#: Name of the lock (PostgreSQL advisory lock) under which issue ids and log positions are allocated.
ID_LOCK = "issue ids"

#: Interchange fields a change may touch; ``id``, ``raised`` and ``history`` are the log's own.
UPDATABLE: tuple[str, ...] = (
    "severity",
    "status",
    "title",
    "entries",
    "route",
    "exclusion",
    "dispute",
    "service_provider",
    "tests",
    "exclusions",
    "route_process",
)

# ------------------------------------------------------------------------------------------- errors


class StoreConflict(DmctInputError):
    """A true conflict: the issue is no longer at the version the writer said it looked at
    (``expected_version``); nothing was written.

    Printed as one line like bad input, but with its own exit status (:data:`EXIT_CONFLICT`), so that a
    script can tell "somebody else changed it: look again" from "your command is wrong". Clashes nobody
    asked to be told about (two adds at once, two links to one issue) are retried instead
    (:meth:`Store.write`).
    """

    exit_code = EXIT_CONFLICT

    def __init__(self, issue_id: str, message: str):
        super().__init__(issue_id, message, field="version")


class StoreBusy(DmctInputError):
    """A transient clash with another writer (a locked SQLite file, a PostgreSQL serialisation failure
    or deadlock, a unique id taken meanwhile). :meth:`Store.write` retries it; it reaches a person only
    when other writers kept the store busy for longer than :data:`RETRY_FOR_S` (:data:`EXIT_BUSY`)."""

    exit_code = EXIT_BUSY

    def __init__(self, message: str):
        super().__init__("store", f"{message}; nothing was written, retry later")


class _Stale(Exception):
    """A guarded ``UPDATE`` matched no row: another writer changed the issue between our read and
    write, and no version was asked for, so the change is recomputed on the new state (retried)."""


def lost_race(key: str, read: int, expected_version: int | None) -> NoReturn:
    """A guarded ``UPDATE`` of ``key`` matched no row: a true conflict if a version was asked for
    (:class:`StoreConflict`), else :class:`_Stale`, which :meth:`Store.write` retries on the new state.
    Shared by every versioned table (issues, planned entries)."""
    if expected_version is not None:
        raise StoreConflict(
            key,
            f"changed by someone else while writing (read version {read}); nothing was written — "
            "show it again and retry",
        )
    raise _Stale(f"{key}: changed by someone else while writing (read version {read})")


#: How long a SQLite writer waits for the file's write lock before its attempt counts as busy.
BUSY_TIMEOUT_S = 30.0
#: How long :meth:`Store.write` keeps retrying transient clashes before giving up.
RETRY_FOR_S = 60.0
#: SQLSTATEs of PostgreSQL errors that mean "another transaction got in the way": unique violation,
#: serialization failure, deadlock, lock not available.
_TRANSIENT_SQLSTATES = frozenset({"23505", "40001", "40P01", "55P03"})
_T = TypeVar("_T")


def _transient(exc: DBAPIError) -> str | None:
    """Why ``exc`` is a clash with another writer worth retrying, or None if it is not one."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig).lower()
    if state in _TRANSIENT_SQLSTATES:
        return f"the log changed while writing ({database_message(exc)})"
    if "database is locked" in text or "database is busy" in text or "deadlock" in text:
        return "another writer holds the log"
    if isinstance(exc, IntegrityError) and "unique constraint failed" in text:  # SQLite's words
        return f"the log changed while writing ({database_message(exc)})"
    return None


def _lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key for ``name`` (a signed 64-bit integer, stable across hosts)."""
    return int.from_bytes(hashlib.sha256(f"dmct {name}".encode()).digest()[:8], "big", signed=True)


# -------------------------------------------------------------------------------------- small parts


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """An issue as the store holds it: the interchange record plus its optimistic-locking version."""

    issue: Issue
    version: int


def resolve_actor(by: str | None = None) -> str:
    """Who is recorded in the history: ``--by``, else ``$DMCT_USER``, else the OS user."""
    if by is not None:
        if not by.strip():
            raise DmctInputError("--by", "must not be empty")
        return by.strip()
    env = os.environ.get(ENV_USER, "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "unknown"


def store_url(url: str | None = None, results_dir: Path | None = None) -> str:
    """The store URL: the argument, else ``$DMCT_STORE``, else ``sqlite:///<results_dir>/dmct.sqlite``.

    Without ``results_dir`` the project's results directory is used (:func:`harness.paths.results_dir`:
    ``$DMCT_RESULTS``, else ``./results``), so the log sits beside the runs it judges.
    """
    if url:
        return url
    env = os.environ.get(ENV_STORE, "").strip()
    if env:
        return env
    from harness.paths import results_dir as default_results_dir

    directory = results_dir if results_dir is not None else default_results_dir()
    return URL.create("sqlite", database=str(directory / DEFAULT_DB)).render_as_string(hide_password=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _json_value(issue: Issue, name: str) -> Any:
    return issue.model_dump(mode="json", include={name})[name]


def _row_values(issue: Issue, exclusions: bool | None = None) -> dict[str, Any]:
    """The row of ``issue``. The ``exclusions`` column (schema version 3) is written only when asked or
    when the issue has some: what an issue without them writes is the same as before that column."""
    values: dict[str, Any] = {
        "severity": issue.severity,
        "status": issue.status,
        "entries": list(issue.entries),
        "route": issue.route,
        "exclusion_rationale": issue.exclusion.rationale if issue.exclusion else None,
        "exclusion_tag": issue.exclusion.tag if issue.exclusion else None,
        "dispute_severity": issue.dispute.severity if issue.dispute else None,
        "dispute_state": (
            None
            if issue.dispute is None
            else "pending"
            if issue.dispute.state == "disagreed"
            else issue.dispute.state
        ),
        "service_provider": issue.service_provider,
        "title": issue.title,
        "raised": issue.raised,
        "tests": [t.model_dump(mode="json") for t in issue.tests],
    }
    if exclusions or (exclusions is None and issue.exclusions):
        values["exclusions"] = {e: x.model_dump(mode="json") for e, x in issue.exclusions.items()} or None
    disagreed = issue.dispute is not None and issue.dispute.state == "disagreed"
    if disagreed or exclusions:
        values["dispute_tag"] = "disagreed" if disagreed else None
    if issue.route_process is not None or exclusions:
        values["route_process"] = (
            None if issue.route_process is None else issue.route_process.model_dump(mode="json")
        )
    return values


def _extended(issue: Issue) -> bool:
    """Whether the issue needs the columns of schema version 3 (per-entry exclusions, a TAG severity
    disagreement); otherwise its row is written exactly as before them."""
    return (
        bool(issue.exclusions)
        or (issue.dispute is not None and issue.dispute.state == "disagreed")
        or issue.route_process is not None
    )


def _issue_from_row(row: Row[Any], history: list[dict[str, Any]]) -> Issue:
    m = row._mapping
    return Issue(
        id=m["id"],
        severity=m["severity"],
        status=m["status"],
        entries=list(m["entries"]),
        route=m["route"],
        exclusion=(
            Exclusion(rationale=m["exclusion_rationale"], tag=m["exclusion_tag"])
            if m["exclusion_tag"] is not None
            else None
        ),
        dispute=(
            Dispute(
                severity=m["dispute_severity"],
                state="disagreed" if m.get("dispute_tag") == "disagreed" else m["dispute_state"],
            )
            if m["dispute_state"] is not None
            else None
        ),
        service_provider=m["service_provider"],
        title=m["title"],
        raised=m["raised"],
        history=history,
        tests=[TestRef.model_validate(t) for t in m["tests"]],
        # .get: the store of schema version 1 that migration tests write has no such column yet
        exclusions={e: Exclusion.model_validate(x) for e, x in (m.get("exclusions") or {}).items()},
        route_process=(
            RouteProcess.model_validate(m["route_process"]) if m.get("route_process") is not None else None
        ),
    )


def _short(value: Any, limit: int) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit else None


def _history_row(issue_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "issue_id": issue_id,
        "at": _short(record.get("at"), 64),
        "actor": _short(record.get("by"), 255),
        "action": _short(record.get("action"), 32),
        "field": _short(record.get("field"), 64),
        "record": dict(record),
    }


def database_message(exc: BaseException) -> str:
    """The driver's own words on one line (psycopg's messages span lines: server, port, hint)."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _validation_error(source: str, exc: ValidationError) -> DmctInputError:
    err = exc.errors()[0]
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return DmctInputError(source, message, field=field_path(list(err["loc"])))


# -------------------------------------------------------------------------------------------- store


class Store:
    """The Testing Issue log. Create with :func:`open_store`; every method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now):
        self._engine = engine
        self._clock = clock
        self.url = engine.url.render_as_string(hide_password=True)
        #: What :func:`open_store` did to the schema (None until it has run the migrations).
        self.migration: Migration | None = None

    # ---------------------------------------------------------------------------- life cycle

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> str:
        """The store clock's time as the log records it (UTC ISO 8601, microseconds)."""
        return format_at(self._clock())

    @contextmanager
    def transaction(self, *, lock: str | None = None) -> Iterator[Connection]:
        """One write transaction, not retried: either everything in it is committed, or nothing is.

        Writers serialise instead of racing: on SQLite the transaction starts with ``BEGIN IMMEDIATE``
        (the write lock is taken before anything is read, so a read-then-write never finds the file
        changed under it; a second writer waits up to :data:`BUSY_TIMEOUT_S`); on PostgreSQL ``lock``
        names a transaction-level advisory lock taken first (``"issue ids"`` serialises id allocation),
        and rows are read ``FOR UPDATE`` where a method changes them. A transient clash that still
        happens (a unique key taken meanwhile, a serialisation failure, a deadlock, a busy file) is
        :class:`StoreBusy`; :meth:`write` retries those transparently. Any other database error is one
        line naming the store.
        """
        try:
            with self._engine.connect() as conn:
                if self._engine.dialect.name == "sqlite":
                    # pysqlite starts transactions lazily, at the first write: take the lock now.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif lock is not None and self._engine.dialect.name == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(_lock_key(lock))))
                yield conn
                conn.commit()
        except DBAPIError as exc:
            why = _transient(exc)
            if why is not None:
                raise StoreBusy(why) from None
            if isinstance(exc, IntegrityError):
                raise DmctInputError(self.url, f"refused by the store: {database_message(exc)}") from None
            raise DmctInputError(self.url, f"store error: {database_message(exc)}") from None

    def write(self, work: Callable[[Connection], _T], *, lock: str | None = None) -> _T:
        """Run ``work(conn)`` in one :meth:`transaction`, retried transparently while it clashes with
        another writer (:class:`StoreBusy`, or :class:`_Stale`: a guarded ``UPDATE`` found the row
        changed since it was read and no version was asked for), for up to :data:`RETRY_FOR_S` seconds
        with jittered exponential back-off. ``work`` must therefore read what it needs inside, and be
        safe to run again (it is: a failed attempt commits nothing).

        Every writer of the store goes through here, so concurrent engineers and pytest workers never
        see a refusal they did not cause. A true conflict (:class:`StoreConflict`, e.g. a stale
        ``expected_version``) and bad input are never retried. If the clash outlasts the retries, the
        last :class:`StoreBusy` is raised (exit status :data:`harness.errors.EXIT_BUSY`).
        """
        retrying = Retrying(
            retry=retry_if_exception_type((StoreBusy, _Stale)),
            stop=stop_after_delay(RETRY_FOR_S),
            wait=wait_random_exponential(multiplier=0.005, max=0.5),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt, self.transaction(lock=lock) as conn:
                    return work(conn)
        except _Stale as exc:
            raise StoreBusy(str(exc)) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads; a server gone away meanwhile is one line, not a traceback."""
        try:
            with self._engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise DmctInputError(self.url, f"store error: {database_message(exc)}") from None

    def _ensure_schema(self) -> None:
        """Upgrade to the newest Alembic revision (adopting a pre-Alembic store), then check that
        ``dmct_meta`` agrees: a store whose version was changed behind Alembic's back is refused."""
        from harness.store.migrations import upgrade_store

        self.migration = upgrade_store(self._engine, self.url)
        found = str(self.schema_version())
        if found != str(SCHEMA_VERSION):
            raise DmctInputError(
                self.url,
                f"store schema version {found}, but its Alembic revision is {self.migration.now} "
                f"(this dmct: schema version {SCHEMA_VERSION}); the store was changed outside dmct",
            )

    def schema_version(self) -> int:
        """The version in ``dmct_meta`` (0 if the row is missing)."""
        with self.reading() as conn:
            value = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one_or_none()
        return int(value) if value is not None and value.isdigit() else 0

    # ---------------------------------------------------------------------------------- reads

    def _history(self, conn: Connection, where: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
        query = (
            select(history_table.c.issue_id, history_table.c.record)
            .join(issues_table, issues_table.c.id == history_table.c.issue_id)
            .where(*where)
            .order_by(history_table.c.id)
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for issue_id, record in conn.execute(query):
            out.setdefault(issue_id, []).append(record)
        return out

    def _select(self, conn: Connection, where: Sequence[Any]) -> list[StoredIssue]:
        history = self._history(conn, where)
        rows = conn.execute(select(issues_table).where(*where).order_by(issues_table.c.seq))
        return [StoredIssue(_issue_from_row(r, history.get(r.id, [])), r.version) for r in rows]

    def _load(self, conn: Connection, issue_id: str) -> StoredIssue:
        found = self._select(conn, [issues_table.c.id == issue_id])
        if not found:
            raise DmctInputError(issue_id, "no such issue in the store")
        return found[0]

    def _load_for_update(self, conn: Connection, issue_id: str) -> StoredIssue:
        """:meth:`_load` for a change: on PostgreSQL the row is locked first (``FOR UPDATE``), so a
        concurrent writer of the same issue waits for this transaction and then reads what it wrote
        (SQLite needs nothing: ``BEGIN IMMEDIATE`` already made this the only writer)."""
        conn.execute(select(issues_table.c.version).where(issues_table.c.id == issue_id).with_for_update())
        return self._load(conn, issue_id)

    def get_stored(self, issue_id: str) -> StoredIssue:
        """The issue and its current version (what ``expected_version`` should be set to)."""
        with self.reading() as conn:
            return self._load(conn, issue_id)

    def get(self, issue_id: str) -> Issue:
        return self.get_stored(issue_id).issue

    def list_stored(
        self,
        *,
        status: Literal["open", "closed"] | None = None,
        severity: int | None = None,
        entry: str | None = None,
    ) -> list[StoredIssue]:
        """Issues in log order, filtered by status, severity and affected entry (all optional)."""
        where: list[Any] = []
        if status is not None:
            where.append(issues_table.c.status == status)
        if severity is not None:
            where.append(issues_table.c.severity == severity)
        with self.reading() as conn:
            found = self._select(conn, where)
        # Entries are a JSON list; filtering them in Python keeps the SQL portable (SQLite/PostgreSQL).
        return [s for s in found if entry is None or entry in s.issue.entries]

    def list_issues(
        self,
        *,
        status: Literal["open", "closed"] | None = None,
        severity: int | None = None,
        entry: str | None = None,
    ) -> list[Issue]:
        return [s.issue for s in self.list_stored(status=status, severity=severity, entry=entry)]

    def export_issues(self) -> list[Issue]:
        """The whole log in the interchange model, in log order, with full histories."""
        return self.list_issues()

    def events(self) -> list[dict[str, Any]]:
        """Store-level events (imports), oldest first."""
        with self.reading() as conn:
            rows = conn.execute(select(events_table).order_by(events_table.c.id))
            return [{"at": r.at, "by": r.actor, "action": r.action, "detail": r.detail} for r in rows]

    # --------------------------------------------------------------------------------- writes

    @staticmethod
    def _next_seq(conn: Connection) -> int:
        return int(conn.execute(select(func.coalesce(func.max(issues_table.c.seq), 0))).scalar_one()) + 1

    @staticmethod
    def _next_id(conn: Connection) -> str:
        ids = conn.execute(select(issues_table.c.id).where(issues_table.c.id.like(f"{ID_PREFIX}%"))).scalars()
        numbers = [int(m.group(1)) for i in ids if (m := _ID_RE.match(i))]
        return f"{ID_PREFIX}{max(numbers, default=0) + 1:04d}"

    def add_issue(
        self,
        *,
        title: str,
        severity: int,
        actor: str,
        entries: Iterable[str] = (),
        service_provider: str | None = None,
        issue_id: str | None = None,
        raised: str | None = None,
    ) -> StoredIssue:
        """Raise a new open issue (no route yet: 20.32 (b) keeps its entries in progress until routed).

        The id is allocated (``TI-0001``, one more than the highest such id) unless given; ``raised``
        defaults to now (UTC). The history starts with one ``add`` record holding the initial values.
        """

        def work(conn: Connection) -> StoredIssue:
            new_id = issue_id if issue_id is not None else self._next_id(conn)
            stamp = self.now()
            try:
                issue = Issue(
                    id=new_id,
                    severity=severity,
                    status="open",
                    entries=list(entries),
                    service_provider=service_provider,
                    title=title,
                    raised=raised if raised is not None else stamp,
                )
            except ValidationError as exc:
                raise _validation_error("new issue", exc) from None
            if conn.execute(select(issues_table.c.id).where(issues_table.c.id == new_id)).first():
                raise DmctInputError(new_id, "an issue with this id is already in the store", field="id")
            conn.execute(
                insert(issues_table).values(
                    id=new_id, seq=self._next_seq(conn), version=1, **_row_values(issue)
                )
            )
            initial = issue.model_dump(mode="json", exclude={"history"})
            record = {"at": stamp, "by": actor, "action": "add", "field": None, "old": None, "new": initial}
            conn.execute(insert(history_table).values(**_history_row(new_id, record)))
            return self._load(conn, new_id)

        # Ids and log positions are allocated under one lock, so two adds never compute the same one.
        return self.write(work, lock=ID_LOCK)

    def _mutate(
        self,
        issue_id: str,
        actor: str,
        expected_version: int | None,
        action: str,
        compute: Callable[[Issue], Mapping[str, Any]],
    ) -> StoredIssue:
        """Read, compute the changes, validate, write guarded by the version read, record the history.

        Retried (:meth:`write`) when another writer got in first and no version was asked for: the
        change is then computed again from what that writer left, so nothing is overwritten unseen.
        """

        def work(conn: Connection) -> StoredIssue:
            stored = self._load_for_update(conn, issue_id)
            if expected_version is not None and expected_version != stored.version:
                raise StoreConflict(
                    issue_id,
                    f"expected version {expected_version} but the store has version {stored.version} "
                    "(changed by someone else); nothing was written — show the issue again and retry",
                )
            changes = dict(compute(stored.issue))
            unknown = sorted(set(changes) - set(UPDATABLE))
            if unknown:
                raise DmctInputError(issue_id, "cannot be changed", field=unknown[0])
            merged = stored.issue.model_dump()
            merged.update(changes)
            try:
                new = Issue.model_validate(merged)
            except ValidationError as exc:
                raise _validation_error(issue_id, exc) from None
            diffs = [
                (name, _json_value(stored.issue, name), _json_value(new, name))
                for name in UPDATABLE
                if _json_value(stored.issue, name) != _json_value(new, name)
            ]
            if not diffs:
                raise DmctInputError(issue_id, "nothing to change")
            result = conn.execute(
                update(issues_table)
                .where(issues_table.c.id == issue_id, issues_table.c.version == stored.version)
                .values(
                    version=stored.version + 1,
                    **_row_values(new, _extended(stored.issue) or _extended(new)),
                )
            )
            if result.rowcount != 1:
                lost_race(issue_id, stored.version, expected_version)
            stamp = self.now()
            conn.execute(
                insert(history_table),
                [
                    _history_row(
                        issue_id,
                        {"at": stamp, "by": actor, "action": action, "field": name, "old": old, "new": value},
                    )
                    for name, old, value in diffs
                ],
            )
            return self._load(conn, issue_id)

        return self.write(work)

    def update(
        self,
        issue_id: str,
        changes: Mapping[str, Any],
        actor: str,
        expected_version: int | None = None,
        *,
        action: str = "update",
    ) -> StoredIssue:
        """Change interchange fields of an issue (:data:`UPDATABLE`), one history record per field.

        Raises :class:`StoreConflict` when ``expected_version`` is given and stale, or when another writer
        got in between this read and write; :class:`DmctInputError` when the id is unknown, a value is
        invalid or nothing would change. In every error case nothing is written.
        """
        return self._mutate(issue_id, actor, expected_version, action, lambda _: changes)

    def close_issue(self, issue_id: str, actor: str, expected_version: int | None = None) -> StoredIssue:
        def compute(issue: Issue) -> dict[str, Any]:
            if issue.status == "closed":
                raise DmctInputError(issue_id, "already closed")
            return {"status": "closed"}

        return self._mutate(issue_id, actor, expected_version, "close", compute)

    def route_step(
        self,
        issue_id: str,
        name: str,
        value: str | None,
        actor: str,
        expected_version: int | None = None,
        *,
        on: str | None = None,
        note: str | None = None,
    ) -> StoredIssue:
        """A step of the issue's 20.20-20.27 route process (:mod:`harness.rules.routes`): recommending a
        route, notifying, the Secretary of State's and the TAG's answers, reconsidering."""
        from harness.rules.routes import step

        return self._mutate(
            issue_id,
            actor,
            expected_version,
            "route",
            lambda issue: step(issue, name, value, on=on, note=note),
        )

    def route(
        self, issue_id: str, route: str, actor: str, expected_version: int | None = None
    ) -> StoredIssue:
        """Record the 20.20 route chosen: (a) DCC Internal Systems only, (b) DCC Systems and the Code,
        (c) a SMETS1 Device, (d) the Code only. Until routed, 20.32 (b) keeps the entry in progress."""
        if route not in ("a", "b", "c", "d"):
            raise DmctInputError(issue_id, f"must be one of a|b|c|d (20.20), got {route!r}", field="route")
        return self._mutate(issue_id, actor, expected_version, "route", lambda _: {"route": route})

    def exclude(
        self,
        issue_id: str,
        rationale: str,
        actor: str,
        expected_version: int | None = None,
        *,
        entry: str | None = None,
    ) -> StoredIssue:
        """Propose excluding the issue from the thresholds (20.29); the TAG's decision starts pending.

        With ``entry`` the proposal is "in respect of" that planned entry only (20.29): the issue must
        affect it, and the issue still counts when judging the others. A new proposal replaces an
        earlier one for the same scope and resets the TAG decision to pending.
        """
        if not rationale.strip():
            raise DmctInputError(issue_id, "a rationale is required (20.29 (a))", field="exclusion.rationale")
        proposal = Exclusion(rationale=rationale.strip(), tag="pending")

        def compute(issue: Issue) -> dict[str, Any]:
            if entry is None:
                return {"exclusion": proposal}
            if entry not in issue.entries:
                affects = ", ".join(issue.entries) or "none"
                raise DmctInputError(
                    issue_id, f"does not affect entry {entry!r} (affects: {affects})", field="entry"
                )
            return {"exclusions": {**issue.exclusions, entry: proposal}}

        return self._mutate(issue_id, actor, expected_version, "exclude", compute)

    def tag(
        self,
        issue_id: str,
        decision: str,
        actor: str,
        expected_version: int | None = None,
        *,
        entry: str | None = None,
    ) -> StoredIssue:
        """Record the TAG's decision on a proposed exclusion (20.38 (b)): ``agreed`` or ``disagreed``;
        with ``entry``, on the exclusion proposed in respect of that entry."""
        if decision not in ("agreed", "disagreed"):
            raise DmctInputError(
                issue_id, f"must be agreed|disagreed, got {decision!r}", field="exclusion.tag"
            )

        def compute(issue: Issue) -> dict[str, Any]:
            if entry is not None:
                found = issue.exclusions.get(entry)
                if found is None:
                    raise DmctInputError(
                        issue_id,
                        f"no exclusion has been proposed in respect of {entry!r} (20.29)",
                        field="exclusions",
                    )
                return {"exclusions": {**issue.exclusions, entry: found.model_copy(update={"tag": decision})}}
            if issue.exclusion is None:
                raise DmctInputError(issue_id, "no exclusion has been proposed (20.29)", field="exclusion")
            return {"exclusion": issue.exclusion.model_copy(update={"tag": decision})}

        return self._mutate(issue_id, actor, expected_version, "tag", compute)

    def dispute(
        self, issue_id: str, severity: int, actor: str, expected_version: int | None = None
    ) -> StoredIssue:
        """A Testing Participant disputes the severity (14.2) and argues for ``severity``.

        Until the TAG determines it the DCC's severity stays and is counted (14.4).
        """

        def compute(issue: Issue) -> dict[str, Any]:
            if severity == issue.severity:
                raise DmctInputError(
                    issue_id,
                    f"the issue already has severity {severity}; nothing to dispute",
                    field="severity",
                )
            return {"dispute": {"severity": severity, "state": "pending"}}

        return self._mutate(issue_id, actor, expected_version, "dispute", compute)

    def resolve_dispute(
        self,
        issue_id: str,
        actor: str,
        severity: int | None = None,
        expected_version: int | None = None,
    ) -> StoredIssue:
        """The TAG determined the dispute (14.2, "final and binding"). With ``severity`` the issue takes
        that severity (both changes are in the history); without it the DCC's severity stands."""

        def compute(issue: Issue) -> dict[str, Any]:
            if issue.dispute is None or issue.dispute.state != "pending":
                raise DmctInputError(issue_id, "no pending severity dispute (14.2)", field="dispute")
            changes: dict[str, Any] = {"dispute": issue.dispute.model_copy(update={"state": "resolved"})}
            if severity is not None:
                changes["severity"] = severity
            return changes

        return self._mutate(issue_id, actor, expected_version, "dispute", compute)

    def disagree_severity(
        self, issue_id: str, actor: str, expected_version: int | None = None
    ) -> StoredIssue:
        """DMCT: the TAG considers the severity should be the one under review (20.38 (a)). The DCC's
        severity stays (it is the draft's); 20.38 (c)/(d) and the Secretary of State (20.40) settle it."""

        def compute(issue: Issue) -> dict[str, Any]:
            if issue.dispute is None or issue.dispute.state != "pending":
                raise DmctInputError(
                    issue_id, "no pending severity review (open one with --severity N)", field="dispute"
                )
            return {"dispute": issue.dispute.model_copy(update={"state": "disagreed"})}

        return self._mutate(issue_id, actor, expected_version, "dispute", compute)

    def record_rationale(
        self, issue_id: str, text: str, actor: str, expected_version: int | None = None
    ) -> StoredIssue:
        """Record why the issue has its severity (20.34 (g)): a history record of its own (action
        ``rationale``, field ``severity``, ``new`` the text); the version moves on like any change."""
        if not text.strip():
            raise DmctInputError(issue_id, "the rationale is empty", field="rationale")

        def work(conn: Connection) -> StoredIssue:
            stored = self._load_for_update(conn, issue_id)
            if expected_version is not None and expected_version != stored.version:
                raise StoreConflict(
                    issue_id,
                    f"expected version {expected_version} but the store has version {stored.version} "
                    "(changed by someone else); nothing was written — show the issue again and retry",
                )
            result = conn.execute(
                update(issues_table)
                .where(issues_table.c.id == issue_id, issues_table.c.version == stored.version)
                .values(version=stored.version + 1)
            )
            if result.rowcount != 1:
                lost_race(issue_id, stored.version, expected_version)
            record = {"at": self.now(), "by": actor, "action": "rationale", "field": "severity",
                      "old": None, "new": text.strip()}  # fmt: skip
            conn.execute(insert(history_table), [_history_row(issue_id, record)])
            return self._load(conn, issue_id)

        return self.write(work)

    def link_test(
        self,
        issue_id: str,
        entry: str,
        pack: str,
        test: str,
        actor: str,
        expected_version: int | None = None,
    ) -> StoredIssue:
        """Link a (failed) test execution to the issue raised for it (evidence, 20.34 (d))."""
        ref = TestRef(entry=entry, pack=pack, test=test)

        def compute(issue: Issue) -> dict[str, Any]:
            if issue.entries and entry not in issue.entries:
                raise DmctInputError(
                    issue_id,
                    f"entry {entry!r} is not one of the issue's entries ({', '.join(issue.entries)})",
                    field="tests",
                )
            if ref in issue.tests:
                raise DmctInputError(issue_id, f"already linked to {entry}/{pack}/{test}", field="tests")
            return {"tests": [*issue.tests, ref]}

        return self._mutate(issue_id, actor, expected_version, "link", compute)

    def import_issues(self, issues: Sequence[Issue], actor: str, source: Path | None = None) -> int:
        """Add issues from an export, keeping their ids, fields and histories exactly.

        All or nothing: an id already in the store (or twice in ``issues``) is an error naming the
        record (``source`` line and field when a file is given) and nothing is written. The import
        itself is recorded as a store event, not in the issues' histories, so that exporting again
        gives the same bytes.
        """

        def clash(index: int, message: str) -> DmctInputError:
            if source is not None:
                return fail_at(source, [index, "id"], message)
            return DmctInputError("import", message, field=f"[{index}].id")

        def work(conn: Connection) -> int:
            present = set(conn.execute(select(issues_table.c.id)).scalars())
            seen: set[str] = set()
            for index, issue in enumerate(issues):
                if issue.id in present:
                    raise clash(index, f"issue id {issue.id!r} is already in the store")
                if issue.id in seen:
                    raise clash(index, f"duplicate issue id {issue.id!r}")
                seen.add(issue.id)
            if not issues:
                return 0
            seq = self._next_seq(conn)
            with_exclusions = any(_extended(i) for i in issues)  # one set of columns for every row
            conn.execute(
                insert(issues_table),
                [
                    {"id": i.id, "seq": seq + n, "version": 1, **_row_values(i, with_exclusions)}
                    for n, i in enumerate(issues)
                ],
            )
            # JSON mode turns what YAML may have parsed into dates (an unquoted ``at``) into ISO strings.
            rows = [
                _history_row(i.id, record)
                for i in issues
                for record in i.model_dump(mode="json", include={"history"})["history"]
            ]
            if rows:
                conn.execute(insert(history_table), rows)
            detail = {"count": len(issues), "source": None if source is None else str(source)}
            conn.execute(
                insert(events_table).values(at=self.now(), actor=actor, action="import", detail=detail)
            )
            return len(issues)

        return self.write(work, lock=ID_LOCK)


# ----------------------------------------------------------------------------------- open / export


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(
    url: str | None = None,
    results_dir: Path | None = None,
    *,
    clock: Callable[[], datetime] = _utc_now,
    create: bool = True,
) -> Store:
    """Open the store at ``url`` (see :func:`store_url` for the default), upgraded to the newest schema.

    A SQLite file and its directory are created on demand, unless ``create`` is false: then a missing
    SQLite file is an error, so that a read-only command run in the wrong directory says so instead of
    leaving an empty log behind and reporting that there are no issues. The schema is brought to the
    newest Alembic revision (:func:`harness.store.migrations.upgrade_store`: created in an empty database,
    adopted in a store from before Alembic, refused if newer than this dmct). A malformed URL, a missing
    database driver, an unreachable server, failed authentication or an unknown database is a one-line
    :class:`DmctInputError` naming the URL with its password hidden.
    """
    text = store_url(url, results_dir)
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise DmctInputError("--store", f"not a database URL: {text!r}") from None
    database = parsed.database
    shown = parsed.render_as_string(hide_password=True)
    if (
        parsed.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
    ):
        if not create and not Path(database).is_file():
            raise DmctInputError(shown, "no Testing Issue log here; give --store URL (or an issues file)")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        # A writer waits for another's write lock (BEGIN IMMEDIATE) rather than failing at once.
        options["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
    if parsed.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in parsed.query:
        # libpq waits for an unreachable host as long as TCP does; a person waits 10 seconds at most.
        options["connect_args"] = {"connect_timeout": 10}
    try:
        engine = create_engine(parsed, **options)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        hint = ""
        if parsed.get_backend_name() == "postgresql":  # dmct[postgres] brings psycopg 3, not psycopg2
            hint = "; use postgresql+psycopg://… with pip install 'dmct[postgres]'"
        raise DmctInputError("--store", f"no database driver for {shown}: {exc}{hint}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    store = Store(engine, clock=clock)
    try:
        store._ensure_schema()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DmctInputError(shown, f"cannot open the store: {database_message(exc)}") from None
    except DmctInputError:
        engine.dispose()
        raise
    return store


def dump_issues(issues: Sequence[Issue], fmt: Literal["json", "yaml"] = "json") -> str:
    """Serialise issues in the interchange format, deterministically (the same data, the same bytes).

    Every field is written, null ones included, in the model's field order; history records keep the
    key order they were recorded with.
    """
    data = [i.model_dump(mode="json") for i in issues]
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
