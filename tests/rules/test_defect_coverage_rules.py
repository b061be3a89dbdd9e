"""harness.rules.defects: the rules of defect detection coverage (issue 7, item 5), without running a lab."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from harness.model.interchange import Outcome
from harness.rules.defects import (
    CLEAN,
    KillerPlan,
    Matrix,
    applicable_defects,
    choose_killers,
    coverage,
    defect_detection,
    index_by_defect,
    split_defect,
    with_defect,
)

P, F, E, B = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.BLOCKED


def test_a_test_is_detected_only_when_it_passes_clean_and_fails_with_a_defect() -> None:
    m = Matrix(
        planned=["p::a", "p::b", "p::c", "p::d", "p::e"],
        sessions={
            CLEAN: {"p::a": P, "p::b": P, "p::c": F, "p::d": P},
            "esme:x": {"p::a": F, "p::b": E, "p::c": F, "p::d": B},
            "gsme:y": {"p::a": F, "p::b": P},
        },
    )
    cov = coverage(m, not_applicable=["p::e"])
    assert cov.detected == {"p::a": ("esme:x", "gsme:y")}
    # an error or a blocked test is a crash or an unreachable device, not a caught defect
    assert cov.undetected == ("p::b", "p::d")
    assert cov.not_clean == {"p::c": "failed"}  # a test failing clean shows nothing
    assert cov.not_applicable == ("p::e",)
    assert cov.judged == 4 and cov.ratio == pytest.approx(0.25)


def test_a_test_not_run_clean_is_reported_not_counted() -> None:
    cov = coverage(Matrix(planned=["p::a"], sessions={"esme:x": {"p::a": F}}))
    assert cov.not_clean == {"p::a": "not run"} and cov.ratio == 0.0


def test_a_test_never_tried_is_undetected() -> None:
    cov = coverage(Matrix(planned=["p::a", "p::b"], sessions={CLEAN: {"p::a": P}, "esme:x": {"p::a": F}}))
    assert cov.undetected == ("p::b",) and not cov.not_clean and cov.ratio == 0.5


def test_full_coverage_is_one() -> None:
    m = Matrix(planned=["p::a"], sessions={CLEAN: {"p::a": P}, "ch:z": {"p::a": F}})
    assert coverage(m).ratio == 1.0


def test_killers_cover_every_detected_test_with_few_defects() -> None:
    detected = {"a": ["d1", "d2"], "b": ["d2"], "c": ["d2", "d3"], "d": ["d3"], "e": ["d1"]}
    plan = choose_killers(detected)
    assert sorted(t for ts in plan.values() for t in ts) == sorted(detected)
    for defect, tests in plan.items():
        assert all(defect in detected[t] for t in tests)
    assert list(plan) == ["d1", "d2", "d3"] and plan["d2"] == ["a", "b", "c"]


def test_killers_are_stable_on_ties() -> None:
    assert choose_killers({"a": ["z", "y"]}) == {"y": ["a"]}


def lab() -> dict[str, Any]:
    return {
        "rigs": [
            {"id": "r1", "devices": [{"role": "esme", "virtual": {"clock_rate": 60}}, {"role": "gsme"}]},
            {"id": "r2", "devices": [{"role": "gsme", "virtual": {"defects": ["gsme_never_wakes"]}}]},
        ]
    }


def test_with_defect_switches_it_on_for_every_device_of_the_role_and_keeps_the_clock_rate() -> None:
    data = lab()
    out = with_defect(data, "gsme:clock_drifts")
    gsmes = [d for r in out["rigs"] for d in r["devices"] if d["role"] == "gsme"]
    assert [g["virtual"]["defects"] for g in gsmes] == [
        ["clock_drifts"],
        ["gsme_never_wakes", "clock_drifts"],
    ]
    assert all(g["virtual"]["clock_rate"] == 60 for g in gsmes)
    assert "defects" not in data["rigs"][0]["devices"][1].get("virtual", {}), "the input is not modified"


def test_with_defect_names_a_role_the_lab_lacks() -> None:
    with pytest.raises(ValueError, match="no ihd device"):
        with_defect(lab(), "ihd:display_frozen")


@pytest.mark.parametrize("bad", ["clock_drifts", ":x", "esme:"])
def test_defect_keys_are_role_colon_name(bad: str) -> None:
    with pytest.raises(ValueError, match="role:name"):
        split_defect(bad)


def test_applicable_defects_follow_the_dmc_roles() -> None:
    roles = {"clock_drifts": ["ch", "esme", "ihd"], "gsme_never_wakes": ["gsme"]}
    assert applicable_defects(roles, ["ch", "esme"]) == ["ch:clock_drifts", "esme:clock_drifts"]


def test_killer_plan_validates_keys_and_reports_missing_tests() -> None:
    plan = KillerPlan(lab="l", entry="e", defects={"esme:x": ["p::a"], "gsme:y": ["p::b", "p::a"]})
    assert plan.tests() == ["p::a", "p::b"]
    assert plan.missing(["p::a", "p::c"]) == ["p::c"]
    with pytest.raises(ValidationError, match="role:name"):
        KillerPlan(lab="l", entry="e", defects={"x": ["p::a"]})
    with pytest.raises(ValidationError, match="pack-id::test-id"):
        KillerPlan(lab="l", entry="e", defects={"esme:x": ["a"]})


def test_matrix_round_trips_through_json() -> None:
    m = Matrix(planned=["p::a"], sessions={CLEAN: {"p::a": P}, "esme:x": {"p::a": F}})
    assert Matrix.from_json(m.to_json()) == m


def test_the_defect_detection_rate_counts_defects_that_fail_some_test() -> None:
    """Issue 14: per defect, not per test. A test that failed clean, an error or a block is no catch;
    an applicable defect without a session counts against the rate (untried)."""
    m = Matrix(
        planned=["p::a", "p::b", "p::c"],
        sessions={
            CLEAN: {"p::a": P, "p::b": P, "p::c": F},
            "esme:x": {"p::a": F, "p::b": F},
            "esme:y": {"p::a": P, "p::b": E, "p::c": F},  # only a crash and a test failing clean
            "gsme:z": {"p::a": B},
        },
    )
    det = defect_detection(m, ["esme:x", "esme:y", "gsme:z", "ch:w"])
    assert det.detected == {"esme:x": ("p::a", "p::b")}
    assert det.undetected == ("esme:y", "gsme:z")
    assert det.untried == ("ch:w",)
    assert det.rate == pytest.approx(0.25)
    assert det.to_json()["detected_by"] == {"esme:x": ["p::a", "p::b"]}
    # a test the DMC cannot run does not count as a catch either
    assert defect_detection(m, ["esme:x"], not_applicable=["p::a", "p::b"]).detected == {}
    assert defect_detection(m, []).rate == 1.0


def test_a_defect_indexed_plan_lists_every_detected_defect() -> None:
    """Every test under some defect (set cover) and every detected defect with at least one test."""
    detected_tests = {"a": ["esme:x", "gsme:y"], "b": ["esme:x"]}
    plan = index_by_defect(choose_killers(detected_tests), {"esme:x": ["a", "b"], "gsme:y": ["a"]})
    assert plan == {"esme:x": ["a", "b"], "gsme:y": ["a"]}
    assert index_by_defect({}, {"ch:z": ["q", "p"], "ch:none": []}) == {"ch:z": ["p"]}


def test_a_killer_plan_names_the_defects_it_leaves_out() -> None:
    plan = KillerPlan(lab="l", entry="e", defects={"esme:x": ["p::a"]}, undetected_defects=["gsme:y"])
    assert plan.unlisted_defects(["esme:x", "gsme:y", "ch:z"]) == ["ch:z"]
    with pytest.raises(ValidationError):
        KillerPlan(lab="l", entry="e", defects={}, undetected_defects=["nocolon"])
