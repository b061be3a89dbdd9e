"""Results journals shared through the store: two hosts push halves of one run, a pull gives the verdict
of the whole run; pushes are idempotent and all-or-nothing; pulls round-trip byte for byte."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import DmctInputError
from harness.store.issue_log import open_store
from harness.store.results import Pushed, list_runs, pull_runs, push_run

from .conftest import PASSWORD
from .runs import dmct, dmct_popen, journal, write_run

RUN = "20270111T090000Z-ab12"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    make: Callable[[], str] = request.getfixturevalue("pg_database")
    return make()


def verdict_json(run_dir: Path, url: str) -> dict[str, object]:
    out = dmct("verdict", "--run", str(run_dir), "--json", "--store", url)
    assert out.returncode == 0, out.stderr
    data: dict[str, object] = json.loads(out.stdout)
    return data


def test_halves_pushed_by_two_processes_pull_to_the_verdict_of_the_whole_run(
    tmp_path: Path, pg_url: str
) -> None:
    lines = journal(RUN, rounds=4)
    whole = write_run(tmp_path / "whole" / RUN, RUN, lines)
    # Two hosts ran the same run (say, one rig each) and each journalled every other test.
    host_a = write_run(tmp_path / "a" / RUN, RUN, lines[0::2], host="host-a")
    host_b = write_run(tmp_path / "b" / RUN, RUN, lines[1::2], host="host-b")
    with open_store(pg_url) as store:  # a failure linked to this issue: the log takes part in the verdict
        store.add_issue(title="stale register", severity=3, actor="alice", entries=["E1"])
        store.route("TI-0001", "c", "alice")

    pushers = [dmct_popen("results", "push", str(d), "--store", pg_url) for d in (host_a, host_b)]
    outputs = [(p.wait(60), *p.communicate()) for p in pushers]
    assert [rc for rc, _, _ in outputs] == [0, 0], outputs
    assert sorted(out for _, out, _ in outputs) == sorted(
        f"{RUN}: {n} lines, {n} new, into {pg_url.replace(PASSWORD, '***')}\n"
        for n in (len(lines[0::2]), len(lines[1::2]))
    )

    pulled = tmp_path / "pulled"
    out = dmct("results", "pull", "--run-id", RUN, "-o", str(pulled), "--store", pg_url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{len(lines)} lines of {RUN} into {pulled}")
    # Merged in time order, the two halves are the one-run journal again, byte for byte ...
    assert (pulled / "results.jsonl").read_bytes() == (whole / "results.jsonl").read_bytes()
    # ... and the verdict is the one-run verdict.
    merged, single = verdict_json(pulled, pg_url), verdict_json(whole, pg_url)
    assert merged == single
    entry = single["entries"]["E1"]  # type: ignore[index]
    assert entry["failed"] > 0 and entry["linked_failures"] > 0  # the fixture exercises what matters
    provenance = json.loads((pulled / "pulled.json").read_text())
    assert sorted(p["source"] for p in provenance["runs"][RUN]) == [str(host_a), str(host_b)]
    with open_store(pg_url, create=False) as store:
        [summary] = list_runs(store)
    assert (summary.run_id, summary.lines, summary.pushes) == (RUN, len(lines), 2)


def test_pushing_again_adds_nothing(tmp_path: Path, store_url: str) -> None:
    run = write_run(tmp_path / RUN, RUN, journal(RUN))
    with open_store(store_url) as store:
        first = push_run(store, run, "alice", host="h1")
        again = push_run(store, run, "alice", host="h1")
        # A host that pushes as its run goes on: only the new lines are added.
        more = journal(RUN, rounds=1, seed=99, start=1000)
        with (run / "results.jsonl").open("a") as handle:
            handle.writelines(line + "\n" for line in more)
        grown = push_run(store, run, "alice", host="h1")
        [summary] = list_runs(store)
    assert (first.lines, first.added) == (75, 75)
    assert (again.lines, again.added) == (75, 0)
    assert (grown.lines, grown.added) == (100, 25)
    assert (summary.lines, summary.pushes, summary.hosts) == (100, 3, ("h1",))


def test_the_same_journal_pushed_from_two_hosts_at_once_is_stored_once(
    tmp_path: Path, store_url: str
) -> None:
    lines = journal(RUN)
    run = write_run(tmp_path / RUN, RUN, [*lines, lines[0]])  # a line twice in a journal is one line
    pushed: list[object] = []

    def push(host: str) -> None:
        try:
            with open_store(store_url) as store:
                pushed.append(push_run(store, run, host, host=host))
        except Exception as exc:  # reported below
            pushed.append(exc)

    threads = [threading.Thread(target=push, args=(h,)) for h in ("h1", "h2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(p, Pushed) for p in pushed), pushed
    assert sorted((p.lines, p.added) for p in pushed) == [(76, 0), (76, 75)]  # type: ignore[attr-defined]
    with open_store(store_url) as store:
        [summary] = list_runs(store)
    assert (summary.lines, summary.pushes, sorted(summary.hosts)) == (75, 2, ["h1", "h2"])


def test_a_pull_of_one_run_gives_back_its_files_byte_for_byte(tmp_path: Path, store_url: str) -> None:
    run = write_run(tmp_path / RUN, RUN, journal(RUN))
    with open_store(store_url) as store:
        push_run(store, run, "alice")
        pulled = pull_runs(store, [RUN], tmp_path / "out")
        assert pulled.lines == 75
        for name in ("plan.json", "run.json", "results.jsonl"):
            assert (tmp_path / "out" / name).read_bytes() == (run / name).read_bytes(), name
        with pytest.raises(DmctInputError, match=r"already holds results\.jsonl; give --force"):
            pull_runs(store, [RUN], tmp_path / "out")
        assert pull_runs(store, [RUN], tmp_path / "out", force=True).lines == 75


def test_runs_of_two_entries_pull_into_one_directory_with_a_merged_plan(
    tmp_path: Path, store_url: str
) -> None:
    one = write_run(tmp_path / "r1", "r1", journal("r1", entry="E1"), entries=("E1",))
    two = write_run(tmp_path / "r2", "r2", journal("r2", entry="E2", seed=3), entries=("E2",))
    with open_store(store_url) as store:
        push_run(store, one, "alice")
        push_run(store, two, "bob")
        pull_runs(store, ["r1", "r2"], tmp_path / "both")
    plan = json.loads((tmp_path / "both" / "plan.json").read_text())
    assert [e["id"] for e in plan["entries"]] == ["E1", "E2"]
    assert not (tmp_path / "both" / "run.json").exists()  # whose would it be?
    verdict = verdict_json(tmp_path / "both", store_url)
    assert sorted(verdict["entries"]) == ["E1", "E2"]  # type: ignore[call-overload]


def test_a_bad_line_or_a_different_plan_writes_nothing(tmp_path: Path, store_url: str) -> None:
    lines = journal(RUN)
    bad = [*lines[:10], lines[10].replace('"entry":"E1"', '"entry":"E9"'), *lines[11:]]
    run = write_run(tmp_path / RUN, RUN, bad)
    with open_store(store_url) as store:
        with pytest.raises(DmctInputError) as err:
            push_run(store, run, "alice")
        assert str(err.value) == f"{run / 'results.jsonl'}:11: entry: unknown entry 'E9' (not in the plan)"
        assert list_runs(store) == []
        write_run(run, RUN, lines)
        push_run(store, run, "alice")
        other = write_run(tmp_path / "other" / RUN, RUN, lines, entries=("E1", "E2"))
        with pytest.raises(DmctInputError, match=f"differs from the plan the store holds for run {RUN}"):
            push_run(store, other, "bob")
        [summary] = list_runs(store)
        assert summary.pushes == 1


def test_the_commands_name_bad_input_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    missing = dmct("results", "push", str(tmp_path), "--store", url)
    assert missing.returncode == 2
    assert missing.stderr == f"dmct: error: {tmp_path}: not a run directory (no plan.json)\n"
    assert not (tmp_path / "dmct.sqlite").exists()  # checked before the store is opened
    run = write_run(tmp_path / RUN, RUN, journal(RUN))
    assert dmct("results", "push", str(run), "--store", url).returncode == 0
    unknown = dmct("results", "pull", "--run-id", "nope", "-o", str(tmp_path / "x"), "--store", url)
    assert unknown.returncode == 2
    assert unknown.stderr == f"dmct: error: nope: --run-id: no such run in the store {url}\n"
    listed = dmct("results", "list", "--json", "--store", url)
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [RUN]
    with sqlite3.connect(tmp_path / "dmct.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM dmct_result_lines").fetchone() == (75,)
