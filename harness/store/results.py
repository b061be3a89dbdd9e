"""Results journals in the shared store: push a run directory, pull runs back as a run directory.

Why: a campaign runs on several harness hosts, each appending to ``results/<run-id>/results.jsonl`` on
its own disk (:mod:`harness.store.journal`). To judge it, someone must gather every line in one place, more
than once (hosts push again as runs go on), without a line counted twice or lost. So the store keeps:

* ``dmct_runs``: one row per run id, with its ``plan.json`` exactly as first pushed. A run has one plan:
  a push whose plan differs is refused, so two hosts cannot silently judge different things.
* ``dmct_result_pushes``: one row per push: who, from which host and directory, when, that host's
  ``run.json`` (its facts: lab, devices, environment), how many lines it read and how many were new.
* ``dmct_result_lines``: one row per distinct journal line. **A line is identified by its exact text**
  (run id + SHA-256, a unique key): re-pushing a journal, or pushing two overlapping ones, adds each line
  once. Writes use ``INSERT … ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL, so two hosts pushing at
  the same moment never fail on each other's lines. The line's text is kept verbatim (an auditor's
  re-computation reads the same bytes), and its entry, pack, test, outcome and UTC ``at`` are copied
  out for queries.

Every push is one transaction and validates every line first as ``dmct verdict`` would (same
:class:`harness.rules.verdict.ResultIndex`, same one-line errors naming file, line and field), so a bad
journal leaves nothing behind. A pull writes the lines in ``at`` order (ties in arrival order), the order
one controller would have appended them in; the verdict does not depend on line order anyway (20.22).
Evidence files (transcripts) stay on the host that recorded them: lines name them by path.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from harness.errors import DmctInputError
from harness.model.interchange import Plan, format_at, parse_result_line
from harness.outputs import atomic_writer
from harness.store.issue_log import Store
from harness.store.schema import lines_table, pushes_table, runs_table
from harness.yamlio import read_text, text_lines

#: Files of a run directory (as the pytest plugin writes them; see ``harness.cli.verdict``).
PLAN_FILE = "plan.json"
RESULTS_FILE = "results.jsonl"
FACTS_FILE = "run.json"
#: Written by a pull: where the lines came from (store, runs, pushes).
PROVENANCE_FILE = "pulled.json"
#: Journal lines sent to the database at a time: memory stays bounded whatever the journal's size.
BATCH = 1000

# -------------------------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class Pushed:
    """The outcome of one push: lines read from the journal and how many the store did not have."""

    run_id: str
    lines: int
    added: int


@dataclass(frozen=True, slots=True)
class Pulled:
    run_ids: tuple[str, ...]
    lines: int
    directory: Path


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    lines: int
    pushes: int
    hosts: tuple[str, ...]
    first_pushed: str
    last_pushed: str

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "lines": self.lines,
            "pushes": self.pushes,
            "hosts": list(self.hosts),
            "first_pushed": self.first_pushed,
            "last_pushed": self.last_pushed,
        }


# --------------------------------------------------------------------------------------------- push


def _run_id(run_dir: Path, facts: str | None, given: str | None) -> str:
    """``--run-id``, else ``run.json``'s ``run_id``, else the directory's name (``results/<run-id>/``)."""
    run_id = given
    if run_id is None and facts is not None:
        try:
            data = json.loads(facts)
        except json.JSONDecodeError as exc:
            raise DmctInputError(
                str(run_dir / FACTS_FILE), f"broken JSON: {exc.msg}", line=exc.lineno
            ) from None
        if not isinstance(data, dict):
            raise DmctInputError(str(run_dir / FACTS_FILE), "must be a JSON object")
        found = data.get("run_id")
        run_id = found if isinstance(found, str) else None
    if run_id is None:
        run_id = run_dir.resolve().name
    if not run_id.strip() or len(run_id) > 64:
        raise DmctInputError("--run-id", f"a run id is 1-64 characters, got {run_id!r}")
    return run_id


def _insert_lines(conn: Connection, run_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert the rows the store does not have yet (the caller counts them by their push id).

    On SQLite and PostgreSQL ``INSERT … ON CONFLICT DO NOTHING`` skips lines already stored, also those
    another pusher inserted a moment ago, through the unique index. Elsewhere the batch is checked
    against the store first. (Checking first on PostgreSQL as well was quadratic: the prepared
    ``digest IN (1000 parameters)`` query is planned once, on a table still empty, as a full scan.)
    """
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["digest"], row)  # a line twice in the journal is one line
    fresh = list(unique.values())
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        dialect_insert = postgresql.insert if name == "postgresql" else sqlite.insert
        conn.execute(
            dialect_insert(lines_table).on_conflict_do_nothing(index_elements=["run_id", "digest"]), fresh
        )
        return
    present = set(
        conn.execute(
            select(lines_table.c.digest).where(
                lines_table.c.run_id == run_id, lines_table.c.digest.in_([r["digest"] for r in fresh])
            )
        ).scalars()
    )
    fresh = [r for r in fresh if r["digest"] not in present]
    if fresh:
        conn.execute(insert(lines_table), fresh)


