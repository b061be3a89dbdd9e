"""``dmct issues`` and ``dmct workoff`` through harness.cli.main: exit codes, one-line errors, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.delenv("DMCT_RESULTS", raising=False)
    monkeypatch.setenv("DMCT_USER", "env-user")
    monkeypatch.chdir(tmp_path)  # a stray default store would land here, not in the repo
    return f"sqlite:///{tmp_path / 'log.sqlite'}"


#: A test the standard SRVT pack plans (``issues link`` checks pack and test against the manifests).
T1 = "test_misuse.py::test_unsigned_critical_rejected[esme]"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def issues(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "issues", *argv[:1], "--store", url, *argv[1:])


def exported(capsys: pytest.CaptureFixture[str], url: str) -> list[dict[str, Any]]:
    code, out, _ = issues(capsys, url, "export", "--format", "json")
    assert code == 0
    data: list[dict[str, Any]] = json.loads(out)
    return data


def one_line_error(code: int, err: str, expected: int = 2) -> str:
    assert code == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dmct: error: "), err
    return lines[0]


def test_add_list_show_with_the_actor_from_by_or_the_environment(
    capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    code, out, _ = issues(
        capsys, store_url, "add", "--title", "ESME [reboots]", "--severity", "3", "--entry", "E1"
    )
    assert (code, out) == (0, "TI-0001\n")
    code, out, _ = issues(capsys, store_url, "route", "TI-0001", "b", "--by", "dcc-lead")
    assert (code, out) == (0, "TI-0001 version 2\n")
    code, out, _ = issues(capsys, store_url, "list")
    assert code == 0 and "TI-0001" in out and "ESME [reboots]" in out  # markup-like text printed as is
    code, out, _ = issues(capsys, store_url, "show", "TI-0001")
    assert code == 0 and "env-user  add" in out and 'dcc-lead  route  route: null -> "b"' in out
    [issue] = exported(capsys, store_url)
    # recommending route (b) records the route and starts its process (20.20-20.27): two fields, one change
    assert [(h["by"], h["field"]) for h in issue["history"]] == [
        ("env-user", None),
        ("dcc-lead", "route"),
        ("dcc-lead", "route_process"),
    ]


def test_store_and_by_may_come_before_the_action(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    code, _, _ = run(
        capsys, "issues", "--store", store_url, "--by", "early", "add", "--title", "t", "--severity", "4"
    )
    assert code == 0
    [issue] = exported(capsys, store_url)
    assert issue["history"][0]["by"] == "early"


def test_list_filters(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    issues(capsys, store_url, "add", "--title", "a", "--severity", "3", "--entry", "E1")
    issues(capsys, store_url, "add", "--title", "b", "--severity", "4", "--entry", "E2")
    issues(capsys, store_url, "close", "TI-0002")
    code, out, _ = issues(capsys, store_url, "list", "--status", "open", "--json")
    assert code == 0 and [i["id"] for i in json.loads(out)] == ["TI-0001"]
    code, out, _ = issues(capsys, store_url, "list", "--entry", "E2", "--severity", "4", "--json")
    assert [i["id"] for i in json.loads(out)] == ["TI-0002"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (("add", "--title", "t", "--severity", "6"), "--severity: severity must be 1-5"),
        (("add", "--title", "t", "--severity", "three"), "--severity: severity must be an integer"),
        (("update", "TI-0001", "--severity", "0"), "--severity"),
        (("update", "TI-0404", "--severity", "4"), "TI-0404: no such issue"),
        (("update", "TI-0001"), "give at least one of"),
        (("update", "TI-0001", "--status", "done"), "--status: must be open|closed"),
        (("route", "TI-0001", "e"), "ROUTE: must be one of a|b|c|d (20.20)"),
        (("route", "TI-0404", "a"), "TI-0404: no such issue"),
        (("tag", "TI-0001", "agreed"), "no exclusion has been proposed"),
        (("tag", "TI-0001", "yes"), "DECISION: must be agreed|disagreed"),
        (("exclude", "TI-0001", "--rationale", " "), "--rationale: must not be empty"),
        (("dispute", "TI-0001"), "--severity: required to open a dispute"),
        (("dispute", "TI-0001", "--resolve"), "no pending severity dispute"),
        (("update", "TI-0001", "--title", "x", "--expect-version", "v1"), "--expect-version"),
        (("export", "--format", "xml"), "--format: must be yaml|json"),
        (("show", "TI-0404"), "TI-0404: no such issue"),
        (("link", "TI-0001", "--entry", "E1", "--pack", "nope", "--test", T1), "--pack: unknown pack 'nope'"),
        (
            ("link", "TI-0001", "--entry", "E1", "--pack", "srvt", "--test", "t1"),
            "--test: 't1' is not a test",
        ),
        (("link", "TI-0001", "--entry", "E9", "--pack", "srvt", "--test", T1), "entry 'E9' is not one of"),
        (
            ("link", "TI-0001", "--entry", "E1", "--pack", "x", "--test", "t", "--pack-dir", "/"),
            "--pack-dir: /:",
        ),
        (("export", "-o", "/"), "-o: /: is a directory"),
    ],
)
def test_invalid_input_is_one_line_exit_2_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], store_url: str, argv: tuple[str, ...], fragment: str
) -> None:
    issues(capsys, store_url, "add", "--title", "t", "--severity", "3", "--entry", "E1")
    before = exported(capsys, store_url)
    code, out, err = issues(capsys, store_url, *argv)
    assert fragment in one_line_error(code, err)
    assert out == ""
    assert exported(capsys, store_url) == before


def test_a_stale_expect_version_is_a_conflict_with_its_own_exit_status(
    capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    # Exit 4 (docs/exit-codes.md): somebody else changed it; a script can tell this from bad input (2).
    issues(capsys, store_url, "add", "--title", "t", "--severity", "3")
    before = exported(capsys, store_url)
    code, out, err = issues(capsys, store_url, "update", "TI-0001", "--title", "x", "--expect-version", "7")
    line = one_line_error(code, err, expected=4)
    assert "TI-0001: version: expected version 7 but the store has version 1" in line
    assert out == "" and exported(capsys, store_url) == before


def test_dispute_resolved_with_a_new_severity(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    issues(capsys, store_url, "add", "--title", "t", "--severity", "3")
    assert issues(capsys, store_url, "dispute", "TI-0001", "--severity", "5", "--by", "participant")[0] == 0
    assert (
        issues(capsys, store_url, "dispute", "TI-0001", "--resolve", "--severity", "4", "--by", "tag")[0] == 0
    )
    [issue] = exported(capsys, store_url)
    assert issue["severity"] == 4 and issue["dispute"] == {"severity": 5, "state": "resolved"}
    changes = [(h["field"], h["old"], h["new"]) for h in issue["history"] if h["by"] == "tag"]
    assert ("severity", 3, 4) in changes


def test_update_with_the_current_version_and_link(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    issues(capsys, store_url, "add", "--title", "t", "--severity", "3")
    code, out, _ = issues(capsys, store_url, "update", "TI-0001", "--severity", "4", "--expect-version", "1")
    assert (code, out) == (0, "TI-0001 version 2\n")
    code, _, _ = issues(capsys, store_url, "link", "TI-0001", "--entry", "E1", "--pack", "srvt", "--test", T1)
    assert code == 0
    code, _, _ = issues(capsys, store_url, "exclude", "TI-0001", "--rationale", "other DMC only")
    code, _, _ = issues(capsys, store_url, "tag", "TI-0001", "agreed")
    [issue] = exported(capsys, store_url)
    assert issue["tests"] == [{"entry": "E1", "pack": "srvt", "test": T1}]
    assert issue["exclusion"] == {"rationale": "other DMC only", "tag": "agreed"}


def test_export_to_a_file_and_import_into_another_store_round_trips(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    issues(capsys, store_url, "add", "--title", "t", "--severity", "3", "--entry", "E1")
    issues(capsys, store_url, "add", "--title", "u", "--severity", "5", "--service-provider", "SP2")
    issues(capsys, store_url, "route", "TI-0002", "d")
    first = tmp_path / "out" / "issues.yaml"
    assert issues(capsys, store_url, "export", "-o", str(first))[0] == 0
    assert [i["id"] for i in yaml.safe_load(first.read_text())] == ["TI-0001", "TI-0002"]
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    code, out, _ = issues(capsys, other, "import", str(first))
    assert code == 0 and out.startswith("imported 2 issues")
    second = tmp_path / "again.yaml"
    assert issues(capsys, other, "export", "-o", str(second))[0] == 0
    assert second.read_bytes() == first.read_bytes()
    # A second import of the same file clashes on the ids: one line naming the file, line and field.
    code, _, err = issues(capsys, other, "import", str(first))
    assert f"{first}:1: [0].id: issue id 'TI-0001' is already in the store" in one_line_error(code, err)


def test_import_of_a_malformed_file_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    issues(capsys, store_url, "add", "--title", "t", "--severity", "3")
    before = exported(capsys, store_url)
    bad = tmp_path / "bad.json"
    bad.write_text(
        '[\n  {"id": "X-1", "severity": 3, "status": "open"},\n'
        '  {"id": "X-2", "severity": 8, "status": "open"}\n]\n'
    )
    code, _, err = issues(capsys, store_url, "import", str(bad))
    line = one_line_error(code, err)
    assert str(bad) in line and "[1].severity" in line
    assert exported(capsys, store_url) == before


# ------------------------------------------------------------------------------------------ workoff


def test_workoff_json_from_the_store(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    issues(capsys, store_url, "add", "--title", "s3", "--severity", "3")
    issues(capsys, store_url, "add", "--title", "s4", "--severity", "4")
    issues(capsys, store_url, "add", "--title", "closed", "--severity", "5")
    issues(capsys, store_url, "close", "TI-0003")
    code, out, _ = run(
        capsys,
        "workoff",
        "--store",
        store_url,
        "--certificate-date",
        "2026-12-04",
        "--today",
        "2027-01-07",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert [(i["id"], i["severity"], i["due"], i["days_left"], i["overdue"]) for i in data["issues"]] == [
        ("TI-0001", 3, "2027-01-06", -1, True),
        ("TI-0002", 4, "2027-02-03", 19, False),
    ]
    assert "correction plan" in data["issues"][0]["note"]


def test_workoff_from_a_file_with_the_20_37_referral(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "issues.yaml"
    path.write_text("- id: A\n  severity: 5\n  status: open\n- id: B\n  severity: 2\n  status: open\n")
    code, out, _ = run(
        capsys,
        "workoff",
        "--issues",
        str(path),
        "--certificate-date",
        "2027-03-01",
        "--draft-report-date",
        "2026-12-18",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert [(i["id"], i["due"]) for i in data["issues"]] == [("B", None), ("A", "2027-05-27")]
    assert data["referral"] == {
        "clause": "20.37",
        "draft_report_date": "2026-12-18",
        "working_days": 10,
        "deadline": "2027-01-06",
    }
    code, out, _ = run(capsys, "workoff", "--issues", str(path), "--certificate-date", "2027-03-01")
    assert code == 0 and "Work Off Plan" in out and "2027-05-27" in out


def test_workoff_referral_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "workoff", "--draft-report-date", "2027-12-17")
    # 20, 21, 22, 23, 24, (27, 28 substitutes), 29, 30, 31, (3 Jan substitute), 4, 5 Jan 2028.
    assert code == 0 and "until 2028-01-05" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (("workoff",), "--certificate-date: required"),
        (("workoff", "--certificate-date", "04/12/2026"), "--certificate-date: not a date"),
        (("workoff", "--draft-report-date", "2026-02-30"), "--draft-report-date: not a date"),
        (
            ("workoff", "--certificate-date", "2026-12-04", "--issues", "missing.yaml"),
            "missing.yaml: file not found",
        ),
        (("workoff", "--certificate-date", "2026-12-04"), "no Testing Issue log here"),
    ],
)
def test_workoff_bad_input(
    capsys: pytest.CaptureFixture[str], store_url: str, argv: tuple[str, ...], fragment: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert fragment in one_line_error(code, err)
    assert not Path("results").exists()  # reading never leaves an empty log behind


def test_severity_rationale_is_recorded_and_reaches_the_testing_report(
    capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    """20.34 (g): the rationale for an open issue's severity is recorded in the log and reported."""
    from harness.model.interchange import Issue
    from harness.reports.testing import _severity_rationale

    issues(
        capsys, store_url, "add", "--title", "Balance off after top-up", "--severity", "3", "--entry", "E1"
    )
    code, out, _ = issues(capsys, store_url, "rationale", "TI-0001", "workaround: re-read the balance")
    assert (code, out) == (0, "TI-0001 version 2\n")
    record = exported(capsys, store_url)[0]["history"][-1]
    assert (record["action"], record["field"], record["new"]) == (
        "rationale",
        "severity",
        "workaround: re-read the balance",
    )
    issue = Issue.model_validate(exported(capsys, store_url)[0])
    assert _severity_rationale(issue) == "workaround: re-read the balance"
    err = one_line_error(*issues(capsys, store_url, "rationale", "TI-0001", "  ")[::2])
    assert "rationale" in err and "empty" in err
    assert one_line_error(*issues(capsys, store_url, "rationale", "TI-0404", "why")[::2])
