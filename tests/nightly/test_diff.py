"""``dmct diff``: every category, flaky only when firmware, DCC systems and code are known unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.regression.diff import (
    CATEGORIES,
    EntryContext,
    categorise,
    code_label,
    compare_contexts,
    diff_paths,
    render_markdown,
)
from tests.nightly.runs import ENTRY, OTHER, at, facts, line, plan, provenance, write_run

# (test, outcomes in A, outcomes in B): every category, plus a re-run whose latest execution counts.
CASES: list[tuple[str, list[str], list[str]]] = [
    ("mt-01", ["passed"], ["passed"]),
    ("mt-02", ["passed"], ["failed"]),
    ("mt-03", ["failed"], ["passed"]),
    ("mt-04", ["failed"], ["failed"]),
    ("srvt-01", ["passed"], ["blocked"]),
    ("srvt-02", ["blocked"], ["error"]),
    ("srvt-03", ["passed"], []),
    ("srvt-04", [], ["passed"]),
    ("srvt-05", ["blocked"], ["passed"]),
    ("srvt-06", ["skipped"], ["failed"]),
    ("srvt-07", ["passed"], ["skipped"]),
    ("srvt-08", ["passed"], ["failed", "passed"]),  # re-run: the latest execution counts (20.22)
]


def _lines(day: int, side: int) -> list[dict[str, object]]:
    out = []
    for test, a, b in CASES:
        for n, outcome in enumerate(a if side == 0 else b):
            extra = {"reason": f"{test} went {outcome}"} if outcome != "passed" else {}
            out.append(line(test, outcome, at(day, n), **extra))
    return out


def _pair(
    tmp_path: Path,
    *,
    prov_a: dict[str, object] | None = None,
    prov_b: dict[str, object] | None = None,
    fw_b: str = "1.0.0",
) -> tuple[Path, Path]:
    a = write_run(tmp_path, "A", _lines(20, 0), run_facts=facts("A", started=at(20)), run_provenance=prov_a)
    b = write_run(
        tmp_path,
        "B",
        _lines(21, 1),
        run_facts=facts("B", started=at(21), esme_firmware=fw_b),
        run_provenance=prov_b,
    )
    return a, b


def _by_category(diff_json: dict[str, object]) -> dict[str, list[str]]:
    entry = diff_json["entries"][ENTRY]  # type: ignore[index]
    return {c: [x["test"] for x in entry[c]] for c in CATEGORIES}  # type: ignore[index]


EXPECTED_UNKNOWN = {
    "new_failures": ["mt-02", "srvt-06"],
    "newly_blocked": ["srvt-01"],
    "flaky": [],
    "fixed": ["mt-03"],
    "still_failing": ["mt-04"],
    "still_blocked": ["srvt-02"],
    "not_run_any_more": ["srvt-03"],
    "newly_run": ["srvt-04"],
    "other_changes": ["srvt-05", "srvt-07"],
}


def test_every_category_without_provenance_nothing_is_flaky(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    diff = diff_paths(a, b)
    data = diff.to_json()
    assert _by_category(data) == EXPECTED_UNKNOWN
    entry = diff.entries[ENTRY]
    assert entry.comparison.status == "unknown" and entry.unchanged == 2  # mt-01, srvt-08
    assert any("code version" in u for u in entry.comparison.unknown)
    assert any("seeded defects" in u for u in entry.comparison.unknown)
    assert diff.regression and data["totals"]["new_failures"] == 2
    mt02 = next(c for c in entry.categories["new_failures"] if c.test == "mt-02")
    assert (mt02.was, mt02.now, mt02.reason) == ("passed", "failed", "mt-02 went failed")


def test_flips_are_flaky_when_firmware_and_code_are_unchanged(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, prov_a=provenance(), prov_b=provenance())
    cats = _by_category(diff_paths(a, b).to_json())
    assert cats["flaky"] == ["mt-02", "mt-03"]  # passed <-> failed, nothing changed
    assert cats["new_failures"] == ["srvt-06"]  # skipped -> failed is no flip between two executions
    assert cats["fixed"] == []
    assert diff_paths(a, b).entries[ENTRY].comparison.status == "unchanged"


def test_a_firmware_change_is_no_flake(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, prov_a=provenance(), prov_b=provenance(), fw_b="1.0.1")
    diff = diff_paths(a, b)
    assert _by_category(diff.to_json()) == EXPECTED_UNKNOWN
    comparison = diff.entries[ENTRY].comparison
    assert comparison.status == "changed"
    assert comparison.changes == ("esme: Acme ESME-1 A 1.0.0 → Acme ESME-1 A 1.0.1",)


def test_a_seeded_defect_is_a_device_change(tmp_path: Path) -> None:
    a, b = _pair(
        tmp_path, prov_a=provenance(), prov_b=provenance(defects=["supply_state_unchanged_by_disable"])
    )
    diff = diff_paths(a, b)
    assert _by_category(diff.to_json())["new_failures"] == ["mt-02", "srvt-06"]
    assert diff.entries[ENTRY].comparison.changes == (
        "rig-1/esme defects: none → supply_state_unchanged_by_disable",
    )


def test_a_code_change_is_no_flake(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, prov_a=provenance(source="a" * 64), prov_b=provenance(source="b" * 64))
    comparison = diff_paths(a, b).entries[ENTRY].comparison
    assert comparison.status == "changed" and comparison.changes[0].startswith("code: cccccccccc+dirty")


@pytest.mark.parametrize(
    ("was", "now", "unchanged", "category"),
    [
        ("passed", "passed", False, None),
        ("skipped", "skipped", False, None),
        ("passed", "failed", False, "new_failures"),
        ("passed", "failed", True, "flaky"),
        ("failed", "passed", True, "flaky"),
        ("failed", "passed", False, "fixed"),
        ("error", "failed", True, "new_failures"),
        ("failed", "failed", True, "still_failing"),
        ("blocked", "blocked", False, "still_blocked"),
        ("error", "blocked", False, "still_blocked"),
        ("passed", "blocked", True, "newly_blocked"),
        ("failed", "error", False, "newly_blocked"),
        ("skipped", "blocked", False, "newly_blocked"),
        ("blocked", "passed", False, "other_changes"),
        ("failed", "skipped", False, "other_changes"),
        ("passed", None, False, "not_run_any_more"),
        (None, "failed", False, "newly_run"),
    ],
)
def test_categorise(was: str | None, now: str | None, unchanged: bool, category: str | None) -> None:
    assert categorise(was, now, unchanged) == category


def _ctx(**kw: object) -> EntryContext:
    base: dict[str, object] = {
        "entry": ENTRY,
        "run_id": "r",
        "firmware": {"esme": "1.0"},
        "environment": "S1SP 4.2",
        "code": {"git_commit": "c" * 40, "git_dirty": False},
        "devices": {"rig-1/esme": {"defects": "none"}},
    }
    base.update(kw)
    return EntryContext(**base)  # type: ignore[arg-type]


def test_code_identity_rules() -> None:
    assert compare_contexts(_ctx(), _ctx()).status == "unchanged"  # one clean commit
    dirty = {"git_commit": "c" * 40, "git_dirty": True}
    assert compare_contexts(_ctx(code=dirty), _ctx(code=dirty)).status == "unknown"  # uncommitted edits
    version_only = {"dmct_version": "0.1.0"}
    assert compare_contexts(_ctx(code=version_only), _ctx(code=version_only)).status == "unknown"
    env = compare_contexts(_ctx(), _ctx(environment="S1SP 4.3"))
    assert env.status == "changed" and env.changes == ("DCC systems: S1SP 4.2 → S1SP 4.3",)
    assert compare_contexts(_ctx(), None).status == "unknown"
    assert code_label({"git_commit": "0123456789abcdef", "git_dirty": False}) == "0123456789"
    assert code_label(None) == "unknown"


def test_entries_in_one_side_only_and_night_directories(tmp_path: Path) -> None:
    a = write_run(tmp_path / "n1" / "runs", "A", [line("mt-01", "passed", at(20))])
    other = [line("mt-01", "failed", at(21), entry=OTHER)]
    b = write_run(
        tmp_path / "n2" / "runs",
        "B",
        other,
        run_facts=facts("B", OTHER, started=at(21)),
        run_plan=plan([OTHER]),
    )
    diff = diff_paths(tmp_path / "n1", tmp_path / "n2")  # nightly nights: runs/*/
    assert diff.a.run_ids == ("A",) and a.name == "A" and b.name == "B"
    assert [c.test for c in diff.entries[ENTRY].categories["not_run_any_more"]] == ["mt-01"]
    assert [c.test for c in diff.entries[OTHER].categories["newly_run"]] == ["mt-01"]
    assert not diff.entries[OTHER].in_a and not diff.regression
    assert "not run any more" in render_markdown(diff)


def test_cli_json_table_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path)
    assert main(["diff", str(a), str(b), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and json.loads(out)["regression"] is True
    assert main(["diff", str(a), str(b)]) == 0
    table = capsys.readouterr().out
    assert "new failures" in table and "mt-02" in table and "regression" in table
    assert main(["diff", str(a), str(b), "--fail-on-regression"]) == 1
    capsys.readouterr()
    assert main(["diff", str(b), str(b), "--fail-on-regression"]) == 0


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path)
    (tmp_path / "empty").mkdir()
    with (b / "results.jsonl").open("a") as handle:
        handle.write('{"entry": "EPCL-T1-D", "pack": "srvt"\n')
    for argv, where in [
        (["diff", str(a), str(tmp_path / "nowhere")], "nowhere"),
        (["diff", str(a), str(tmp_path / "empty")], "empty"),
        (["diff", str(a), str(b)], "results.jsonl:13"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("dmct: error:") and err.count("\n") == 1 and where in err, err
