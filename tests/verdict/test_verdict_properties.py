"""Properties the verdict must keep whatever the data (hypothesis).

- Opening one more Testing Issue never turns *unsuccessful* into *successful*: issues only count against
  an entry (20.28), and a new issue can only add to counts, routes to process (20.32 (b)) and disputes.
- Closing one never turns *successful* into *unsuccessful* (its count and its dispute disappear).
- The verdict does not depend on the order of results (the latest ``at`` counts, 20.22) or of issues.

Small limits (a custom profile: data, not code) make thresholds reachable with a handful of issues; the
real ``dmct`` and ``sit-ioc`` profiles are exercised as well. Regression/end-of-cycle are left out on
purpose: there, closing a known defect whose test still fails *should* count the failure again (Table
13.1 2B "excluding known defects").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.model.interchange import Issue, Outcome, Plan, ResultRecord
from harness.rules.profiles import Profile, Threshold, load_profile
from harness.rules.verdict import compute_verdict

from .helpers import T0

ENTRIES = ("E1", "E2", "E3")
TESTS = {"dormant-mt": ("m1", "m2"), "srvt": ("s1", "s2", "s3")}


def _small(base: str) -> Profile:
    """``base`` with thresholds small enough for a few generated issues to cross them."""
    prof = load_profile(base)
    small = {
        "entry": Threshold(limits={1: 0, 2: 0, 3: 1, 4: 2, 5: 3}, clause="test (a)"),
        "phase": Threshold(limits={1: 0, 2: 0, 3: 1, 4: 2, 5: 3}, clause="test (a)"),
        "aggregate": Threshold(limits={1: 0, 2: 0, 3: 2, 4: 3, 5: 4}, clause="test (b)"),
        "service_provider": Threshold(limits={1: 0, 2: 0, 3: 1, 4: 2, 5: 3}, clause="test sp"),
    }
    return prof.model_copy(update={"thresholds": {s: small[s] for s in prof.thresholds}})


PROFILES = [
    _small("dmct"),
    load_profile("dmct"),
    _small("sit-ioc"),
    _small("sit-moc-foc"),
    _small("uts-interface"),
]

plans = st.builds(
    lambda rows, min_rate: Plan.model_validate(
        {
            "profile": "dmct",
            "packs": {
                "dormant-mt": {"tests": list(TESTS["dormant-mt"])},
                "srvt": {"tests": list(TESTS["srvt"]), "min_pass_rate": min_rate},
            },
            "entries": rows,
        }
    ),
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.sampled_from(ENTRIES),
                "dmc": st.just("D"),
                "installation": st.just("dormant"),
                "mt_under_mtad": st.booleans(),
                "mt_phase_complete": st.sampled_from([True, True, False, None]),
                "abandoned": st.sampled_from([False, False, False, True]),
            }
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda r: r["id"],
    ),
    st.sampled_from([None, 0.5]),
)


@st.composite
def results_for(draw: st.DrawFn, plan: Plan) -> list[ResultRecord]:
    """Usually one complete execution of every planned test (so thresholds decide), plus random lines."""
    ids = [e.id for e in plan.entries]
    pack_tests = [(p, t) for p, ts in TESTS.items() for t in ts] + [("srvt", "unplanned")]
    complete: list[ResultRecord] = []
    if draw(st.integers(0, 3)):
        complete = [
            ResultRecord(e, p, t, draw(st.sampled_from([Outcome.PASSED] * 4 + [Outcome.FAILED])), T0, {})
            for e in ids
            for p, t in pack_tests
        ]
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ids),
                st.sampled_from(pack_tests),
                st.sampled_from(list(Outcome)),
                st.integers(0, 3),
                st.lists(st.sampled_from(["I0", "I1", "I9"]), max_size=1),
            ),
            max_size=12,
        )
    )
    return complete + [
        ResultRecord(e, p, t, o, T0 + timedelta(hours=h), {"issues": links} if links else {})
        for e, (p, t), o, h, links in rows
    ]


def _issue_data(draw: Callable[..., Any], index: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f"I{index}",
        "severity": draw(st.integers(1, 5)),
        "status": draw(st.sampled_from(["open", "open", "closed"])),
        "entries": draw(st.lists(st.sampled_from([*ENTRIES, "OTHER"]), max_size=2)),
        "route": draw(st.sampled_from(["a", "b", "c", "d", "a", "a", "a", None])),
        "service_provider": draw(st.sampled_from(["SP-A", "SP-B", None])),
    }
    if draw(st.booleans()):
        data["exclusion"] = {
            "rationale": "r",
            "tag": draw(st.sampled_from(["pending", "agreed", "disagreed"])),
        }
    if draw(st.booleans()):
        data["dispute"] = {
            "severity": draw(st.integers(1, 5)),
            "state": draw(st.sampled_from(["pending", "resolved"])),
        }
    if draw(st.booleans()):
        data["tests"] = [
            {
                "entry": draw(st.sampled_from(ENTRIES)),
                "pack": "srvt",
                "test": draw(st.sampled_from(TESTS["srvt"])),
            }
        ]
    return data


@st.composite
def issue_logs(draw: st.DrawFn) -> list[Issue]:
    count = draw(st.integers(0, 12))
    return [Issue.model_validate(_issue_data(draw, i)) for i in range(count)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Plan, list[ResultRecord], list[Issue], Profile]:
    plan = draw(plans)
    return plan, draw(results_for(plan)), draw(issue_logs()), draw(st.sampled_from(PROFILES))


def statuses(plan: Plan, results: list[ResultRecord], log: list[Issue], prof: Profile) -> dict[str, str]:
    verdict = compute_verdict(plan, results, log, prof)
    return {eid: ev.status for eid, ev in verdict.entries.items()}


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios(), st.data())
def test_opening_an_issue_never_turns_unsuccessful_into_successful(
    scenario: tuple[Plan, list[ResultRecord], list[Issue], Profile], data: st.DataObject
) -> None:
    plan, results, log, prof = scenario
    extra = _issue_data(data.draw, 999)
    extra["status"] = "open"
    before = statuses(plan, results, log, prof)
    after = statuses(plan, results, [*log, Issue.model_validate(extra)], prof)
    for eid, status in before.items():
        if status == "unsuccessful":
            assert after[eid] != "successful", (eid, extra)


@SETTINGS
@given(scenarios(), st.data())
def test_closing_an_issue_never_turns_successful_into_unsuccessful(
    scenario: tuple[Plan, list[ResultRecord], list[Issue], Profile], data: st.DataObject
) -> None:
    plan, results, log, prof = scenario
    open_ones = [i for i, issue in enumerate(log) if issue.status == "open"]
    if not open_ones:
        return
    which = data.draw(st.sampled_from(open_ones))
    closed = [*log]
    closed[which] = log[which].model_copy(update={"status": "closed"})
    before = statuses(plan, results, log, prof)
    after = statuses(plan, results, closed, prof)
    for eid, status in before.items():
        if status == "successful":
            assert after[eid] != "unsuccessful", (eid, log[which])


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_verdict_does_not_depend_on_order(
    scenario: tuple[Plan, list[ResultRecord], list[Issue], Profile], rnd: random.Random
) -> None:
    plan, results, log, prof = scenario
    expected = compute_verdict(plan, results, log, prof).to_json()
    shuffled_results, shuffled_log = list(results), list(log)
    rnd.shuffle(shuffled_results)
    rnd.shuffle(shuffled_log)
    assert compute_verdict(plan, shuffled_results, shuffled_log, prof).to_json() == expected
