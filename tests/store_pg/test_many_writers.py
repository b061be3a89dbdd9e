"""Fifty engineers at once: ``dmct issues add`` and ``dmct issues link`` started as fifty processes that
are released together, on SQLite (the default store) and on PostgreSQL. Every one must succeed: adds get
unique ids with no gap, every link lands, and the history holds one record per command — writers
serialise (SQLite ``BEGIN IMMEDIATE``, PostgreSQL row and advisory locks) or are retried transparently
(:meth:`harness.store.issue_log.Store.write`); only a true conflict (``--expect-version``) is refused."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.model.packs import read_manifest
from harness.store.issue_log import open_store

from .runs import REPO

SRVT = read_manifest(REPO / "test_packs/service_reference_variant/pack.yaml").test_ids
ADDS = 25
LINKS = 25  # 50 processes in all
#: Each process imports dmct and the database driver, then waits for the gate file: they all start their
#: command within milliseconds, the worst case for id allocation and for the shared rows.
GATED = """
import os, sys, time
import sqlalchemy, harness.cli, harness.cli.issues, harness.store.issue_log
try:
    import psycopg
except ImportError:
    pass
gate = sys.argv[1]
while not os.path.exists(gate):
    time.sleep(0.005)
sys.exit(harness.cli.main(sys.argv[2:]))
"""


def _many_at_once(url: str, gate: Path) -> None:
    with open_store(url) as store:  # the store exists (at head) before anyone writes: 2 issues to link to
        for title in ("ESME reboots", "CH drops HAN"):
            store.add_issue(title=title, severity=3, actor="lead", entries=["E1"])
    commands = [
        ["issues", "add", "--title", f"issue {n}", "--severity", "3", "--store", url, "--by", f"eng{n}"]
        for n in range(ADDS)
    ] + [
        ["issues", "link", f"TI-000{1 + n % 2}", "--entry", "E1", "--pack", "srvt", "--test", SRVT[n],
         "--store", url, "--by", f"eng{n}"]
        for n in range(LINKS)
    ]  # fmt: skip
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", GATED, str(gate), *argv],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in commands
    ]
    time.sleep(0.5)
    gate.touch()
    outcomes = [(p.wait(180), *p.communicate()) for p in procs]
    failed = [(argv, o) for argv, o in zip(commands, outcomes, strict=True) if o[0] != 0]
    assert not failed, failed[:3]

    ids = [out.strip() for _, out, _ in outcomes[:ADDS]]
    assert sorted(ids) == [f"TI-{n:04d}" for n in range(3, 3 + ADDS)]  # unique, no gap
    with open_store(url) as store:
        issues = {i.id: i for i in store.export_issues()}
    assert len(issues) == 2 + ADDS
    assert {issues[i].title for i in ids} == {f"issue {n}" for n in range(ADDS)}
    for target in ("TI-0001", "TI-0002"):
        expected = {SRVT[n] for n in range(LINKS) if f"TI-000{1 + n % 2}" == target}
        assert {t.test for t in issues[target].tests} == expected  # no link lost
        history = issues[target].history
        assert [h["action"] for h in history] == ["add"] + ["link"] * len(expected)
        # each link record's old value is the previous record's new value: applied one on top of another
        links = history[1:]
        assert all(b["old"] == a["new"] for a, b in itertools.pairwise(links))


@pytest.mark.slow  # `make slow` (.ci/run), with PostgreSQL's fifty; make test keeps the two-writer races
def test_fifty_writers_at_once_on_sqlite_all_succeed(tmp_path: Path) -> None:
    _many_at_once(f"sqlite:///{tmp_path / 'dmct.sqlite'}", tmp_path / "go")


@pytest.mark.slow  # `make slow` (.ci/run); `make test` keeps the two-writer races (test_concurrent_issues)
@pytest.mark.usefixtures("pg_server")
def test_fifty_writers_at_once_on_postgresql_all_succeed(
    tmp_path: Path, pg_database: Callable[[], str]
) -> None:
    _many_at_once(pg_database(), tmp_path / "go")