def _same_plan(stored: str, pushed: str) -> bool:
    try:
        return bool(json.loads(stored) == json.loads(pushed))
    except json.JSONDecodeError:
        return stored == pushed


def push_run(
    store: Store,
    run_dir: Path,
    actor: str,
    *,
    run_id: str | None = None,
    host: str | None = None,
) -> Pushed:
    """Push ``run_dir``'s plan, journal and facts into ``store`` (idempotent; one transaction).

    Raises :class:`DmctInputError` (nothing written) for a missing or malformed plan, a bad journal
    line (file:line: field: message, as ``dmct verdict`` says it) or a plan that differs from the one
    the store already holds for the run.
    """
    from harness.model.interchange import load_plan
    from harness.rules.verdict import ResultIndex

    plan_path, journal, facts_path = run_dir / PLAN_FILE, run_dir / RESULTS_FILE, run_dir / FACTS_FILE
    if not plan_path.is_file():
        raise DmctInputError(str(run_dir), f"not a run directory (no {PLAN_FILE})")
    plan_text = read_text(plan_path)
    plan: Plan = load_plan(plan_path)
    facts = read_text(facts_path) if facts_path.is_file() else None
    run_id = _run_id(run_dir, facts, run_id)
    source = str(journal)
    stamp = store.now()

    def work(conn: Connection) -> Pushed:
        index = ResultIndex(plan)  # validates each line exactly as the verdict will (again on a retry)
        stored_plan = _ensure_run(conn, run_id, plan_text, stamp)
        if not _same_plan(stored_plan, plan_text):
            raise DmctInputError(
                str(plan_path), f"differs from the plan the store holds for run {run_id}; nothing was written"
            )
        push_id = conn.execute(
            insert(pushes_table)
            .values(run_id=run_id, at=stamp, actor=actor, host=host or platform.node() or "unknown",
                    source=str(run_dir.resolve()), facts=facts, lines=0, added=0)
            .returning(pushes_table.c.id)
        ).scalar_one()  # fmt: skip
        read = 0
        batch: list[dict[str, Any]] = []
        for number, text in _journal_lines(journal):
            record = parse_result_line(text, source, number)
            index.add(record, source, number)
            line = text.rstrip("\r\n")
            batch.append(
                {
                    "run_id": run_id,
                    "digest": hashlib.sha256(line.encode("utf-8")).hexdigest(),
                    "push_id": push_id,
                    "entry": record.entry,
                    "pack": record.pack,
                    "test": record.test,
                    "outcome": record.outcome.value,
                    "at": format_at(record.at),
                    "line": line,
                }
            )
            read += 1
            if len(batch) >= BATCH:
                _insert_lines(conn, run_id, batch)
                batch = []
        if batch:
            _insert_lines(conn, run_id, batch)
        # The new lines are exactly those that carry this push's id (a line already stored keeps its own).
        added = conn.execute(
            select(func.count()).select_from(lines_table).where(lines_table.c.push_id == push_id)
        ).scalar_one()
        conn.execute(update(pushes_table).where(pushes_table.c.id == push_id).values(lines=read, added=added))
        return Pushed(run_id, read, added)

    return store.write(work)


def _ensure_run(conn: Connection, run_id: str, plan: str, stamp: str) -> str:
    """Record the run with ``plan`` unless the store has it; returns the plan the store holds for it.

    The insert comes first: on SQLite it takes the write lock before any read, so pushers queue up; on
    PostgreSQL a second pusher of a new run waits for the first to commit, then finds its row.
    """
    values = {"run_id": run_id, "plan": plan, "first_pushed": stamp}
    if conn.dialect.name in ("postgresql", "sqlite"):
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(dialect_insert(runs_table).on_conflict_do_nothing(index_elements=["run_id"]), values)
    elif conn.execute(select(runs_table.c.run_id).where(runs_table.c.run_id == run_id)).first() is None:
        conn.execute(insert(runs_table), values)
    return str(conn.execute(select(runs_table.c.plan).where(runs_table.c.run_id == run_id)).scalar_one())


