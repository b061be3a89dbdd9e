"""The DMCT Status List and Schedule in the store: planned entries, their status and full audit history.

Same guarantees as the Testing Issue log (:mod:`harness.store.issue_log`), in the same database: every
change is one transaction guarded by the entry's version (a stale writer gets
:class:`~harness.store.issue_log.StoreConflict` and nothing is written), and appends one history record
per changed field, ``{"at", "by", "action", "field", "old", "new"}`` plus the event's ``on`` date and
``reason`` where it has them. The process rules (which transitions clause 20 allows, which dates) are
pure functions in :mod:`harness.rules.process`; this module only loads, applies and stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from harness.errors import DmctInputError
from harness.model.entries import EntryRecord
from harness.store.issue_log import Store, StoreConflict, lost_race
from harness.store.schema import entries_table, entry_history_table


@dataclass(frozen=True, slots=True)
class StoredEntry:
    record: EntryRecord
    version: int
    history: list[dict[str, Any]]


def _json(record: EntryRecord) -> dict[str, Any]:
    out: dict[str, Any] = record.model_dump(mode="json")
    return out


class EntryLog:
    """Planned entries in ``store``'s database; every method is one transaction."""

    def __init__(self, store: Store):
        self.store = store

    def today(self) -> date:
        """The store clock's date (UTC): events may not be dated after it."""
        return date.fromisoformat(self.store.now()[:10])

    def _load(self, conn: Connection, entry_id: str) -> StoredEntry:
        row = conn.execute(select(entries_table).where(entries_table.c.id == entry_id)).first()
        if row is None:
            raise DmctInputError(entry_id, "no such planned entry in the store (dmct entries add)")
        history = [
            r
            for (r,) in conn.execute(
                select(entry_history_table.c.record)
                .where(entry_history_table.c.entry_id == entry_id)
                .order_by(entry_history_table.c.id)
            )
        ]
        return StoredEntry(EntryRecord.model_validate(row.record), row.version, history)

    def get(self, entry_id: str) -> StoredEntry:
        with self.store.reading() as conn:
            return self._load(conn, entry_id)

    def list(self, status: str | None = None) -> list[StoredEntry]:
        with self.store.reading() as conn:
            query = select(entries_table.c.id).order_by(entries_table.c.seq)
            if status is not None:
                query = query.where(entries_table.c.status == status)
            return [self._load(conn, entry_id) for (entry_id,) in conn.execute(query)]

    def add(self, record: EntryRecord, actor: str) -> StoredEntry:
        return self.store.write(lambda conn: self._add(conn, record, actor))

    def _add(self, conn: Connection, record: EntryRecord, actor: str) -> StoredEntry:
        if conn.execute(select(entries_table.c.id).where(entries_table.c.id == record.id)).first():
            raise DmctInputError(record.id, "is already on the DMCT Status List", field="id")
        seq = conn.execute(select(func.coalesce(func.max(entries_table.c.seq), 0))).scalar_one() + 1
        conn.execute(
            insert(entries_table).values(
                id=record.id, seq=seq, version=1, status=record.status, record=_json(record)
            )
        )
        stamp = self.store.now()
        conn.execute(
            insert(entry_history_table).values(
                entry_id=record.id,
                at=stamp,
                actor=actor,
                action="add",
                field=None,
                record={
                    "at": stamp,
                    "by": actor,
                    "action": "add",
                    "field": None,
                    "old": None,
                    "new": _json(record),
                },
            )
        )
        return self._load(conn, record.id)

    def change(
        self,
        entry_id: str,
        actor: str,
        action: str,
        apply: Callable[[EntryRecord, date], EntryRecord],
        *,
        expected_version: int | None = None,
        note: dict[str, Any] | None = None,
    ) -> StoredEntry:
        """Apply a rule of :mod:`harness.rules.process` to the entry and store the result.

        ``apply`` gets the current record and today's date and returns the next record, or raises
        :class:`DmctInputError` (a transition not allowed, a date outside the window): then nothing is
        written. ``note`` (``on``, ``reason``, ``issue``) is copied into each history record. It runs
        in :meth:`Store.write <harness.store.issue_log.Store.write>`, so a writer that merely clashes with
        another (busy file, lost race without an ``expected_version``) is retried on the new state, as for
        Testing Issues; a stale ``expected_version`` is a conflict, never retried.
        """
        return self.store.write(
            lambda conn: self._change(conn, entry_id, actor, action, apply, expected_version, note)
        )

    def _change(
        self,
        conn: Connection,
        entry_id: str,
        actor: str,
        action: str,
        apply: Callable[[EntryRecord, date], EntryRecord],
        expected_version: int | None,
        note: dict[str, Any] | None,
    ) -> StoredEntry:
        stored = self._load(conn, entry_id)
        if expected_version is not None and expected_version != stored.version:
            raise StoreConflict(
                entry_id,
                f"expected version {expected_version} but the store has version {stored.version}; "
                "nothing was written",
            )
        try:
            new = apply(stored.record, self.today())
        except ValidationError as exc:
            err = exc.errors()[0]
            raise DmctInputError(entry_id, str(err.get("msg", "invalid value"))) from None
        old_json, new_json = _json(stored.record), _json(new)
        diffs = [(k, old_json[k], new_json[k]) for k in new_json if old_json.get(k) != new_json[k]]
        diffs = [d for d in diffs if d[0] != "last_event"]
        if not diffs:
            raise DmctInputError(entry_id, "nothing to change")
        result = conn.execute(
            update(entries_table)
            .where(entries_table.c.id == entry_id, entries_table.c.version == stored.version)
            .values(version=stored.version + 1, status=new.status, record=new_json)
        )
        if result.rowcount != 1:
            lost_race(entry_id, stored.version, expected_version)
        stamp = self.store.now()
        extra = {k: v for k, v in (note or {}).items() if v is not None}
        conn.execute(
            insert(entry_history_table),
            [
                {
                    "entry_id": entry_id,
                    "at": stamp,
                    "actor": actor,
                    "action": action,
                    "field": name,
                    "record": {
                        "at": stamp,
                        "by": actor,
                        "action": action,
                        "field": name,
                        "old": old,
                        "new": value,
                        **extra,
                    },
                }
                for name, old, value in diffs
            ],
        )
        return self._load(conn, entry_id)
