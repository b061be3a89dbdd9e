"""``dmct entries``: the DMCT Status List and Schedule through the command line, on SQLite and on a
throwaway PostgreSQL server (tests/store_pg/conftest.py), each step quoting the clause it records.

Bad input -- an unknown entry, a transition the process does not allow, a date outside the window --
is one line, exit status 2, and nothing written (the entry's version and history are unchanged).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.model.entries import EntryRecord, Pause
from tests.store_pg.conftest import pg_database, pg_server  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DMCT_USER", "test-manager")
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    make: Callable[[], str] = request.getfixturevalue("pg_database")
    return make()


#: A valid 20.9 schedule (dates, packs, Capability Release), dated the day it was agreed.
SCHEDULE = ("--start", "2026-11-02", "--completion", "2026-11-20", "--pack", "dormant-mt", "--pack", "srvt",
            "--capability-release", "IOC", "--on", "2026-10-20")  # fmt: skip


def dmct(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    code = main(["entries", argv[0], "--store", url, *argv[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def show(capsys: pytest.CaptureFixture[str], url: str, entry: str = "E1") -> dict[str, Any]:
    code, out, err = dmct(capsys, url, "show", entry, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def refused(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> str:
    before = show(capsys, url)
    code, out, err = dmct(capsys, url, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("dmct: error: "), err
    assert show(capsys, url) == before  # nothing written
    return lines[0]


def test_an_entry_through_the_status_list_and_schedule(capsys: pytest.CaptureFixture[str], url: str) -> None:
    # 20.8: "The DCC shall publish and keep up to date a list ('a DMC Status List') that shows the status
    # of the DMCs in the DMCT Process".
    assert (
        dmct(capsys, url, "add", "E1", "--dmc", "ACME1", "--installation", "dormant")[1]
        == "E1 planned version 1\n"
    )
    # 20.9: "(a) the planned start and completion dates ... (b) the test pack planned ... (c) where the DCC
    # proposes to use a DMCT Non-Standard Test Pack ..., the rationale for doing so".
    line = refused(
        capsys,
        url,
        "schedule",
        "E1",
        "--start",
        "2026-11-02",
        "--completion",
        "2026-11-20",
        "--pack",
        "srvt",
        "--pack",
        "ns-acme1",
        "--capability-release",
        "IOC",
        "--on",
        "2026-10-20",
    )
    assert line.endswith(
        "E1: rationale: a DMCT Non-Standard Test Pack (ns-acme1) needs its rationale (20.9 (c))"
    )
    line = refused(
        capsys,
        url,
        "schedule",
        "E1",
        "--start",
        "2026-11-20",
        "--completion",
        "2026-11-02",
        "--pack",
        "srvt",
        "--capability-release",
        "IOC",
    )
    assert "planned completion 2026-11-02 is before the start 2026-11-20" in line
    code, out, _ = dmct(
        capsys,
        url,
        "schedule",
        "E1",
        *SCHEDULE,
    )
    assert (code, out) == (0, "E1 scheduled version 2\n")
    # testing cannot start before the scheduled start, nor go straight to completed from scheduled
    assert "before the scheduled start 2026-11-02" in refused(
        capsys, url, "status", "E1", "testing", "--on", "2026-10-30"
    )
    assert "does not go from scheduled to completed" in refused(capsys, url, "status", "E1", "completed")
    assert dmct(capsys, url, "status", "E1", "testing", "--on", "2026-11-02")[0] == 0
    # 20.21: "the DCC may pause (and recommence) the DMCT Process (including testing) for the impacted DMC(s)"
    assert (
        dmct(
            capsys,
            url,
            "pause",
            "E1",
            "--reason",
            "awaiting DCC fix for TI-0001",
            "--issue",
            "TI-0001",
            "--on",
            "2026-11-05",
        )[0]
        == 0
    )
    assert "date 2026-11-04 is before the entry's latest recorded event (2026-11-05)" in refused(
        capsys, url, "resume", "E1", "--reason", "fixed", "--on", "2026-11-04"
    )
    assert "only testing can be paused; the entry is paused" in refused(
        capsys, url, "pause", "E1", "--reason", "x"
    )
    assert "is in the future" in refused(capsys, url, "resume", "E1", "--reason", "x", "--on", "2999-01-01")
    assert (
        dmct(capsys, url, "resume", "E1", "--reason", "fix deployed (20.22 (a))", "--on", "2026-11-09")[0]
        == 0
    )
    # 20.22: "update the DMCT Schedule with the revised completion dates"
    assert (
        dmct(
            capsys,
            url,
            "schedule",
            "E1",
            "--revised-completion",
            "2026-11-25",
            "--reason",
            "re-run after the TI-0001 fix",
            "--issue",
            "TI-0001",
            "--on",
            "2026-11-09",
        )[0]
        == 0
    )
    assert dmct(capsys, url, "status", "E1", "completed", "--on", "2026-11-24")[0] == 0
    entry = show(capsys, url)
    assert entry["status"] == "completed" and entry["version"] == 7
    assert entry["pauses"] == [
        {
            "paused": "2026-11-05",
            "reason": "awaiting DCC fix for TI-0001",
            "issue": "TI-0001",
            "resumed": "2026-11-09",
            "resume_reason": "fix deployed (20.22 (a))",
        }
    ]
    # full audit history, like the issue log: who, when, what, from what, to what, and the event's date
    pause = [h for h in entry["history"] if h["action"] == "pause" and h["field"] == "status"]
    assert pause == [
        {
            "at": pause[0]["at"],
            "by": "test-manager",
            "action": "pause",
            "field": "status",
            "old": "testing",
            "new": "paused",
            "on": "2026-11-05",
            "reason": "awaiting DCC fix for TI-0001",
            "issue": "TI-0001",
            "clause": "20.21",
        }
    ]
    # 20.38 (c) / 20.40 (c)(ii): continue testing -- "Clause 20.13 onwards shall apply again"
    assert dmct(capsys, url, "status", "E1", "testing", "--on", "2026-11-26")[0] == 0


def test_unknown_entry_and_bad_options_are_one_line(capsys: pytest.CaptureFixture[str], url: str) -> None:
    dmct(capsys, url, "add", "E1", "--dmc", "ACME1", "--installation", "dormant")
    code, out, err = dmct(capsys, url, "pause", "E9", "--reason", "x")
    assert (code, out, err.strip()) == (
        2,
        "",
        "dmct: error: E9: no such planned entry in the store (dmct entries add)",
    )
    assert "not a date" in refused(capsys, url, "pause", "E1", "--reason", "x", "--on", "2026-13-01")
    assert "must be one of planned|" in refused(capsys, url, "status", "E1", "done")
    assert "is already on the DMCT Status List" in refused(
        capsys, url, "add", "E1", "--dmc", "X", "--installation", "active"
    )


def test_abandonment_mt_determination_and_mcr(capsys: pytest.CaptureFixture[str], url: str) -> None:
    dmct(capsys, url, "add", "E1", "--dmc", "ACME1", "--installation", "active", "--mtad")
    dmct(
        capsys,
        url,
        "schedule",
        "E1",
        "--start",
        "2026-11-02",
        "--completion",
        "2026-11-20",
        "--pack",
        "srvt",
        "--capability-release",
        "IOC",
        "--on",
        "2026-10-20",
    )
    dmct(capsys, url, "status", "E1", "testing", "--on", "2026-11-02")
    # 20.32 (c): "the Panel has determined that the Migration Test Phase for the planned entry ... has
    # completed"
    assert dmct(capsys, url, "mt", "E1", "completed", "--on", "2026-11-03")[0] == 0
    # 20.34 (i): "(including, where relevant, reference to any Migration Completion Report)"
    assert dmct(capsys, url, "mcr", "E1", "MCR-IOC-ACME1 v1.0")[0] == 0
    # 20.33 (b): "... or where a blocking defect has arisen and the Secretary of State agrees that testing
    # should not continue": without the agreement the blocking defect does not stop testing.
    line = refused(
        capsys, url, "abandon", "E1", "--reason", "CH bricks on firmware activation", "--blocking-defect"
    )
    assert "only where the Secretary of State agrees (20.33 (b))" in line
    assert (
        dmct(
            capsys,
            url,
            "abandon",
            "E1",
            "--reason",
            "CH bricks on firmware activation",
            "--blocking-defect",
            "--sos-agreed",
            "--on",
            "2026-11-10",
        )[0]
        == 0
    )
    entry = show(capsys, url)
    assert entry["status"] == "completed"
    assert entry["abandoned"] == {
        "on": "2026-11-10",
        "reason": "CH bricks on firmware activation",
        "blocking_defect": True,
        "sos_agreed": True,
    }
    assert entry["mt_determination"] == {"on": "2026-11-03", "completed": True}
    assert entry["migration_completion_report"] == "MCR-IOC-ACME1 v1.0"


def test_export_publishes_the_status_list_and_schedule_20_10(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    # 20.10: "The DCC shall publish the DMCT Schedule (and any subsequent updates to it) on the DCC Website".
    dmct(capsys, url, "add", "E1", "--dmc", "ACME1", "--installation", "dormant")
    dmct(capsys, url, "add", "E2", "--dmc", "ACME1", "--installation", "active")
    dmct(
        capsys,
        url,
        "schedule",
        "E1",
        *SCHEDULE,
    )
    # 20.9: testing the dormant-only entry may suffice for the same DMC's active entry
    dmct(
        capsys,
        url,
        "status",
        "E2",
        "relies_on_prior",
        "--relies-on",
        "E1",
        "--reason",
        "20.9: dormant suffices",
        "--on",
        "2026-10-20",
    )
    code, out, _ = dmct(capsys, url, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [(r["entry"], r["status"], r["planned start"]) for r in rows] == [
        ("E1", "scheduled", "2026-11-02"),
        ("E2", "relies_on_prior", ""),
    ]
    assert rows[1]["reason"] == "relies on E1: 20.9: dormant suffices"
    assert dmct(capsys, url, "export", "-o", str(tmp_path / "list.html"))[0] == 0
    html = (tmp_path / "list.html").read_text()
    assert "DMCT Status List" in html and "DMCT Schedule" in html and "2026-11-20" in html
    md = dmct(capsys, url, "export", "--format", "md")[1]
    assert "| E1 | ACME1 | dormant | scheduled |" in md
    # redactable like the reports (16.1, 20.43): the DMC name is replaced by a keyed pseudonym
    (tmp_path / "key").write_bytes(b"k" * 32)
    red = dmct(capsys, url, "export", "--format", "md", "--redact", "--redact-key", str(tmp_path / "key"))[1]
    assert "ACME1" not in red and "| E1 |" in red


def test_pauses_reach_the_weekly_report_16_1() -> None:
    # 20.21: "the DCC shall inform the Panel and the Secretary of State via the reports produced pursuant
    # to Clause 16.1".
    from harness.reports.weekly import _pauses_section

    e = EntryRecord(
        id="E1",
        dmc="ACME1",
        installation="dormant",
        status="paused",
        pauses=(Pause(paused=date(2026, 11, 5), reason="awaiting fix", issue="TI-0001"),),
    )
    blocks = _pauses_section([e], date(2026, 11, 2))
    text = repr(blocks)
    assert "'paused', '2026-11-05', 'awaiting fix', 'TI-0001'" in text
    assert "Paused at the time of this report: E1." in text
    assert "neither paused nor recommenced" in repr(_pauses_section([e], date(2026, 11, 9)))


def test_the_verdict_reads_abandonment_and_the_mt_determination_from_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded with dmct entries, not by editing plan.json: 20.33 (b) abandonment, 20.33 (a)(iv) the
    # Panel's determination that the MTAD Migration Test Phase did not complete.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DMCT_USER", "tm")
    url = f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    for eid, mtad in (("E1", []), ("E2", ["--mtad"])):
        dmct(capsys, url, "add", eid, "--dmc", "ACME1", "--installation", "dormant", *mtad)
        dmct(
            capsys,
            url,
            "schedule",
            eid,
            "--start",
            "2026-11-02",
            "--completion",
            "2026-11-20",
            "--pack",
            "srvt",
            "--capability-release",
            "IOC",
            "--on",
            "2026-10-20",
        )
        dmct(capsys, url, "status", eid, "testing", "--on", "2026-11-02")
    dmct(
        capsys, url, "abandon", "E1", "--reason", "devices withdrawn after 20.20-20.27", "--on", "2026-11-03"
    )
    dmct(capsys, url, "mt", "E2", "not-completed", "--on", "2026-11-03")
    plan = {
        "profile": "dmct",
        "packs": {"dormant-mt": {"tests": ["mt-1"]}, "srvt": {"tests": ["s-1"]}},
        "entries": [
            {"id": "E1", "dmc": "ACME1", "installation": "dormant"},
            {"id": "E2", "dmc": "ACME1", "installation": "dormant", "mt_under_mtad": True},
        ],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    lines = [
        json.dumps({"entry": e, "pack": p, "test": t, "outcome": "passed", "at": "2026-11-02T10:00:00Z"})
        for e in ("E1", "E2")
        for p, t in (("dormant-mt", "mt-1"), ("srvt", "s-1"))
    ]
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["verdict", "--plan", "plan.json", "--results", "r.jsonl", "--store", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entries"]["E1"]["status"] == "unsuccessful"
    assert out["entries"]["E1"]["reasons"][0].startswith(
        "20.33 (b): recorded that not all tests can be executed"
    )
    assert out["entries"]["E2"]["status"] == "unsuccessful"
    assert any(r.startswith("20.33 (a)(iv)") for r in out["entries"]["E2"]["reasons"])
    assert "E1: abandoned from the DMCT Status List (dmct entries)" in out["notes"]


def test_overlay_carries_the_drafts_referral_and_determination_into_the_plan() -> None:
    # 20.38 (d) / 20.40: what dmct entries draft records reaches the verdict's referred_to_sos and
    # sos_determination
    from harness.model.entries import DraftReport, Referral, SosDetermination
    from harness.model.interchange import Plan
    from harness.rules.process import overlay_plan

    plan = Plan.model_validate(
        {
            "packs": {"dormant-mt": {"tests": ["m"]}, "srvt": {"tests": ["s"]}},
            "entries": [{"id": "E1", "dmc": "D", "installation": "dormant"}],
        }
    )
    draft = DraftReport(
        issued=date(2026, 11, 30),
        digest="x",
        status="successful",
        referrals=(Referral(by="dcc", on=date(2026, 12, 1), matter="TAG"),),
        sos=SosDetermination(determination="further_tests", on=date(2026, 12, 20)),
    )
    record = EntryRecord(id="E1", dmc="D", installation="dormant", status="testing", reports=(draft,))
    out, notes = overlay_plan(plan, [record])
    assert (out.entries[0].referred_to_sos, out.entries[0].sos_determination) == (True, "further_tests")
    assert notes == ["E1: referred_to_sos, sos_determination from the DMCT Status List (dmct entries)"]