def _journal_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a journal with their 1-based numbers; a run that recorded nothing has none."""
    if not path.exists():
        return
    yield from text_lines(path)


# --------------------------------------------------------------------------------------------- pull


def merge_plans(plans: Mapping[str, str]) -> str:
    """One plan for several runs: the union of their entries and packs (as JSON text).

    Runs usually judge one entry each, with the same packs; anything they state differently (the
    profile, a pack's tests, an entry with the same id) is a conflict, named, rather than a guess.
    """
    merged: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    for run_id, text in plans.items():
        data = json.loads(text)
        for key, value in data.items():
            if key == "entries":
                for entry in value:
                    if entries.setdefault(entry["id"], entry) != entry:
                        raise DmctInputError(run_id, f"entry {entry['id']!r} differs from another run's")
            elif key == "packs":
                packs = merged.setdefault("packs", {})
                for pack, spec in value.items():
                    if packs.setdefault(pack, spec) != spec:
                        raise DmctInputError(
                            run_id, f"pack {pack!r} differs from another run's", field="packs"
                        )
            elif merged.setdefault(key, value) != value:
                raise DmctInputError(run_id, f"{value!r} differs from another run's", field=key)
    merged["entries"] = list(entries.values())
    Plan.model_validate(merged)
    return json.dumps(merged, indent=1) + "\n"


def _atomic_write(path: Path, write: Any) -> None:
    with atomic_writer(path) as handle:
        write(handle)


def pull_runs(store: Store, run_ids: Sequence[str], out_dir: Path, *, force: bool = False) -> Pulled:
    """Write the runs' merged journal, plan and (for one run) facts into ``out_dir``.

    ``dmct verdict --run out_dir`` then judges them. One run comes back as it was pushed: its plan and
    the first pushed ``run.json`` byte for byte, its journal line for line. Several runs get a merged
    plan (:func:`merge_plans`) and no ``run.json``. ``pulled.json`` records the provenance. An existing
    journal in ``out_dir`` is replaced only with ``force``.
    """
    ids = tuple(dict.fromkeys(run_ids))
    if not ids:
        raise DmctInputError("--run-id", "give at least one run id")
    if (out_dir / RESULTS_FILE).exists() and not force:
        raise DmctInputError(str(out_dir), f"already holds {RESULTS_FILE}; give --force to replace it")
    with store.reading() as conn:
        plans: dict[str, str] = {
            run_id: plan
            for run_id, plan in conn.execute(
                select(runs_table.c.run_id, runs_table.c.plan).where(runs_table.c.run_id.in_(ids))
            )
        }
        missing = [r for r in ids if r not in plans]
        if missing:
            raise DmctInputError(missing[0], f"no such run in the store {store.url}", field="--run-id")
        pushes = conn.execute(
            select(pushes_table).where(pushes_table.c.run_id.in_(ids)).order_by(pushes_table.c.id)
        ).all()
        plan = plans[ids[0]] if len(ids) == 1 else merge_plans({r: plans[r] for r in ids})
        out_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(out_dir / PLAN_FILE, lambda h: h.write(plan))
        count = 0

        def write_lines(handle: Any) -> None:
            nonlocal count
            rows = conn.execution_options(yield_per=5000).execute(
                select(lines_table.c.line)
                .where(lines_table.c.run_id.in_(ids))
                .order_by(lines_table.c.at, lines_table.c.id)
            )
            for (line,) in rows:
                handle.write(line + "\n")
                count += 1

        _atomic_write(out_dir / RESULTS_FILE, write_lines)
    if len(ids) == 1:
        facts = next((p.facts for p in pushes if p.facts is not None), None)
        if facts is not None:
            _atomic_write(out_dir / FACTS_FILE, lambda h: h.write(facts))
    provenance = {
        "store": store.url,
        "pulled": store.now(),
        "runs": {
            r: [
                {"at": p.at, "by": p.actor, "host": p.host, "source": p.source, "lines": p.lines,
                 "added": p.added}
                for p in pushes if p.run_id == r
            ]
            for r in ids
        },
    }  # fmt: skip
    _atomic_write(out_dir / PROVENANCE_FILE, lambda h: h.write(json.dumps(provenance, indent=1) + "\n"))
    return Pulled(ids, count, out_dir)


def list_runs(store: Store) -> list[RunSummary]:
    """Every run in the store, oldest first push first, with its line count, pushes and hosts."""
    with store.reading() as conn:
        counts: dict[str, int] = {
            run_id: n
            for run_id, n in conn.execute(
                select(lines_table.c.run_id, func.count()).group_by(lines_table.c.run_id)
            )
        }
        pushes: dict[str, list[tuple[str, str]]] = {}
        for run_id, at, host in conn.execute(
            select(pushes_table.c.run_id, pushes_table.c.at, pushes_table.c.host).order_by(pushes_table.c.id)
        ):
            pushes.setdefault(run_id, []).append((at, host))
        runs = conn.execute(select(runs_table.c.run_id).order_by(runs_table.c.first_pushed)).scalars().all()
    return [
        RunSummary(
            run_id=r,
            lines=counts.get(r, 0),
            pushes=len(pushes.get(r, [])),
            hosts=tuple(dict.fromkeys(h for _, h in pushes.get(r, []))),
            first_pushed=min((a for a, _ in pushes.get(r, [])), default=""),
            last_pushed=max((a for a, _ in pushes.get(r, [])), default=""),
        )
        for r in runs
    ]
