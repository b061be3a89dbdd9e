"""The DMCT verdict rules, one clause at a time (SEC Appendix AK, SMETS1 SVTAD v3.1, 14.x and 20.x).

Each test quotes the clause it checks. Limits come from Table 20.1: per planned entry on the EPCL
(20.28 (a)) 0/0/15/30/60, aggregate across DMCT (20.28 (b)) 0/0/30/60/120; "exceed" means more than.
"""

from __future__ import annotations

import pytest

from harness.errors import DmctInputError
from harness.rules.verdict import ResultIndex, compute_verdict

from .helpers import MT, SRVT, issue, issues, judge, make_plan, profile, rec, rules_of, run_all

# --------------------------------------------------------------------------------- the baseline


def test_all_executed_no_issues_is_successful_with_a_statement_citing_20_32() -> None:
    plan = make_plan()
    out = judge(plan, run_all(plan), [])
    e1 = out["entries"]["E1"]
    assert e1["status"] == "successful"
    assert e1["reasons"][0].startswith("20.32: all 12 planned tests executed")
    assert (e1["planned"], e1["executed"], e1["passed"], e1["failed"], e1["not_executed"]) == (
        12,
        12,
        12,
        0,
        0,
    )
    assert e1["pass_rate"] == 1.0
    assert e1["packs"]["dormant-mt"]["planned"] == len(MT)
    assert e1["packs"]["srvt"]["planned"] == len(SRVT)


def test_json_has_the_shape_the_issue_fixes() -> None:
    plan = make_plan()
    out = judge(plan, run_all(plan), [])
    assert set(out) >= {"profile", "entries", "aggregate"}
    assert out["profile"] == "dmct"
    e1 = out["entries"]["E1"]
    assert set(e1) >= {
        "status",
        "reasons",
        "planned",
        "executed",
        "passed",
        "failed",
        "not_executed",
        "pass_rate",
        "extant",
        "depends_on_tag",
        "packs",
    }
    assert set(e1["extant"]) == {"1", "2", "3", "4", "5"}
    assert set(out["aggregate"]) >= {"extant", "limits"}
    assert out["aggregate"]["limits"] == {
        "entry": {"1": 0, "2": 0, "3": 15, "4": 30, "5": 60},
        "aggregate": {"1": 0, "2": 0, "3": 30, "4": 60, "5": 120},
    }


# ------------------------------------------------------------- rule 1: 20.33 (b) cannot complete


def test_abandoned_entry_is_unsuccessful_20_33_b() -> None:
    # 20.33 (b): "when it was not possible for all DMCT Process tests ... to be executed having been
    # through the processes outlined in Clauses 20.20 to 20.27"
    plan = make_plan({"id": "E1", "abandoned": True})
    out = judge(plan, run_all(plan), [])["entries"]["E1"]
    assert out["status"] == "unsuccessful"
    assert out["reasons"][0].startswith("20.33 (b)")


def test_abandoned_wins_over_in_progress_and_every_reason_is_reported() -> None:
    plan = make_plan({"id": "E1", "abandoned": True})
    out = judge(plan, [], [issue(3, route=None)])["entries"]["E1"]
    assert out["status"] == "unsuccessful"
    assert rules_of(out) == ["abandoned", "not_executed", "route"]


def test_abandoned_mtad_migration_is_unsuccessful_20_33_b() -> None:
    # 20.33 (b): "... or where Migration Testing was planned pursuant to Clause 20.14 and it is not
    # possible to complete it"
    plan = make_plan({"id": "E1", "mt_under_mtad": True, "abandoned": True})
    out = judge(plan, run_all(plan), [])["entries"]["E1"]
    assert out["status"] == "unsuccessful"
    assert "MTAD" in out["reasons"][0]


# ----------------------------------------------------------- rule 2: 20.32 (a) all tests executed


