"""``dmct verdict`` end to end through :func:`harness.cli.main`: files in, one JSON object or a table out.

Bad input must give exit status 2, nothing on stdout, and exactly one line on stderr naming the file,
the line and the field (issue 3, "Done when").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from harness.cli import main
from harness.model.interchange import Plan, load_plan
from harness.rules.profiles import load_profile
from harness.rules.verdict import compute_verdict

PLAN = """\
profile: dmct
packs:
  dormant-mt:
    tests: [mt-1]
  srvt:
    tests: [s-1, s-2]
entries:
  - id: E1
    dmc: DMC-1
    installation: dormant
  - id: E2
    dmc: DMC-2
    installation: active
    mt_under_mtad: true
    mt_phase_complete: null
"""

ISSUES = """\
- id: ISS-1
  severity: 3
  status: open
  entries: [E1]
  route: a
  tests: [{entry: E1, pack: srvt, test: s-2}]
- id: ISS-2
  severity: 4
  status: open
  entries: [E1]
  route: null
"""


def line(
    entry: str, pack: str, test: str, outcome: str, at: str = "2026-03-02T09:00:00Z", **extra: Any
) -> str:
    return json.dumps({"entry": entry, "pack": pack, "test": test, "outcome": outcome, "at": at, **extra})


RESULTS = (
    "\n".join(
        [
            line("E1", "dormant-mt", "mt-1", "passed"),
            line("E1", "srvt", "s-1", "passed"),
            line("E1", "srvt", "s-2", "failed"),
            line("E2", "srvt", "s-1", "blocked", run="r1"),
            line("E2", "srvt", "s-1", "passed", at="2026-03-02T10:00:00Z"),
            "",
            line("E2", "srvt", "s-2", "passed"),
        ]
    )
    + "\n"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "plan": tmp_path / "plan.yaml",
        "results": tmp_path / "results.jsonl",
        "issues": tmp_path / "issues.yaml",
    }
    paths["plan"].write_text(PLAN)
    paths["results"].write_text(RESULTS)
    paths["issues"].write_text(ISSUES)
    return paths


def args_for(files: dict[str, Path], *more: str) -> list[str]:
    return [
        "verdict",
        "--plan",
        str(files["plan"]),
        "--results",
        str(files["results"]),
        "--issues",
        str(files["issues"]),
        *more,
    ]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.strip().splitlines()) == 1  # one JSON object
    data: dict[str, Any] = json.loads(out)
    return data


def test_json_output(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(args_for(files, "--json"), capsys)
    assert data["profile"] == "dmct"
    e1, e2 = data["entries"]["E1"], data["entries"]["E2"]
    assert e1["status"] == "in_progress"  # ISS-2 has no route yet (20.32 (b))
    assert e1["reasons"][0].startswith("20.32 (b)")
    assert (e1["planned"], e1["executed"], e1["passed"], e1["failed"], e1["not_executed"]) == (3, 3, 2, 1, 0)
    assert e1["extant"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 0}
    assert e1["evidence_gaps"] == []  # s-2 is linked to ISS-1
    assert e2["status"] == "in_progress"  # 20.32 (c): MTAD determination pending
    assert list(e2["packs"]) == ["srvt"]  # 20.14
    assert e2["packs"]["srvt"] == {
        "planned": 2,
        "executed": 2,
        "passed": 2,
        "failed": 0,
        "not_executed": 0,
        "pass_rate": 1.0,
        "min_pass_rate": None,
        "min_pass_rate_met": None,
    }
    assert data["aggregate"]["extant"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 0}
    assert data["aggregate"]["result_lines"] == 6


def test_json_equals_the_library_verdict(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from harness.model.interchange import load_issues, load_results

    data = run_json(args_for(files, "--json"), capsys)
    plan = load_plan(files["plan"])
    expected = compute_verdict(
        plan, load_results([files["results"]]), load_issues(files["issues"]), load_profile("dmct")
    ).to_json()
    assert data == json.loads(json.dumps(expected))


def test_profile_option_overrides_the_plan(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_json(args_for(files, "--json", "--profile", "regression"), capsys)
    assert data["profile"] == "regression"
    # Table 13.1 2B: the failure of s-2 is linked to the open ISS-1, a known defect
    assert data["entries"]["E1"]["status"] == "successful"


def test_several_results_files(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rerun = tmp_path / "rerun.jsonl"
    rerun.write_text(line("E1", "srvt", "s-2", "passed", at="2026-03-03T09:00:00Z") + "\n")
    data = run_json(args_for(files, "--json", "--results", str(rerun)), capsys)
    assert data["entries"]["E1"]["failed"] == 0  # 20.22: the re-run on the 3rd counts


def test_table_output(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args_for(files)) == 0
    out = capsys.readouterr().out
    assert "E1" in out and "in_progress" in out and "20.32 (b)" in out


@pytest.mark.parametrize("width", [80, 200])
def test_render_table_wide_and_narrow(width: int) -> None:
    from harness.reports.console import render_table

    verdict = compute_verdict(load_plan_text(PLAN), [], [], load_profile("dmct"))
    console = Console(width=width, record=True, color_system=None)
    render_table(verdict, console)
    text = console.export_text()
    assert max(len(t) for t in text.splitlines()) <= width
    flat = " ".join(text.split())
    assert "20.32 (a): 3 of 3 planned tests not executed (dormant-mt 1, srvt 2)" in flat
    assert "20.32 (c): Migration Testing under the MTAD" in flat
    assert ("reasons" in text) is (width >= 140)  # narrow terminals get the reasons under the table


def load_plan_text(text: str) -> Plan:
    return Plan.model_validate(yaml.safe_load(text))


# ------------------------------------------------------------------------------- run directories


def make_run(root: Path, with_issues: bool = True) -> Path:
    run = root / "results" / "2026-03-02T0900"
    run.mkdir(parents=True)
    (run / "plan.json").write_text(json.dumps(load_plan_text(PLAN).model_dump()))
    (run / "results.jsonl").write_text(RESULTS)
    if with_issues:
        (run / "issues.json").write_text(
            json.dumps([{"id": "X", "severity": 1, "status": "open", "entries": ["E2"], "route": "b"}])
        )
    return run


def test_run_option_defaults_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path)
    data = run_json(["verdict", "--run", str(run), "--json"], capsys)
    assert data["aggregate"]["extant"]["1"] == 1  # the run's issues.json was read
    assert data["entries"]["E1"]["status"] == "unsuccessful"  # 20.28 (b): a severity 1 anywhere


def test_current_directory_is_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path, with_issues=False)
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.chdir(run)
    data = run_json(["verdict", "--json"], capsys)
    # no issues file and no store yet: an empty log, and no store file is created
    assert data["aggregate"]["issues"]["total"] == 0
    assert not (tmp_path / "results" / "dmct.sqlite").exists()
    assert sorted(p.name for p in run.iterdir()) == ["plan.json", "results.jsonl"]


def test_issues_default_to_the_project_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = pytest.importorskip("harness.store.issue_log")
    run = make_run(tmp_path, with_issues=False)
    monkeypatch.delenv("DMCT_STORE", raising=False)
    from harness.model.interchange import Issue

    with store.open_store(None, results_dir=run.parent) as log:
        stored = Issue(id="S-1", severity=2, status="open", entries=["E1"], route="a")
        log.import_issues([stored], actor="test")
    data = run_json(["verdict", "--run", str(run), "--json"], capsys)
    assert data["entries"]["E1"]["extant"]["2"] == 1  # read from results/dmct.sqlite


def test_no_plan_anywhere_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["verdict"]) == 2
    assert capsys.readouterr().err.startswith("dmct: error: --plan:")


def test_run_option_without_plan_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verdict", "--run", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ bad input


def bad(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing written
    assert err.count("\n") == 1, err  # one line
    return err.strip()


def test_bad_severity(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["issues"].write_text(ISSUES.replace("severity: 4", "severity: 7"))
    err = bad(args_for(files, "--json"), capsys)
    assert err == f"dmct: error: {files['issues']}:8: [1].severity: Input should be less than or equal to 5"


def test_unknown_outcome(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["results"].write_text(RESULTS.replace('"failed"', '"fail"'))
    err = bad(args_for(files, "--json"), capsys)
    assert err == (
        f"dmct: error: {files['results']}:3: outcome: must be one of passed|failed|error|skipped|blocked"
    )


def test_unknown_entry(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["results"].write_text(RESULTS + line("E9", "srvt", "s-1", "passed") + "\n")
    err = bad(args_for(files, "--json"), capsys)
    assert err == f"dmct: error: {files['results']}:8: entry: unknown entry 'E9' (not in the plan)"


def test_broken_json_line(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    lines = RESULTS.splitlines()
    lines[1] = lines[1][:-5]
    files["results"].write_text("\n".join(lines) + "\n")
    err = bad(args_for(files, "--json"), capsys)
    assert err.startswith(f"dmct: error: {files['results']}:2: broken JSON line")


def test_duplicate_issue_id(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["issues"].write_text(ISSUES.replace("id: ISS-2", "id: ISS-1"))
    err = bad(args_for(files, "--json"), capsys)
    assert err == f"dmct: error: {files['issues']}:7: [1].id: duplicate issue id 'ISS-1'"


def test_bad_issues_field_on_a_result(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["results"].write_text(line("E1", "srvt", "s-2", "failed", issues="ISS-1") + "\n")
    err = bad(args_for(files, "--json"), capsys)
    assert err == f"dmct: error: {files['results']}:1: issues: must be a list of issue ids"


def test_unknown_profile_option(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(args_for(files, "--profile", "nightly"), capsys)
    assert err.startswith("dmct: error: --profile: profile: unknown profile 'nightly' (known: dmct, ")


def test_unknown_profile_in_plan(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["plan"].write_text(PLAN.replace("profile: dmct", "profile: dmtc"))
    err = bad(args_for(files), capsys)
    assert err.startswith(f"dmct: error: {files['plan']}:1: profile: unknown profile 'dmtc'")


def test_missing_results_file(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = bad(args_for(files, "--results", str(tmp_path / "nope.jsonl")), capsys)
    assert err == f"dmct: error: {tmp_path / 'nope.jsonl'}: file not found"


# ------------------------------------------------------------------------------ CI logs (no terminal)

LONG = "EPCL-ACME-SMETS1-DUAL-FUEL-DORMANT-0001-SUFFIX"


@pytest.fixture
def long_files(files: dict[str, Path]) -> dict[str, Path]:
    """E1 renamed to a long id (as labs name entries) with extant issues of severity 3, 4 and 5."""
    for name in ("plan", "results", "issues"):
        files[name].write_text(files[name].read_text().replace("E1", LONG))
    files["issues"].write_text(
        files["issues"].read_text()
        + f"- id: ISS-3\n  severity: 5\n  status: open\n  entries: [{LONG}]\n  route: a\n"
    )
    return files


def test_off_a_terminal_the_verdict_is_a_compact_summary_never_cut(
    long_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args_for(long_files)) == 0  # stdout captured: not a terminal, so --format text
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "…" not in out
    assert lines[0].endswith("[dmct]: 2 in_progress (of 2)"), lines[0]
    (row,) = [t for t in lines if t.startswith(LONG + " ")]  # the whole id, one line per entry
    assert "plan 3 exec 3 pass 2 fail 1 n/e 0 rate 66.7% extant 0/0/1/1/1" in row
    assert "reasons: " in row and "20.32 (b)" in row
    assert any(t.startswith("E2 ") for t in lines)
    assert not any("┃" in t or "━" in t for t in lines)  # no table


def test_table_format_off_a_terminal_is_not_cut_at_80_columns(
    long_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args_for(long_files, "--format", "table")) == 0
    out = capsys.readouterr().out
    assert "…" not in out and LONG in out
    assert "0/0/1/1/1" in out  # severity 5 kept


def test_json_format_equals_the_json_flag(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    as_format = run_json(args_for(files, "--format", "json"), capsys)
    assert as_format == run_json(args_for(files, "--json"), capsys)


def test_text_lists_only_entries_not_successful() -> None:
    from harness.model.interchange import parse_result_line
    from harness.reports.console import render_text

    plan = load_plan_text(PLAN.replace("mt_phase_complete: null", "mt_phase_complete: true"))
    records = [parse_result_line(line("E2", "srvt", t, "passed"), "r", 1) for t in ("s-1", "s-2")]
    verdict = compute_verdict(plan, records, [], load_profile("dmct"))
    statuses = {e: ev.status for e, ev in verdict.entries.items()}
    assert statuses == {"E1": "in_progress", "E2": "successful"}
    lines = render_text(verdict)
    assert lines[0].endswith(": 1 successful, 1 in_progress (of 2)"), lines[0]
    assert [t.split()[0] for t in lines[1:] if t.split()[0] in statuses] == ["E1"]
