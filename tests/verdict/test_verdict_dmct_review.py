"""DMCT after the draft report: the TAG's review (20.38), the Secretary of State (20.40), exclusions in
respect of one planned entry (20.29), and why clause 14 does not hold a DMCT verdict (14.1).

Each test quotes the clause it checks (SEC Appendix AK, SMETS1 SVTAD v3.1). The first half feeds the
rules the interchange models; the second half goes through ``dmct verdict`` and the interchange files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from tests.verdict.helpers import issue, issues, judge, make_plan, rules_of, run_all

# ------------------------------------------------------------------------------------ 14.1, 20.39


def test_clause_14_does_not_hold_a_dmct_verdict_14_1() -> None:
    # 14.1: "The process set out in Section H14.37 onwards of the Code shall apply for the purposes of
    # Testing Issue resolution during SIT, UTS, SCT, and MT" -- not DMCT, so no 14.5 hold.
    # 20.39 (c): the draft is final only where "any TAG disagreement with the severity assigned to open
    # Testing Issues ... would not result in changing the status of testing from successful to
    # unsuccessful": a pending review that could flip it leaves the entry successful, in depends_on_tag.
    plan = make_plan()
    log = [*issues(15), issue(4, id="D", dispute={"severity": 3, "state": "pending"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "successful"
    assert "dispute" not in rules_of(out)
    assert out["depends_on_tag"] == ["D"]
    assert out["reasons"][-1].startswith(
        "20.38, 20.39 (b), (c): successful only while the TAG does not disagree with D"
    )
    assert out["extant"]["3"] == 15 and out["extant"]["4"] == 1  # the DCC's severity is the draft's


def test_pending_review_that_cannot_flip_is_not_listed() -> None:
    plan = make_plan()
    out = judge(plan, run_all(plan), [issue(5, id="D", dispute={"severity": 4, "state": "pending"})])
    assert out["entries"]["E1"]["status"] == "successful"
    assert out["entries"]["E1"]["depends_on_tag"] == []


# ------------------------------------------------------------------------------------ 20.38 (c), (d)


def test_tag_disagreeing_with_an_exclusion_means_continued_testing_20_38_c() -> None:
    # 20.38: "Where the TAG ... (b) disagrees with the exclusion of one or more Testing Issues ... and
    # that different determination would result in the status of testing changing from successful to
    # unsuccessful, then the DCC shall either: (c) continue testing under the DMCT Process ... (and
    # Clause 20.13 onwards shall apply again) ...; or (d) refer the matter to the Secretary of State".
    plan = make_plan()
    log = [*issues(15), issue(3, id="X", exclusion={"rationale": "r", "tag": "disagreed"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert out["reasons"][0].startswith(
        "20.38 (c): the TAG disagrees (X) and that would make testing "
        "unsuccessful (20.28 (a), Table 20.1: 16 severity 3 issue(s)"
    )
    assert out["tag_disagreements"] == [
        {"id": "X", "kind": "exclusion", "clause": "20.38 (b)", "severity": 3, "flips": True}
    ]
    assert out["extant"]["3"] == 15  # the draft's count: never "unsuccessful" by the TAG's view alone


def test_referred_disagreement_awaits_the_secretary_of_state_20_38_d() -> None:
    plan = make_plan({"id": "E1", "referred_to_sos": True})
    log = [*issues(15), issue(3, id="X", exclusion={"rationale": "r", "tag": "disagreed"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "awaiting_sos"
    assert out["reasons"][0].startswith("20.38 (d): the TAG disagrees (X)")


def test_tag_disagreeing_with_a_severity_20_38_a() -> None:
    # 20.38 (a): "the TAG considers that the severity of one of more of the open Testing Issue(s) ...
    # should change". 15 severity 3 + one severity 4 the TAG considers severity 3: 16 > 15.
    plan = make_plan()
    log = [*issues(15), issue(4, id="S", dispute={"severity": 3, "state": "disagreed"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert out["tag_disagreements"] == [
        {
            "id": "S",
            "kind": "severity",
            "clause": "20.38 (a)",
            "severity": 4,
            "tag_severity": 3,
            "flips": True,
        }
    ]


def test_disagreement_that_does_not_flip_leaves_success_20_39_b() -> None:
    # 20.39 (b): "any TAG disagreement with the DCC's proposed excluded open Testing Issues ... would not
    # result in changing the status of testing from successful to unsuccessful" -> the draft stands.
    plan = make_plan()
    log = [*issues(3), issue(3, id="X", exclusion={"rationale": "r", "tag": "disagreed"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "successful"
    assert out["tag_disagreements"][0]["flips"] is False


def test_disagreement_does_not_mask_a_count_already_over_the_limit() -> None:
    plan = make_plan()
    log = [*issues(16), issue(3, id="X", exclusion={"rationale": "r", "tag": "disagreed"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "unsuccessful"  # 20.33 (a)(iii) on the DCC's own count
    assert "tag_disagreement" not in rules_of(out)


# ------------------------------------------------------------------------------------------- 20.40


@pytest.mark.parametrize(
    ("determination", "status", "clause"),
    [
        # (a) "where the Secretary of State agrees with the DCC's treatment ... the draft DMCT Testing
        # Report shall be deemed to be final"
        ("agrees", "successful", "20.40 (a)"),
        # (c) "... the status of the testing changes to unsuccessful ... (i) the DCC shall update the draft"
        ("unsuccessful", "unsuccessful", "20.40 (c)(i)"),
        # (c) "... or further tests need to be run ... (ii) the DCC shall continue testing"
        ("further_tests", "in_progress", "20.40 (c)(ii)"),
    ],
)
def test_the_secretary_of_states_determination_decides_20_40(
    determination: str, status: str, clause: str
) -> None:
    plan = make_plan({"id": "E1", "referred_to_sos": True, "sos_determination": determination})
    log = [*issues(15), issue(3, id="X", exclusion={"rationale": "r", "tag": "disagreed"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == status
    assert any(r.startswith(clause + ":") for r in out["reasons"]), out["reasons"]
    assert out["depends_on_tag"] == []  # determined: nothing left for the TAG


def test_secretary_of_state_may_determine_success_over_the_count_20_40_b() -> None:
    # 20.40 (b): "where the Secretary of State disagrees with the DCC's treatment ... and as a consequence
    # the status of the testing changes to successful ... it shall be deemed to be final" (e.g. a
    # Supplier Party's referral that a severity should be reduced, 20.37 (c)).
    plan = make_plan({"id": "E1", "referred_to_sos": True, "sos_determination": "successful"})
    out = judge(plan, run_all(plan), issues(16))["entries"]["E1"]
    assert out["status"] == "successful"
    assert out["reasons"][0].startswith("20.40 (b):")
    assert out["extant"]["3"] == 16  # the counts are still reported


# ------------------------------------------------------------------------- 20.29 per planned entry


def test_exclusion_in_respect_of_one_entry_20_29() -> None:
    # 20.29: "the DCC may propose to exclude such Testing Issue(s) from its count" "in respect of a planned
    # entry on the EPCL": X (severity 1, threshold 0) affects E1 and E2 and is excluded for E1 only.
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    x = issue(
        1, id="X", entries=["E1", "E2"], exclusions={"E1": {"rationale": "not on E1's path", "tag": "agreed"}}
    )
    out = judge(plan, run_all(plan), [x])["entries"]
    assert out["E1"]["status"] == "successful"
    assert out["E1"]["extant"]["1"] == 0
    assert out["E1"]["excluded"] == [
        {
            "id": "X",
            "severity": 1,
            "tag": "agreed",
            "rationale": "not on E1's path",
            "counted": False,
            "scope": "entry",
        }
    ]
    assert out["E2"]["status"] == "unsuccessful"
    assert out["E2"]["extant"]["1"] == 1
    # both counts of 20.28: E2 is over its own limit (a) and the aggregate (b)
    assert {f["rule"] for f in out["E2"]["findings"]} >= {"entry_threshold", "aggregate_threshold"}


def test_an_entry_exclusion_leaves_the_aggregate_used_for_that_entry_only_20_28_b() -> None:
    # 20.28 (b): "an aggregate threshold that takes into account any open Testing Issues, irrespective of
    # where they arose". X, excluded for E1, is left out of the aggregate that judges E1 and counts in
    # the aggregate that judges E2: 14 + 15 + 1 + X = 31 > 30 for E2 only.
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    log = [
        *issues(14, entries=["E1"]),
        *issues(15, entries=["E2"]),
        issue(3, entries=[]),
        issue(3, id="X", entries=["E1"], exclusions={"E1": {"rationale": "r", "tag": "agreed"}}),
    ]
    out = judge(plan, run_all(plan), log)["entries"]
    assert out["E1"]["status"] == "successful"
    assert out["E2"]["status"] == "unsuccessful"
    assert rules_of(out["E2"]) == ["aggregate_threshold"]
    assert "31 extant severity 3" in out["E2"]["reasons"][0]


def test_entry_exclusion_overrides_the_issue_wide_one_for_that_entry() -> None:
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    x = issue(
        1,
        id="X",
        entries=["E1", "E2"],
        exclusion={"rationale": "all", "tag": "agreed"},
        exclusions={"E2": {"rationale": "E2 uses it", "tag": "disagreed"}},
    )
    out = judge(plan, run_all(plan), [x])["entries"]
    assert out["E1"]["status"] == "successful"
    # for E2 the TAG disagreed: 20.38 (c), not unsuccessful
    assert out["E2"]["status"] == "in_progress"
    assert rules_of(out["E2"])[0] == "tag_disagreement"


def test_pending_entry_exclusion_is_listed_in_that_entrys_depends_on_tag_only() -> None:
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    x = issue(1, id="X", entries=["E1"], exclusions={"E1": {"rationale": "r", "tag": "pending"}})
    out = judge(plan, run_all(plan), [x])["entries"]
    assert out["E1"]["status"] == "successful" and out["E1"]["depends_on_tag"] == ["X"]
    assert out["E2"]["status"] == "unsuccessful"  # X counts in the aggregate that judges E2 (20.28 (b))


# ------------------------------------------------------------------ through dmct verdict and files

PLAN = {
    "profile": "dmct",
    "packs": {"dormant-mt": {"tests": ["mt-1"]}, "srvt": {"tests": ["s-1"]}},
    "entries": [
        {"id": "E1", "dmc": "DMC-1", "installation": "dormant"},
        {"id": "E2", "dmc": "DMC-1", "installation": "active", "referred_to_sos": True},
        {
            "id": "E3",
            "dmc": "DMC-3",
            "installation": "dormant",
            "referred_to_sos": True,
            "sos_determination": "unsuccessful",
        },
    ],
}


def _issue(i: int, entries: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": f"TI-{i:04d}", "severity": 3, "status": "open", "entries": entries, "route": "a", **extra}


def _files(tmp_path: Path, plan: dict[str, Any], log: list[dict[str, Any]]) -> list[str]:
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    (tmp_path / "issues.yaml").write_text(yaml.safe_dump(log))
    lines = [
        json.dumps(
            {"entry": e["id"], "pack": p, "test": t, "outcome": "passed", "at": "2026-03-02T09:00:00Z"}
        )
        for e in plan["entries"]
        for p, t in (("dormant-mt", "mt-1"), ("srvt", "s-1"))
    ]
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n")
    return [
        "verdict",
        "--plan",
        str(tmp_path / "plan.yaml"),
        "--results",
        str(tmp_path / "results.jsonl"),
        "--issues",
        str(tmp_path / "issues.yaml"),
        "--json",
    ]


def test_cli_tag_review_sos_and_entry_exclusions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each of E1-E3 has one severity 2 issue (threshold 0) the DCC excluded and the TAG disagreed
    # (20.38 (b)): E1 continues testing (20.38 (c)), E2 was referred (20.38 (d)), and for E3 the Secretary
    # of State determined it unsuccessful (20.40 (c)(i)). A severity 1 issue affecting E1 and E2 is
    # excluded (agreed) in respect of each of them (20.29), so it still counts in the aggregate that
    # judges E4 (20.28 (b)).
    log = [
        _issue(i, [eid], severity=2, exclusion={"rationale": "not on this path", "tag": "disagreed"})
        for i, eid in enumerate(("E1", "E2", "E3"), start=1)
    ]
    log.append(
        _issue(
            9,
            ["E1", "E2"],
            severity=1,
            exclusions={
                "E1": {"rationale": "E1 never uses the function", "tag": "agreed"},
                "E2": {"rationale": "E2 never uses the function", "tag": "agreed"},
            },
        )
    )
    plan = json.loads(json.dumps(PLAN))
    plan["entries"].append({"id": "E4", "dmc": "DMC-4", "installation": "dormant"})
    assert main(_files(tmp_path, plan, log)) == 0
    out = json.loads(capsys.readouterr().out)["entries"]
    assert out["E1"]["status"] == "in_progress"
    assert out["E1"]["reasons"][0].startswith("20.38 (c): the TAG disagrees (TI-0001, TI-0002, TI-0003)")
    assert out["E2"]["status"] == "awaiting_sos"
    assert out["E2"]["reasons"][0].startswith("20.38 (d)")
    assert out["E3"]["status"] == "unsuccessful"
    assert out["E3"]["reasons"][0].startswith("20.40 (c)(i)")
    assert out["E4"]["status"] == "unsuccessful"
    assert rules_of(out["E4"]) == ["aggregate_threshold"]
    for eid in ("E1", "E2"):
        assert out[eid]["extant"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
        assert [x["scope"] for x in out[eid]["excluded"]] == ["issue", "entry"]


def test_cli_old_issue_files_still_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An issue file from before per-entry exclusions: `exclusion` still means every entry of the issue.
    log = [_issue(1, ["E1", "E2"], severity=1, exclusion={"rationale": "r", "tag": "agreed"})]
    plan = {**PLAN, "entries": PLAN["entries"][:2]}
    assert main(_files(tmp_path, plan, log)) == 0
    out = json.loads(capsys.readouterr().out)["entries"]
    assert out["E1"]["status"] == out["E2"]["status"] == "successful"


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("plan", {"sos_determination": "maybe"}, "entries[0].sos_determination"),
        ("issues", {"exclusions": {"E1": {"rationale": "", "tag": "agreed"}}}, "[0].exclusions.E1.rationale"),
        ("issues", {"exclusions": {"E1": {"rationale": "r", "tag": "perhaps"}}}, "[0].exclusions.E1.tag"),
    ],
)
def test_cli_bad_review_fields_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, value: dict[str, Any], message: str
) -> None:
    plan = json.loads(json.dumps(PLAN))
    log = [_issue(1, ["E1"])]
    if where == "plan":
        plan["entries"][0].update(value)
    else:
        log[0].update(value)
    assert main(_files(tmp_path, plan, log)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and message in err, err
