"""The results fold: :meth:`ResultIndex.add_line` (the fast path for journals) must accept, reject and
order exactly like the reference parser :func:`harness.model.interchange.parse_result_line` (20.22 re-runs:
the latest ``at`` counts; ties never depend on line order)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import DmctInputError
from harness.model.interchange import Outcome, parse_result_line
from harness.rules.verdict import ResultIndex

from .helpers import make_plan


def both(lines: list[str]) -> tuple[ResultIndex | str, ResultIndex | str]:
    """Fold ``lines`` with the fast path and with the reference parser; an error becomes its text."""
    plan = make_plan({"id": "E1"}, {"id": "E2"})
    fast: ResultIndex | str = ResultIndex(plan, keep_records=True)
    slow: ResultIndex | str = ResultIndex(plan, keep_records=True)
    try:
        for n, text in enumerate(lines, 1):
            fast.add_line(text, "r.jsonl", n)  # type: ignore[union-attr]
    except DmctInputError as exc:
        fast = str(exc)
    try:
        for n, text in enumerate(lines, 1):
            slow.add(parse_result_line(text, "r.jsonl", n), "r.jsonl", n)  # type: ignore[union-attr]
    except DmctInputError as exc:
        slow = str(exc)
    return fast, slow


def same(lines: list[str]) -> ResultIndex | str:
    fast, slow = both(lines)
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow
        return fast
    assert fast.latest() == slow.latest()
    assert fast.links == slow.links
    assert fast.lines == slow.lines
    return fast


def j(**fields: Any) -> str:
    base: dict[str, Any] = {
        "entry": "E1",
        "pack": "srvt",
        "test": "s-1",
        "outcome": "passed",
        "at": "2026-03-02T09:00:00Z",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


@pytest.mark.parametrize(
    "line",
    [
        j(),
        j(at="2026-03-02T10:00:00+01:00"),  # an offset: converted to UTC
        j(at="2026-03-02T09:00:00.123456+00:00"),
        j(run="r1", duration=2.5, issues=["I-1", 7]),
        j(at="2026-03-02T09:00:00"),  # no time zone
        j(at="yesterday"),
        j(at=20260302),
        j(at=...),
        j(outcome="pass"),
        j(outcome=None),
        j(entry=""),
        j(entry=1),
        j(pack=...),
        j(entry="E9"),  # not in the plan
        j(issues="I-1"),
        j(issues=[True]),
        '["not", "an", "object"]',
        '{"entry": "E1", "pack": "srvt", ',
        "null",
    ],
)
def test_fast_path_matches_the_reference_parser(line: str) -> None:
    same([line])


def test_offset_is_normalised_to_utc() -> None:
    index = same([j(at="2026-03-02T10:00:00+01:00", run="x")])
    assert isinstance(index, ResultIndex)
    (rec,) = index.latest().values()
    assert rec.at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert rec.at.tzinfo is UTC  # stored in UTC, as interchange.parse_at does
    assert rec.extra == {"run": "x"}


def test_same_instant_in_two_zones_ties_by_outcome_not_line_order() -> None:
    a = j(outcome="failed", at="2026-03-02T09:00:00Z")
    b = j(outcome="passed", at="2026-03-02T10:00:00+01:00")
    for lines in ([a, b], [b, a]):
        index = same(lines)
        assert isinstance(index, ResultIndex)
        assert next(iter(index.latest().values())).outcome is Outcome.PASSED


def test_records_are_not_kept_unless_asked() -> None:
    index = ResultIndex(make_plan())
    index.add_line(j(run="x"), "r", 1)
    (rec,) = index.latest().values()
    assert rec.extra == {}


lines_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "entry": st.sampled_from(["E1", "E2"]),
            "pack": st.sampled_from(["srvt", "dormant-mt"]),
            "test": st.sampled_from(["s-1", "s-2"]),
            "outcome": st.sampled_from([o.value for o in Outcome]),
            "at": st.sampled_from(
                [
                    "2026-03-02T09:00:00Z",
                    "2026-03-02T10:00:00+01:00",
                    "2026-03-02T09:30:00.5Z",
                    "2026-03-02T08:00:00-01:00",
                ]
            ),
        },
        optional={"issues": st.lists(st.sampled_from(["I1", "I2"]), max_size=2)},
    ).map(json.dumps),
    max_size=15,
)


@settings(max_examples=100, deadline=None)
@given(lines_strategy)
def test_fast_path_property(lines: list[str]) -> None:
    same(lines)
