"""Two writers updating the same Testing Issue on PostgreSQL at once: one wins, the other is told in
one line, and nothing is lost (the history holds the original and the winner's change)."""

from __future__ import annotations

import multiprocessing
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
    losers = [n for n, (rc, _, err) in results.items() if rc == 2]
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


def _race(url: str, issue: str, actor: str, changes: dict[str, Any], barrier: Any, out: Any) -> None:
    """Read the issue, wait until the other process has read it too, then write (no expected version:
    the guard on the version read inside the same transaction must catch it)."""

    def compute(_: object) -> dict[str, Any]:
        barrier.wait(30)
        return changes

    with open_store(url) as store:
        try:
            stored = store._mutate(issue, actor, None, "update", compute)
            out.put((actor, "ok", stored.version))
        except StoreConflict as exc:
            out.put((actor, "conflict", str(exc)))


def test_writers_that_both_read_before_either_writes_cannot_overwrite(pg_url: str) -> None:
    issue = add_issue(pg_url)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(pg_url, issue, "bob", {"severity": 5}, barrier, out)),
        ctx.Process(target=_race, args=(pg_url, issue, "carol", {"title": "lost?"}, barrier, out)),
    ]
    for p in procs:
        p.start()
    outcomes = sorted(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    kinds = sorted(kind for _, kind, _ in outcomes)
    assert kinds == ["conflict", "ok"], outcomes
    winner = next(actor for actor, kind, _ in outcomes if kind == "ok")
    message = next(str(m) for _, kind, m in outcomes if kind == "conflict")
    # The loser's UPDATE waited for the winner's row lock, then matched no row: version 1 was gone.
    assert "changed by someone else while writing (read version 1)" in message and "\n" not in message
    with open_store(pg_url) as store:
        stored = store.get_stored(issue)
    assert stored.version == 2
    assert [h["by"] for h in stored.issue.history] == ["alice", winner]
    assert stored.issue.title == ("lost?" if winner == "carol" else "ESME reboots")
    assert stored.issue.severity == (5 if winner == "bob" else 3)
