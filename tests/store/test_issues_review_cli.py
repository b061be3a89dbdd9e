"""``dmct issues`` for the DMCT review after the draft: exclusions in respect of one planned entry (20.29)
and the TAG disagreeing with a severity (20.38 (a)), kept in the store, exported, and judged by
``dmct verdict`` from the export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.store.test_issues_cli import exported, issues, one_line_error, run

PLAN = {
    "profile": "dmct",
    "packs": {"dormant-mt": {"tests": ["mt-1"]}, "srvt": {"tests": ["s-1"]}},
    "entries": [
        {"id": "E1", "dmc": "DMC-1", "installation": "dormant"},
        {"id": "E2", "dmc": "DMC-1", "installation": "active"},
    ],
}


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.delenv("DMCT_RESULTS", raising=False)
    monkeypatch.setenv("DMCT_USER", "tm")
    monkeypatch.chdir(tmp_path)
    return f"sqlite:///{tmp_path / 'log.sqlite'}"


def route_done(capsys: pytest.CaptureFixture[str], url: str, issue_id: str) -> None:
    """Route (a) through its process (20.20, 20.22 (a)), so the issue counts as processed (20.32 (b))."""
    for step in (("a",), ("notify",), ("impact", "none")):
        assert issues(capsys, url, "route", issue_id, *step)[0] == 0


def _verdict(capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str) -> dict[str, dict[str, object]]:
    code, out, _ = issues(capsys, url, "export", "-o", str(tmp_path / "issues.yaml"))
    assert code == 0
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(PLAN))
    lines = [
        json.dumps({"entry": e, "pack": p, "test": t, "outcome": "passed", "at": "2026-03-02T09:00:00Z"})
        for e in ("E1", "E2")
        for p, t in (("dormant-mt", "mt-1"), ("srvt", "s-1"))
    ]
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n")
    files = ["--plan", str(tmp_path / "plan.yaml"), "--results", str(tmp_path / "r.jsonl")]
    code, out, err = run(capsys, "verdict", *files, "--issues", str(tmp_path / "issues.yaml"), "--json")
    assert code == 0, err
    entries: dict[str, dict[str, object]] = json.loads(out)["entries"]
    return entries


def test_exclusion_in_respect_of_one_entry_20_29(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    # 20.29: "the DCC may propose to exclude such Testing Issue(s) from its count" for "a planned entry on
    # the EPCL". A severity 1 issue (threshold 0) affecting E1 and E2, excluded for E1 and agreed.
    assert issues(capsys, store_url, "add", "--title", "IHD flicker", "--severity", "1", "--entry", "E1",
                  "--entry", "E2")[0] == 0  # fmt: skip
    route_done(capsys, store_url, "TI-0001")
    code, out, _ = issues(
        capsys, store_url, "exclude", "TI-0001", "--entry", "E1", "--rationale", "E1 has no IHD"
    )
    assert (code, out.strip()) == (0, "TI-0001 version 5")
    assert issues(capsys, store_url, "tag", "TI-0001", "agreed", "--entry", "E1")[0] == 0
    [issue] = exported(capsys, store_url)
    assert issue["exclusion"] is None
    assert issue["exclusions"] == {"E1": {"rationale": "E1 has no IHD", "tag": "agreed"}}
    assert [(h["action"], h["field"]) for h in issue["history"]][-2:] == [
        ("exclude", "exclusions"),
        ("tag", "exclusions"),
    ]
    out = _verdict(capsys, tmp_path, store_url)
    assert out["E1"]["status"] == "successful"
    assert out["E2"]["status"] == "unsuccessful"  # still counted for E2 (20.28 (a) and (b))


def test_bad_exclusion_and_tag_input_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    issues(capsys, store_url, "add", "--title", "x", "--severity", "3", "--entry", "E1")
    before = exported(capsys, store_url)
    line = one_line_error(
        *issues(capsys, store_url, "exclude", "TI-0001", "--entry", "E9", "--rationale", "r")[::2]
    )
    assert "does not affect entry 'E9' (affects: E1)" in line
    line = one_line_error(*issues(capsys, store_url, "tag", "TI-0001", "agreed", "--entry", "E1")[::2])
    assert "no exclusion has been proposed in respect of 'E1' (20.29)" in line
    line = one_line_error(*issues(capsys, store_url, "dispute", "TI-0001", "--tag-disagrees")[::2])
    assert "no pending severity review" in line
    line = one_line_error(
        *issues(capsys, store_url, "dispute", "TI-0001", "--tag-disagrees", "--resolve")[::2]
    )
    assert "--tag-disagrees: takes neither --resolve nor --severity" in line
    assert exported(capsys, store_url) == before


def test_tag_disagreeing_with_a_severity_20_38_a_then_c(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    # 20.38: "(a) the TAG considers that the severity of one of more of the open Testing Issue(s) ...
    # should change ... and that different determination would result in the status of testing changing
    # from successful to unsuccessful, then the DCC shall either: (c) continue testing ...".
    issues(capsys, store_url, "add", "--title", "late alert", "--severity", "3", "--entry", "E1")
    route_done(capsys, store_url, "TI-0001")
    issues(capsys, store_url, "dispute", "TI-0001", "--severity", "2")
    pending = _verdict(capsys, tmp_path, store_url)
    assert pending["E1"]["status"] == "successful"  # 20.39 (c): the review is pending
    assert pending["E1"]["depends_on_tag"] == ["TI-0001"]
    assert issues(capsys, store_url, "dispute", "TI-0001", "--tag-disagrees")[0] == 0
    [issue] = exported(capsys, store_url)
    assert (issue["severity"], issue["dispute"]) == (3, {"severity": 2, "state": "disagreed"})
    out = _verdict(capsys, tmp_path, store_url)
    assert out["E1"]["status"] == "in_progress"
    assert str(out["E1"]["reasons"]).startswith("['20.38 (c): the TAG disagrees (TI-0001)")  # type: ignore[index]
    # the export imports into another store unchanged (the disagreement and its history included)
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert issues(capsys, other, "import", str(tmp_path / "issues.yaml"))[0] == 0
    assert exported(capsys, other) == exported(capsys, store_url)
