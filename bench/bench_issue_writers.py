"""Load on the Testing Issue log from concurrent writers (not a test; run it). Issue 18.

    .venv/bin/python bench/bench_issue_writers.py [--procs 8] [--seconds 30] [--backend B]

``--procs`` processes each loop for ``--seconds``: add an issue, then link a new test to a random issue
(its own or another's), through :class:`harness.store.issue_log.Store` as ``dmct issues`` does (one
store per process, one transaction per operation, no ``--expect-version``). PostgreSQL is a throwaway
server started like the tests' fixture (``initdb`` on loopback; skipped if not installed).

Reports operations per second, refusals (any exception reaching the caller: a conflict, a busy store)
and lost writes (an add or link that returned success but is not in the log afterwards, or a link that
is in the log but was never made). The goal: zero refusals and zero lost writes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def worker(url: str, name: str, seconds: float, start: Any, out: Any) -> None:
    from harness.store.issue_log import open_store

    added: list[str] = []
    linked: list[tuple[str, str]] = []
    refusals: list[str] = []
    rng = random.Random(name)
    with open_store(url) as store:
        start.wait(60)
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                issue = store.add_issue(title=f"{name} #{n}", severity=3, actor=name, entries=["E1"])
                added.append(issue.issue.id)
            except Exception as exc:
                refusals.append(f"add: {type(exc).__name__}: {exc}")
            target = rng.choice(added) if added and rng.random() < 0.5 else f"TI-{rng.randint(1, 4):04d}"
            test = f"{name}_{n}"
            try:
                store.link_test(target, "E1", "srvt", test, name)
                linked.append((target, test))
            except Exception as exc:
                refusals.append(f"link: {type(exc).__name__}: {exc}")
    out.put((name, added, linked, refusals))


def run(url: str, procs: int, seconds: float) -> dict[str, Any]:
    from harness.store.issue_log import open_store

    with open_store(url) as store:  # at head, with 4 issues to link to before anyone starts
        for n in range(4):
            store.add_issue(title=f"seed {n}", severity=3, actor="bench", entries=["E1"])
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=worker, args=(url, f"w{i}", seconds, start, out)) for i in range(procs)]
    for w in workers:
        w.start()
    results = [out.get(timeout=seconds + 300) for _ in workers]
    for w in workers:
        w.join(30)
    added = [i for _, a, _, _ in results for i in a]
    linked = {(t, test) for _, _, links, _ in results for t, test in links}
    refusals = [r for _, _, _, refused in results for r in refused]
    with open_store(url) as store:
        issues = {i.id: i for i in store.export_issues()}
    in_log = {(i.id, t.test) for i in issues.values() for t in i.tests}
    lost = [i for i in added if i not in issues] + sorted(linked - in_log)
    phantom = sorted(in_log - linked)
    ops = len(added) + len(linked)
    return {"ops": ops, "adds": len(added), "links": len(linked), "ops_per_s": ops / seconds,
            "refusals": len(refusals), "refusal_examples": refusals[:3], "lost": len(lost),
            "phantom": len(phantom), "unique_ids": len(set(added)) == len(added)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            rows.append(("sqlite", run(f"sqlite:///{tmp}/dmct.sqlite", args.procs, args.seconds)))
        if args.backend in ("postgresql", "both"):
            from tests.store_pg.conftest import _find_bin, _start

            bindir = _find_bin()
            if bindir is None:
                print("postgresql: skipped (no initdb: apt-get install postgresql)")
            else:
                server = _start(bindir)
                try:
                    rows.append(("postgresql", run(server.url(), args.procs, args.seconds)))
                finally:
                    server.stop()
    for backend, r in rows:
        print(f"{backend}: {args.procs} processes x {args.seconds:.0f} s: {r['ops']} ops "
              f"({r['adds']} adds, {r['links']} links) = {r['ops_per_s']:.1f} ops/s; "
              f"refusals {r['refusals']}, lost writes {r['lost']}, phantom links {r['phantom']}, "
              f"ids unique: {r['unique_ids']}")  # fmt: skip
        for example in r["refusal_examples"]:
            print(f"  refused: {example}")
    bad = any(r["refusals"] or r["lost"] or r["phantom"] or not r["unique_ids"] for _, r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
