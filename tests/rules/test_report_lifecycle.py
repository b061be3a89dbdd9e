"""When a draft DMCT Testing Report becomes final (20.36-20.40): the pure rules, clause by clause."""

from __future__ import annotations

from datetime import date

import pytest

from harness.errors import DmctInputError
from harness.model.entries import EntryRecord
from harness.rules import report_lifecycle as rl

TODAY = date(2027, 6, 1)  # every event below is in the past
ISSUED = date(2026, 11, 30)  # Monday: 10 Working Days later is Monday 14 December 2026


def completed(status: str = "successful") -> EntryRecord:
    record = EntryRecord(id="E1", dmc="D", installation="dormant", status="completed")
    return rl.issue_draft(record, issued=ISSUED, digest="abc", status=status)


def test_no_draft_before_testing_has_completed_20_31() -> None:
    # 20.31: "the DCC shall not produce a draft DMCT Testing Report ... until testing has completed"
    with pytest.raises(DmctInputError, match=r"testing has not completed \(in_progress\)"):
        rl.issue_draft(completed(), issued=ISSUED, digest="x", status="in_progress")
    testing = EntryRecord(id="E1", dmc="D", installation="dormant", status="testing")
    with pytest.raises(DmctInputError, match="not completed"):
        rl.issue_draft(testing, issued=ISSUED, digest="x", status="successful")


def test_final_once_the_referral_window_lapses_20_39_a() -> None:
    # 20.39 (a): "... or no referral has been made within 10 Working Days (pursuant to Clause 20.37)"
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    r = rl.review(r, outcome="no_flip", on=ISSUED, today=TODAY)
    assert rl.report_state(r, date(2026, 12, 14)).state == "draft"
    state = rl.report_state(r, date(2026, 12, 15))
    assert (state.state, state.status) == ("final", "successful")


def test_final_earlier_when_every_supplier_confirms_no_referral() -> None:
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    r = rl.receive(r, supplier="S2", on=ISSUED, today=TODAY)
    r = rl.review(r, outcome="no_flip", on=ISSUED, today=TODAY)
    r = rl.no_referral(r, supplier="S1", on=date(2026, 12, 1), today=TODAY)
    assert rl.report_state(r, date(2026, 12, 2)).state == "draft"  # S2 has not confirmed
    r = rl.no_referral(r, supplier="S2", on=date(2026, 12, 2), today=TODAY)
    assert rl.report_state(r, date(2026, 12, 2)).final


def test_not_final_without_the_tags_review_20_39_b_c() -> None:
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    state = rl.report_state(r, TODAY)
    assert state.state == "draft" and state.reasons[0].startswith("20.39 (b), (c)")


def test_a_late_supplier_referral_is_refused_20_37() -> None:
    # 20.37: "(within 10 Working Days of the relevant draft DMCT Testing Report being provided)"
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    with pytest.raises(
        DmctInputError, match=r"outside the 10 Working Days from 2026-11-30 \(last day 2026-12-14"
    ):
        rl.refer(r, by="S1", matter="severity of TI-7 (20.37 (c))", on=date(2026, 12, 15), today=TODAY)
    r = rl.refer(r, by="S1", matter="severity of TI-7 (20.37 (c))", on=date(2026, 12, 14), today=TODAY)
    assert rl.report_state(r, TODAY).state == "awaiting_sos"


def test_the_dcc_refers_only_after_a_flipping_tag_disagreement_20_38_d() -> None:
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    with pytest.raises(DmctInputError, match=r"20.38 \(d\)"):
        rl.refer(r, by="dcc", matter="TAG view", on=ISSUED, today=TODAY)
    r = rl.review(r, outcome="referred", on=date(2026, 12, 1), today=TODAY)
    assert rl.report_state(r, TODAY).state == "awaiting_sos"


@pytest.mark.parametrize(
    ("determination", "state", "status"),
    [
        ("agrees", "final", "successful"),  # 20.40 (a)
        ("successful", "final", "successful"),  # 20.40 (b)
        ("unsuccessful", "final", "unsuccessful"),  # 20.40 (c)(i)
        ("further_tests", "testing_continues", None),  # 20.40 (c)(ii)
    ],
)
def test_the_secretary_of_states_determination_20_40(
    determination: str, state: str, status: str | None
) -> None:
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    r = rl.refer(r, by="S1", matter="exclusion of TI-3 (20.37 (b))", on=date(2026, 12, 3), today=TODAY)
    r = rl.determine(r, determination=determination, on=date(2027, 1, 20), today=TODAY)
    got = rl.report_state(r, TODAY)
    assert (got.state, got.status) == (state, status)
    assert r.status == ("testing" if determination == "further_tests" else "completed")


def test_nothing_is_recorded_on_a_final_draft() -> None:
    r = rl.receive(completed(), supplier="S1", on=ISSUED, today=TODAY)
    r = rl.review(r, outcome="no_flip", on=ISSUED, today=TODAY)
    with pytest.raises(DmctInputError, match="is final; nothing more can be recorded"):
        rl.refer(r, by="S1", matter="late", on=date(2026, 12, 20), today=TODAY)
