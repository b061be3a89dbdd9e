"""``dmct issues route``: the 20.20 routes as processes (20.20-20.27) and what ``dmct verdict`` makes of
them: an issue has been "through the processes outlined in Clauses 20.20 to 20.27" (20.32 (b)) only
once its route's process is done; route (c) agreed takes the DMC out of the DMCT Process (20.25)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main

PLAN = {
    "profile": "dmct",
    "packs": {"dormant-mt": {"tests": ["mt-1"]}, "srvt": {"tests": ["s-1"]}},
    "entries": [{"id": "E1", "dmc": "DMC-1", "installation": "dormant"}],
}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DMCT_USER", "dcc-tm")
    url = f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(PLAN))
    lines = [
        json.dumps({"entry": "E1", "pack": p, "test": t, "outcome": "passed", "at": "2026-11-02T09:00:00Z"})
        for p, t in (("dormant-mt", "mt-1"), ("srvt", "s-1"))
    ]
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n")

    class Cli:
        def issues(self, *argv: str, code: int = 0) -> str:
            got = main(["issues", argv[0], "--store", url, *argv[1:]])
            out, err = capsys.readouterr()
            assert got == code, (argv, out, err)
            self.err = err.strip()
            return out

        def verdict(self) -> dict[str, Any]:
            assert (
                main(["verdict", "--plan", "plan.yaml", "--results", "r.jsonl", "--store", url, "--json"])
                == 0
            )
            entry: dict[str, Any] = json.loads(capsys.readouterr().out)["entries"]["E1"]
            return entry

        def refused(self, *argv: str) -> str:
            before = self.issues("export")
            self.issues(*argv, code=2)
            err = self.err
            assert "\n" not in err and err.startswith("dmct: error: ")
            assert self.issues("export") == before  # nothing written
            return err

    c = Cli()
    c.issues("add", "--title", "CH drops join", "--severity", "3", "--entry", "E1")
    return c


def test_route_b_goes_through_the_secretary_of_state_and_the_tag_20_23_20_24(cli: Any) -> None:
    cli.issues("route", "TI-0001", "b", "--on", "2026-11-03")
    # 20.32 (b): recommended is not "through the process"
    v = cli.verdict()
    assert v["status"] == "in_progress"
    assert v["reasons"][0] == (
        "20.32 (b), 20.20-20.27: 1 open issue(s) not yet through 20.20-20.27: TI-0001 "
        "(route (b): awaiting the notification of stakeholders, the Panel, the Authority "
        "and the Secretary of State (20.20))"
    )
    cli.issues("route", "TI-0001", "notify", "--on", "2026-11-03")
    # 20.23: "the DCC shall first consult with the Secretary of State as to whether ... the Code change
    # should be consulted upon ... the DCC shall propose an approach for testing for agreement by the TAG"
    assert "impact" in cli.refused("route", "TI-0001", "impact", "none")
    cli.issues("route", "TI-0001", "sos", "agrees", "--note", "consult on the Code change")
    assert "awaiting the TAG's agreement on the approach for testing (20.23)" in cli.verdict()["reasons"][0]
    # 20.24: "Where an approach for testing ... cannot be agreed by the DCC and the TAG, the matter shall be
    # referred to the Secretary of State for determination"
    cli.issues("route", "TI-0001", "tag", "not-agreed")
    assert "(20.24)" in cli.verdict()["reasons"][0]
    cli.issues("route", "TI-0001", "sos", "determined")
    v = cli.verdict()
    assert v["status"] == "successful" and v["unrouted"] == []
    [issue] = json.loads(cli.issues("export"))
    proc = issue["route_process"]
    assert proc["state"] == "done" and proc["outcome"].startswith("20.24:")
    assert [s["step"] for s in proc["steps"]] == ["b", "notify", "sos", "tag", "sos"]
    assert "route's process is done" in cli.refused("route", "TI-0001", "reconsider")


def test_route_c_refused_by_the_secretary_of_state_is_reconsidered_20_26(cli: Any) -> None:
    # 20.26: "Where the Secretary of State disagrees with the recommendation of the DCC that the option in
    # Clause 20.20 (c) should be followed, the DCC shall reconsider and recommend an alternative option"
    assert "needs --change" in cli.refused("route", "TI-0001", "c")
    cli.issues("route", "TI-0001", "c", "--change", "firmware")
    assert "reconsider it first" in cli.refused("route", "TI-0001", "a")
    cli.issues("route", "TI-0001", "notify")
    cli.issues("route", "TI-0001", "sos", "disagrees")
    v = cli.verdict()
    assert v["status"] == "in_progress"
    assert "TI-0001 (no route (reconsidering, 20.23, 20.26, 20.27))" in v["reasons"][0]
    # 20.22 (a): the alternative -- a change to the DCC Internal Systems, no material impact
    for step in (("a",), ("notify",), ("impact", "none")):
        cli.issues("route", "TI-0001", *step)
    v = cli.verdict()
    assert v["status"] == "successful"
    [issue] = json.loads(cli.issues("export"))
    assert issue["route"] == "a"
    assert [(s["route"], s["step"], s["value"]) for s in issue["route_process"]["steps"]] == [
        ("c", "c", "firmware"),
        ("c", "notify", None),
        ("c", "sos", "disagrees"),
        ("a", "a", None),
        ("a", "notify", None),
        ("a", "impact", "none"),
    ]


@pytest.mark.parametrize(
    ("change", "clause", "words"),
    [
        ("firmware", "20.25 (a)", "the DMCT Process is no longer undertaken for the DMC"),
        ("configuration", "20.25 (b)", "excluded from the DMCT Process until evidence"),
        ("both", "20.25 (c)", "the DMC with the new firmware is excluded until evidence"),
    ],
)
def test_route_c_agreed_takes_the_dmc_out_of_the_process_20_25(
    cli: Any, change: str, clause: str, words: str
) -> None:
    # 20.25: "Where the Secretary of State agrees with the DCC's recommendation and the change requires:
    # (a) a firmware upgrade, the DMCT Process shall no longer be undertaken in respect of that DMC; or
    # (b) a change to the configuration ..., the DMC shall be excluded from the DMCT Process until ..."
    for step in (("c", "--change", change), ("notify",), ("sos", "agrees")):
        cli.issues("route", "TI-0001", *step)
    v = cli.verdict()
    assert v["status"] == "not_undertaken"
    assert v["reasons"][0].startswith(f"{clause}: TI-0001: ") and words in v["reasons"][0]


def test_a_route_file_from_before_route_processes_still_counts(
    tmp_path: Path, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/interchange.md: a route without route_process was recorded before the processes were tracked
    (tmp_path / "old.yaml").write_text(
        yaml.safe_dump([{"id": "X", "severity": 3, "status": "open", "entries": ["E1"], "route": "a"}])
    )
    assert (
        main(["verdict", "--plan", "plan.yaml", "--results", "r.jsonl", "--issues", "old.yaml", "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["entries"]["E1"]["status"] == "successful"
