"""Two writers updating the same Testing Issue on PostgreSQL at once. With ``--expect-version`` (both
looked at the same version) one wins and the other is told in one line, exit status 4; without it the
second waits for the first's row lock and applies its change on top: nothing refused, nothing lost."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from harness.store.issue_log import StoreConflict, open_store

from .conftest import PASSWORD
from .runs import dmct_popen


def add_issue(url: str) -> str:
    with open_store(url) as store:
        return store.add_issue(title="ESME reboots", severity=3, actor="alice", entries=["E1"]).issue.id


def test_two_engineers_update_the_same_issue_one_gets_a_conflict(pg_url: str) -> None:
    issue = add_issue(pg_url)
    # Both looked at version 1 and change it at the same time, from two processes (two hosts).
    bob = dmct_popen("issues", "update", issue, "--severity", "4", "--expect-version", "1",
                     "--store", pg_url, "--by", "bob")  # fmt: skip
    carol = dmct_popen("issues", "update", issue, "--title", "ESME reboots on switch", "--expect-version",
                       "1", "--store", pg_url, "--by", "carol")  # fmt: skip
    results = {name: (p.wait(60), *p.communicate()) for name, p in (("bob", bob), ("carol", carol))}
    winners = [n for n, (rc, out, _) in results.items() if rc == 0 and out == f"{issue} version 2\n"]
    losers = [n for n, (rc, _, err) in results.items() if rc == 4]  # a true conflict (exit-codes.md)
    assert len(winners) == 1 and len(losers) == 1, results
    err = results[losers[0]][2]
    assert len(err.splitlines()) == 1 and PASSWORD not in err
    assert err.startswith(f"dmct: error: {issue}: version: ")
    assert "expected version 1 but the store has version 2" in err or "changed by someone else" in err

    with open_store(pg_url) as store:
        stored = store.get_stored(issue)
    assert stored.version == 2
    history = stored.issue.history
    assert [h["by"] for h in history] == ["alice", winners[0]]  # the original, then the winner
    assert history[0]["new"]["severity"] == 3 and history[0]["new"]["title"] == "ESME reboots"
    if winners[0] == "bob":
        assert (stored.issue.severity, stored.issue.title) == (4, "ESME reboots")
    else:
        assert (stored.issue.severity, stored.issue.title) == (3, "ESME reboots on switch")


def at_once(target: Any, *calls: tuple[Any, ...]) -> list[tuple[str, str, Any]]:
    """Run ``target(*call, barrier, out)`` for each call in its own process (two hosts), all released
    together by one barrier; their ``(actor, kind, detail)`` outcomes, sorted."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(calls)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*call, barrier, out)) for call in calls]
    for p in procs:
        p.start()
    outcomes = sorted(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    return outcomes


def _write(url: str, issue: str, actor: str, changes: dict[str, Any], barrier: Any, out: Any) -> None:
    """Start together with the other process, then change the issue slowly (no expected version)."""

    def compute(_: object) -> dict[str, Any]:
        time.sleep(0.3)  # hold the row while the other writer arrives
        return changes

    with open_store(url) as store:
        barrier.wait(30)
        try:
            stored = store._mutate(issue, actor, None, "update", compute)
            out.put((actor, "ok", stored.version))
        except StoreConflict as exc:
            out.put((actor, "conflict", str(exc)))


def test_writers_at_the_same_moment_without_a_version_both_land_in_order(pg_url: str) -> None:
    issue = add_issue(pg_url)
    outcomes = at_once(
        _write, (pg_url, issue, "bob", {"severity": 5}), (pg_url, issue, "carol", {"title": "not lost"})
    )
    assert sorted((kind, version) for _, kind, version in outcomes) == [("ok", 2), ("ok", 3)], outcomes
    first = next(actor for actor, _, version in outcomes if version == 2)
    second = next(actor for actor, _, version in outcomes if version == 3)
    with open_store(pg_url) as store:
        stored = store.get_stored(issue)
    assert stored.version == 3
    assert [h["by"] for h in stored.issue.history] == ["alice", first, second]
    assert (stored.issue.severity, stored.issue.title) == (5, "not lost")


def _change_entry(url: str, actor: str, changes: dict[str, Any], barrier: Any, out: Any) -> None:
    """Start together with the other process, then change planned entry P1 slowly (no expected version)."""
    from harness.store.entries import EntryLog

    def apply(record: Any, _today: Any) -> Any:
        time.sleep(0.3)  # both have read version 1 before either writes
        return record.model_copy(update=changes)

    with open_store(url) as store:
        barrier.wait(30)
        try:
            stored = EntryLog(store).change("P1", actor, "edit", apply)
            out.put((actor, "ok", stored.version))
        except StoreConflict as exc:
            out.put((actor, "conflict", str(exc)))


def test_entry_writers_at_the_same_moment_without_a_version_both_land(pg_url: str) -> None:
    """The DMCT Status List goes through the same retrying writer as the issue log (Store.write): two
    test managers changing different fields of one planned entry at once both land, in order, and the
    history records both; neither is refused for a race it did not cause."""
    from harness.rules.process import new_entry
    from harness.store.entries import EntryLog

    with open_store(pg_url) as store:
        EntryLog(store).add(new_entry("P1", "DMC-1", "dormant"), "alice")
    outcomes = at_once(
        _change_entry,
        (pg_url, "bob", {"relies_on": "P0"}),
        (pg_url, "carol", {"migration_completion_report": "MCR-7"}),
    )
    assert sorted((kind, version) for _, kind, version in outcomes) == [("ok", 2), ("ok", 3)], outcomes
    with open_store(pg_url) as store:
        stored = EntryLog(store).get("P1")
    assert stored.version == 3
    assert (stored.record.relies_on, stored.record.migration_completion_report) == ("P0", "MCR-7")
    assert sorted(h["by"] for h in stored.history) == ["alice", "bob", "carol"]