def test_a_never_run_test_keeps_the_entry_in_progress_20_32_a() -> None:
    plan = make_plan()
    results = run_all(plan)[:-1]
    out = judge(plan, results, [])["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert out["reasons"][0].startswith("20.32 (a): 1 of 12 planned tests not executed (srvt 1)")
    assert out["not_executed_tests"] == [{"pack": "srvt", "test": "s-10", "latest": None, "at": None}]


@pytest.mark.parametrize("outcome", ["error", "skipped", "blocked"])
def test_errored_skipped_and_blocked_tests_are_not_executed(outcome: str) -> None:
    # Executed means the latest result is passed or failed; a lab fault (blocked) or a set-up error
    # is not a product verdict (20.32 (a)).
    plan = make_plan()
    results = [*run_all(plan)[:-1], rec("E1", "srvt", "s-10", outcome)]
    out = judge(plan, results, [])["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert (out["executed"], out["not_executed"]) == (11, 1)
    assert out["not_executed_tests"][0]["latest"] == outcome
    assert out["pass_rate"] == 1.0  # passed / executed: the blocked test is in neither


def test_rerun_latest_at_counts_20_22() -> None:
    # 20.22 (a): "re-run the test pack accordingly" — the latest execution of a test counts.
    plan = make_plan()
    base = run_all(plan)
    fixed = judge(plan, [rec("E1", "srvt", "s-1", "failed", -60), *base], [])["entries"]["E1"]
    assert (fixed["passed"], fixed["failed"]) == (12, 0)
    regressed = judge(plan, [*base, rec("E1", "srvt", "s-1", "failed", 60)], [])["entries"]["E1"]
    assert (regressed["passed"], regressed["failed"]) == (11, 1)
    # an infrastructure fault on the re-run un-executes it: the latest is what counts
    blocked = judge(plan, [*base, rec("E1", "srvt", "s-1", "blocked", 60)], [])["entries"]["E1"]
    assert blocked["status"] == "in_progress"
    # and a passing re-run after a block executes it again
    again = [*base, rec("E1", "srvt", "s-1", "blocked", 60), rec("E1", "srvt", "s-1", "passed", 120)]
    assert judge(plan, again, [])["entries"]["E1"]["status"] == "successful"


def test_latest_at_counts_not_the_line_order() -> None:
    # A journal merged from several workers is not in time order; the latest ``at`` still counts.
    plan = make_plan()
    base = [r for r in run_all(plan) if r.test != "s-1"]
    late_pass_first = [rec("E1", "srvt", "s-1", "passed", 60), *base, rec("E1", "srvt", "s-1", "failed", 0)]
    out = judge(plan, late_pass_first, [])["entries"]["E1"]
    assert (out["passed"], out["failed"]) == (12, 0)
    late_fail_first = [rec("E1", "srvt", "s-1", "failed", 60), *base, rec("E1", "srvt", "s-1", "passed", 0)]
    out = judge(plan, late_fail_first, [])["entries"]["E1"]
    assert (out["passed"], out["failed"]) == (11, 1)


def test_results_for_unplanned_tests_are_listed_not_counted() -> None:
    plan = make_plan()
    results = [*run_all(plan), rec("E1", "srvt", "s-99", "failed"), rec("E1", "extra", "x-1")]
    out = judge(plan, results, [])["entries"]["E1"]
    assert out["status"] == "successful"
    assert out["planned"] == 12 and out["failed"] == 0
    assert [(u["pack"], u["test"]) for u in out["unplanned_results"]] == [("extra", "x-1"), ("srvt", "s-99")]


def test_result_for_an_unknown_entry_is_bad_input() -> None:
    plan = make_plan()
    with pytest.raises(DmctInputError, match=r"entry: unknown entry 'E9'"):
        compute_verdict(plan, [rec("E9", "srvt", "s-1")], [], profile())
    index = ResultIndex(plan)
    with pytest.raises(DmctInputError) as err:
        index.add(rec("E9", "srvt", "s-1"), "run/results.jsonl", 7)
    assert str(err.value) == "run/results.jsonl:7: entry: unknown entry 'E9' (not in the plan)"


def test_entry_own_test_list_overrides_the_pack_20_17() -> None:
    # 20.17: a DMCT Non-Standard Test Pack for one DMC replaces the standard pack's tests.
    plan = make_plan({"id": "E1", "tests": {"srvt": ["s-1", "s-2"]}})
    results = [*(rec("E1", "dormant-mt", t) for t in MT), rec("E1", "srvt", "s-1"), rec("E1", "srvt", "s-2")]
    out = judge(plan, results, [])["entries"]["E1"]
    assert (out["status"], out["planned"]) == ("successful", 4)


def test_non_standard_pack_listed_by_the_entry_is_planned_20_17() -> None:
    # 20.17: the Non-Standard Test Pack agreed for the DMC is its "different set of tests" for SRVT:
    # the standard tests it replaces leave the entry's srvt list, its own tests are planned instead,
    # so a replacement that never ran keeps the entry from success.
    own = {"srvt": ["s-1", "s-2"], "srvt-dmc": ["n-1"]}
    plan = make_plan({"id": "E1", "tests": own}, extra_packs={"srvt-dmc": ["n-1"]})
    base = [*(rec("E1", "dormant-mt", t) for t in MT), rec("E1", "srvt", "s-1"), rec("E1", "srvt", "s-2")]
    out = judge(plan, base, [])["entries"]["E1"]
    assert (out["status"], out["planned"], out["not_executed"]) == ("in_progress", 5, 1)
    assert out["packs"]["srvt-dmc"]["planned"] == 1
    out = judge(plan, [*base, rec("E1", "srvt-dmc", "n-1")], [])["entries"]["E1"]
    assert (out["status"], out["planned"]) == ("successful", 5)


def test_own_list_of_a_standard_pack_20_14_does_not_require_stays_unplanned() -> None:
    plan = make_plan({"id": "E1", "mt_under_mtad": True, "tests": {"dormant-mt": ["m-1"]}})
    out = judge(plan, run_all(plan), [])["entries"]["E1"]
    assert "dormant-mt" not in out["packs"] and out["planned"] == len(SRVT)


# ------------------------------------------------------------------- 20.14 required packs, MTAD


def test_under_mtad_only_srvt_is_required_20_14() -> None:
    plan = make_plan({"id": "E1", "mt_under_mtad": True, "mt_phase_complete": True})
    results = [rec("E1", "srvt", t) for t in SRVT]
    out = judge(plan, results, [])["entries"]["E1"]
    assert out["status"] == "successful"
    assert list(out["packs"]) == ["srvt"]


@pytest.mark.parametrize(
    ("complete", "status", "rule"),
    [
        (True, "successful", "successful"),
        # 20.32 (c): "the Panel has determined that the Migration Test Phase ... has completed"
        (None, "in_progress", "mtad_pending"),
        # 20.33 (a)(iv): "the Panel has determined that the Migration Test Phase ... has not completed"
        (False, "unsuccessful", "mtad_not_complete"),
    ],
)
def test_mtad_panel_determination(complete: bool | None, status: str, rule: str) -> None:
    plan = make_plan({"id": "E1", "mt_under_mtad": True, "mt_phase_complete": complete})
    out = judge(plan, [rec("E1", "srvt", t) for t in SRVT], [])["entries"]["E1"]
    assert out["status"] == status
    assert rules_of(out)[0] == rule


def test_mtad_not_complete_waits_for_all_tests_20_33_a_i() -> None:
    # 20.33 (a) needs (i) all tests executed before (iv) makes it "completed ... unsuccessful".
    plan = make_plan({"id": "E1", "mt_under_mtad": True, "mt_phase_complete": False})
    out = judge(plan, [rec("E1", "srvt", "s-1")], [])["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert rules_of(out) == ["not_executed", "mtad_not_complete"]


def test_mt_phase_complete_is_ignored_when_not_under_mtad() -> None:
    plan = make_plan({"id": "E1", "mt_under_mtad": False, "mt_phase_complete": False})
    assert judge(plan, run_all(plan), [])["entries"]["E1"]["status"] == "successful"


# ----------------------------------------------------------------------- rule 3: 20.32 (b) routes


def test_open_issue_without_route_keeps_entry_in_progress_20_32_b() -> None:
    # 20.32 (b): "all Testing Issues raised during testing ... have been through the processes outlined in
    # Clauses 20.20 to 20.27"
    plan = make_plan()
    out = judge(plan, run_all(plan), [issue(5, route=None, id="ISS-1")])["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert out["unrouted"] == ["ISS-1"]
    assert out["reasons"][0].startswith("20.32 (b)")


def test_closed_or_other_entry_unrouted_issues_do_not_block() -> None:
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    log = [issue(5, route=None, status="closed"), issue(5, route=None, entries=["E2"])]
    out = judge(plan, run_all(plan), log)["entries"]
    assert out["E1"]["status"] == "successful"
    assert out["E2"]["status"] == "in_progress"


# --------------------------------------------------------------- rule 5: Table 20.1 per entry (a)


@pytest.mark.parametrize(("severity", "limit"), [(1, 0), (2, 0), (3, 15), (4, 30), (5, 60)])
def test_entry_threshold_boundary_table_20_1_a(severity: int, limit: int) -> None:
    # 20.28: "cannot successfully complete where the open Testing Issues ... exceed the thresholds"
    plan = make_plan()
    at_limit = judge(plan, run_all(plan), issues(limit, severity))["entries"]["E1"]
    assert at_limit["status"] == "successful"
    assert at_limit["extant"][str(severity)] == limit
    over = judge(plan, run_all(plan), issues(limit + 1, severity))["entries"]["E1"]
    assert over["status"] == "unsuccessful"
    assert over["reasons"][0] == (
        f"20.28 (a), Table 20.1: {limit + 1} extant severity {severity} issue(s) for this planned entry on "
        f"the EPCL exceed the limit of {limit}"
    )


def test_15_vs_16_severity_3_issues_per_entry() -> None:
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    out = judge(plan, run_all(plan), [*issues(15, entries=["E1"]), *issues(15, entries=["E2"])])["entries"]
    assert out["E1"]["status"] == out["E2"]["status"] == "successful"  # 15 each, 30 in aggregate
    out = judge(plan, run_all(plan), [*issues(15, entries=["E1"]), *issues(16, entries=["E2"])])["entries"]
    # E2 exceeds (a) and, with 31 in all, (b); E1 is within (a) but fails on the aggregate (b)
    assert rules_of(out["E2"]) == ["entry_threshold", "aggregate_threshold"]
    assert rules_of(out["E1"]) == ["aggregate_threshold"]
    assert out["E1"]["status"] == "unsuccessful"


def test_closed_issues_do_not_count() -> None:
    plan = make_plan()
    out = judge(plan, run_all(plan), issues(16, status="closed"))["entries"]["E1"]
    assert out["status"] == "successful"


# ------------------------------------------------------------ rule 5: Table 20.1 aggregate (b)


def test_30_vs_31_severity_3_in_aggregate() -> None:
    # 20.28 (b): "an aggregate threshold that takes into account any open Testing Issues, irrespective of
    # where they arose" — 30 is within, 31 exceeds, even for an entry with no issues of its own.
    plan = make_plan({"id": "E1"}, {"id": "E2"}, {"id": "E3"})
    thirty = [*issues(15, entries=["E1"]), *issues(15, entries=["E2"])]
    ok = judge(plan, run_all(plan), thirty)
    assert {e["status"] for e in ok["entries"].values()} == {"successful"}
    assert ok["aggregate"]["extant"]["3"] == 30
    over = judge(plan, run_all(plan), [*thirty, issue(3, entries=[])])  # tied to no entry
    assert {e["status"] for e in over["entries"].values()} == {"unsuccessful"}
    e3 = over["entries"]["E3"]
    assert e3["extant"]["3"] == 0
    assert e3["reasons"] == [
        "20.28 (b), Table 20.1: 31 extant severity 3 issue(s) in aggregate (irrespective of where they "
        "arose) exceed the limit of 30"
    ]
    assert over["aggregate"]["exceeded"] == [
        {
            "scope": "aggregate",
            "key": "",
            "severity": 3,
            "extant": 31,
            "limit": 30,
            "clause": "20.28 (b), Table 20.1",
        }
    ]


def test_aggregate_counts_issues_of_entries_outside_the_plan() -> None:
    plan = make_plan()
    out = judge(plan, run_all(plan), issues(31, entries=["ELSEWHERE"]))
    assert out["entries"]["E1"]["status"] == "unsuccessful"
    assert out["aggregate"]["issues_outside_plan"][0]["entries"] == ["ELSEWHERE"]


def test_entry_and_aggregate_reasons_both_reported_in_clause_order() -> None:
    plan = make_plan()
    out = judge(plan, run_all(plan), issues(31))["entries"]["E1"]
    assert rules_of(out) == ["entry_threshold", "aggregate_threshold"]


# ----------------------------------------------- exclusions: 20.29, 20.38, each TAG state


@pytest.mark.parametrize(
    ("tag", "status", "counted"),
    [
        ("agreed", "successful", False),  # 20.29: excluded from the count
        ("pending", "successful", False),  # 20.29 (a): excluded in the draft report, TAG reviews (20.38)
        # 20.38 (b), (c): the TAG disagrees and that would turn successful into unsuccessful: the DCC
        # continues testing; the draft still leaves the issue out, the TAG's view is tag_disagreements
        ("disagreed", "in_progress", False),
    ],
)
def test_exclusion_in_each_tag_state(tag: str, status: str, counted: bool) -> None:
    plan = make_plan()
    log = [*issues(15), issue(3, id="X", exclusion={"rationale": "does not affect this DMC", "tag": tag})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == status
    assert out["excluded"] == [
        {
            "id": "X",
            "severity": 3,
            "tag": tag,
            "rationale": "does not affect this DMC",
            "counted": counted,
            "scope": "issue",
        }
    ]
    # 20.38: only a pending exclusion that alone flips the verdict makes it depend on the TAG
    assert out["depends_on_tag"] == (["X"] if tag == "pending" else [])


def test_depends_on_tag_jointly() -> None:
    # 14 extant sev 3 + two pending exclusions: rejecting one leaves 15 (ok); rejecting both, 16.
    plan = make_plan()
    log = [
        *issues(14),
        *(issue(3, id=i, exclusion={"rationale": "r", "tag": "pending"}) for i in ("P1", "P2")),
    ]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert out["status"] == "successful"
    assert out["depends_on_tag"] == ["P1", "P2"]
    assert out["tag_sensitivity"] == [
        {
            "scope": "entry",
            "key": "E1",
            "severity": 3,
            "extant": 14,
            "limit": 15,
            "pending_exclusions": ["P1", "P2"],
            "needed": 2,
        }
    ]
    assert "only a joint disagreement flips it" in out["reasons"][-1]
    assert out["reasons"][-1].startswith("20.38")


@pytest.mark.parametrize("extant", [3, 13])
def test_pending_exclusion_that_cannot_flip_is_not_listed(extant: int) -> None:
    # 13 + 2 pending = 15: even if the TAG disagrees with both, 15 does not exceed 15.
    plan = make_plan()
    log = [*issues(extant), *(issue(3, id=i, exclusion={"rationale": "r", "tag": "pending"}) for i in "PQ")]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert (out["status"], out["depends_on_tag"]) == ("successful", [])


def test_closed_issue_with_pending_exclusion_does_not_depend_on_tag() -> None:
    plan = make_plan()
    log = [*issues(15), issue(3, id="P", status="closed", exclusion={"rationale": "r", "tag": "pending"})]
    out = judge(plan, run_all(plan), log)["entries"]["E1"]
    assert (out["status"], out["depends_on_tag"]) == ("successful", [])


def test_pending_exclusion_on_another_entry_can_flip_through_the_aggregate() -> None:
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    log = [
        *issues(15, entries=["E1"]),
        *issues(15, entries=["E2"]),
        issue(3, id="P", entries=["E2"], exclusion={"rationale": "r", "tag": "pending"}),
    ]
    out = judge(plan, run_all(plan), log)["entries"]
    assert out["E1"]["depends_on_tag"] == ["P"]  # 31 in aggregate if the TAG disagrees
    assert out["E2"]["depends_on_tag"] == ["P"]  # and 16 for E2 itself
    assert {d["scope"] for d in out["E2"]["tag_sensitivity"]} == {"entry", "aggregate"}


def test_depends_on_tag_is_empty_unless_successful() -> None:
    plan = make_plan()
    log = [*issues(16), issue(3, id="P", exclusion={"rationale": "r", "tag": "pending"})]
    assert judge(plan, run_all(plan), log)["entries"]["E1"]["depends_on_tag"] == []


# ------------------------------------------------------------ severity disputes: 14.2, 14.4, 14.5
# Clause 14 applies "during SIT, UTS, SCT, and MT" (14.1), not DMCT: these run under the SIT profile for
# MOC/FOC, whose phase and aggregate limits are those of Table 20.1. DMCT: test_verdict_dmct_review.py.

P14 = "sit-moc-foc"


def test_dispute_that_could_push_over_the_limit_awaits_the_tag_14_5() -> None:
    # 15 sev 3 within the limit; the participant argues a sev 4 is really sev 3 -> 16 would exceed.
    plan = make_plan(profile=P14)
    log = [*issues(15), issue(4, id="D", dispute={"severity": 3, "state": "pending"})]
    out = judge(plan, run_all(plan), log, P14)["entries"]["E1"]
    assert out["status"] == "awaiting_tag"
    assert out["reasons"][0].startswith("14.5: a pending severity dispute could change the outcome (D:")
    assert out["disputes"] == [{"id": "D", "severity": 4, "disputed_severity": 3, "could_change": True}]
    # 14.4: until the TAG decides the DCC's severity is the one counted
    assert out["extant"]["4"] == 1 and out["extant"]["3"] == 15


def test_dispute_that_could_bring_under_the_limit_awaits_the_tag() -> None:
    plan = make_plan(profile=P14)
    log = [*issues(15), issue(3, id="D", dispute={"severity": 4, "state": "pending"})]
    out = judge(plan, run_all(plan), log, P14)["entries"]["E1"]
    assert out["status"] == "awaiting_tag"
    assert "phase_threshold" in rules_of(out)  # the exceeded threshold is still reported


def test_dispute_that_cannot_change_the_outcome_is_ignored() -> None:
    plan = make_plan(profile=P14)
    # 17 sev 3: moving one to sev 4 still leaves 16 > 15 -> unsuccessful whatever the TAG decides
    log = [*issues(16), issue(3, id="D", dispute={"severity": 4, "state": "pending"})]
    out = judge(plan, run_all(plan), log, P14)["entries"]["E1"]
    assert out["status"] == "unsuccessful"
    assert out["disputes"][0]["could_change"] is False
    # a sev 5 argued down to sev 4 with few issues: successful either way
    calm_log = [issue(5, dispute={"severity": 4, "state": "pending"})]
    calm = judge(plan, run_all(plan), calm_log, P14)["entries"]["E1"]
    assert calm["status"] == "successful"


def test_two_disputes_needed_together_are_found() -> None:
    # 17 sev 3 and two disputes 3->4: only both together bring it to 15.
    plan = make_plan(profile=P14)
    log = [*issues(15), *(issue(3, id=i, dispute={"severity": 4, "state": "pending"}) for i in ("D1", "D2"))]
    out = judge(plan, run_all(plan), log, P14)["entries"]["E1"]
    assert out["status"] == "awaiting_tag"
    assert [d["could_change"] for d in out["disputes"]] == [True, True]


def test_resolved_dispute_is_ignored() -> None:
    plan = make_plan(profile=P14)
    log = [*issues(15), issue(4, dispute={"severity": 3, "state": "resolved"})]
    assert judge(plan, run_all(plan), log, P14)["entries"]["E1"]["status"] == "successful"


def test_dispute_does_not_hold_an_outcome_fixed_by_the_mtad() -> None:
    plan = make_plan({"id": "E1", "mt_under_mtad": True, "mt_phase_complete": False})
    log = [*issues(15), issue(4, dispute={"severity": 3, "state": "pending"})]
    out = judge(plan, [rec("E1", "srvt", t) for t in SRVT], log)["entries"]["E1"]
    assert out["status"] == "unsuccessful"


def test_dispute_in_aggregate_holds_every_entry() -> None:
    plan = make_plan({"id": "E1"}, {"id": "E2"}, profile=P14)
    log = [
        *issues(15, entries=["E1"]),
        *issues(15, entries=["E2"]),
        issue(4, entries=[], id="D", dispute={"severity": 3, "state": "pending"}),
    ]
    out = judge(plan, run_all(plan), log, P14)["entries"]
    assert out["E1"]["status"] == out["E2"]["status"] == "awaiting_tag"


def test_in_progress_wins_over_awaiting_tag() -> None:
    plan = make_plan(profile=P14)
    log = [*issues(15), issue(4, dispute={"severity": 3, "state": "pending"})]
    out = judge(plan, run_all(plan)[:-1], log, P14)["entries"]["E1"]
    assert out["status"] == "in_progress"
    assert rules_of(out) == ["not_executed", "dispute"]


# ----------------------------------------------------------- 20.34 (h) pack minimum pass rate


def _srvt_with_failures(plan_min: float, failures: int) -> dict[str, object]:
    plan = make_plan(srvt_min=plan_min)
    results = run_all(plan)
    results += [rec("E1", "srvt", SRVT[i], "failed", 10) for i in range(failures)]
    log = [issue(5, tests=[{"entry": "E1", "pack": "srvt", "test": SRVT[i]}]) for i in range(failures)]
    out: dict[str, object] = judge(plan, results, log)["entries"]["E1"]
    return out


def test_pack_min_pass_rate_at_the_boundary_is_met() -> None:
    out = _srvt_with_failures(0.9, 1)  # 9/10 = 90%
    assert out["status"] == "successful"
    assert out["packs"]["srvt"]["min_pass_rate_met"] is True  # type: ignore[index]


def test_pack_min_pass_rate_below_is_unsuccessful_20_34_h() -> None:
    out = _srvt_with_failures(0.9, 2)  # 8/10 = 80%
    assert out["status"] == "unsuccessful"
    assert out["reasons"][0] == (  # type: ignore[index]
        "test pack criterion (20.16): pack srvt pass rate 80.0% (8/10) is below the 90.0% the pack itself "
        "prescribes (its own criterion, reported under 20.34 (h))"
    )
    assert out["packs"]["srvt"]["min_pass_rate_met"] is False  # type: ignore[index]


def test_failed_tests_alone_do_not_decide_a_dmct_verdict() -> None:
    # 20.28: the Testing Issues raised decide, not the failures themselves.
    plan = make_plan()
    results = [*run_all(plan), rec("E1", "srvt", "s-1", "failed", 5)]
    out = judge(plan, results, [issue(4, tests=[{"entry": "E1", "pack": "srvt", "test": "s-1"}])])
    assert out["entries"]["E1"]["status"] == "successful"


# ------------------------------------------------------------------- 20.34 (d) evidence gaps


def test_failed_test_without_linked_issue_is_an_evidence_gap() -> None:
    plan = make_plan()
    results = [
        *run_all(plan),
        rec("E1", "srvt", "s-1", "failed", 5),
        rec("E1", "srvt", "s-2", "failed", 5),
        rec("E1", "srvt", "s-3", "failed", 5, issues=["I-RES"]),
    ]
    log = [issue(4, tests=[{"entry": "E1", "pack": "srvt", "test": "s-2"}])]
    out = judge(plan, results, log)["entries"]["E1"]
    assert [g["test"] for g in out["evidence_gaps"]] == ["s-1"]


def test_issues_field_on_a_result_must_be_a_list() -> None:
    plan = make_plan()
    with pytest.raises(DmctInputError, match="issues: must be a list of issue ids"):
        ResultIndex(plan).add(rec("E1", "srvt", "s-1", "failed", issues="I-1"), "r.jsonl", 3)


# ---------------------------------------------------------------------- the other exit profiles


def test_sit_ioc_thresholds_are_per_service_provider_table_13_2() -> None:
    # 13.22: "the Testing Issue Thresholds per DCC Service Provider ... are set out in Table 13.2"
    plan = make_plan({"id": "DMC-1"}, {"id": "DMC-2"})
    ok = [
        *issues(15, entries=["DMC-1"], service_provider="CSP-N"),
        *issues(15, entries=["DMC-2"], service_provider="S1SP"),
    ]
    out = judge(plan, run_all(plan), ok, "sit-ioc")
    assert {e["status"] for e in out["entries"].values()} == {"successful"}
    assert out["aggregate"]["by_service_provider"]["CSP-N"]["3"] == 15
    over = judge(plan, run_all(plan), [*ok, issue(3, entries=[], service_provider="CSP-N")], "sit-ioc")
    assert {e["status"] for e in over["entries"].values()} == {"unsuccessful"}
    assert over["entries"]["DMC-2"]["reasons"][0] == (
        "13.22, Table 13.2 (SIT IOC): 16 extant severity 3 issue(s) with DCC Service Provider CSP-N exceed "
        "the limit of 15"
    )


def test_sit_ioc_counts_all_packs_and_a_90_percent_pass_rate_per_dmc() -> None:
    # Table 13.1 1A: "100% of planned tests ... executed, with a 90% pass rate for any planned tests on the
    # same DMC"; no 20.14 required-pack rule outside DMCT.
    plan = make_plan({"id": "DMC-1", "mt_under_mtad": True}, extra_packs={"sit": ["f-1", "f-2"]})
    results = [
        rec("DMC-1", p, t)
        for p, ts in (("dormant-mt", MT), ("srvt", SRVT), ("sit", ("f-1", "f-2")))
        for t in ts
    ]
    out = judge(plan, results, [], "sit-ioc")["entries"]["DMC-1"]
    assert (out["status"], out["planned"]) == ("successful", 14)
    twelve_of_14 = [
        *results,
        rec("DMC-1", "sit", "f-1", "failed", 5),
        rec("DMC-1", "sit", "f-2", "failed", 5),
    ]
    low = judge(plan, twelve_of_14, [], "sit-ioc")["entries"]["DMC-1"]
    assert low["status"] == "unsuccessful"  # 12/14 = 85.7% < 90%
    assert low["reasons"][0].startswith("12.9 (b), Table 13.1 1A: pass rate 85.7%")


@pytest.mark.parametrize(("failures", "status"), [(1, "successful"), (2, "unsuccessful")])
def test_sit_ioc_90_percent_boundary(failures: int, status: str) -> None:
    # Table 13.1 1A: "with a 90% pass rate" — 9/10 is at the rate, 8/10 below it.
    plan = make_plan({"id": "DMC-1", "tests": {"dormant-mt": []}})
    results = [rec("DMC-1", "srvt", t) for t in SRVT]
    results += [rec("DMC-1", "srvt", t, "failed", 5) for t in SRVT[:failures]]
    out = judge(plan, results, [], "sit-ioc")["entries"]["DMC-1"]
    assert (out["planned"], out["status"]) == (10, status)


def test_sit_pending_exclusion_still_counts_13_25() -> None:
    # 13.25: "The Testing Issue shall be excluded ... only if the TAG agrees."
    plan = make_plan({"id": "DMC-1"})
    log = [issue(1, entries=["DMC-1"], exclusion={"rationale": "r", "tag": "pending"}, service_provider="A")]
    out = judge(plan, run_all(plan), log, "sit-ioc")["entries"]["DMC-1"]
    assert out["status"] == "unsuccessful"
    agreed = [
        issue(1, entries=["DMC-1"], exclusion={"rationale": "r", "tag": "agreed"}, service_provider="A")
    ]
    assert judge(plan, run_all(plan), agreed, "sit-ioc")["entries"]["DMC-1"]["status"] == "successful"


def test_sit_ioc_unassigned_service_provider_is_grouped_and_noted() -> None:
    plan = make_plan({"id": "DMC-1"})
    out = judge(plan, run_all(plan), [issue(3, entries=["DMC-1"])], "sit-ioc")
    assert out["aggregate"]["by_service_provider"] == {
        "(unassigned)": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0}
    }
    assert out["notes"]


def test_sit_moc_foc_phase_and_aggregate_table_13_3() -> None:
    # 13.23 (a) per SIT Test Phase 0/0/15/30/60; (b) aggregate 0/0/30/60/120.
    plan = make_plan({"id": "PHASE-1"}, {"id": "PHASE-2"})
    log = [*issues(15, entries=["PHASE-1"]), *issues(16, entries=["PHASE-2"])]
    out = judge(plan, run_all(plan), log, "sit-moc-foc")["entries"]
    assert rules_of(out["PHASE-1"]) == ["aggregate_threshold"]
    assert rules_of(out["PHASE-2"]) == ["phase_threshold", "aggregate_threshold"]
    assert out["PHASE-2"]["reasons"][0].startswith(
        "13.23 (a), Table 13.3: 16 extant severity 3 issue(s) for this SIT Test Phase"
    )


def test_uts_interface_limits_are_table_13_2_uts_column() -> None:
    plan = make_plan()
    five = judge(plan, run_all(plan), issues(5, service_provider="A"), "uts-interface")["entries"]["E1"]
    six = judge(plan, run_all(plan), issues(6, service_provider="A"), "uts-interface")["entries"]["E1"]
    assert (five["status"], six["status"]) == ("successful", "unsuccessful")


@pytest.mark.parametrize("name", ["regression", "end-of-cycle"])
def test_regression_pass_rate_excludes_failures_linked_to_open_issues(name: str) -> None:
    # Table 13.1 2B: "100% pass rate excluding known defects".
    plan = make_plan()
    failing = [*run_all(plan), rec("E1", "srvt", "s-1", "failed", 5, issues=["KNOWN"])]
    known = [issue(4, id="KNOWN")]
    ok = judge(plan, failing, known, name)["entries"]["E1"]
    assert ok["status"] == "successful"
    assert (ok["linked_failures"], ok["pass_rate_excluding_linked"]) == (1, 1.0)
    # the defect is closed but the test still fails: it counts again
    fixed = judge(plan, failing, [issue(4, id="KNOWN", status="closed")], name)["entries"]["E1"]
    assert fixed["status"] == "unsuccessful"
    unlinked = [*run_all(plan), rec("E1", "srvt", "s-1", "failed", 5)]
    assert judge(plan, unlinked, known, name)["entries"]["E1"]["status"] == "unsuccessful"
    # 100% executed
    assert judge(plan, run_all(plan)[:-1], [], name)["entries"]["E1"]["status"] == "in_progress"


def test_regression_has_no_thresholds_or_dmct_rules() -> None:
    plan = make_plan({"id": "E1", "abandoned": True})
    out = judge(plan, run_all(plan), [issue(1, route=None)], "regression")["entries"]["E1"]
    assert out["status"] == "successful"


def test_pit_sct_use_table_13_2_per_service_provider() -> None:
    plan = make_plan()
    for name in ("pit", "sct"):
        assert (
            judge(plan, run_all(plan), issues(15, service_provider="A"), name)["entries"]["E1"]["status"]
            == "successful"
        )
        assert (
            judge(plan, run_all(plan), issues(16, service_provider="A"), name)["entries"]["E1"]["status"]
            == "unsuccessful"
        )


def test_issue_listed_twice_on_one_entry_counts_once() -> None:
    plan = make_plan()
    log = [issue(3, entries=["E1", "E1"]) for _ in range(15)]
    assert judge(plan, run_all(plan), log)["entries"]["E1"]["extant"]["3"] == 15


def test_verdict_accepts_a_prebuilt_index() -> None:
    plan = make_plan()
    index = ResultIndex(plan).extend(run_all(plan))
    assert compute_verdict(plan, index, [], profile()).to_json() == judge(plan, run_all(plan), [])
    assert index.lines == 12
