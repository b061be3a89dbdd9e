"""``dmct merge``: the verdict of a merge equals the verdict of the same results in one run; conflicts
are one line naming the file, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.regression.diff import diff_paths
from tests.nightly.runs import ENTRY, MT, OTHER, SRVT, at, facts, line, plan, provenance, write_run

ISSUES: list[dict[str, Any]] = [
    {
        "id": "TI-0001",
        "severity": 3,
        "status": "open",
        "entries": [ENTRY],
        "route": "c",
        "tests": [{"entry": ENTRY, "pack": "srvt", "test": "srvt-03"}],
    },
    {"id": "TI-0002", "severity": 4, "status": "open", "entries": [OTHER]},
]


def _journal() -> list[dict[str, Any]]:
    """Two entries, every pack test, a failure, a blocked test, re-runs in both halves."""
    out: list[dict[str, Any]] = []
    for n, test in enumerate(MT + SRVT):
        for entry in (ENTRY, OTHER):
            outcome = "failed" if test == "srvt-03" else "blocked" if test == "mt-02" else "passed"
            reason = "x" if outcome != "passed" else None
            evidence = [f"transcripts/{entry}/{test}.jsonl"]
            out.append(line(test, outcome, at(20, n), entry=entry, reason=reason, evidence=evidence))
    out.append(line("mt-02", "passed", at(21, 1)))  # the blocked test re-run to a pass (20.22)
    out.append(line("srvt-05", "failed", at(21, 2)))  # a pass re-run to a failure
    return [{k: v for k, v in x.items() if v is not None} for x in out]


def _verdict(capsys: pytest.CaptureFixture[str], run: Path) -> dict[str, Any]:
    assert main(["verdict", "--run", str(run), "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_merge_of_two_halves_judges_like_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _journal()
    both = plan([ENTRY, OTHER])
    single = write_run(tmp_path, "single", lines, run_plan=both, issues=ISSUES,
                       run_facts=facts("single", started=at(20)))  # fmt: skip
    half = len(lines) // 2
    # The second half first in time order of the runs, to show the line order does not matter.
    h1 = write_run(tmp_path, "h1", lines[half:], run_plan=both, issues=ISSUES,
                   run_facts=facts("h1", started=at(20)), run_provenance=provenance())  # fmt: skip
    h2 = write_run(tmp_path, "h2", lines[:half], run_plan=both, issues=ISSUES,
                   run_facts=facts("h2", started=at(21)))  # fmt: skip
    merged = tmp_path / "merged"
    assert main(["merge", str(h1), str(h2), "-o", str(merged)]) == 0
    assert "2 run(s), 26 result line(s)" in capsys.readouterr().out
    assert _verdict(capsys, merged) == _verdict(capsys, single)
    entries = _verdict(capsys, merged)["entries"]  # not vacuous: a re-run, failures, a blocked test
    assert entries[ENTRY]["failed"] == 2 and entries[ENTRY]["executed"] == 12
    assert entries[OTHER]["status"] == "in_progress" and entries[OTHER]["not_executed"] == 1

    facts_m = json.loads((merged / "run.json").read_text())
    assert facts_m["run_id"] == "merged" and facts_m["entries"] == sorted([ENTRY, OTHER])
    assert [p["run_id"] for p in facts_m["merged_from"]] == ["h1", "h2"]
    assert facts_m["merged_from"][0]["code"]["source_sha256"] == "s" * 64  # provenance kept per part
    assert facts_m["hosts"] == ["host-h1", "host-h2"] and "host" not in facts_m
    assert facts_m["started"] == at(20) and facts_m["environment"]["name"] == "env"
    evidence = merged / "parts" / "h1" / "transcripts" / ENTRY / "srvt-08.jsonl"
    assert evidence.is_file() and not (merged / "parts" / "h1" / "results.jsonl").exists()
    assert (merged / "issues.json").is_file()
    # Byte for byte: every line of every part is in the merged journal.
    merged_lines = sorted((merged / "results.jsonl").read_text().splitlines())
    parts = (h1 / "results.jsonl").read_text().splitlines() + (h2 / "results.jsonl").read_text().splitlines()
    assert merged_lines == sorted(parts)
    # A merged run diffs like any run: against the single run nothing changed.
    assert not any(diff_paths(single, merged).totals()[c] for c in ("new_failures", "fixed", "newly_run"))


def test_merge_of_two_entries_from_two_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _journal()
    one = write_run(tmp_path, "one", lines, run_plan=plan([ENTRY, OTHER]), issues=ISSUES)
    a = write_run(tmp_path, "a", [x for x in lines if x["entry"] == ENTRY], run_plan=plan([ENTRY]),
                  issues=ISSUES, run_facts=facts("a", ENTRY, started=at(20)))  # fmt: skip
    b = write_run(tmp_path, "b", [x for x in lines if x["entry"] == OTHER], run_plan=plan([OTHER]),
                  issues=ISSUES, run_facts=facts("b", OTHER, started=at(20, 5)))  # fmt: skip
    assert main(["merge", str(a), str(b), "-o", str(tmp_path / "m")]) == 0
    capsys.readouterr()
    assert _verdict(capsys, tmp_path / "m") == _verdict(capsys, one)
    assert "entry" not in json.loads((tmp_path / "m" / "run.json").read_text())  # the parts disagree


def _conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], a: Path, b: Path, where: Path, text: str
) -> None:
    out = tmp_path / "out"
    assert main(["merge", str(a), str(b), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dmct: error:") and err.count("\n") == 1, err
    assert str(where) in err and text in err, err
    assert not out.exists() and not list(tmp_path.glob(".out.merging-*"))


def test_different_plans_for_one_entry_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(tmp_path, "a", [], run_facts=facts("a", started=at(20)))
    b = write_run(tmp_path, "b", [], run_facts=facts("b", started=at(21)), run_plan=plan(mt_under_mtad=True))
    _conflict(tmp_path, capsys, a, b, b / "plan.json", f"entry {ENTRY!r} planned differently")


def test_different_packs_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = plan()
    other["packs"]["srvt"]["tests"] = SRVT[:-1]
    a = write_run(tmp_path, "a", [], run_facts=facts("a", started=at(20)))
    b = write_run(tmp_path, "b", [], run_facts=facts("b", started=at(21)), run_plan=other)
    _conflict(tmp_path, capsys, a, b, b / "plan.json", "packs.srvt: pack planned differently")


def test_duplicate_run_ids_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(tmp_path, "a", [], run_facts=facts("same", started=at(20)))
    b = write_run(tmp_path, "b", [], run_facts=facts("same", started=at(21)))
    _conflict(tmp_path, capsys, a, b, b / "run.json", "duplicate run id 'same'")


def test_other_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(tmp_path, "a", [line("mt-01", "passed", at(20))], run_facts=facts("a", started=at(20)))
    b = write_run(tmp_path, "b", [line("mt-01", "passed", at(20), entry="EPCL-NOPE")],
                  run_facts=facts("b", started=at(21)))  # fmt: skip
    _conflict(tmp_path, capsys, a, b, b / "results.jsonl", "unknown entry 'EPCL-NOPE'")
    c = write_run(tmp_path, "c", [], run_facts=facts("c", started=at(21)), issues=[])
    d = write_run(tmp_path, "d", [], run_facts=facts("d", started=at(22)), issues=ISSUES)
    _conflict(tmp_path, capsys, c, d, d / "issues.json", "issues export differs")
    _conflict(tmp_path, capsys, a, tmp_path / "nowhere", tmp_path / "nowhere", "no such directory")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert main(["merge", str(a), "-o", str(tmp_path / "full")]) == 2
    assert "not an empty directory" in capsys.readouterr().err
