"""Working Days (SVTAD 1.1 -> SEC Section A: Monday-Friday except bank holidays in England and Wales) and
the deadlines counted in them (15.1, 13.7, 13.26, 20.37).

Expected dates are worked out by hand from the England and Wales bank holidays published on gov.uk
(listed below), not computed with the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.rules.workdays import (
    add_working_days,
    bank_holiday_name,
    deselection_referral_deadline,
    draft_report_referral_deadline,
    exclusion_referral_deadline,
    is_working_day,
    work_off_days,
    work_off_due,
    working_days_between,
)

# gov.uk "Bank holidays in England and Wales", the weekday dates (substitute days included).
GOV_UK_ENGLAND_AND_WALES = {
    # 2026: Boxing Day is a Saturday -> substitute Monday 28 December.
    date(2026, 1, 1),  # New Year's Day
    date(2026, 4, 3),  # Good Friday
    date(2026, 4, 6),  # Easter Monday
    date(2026, 5, 4),  # Early May bank holiday
    date(2026, 5, 25),  # Spring bank holiday
    date(2026, 8, 31),  # Summer bank holiday
    date(2026, 12, 25),  # Christmas Day (Friday)
    date(2026, 12, 28),  # Boxing Day (substitute day)
    # 2027: Christmas Day Saturday, Boxing Day Sunday -> substitutes Monday 27 and Tuesday 28 December.
    date(2027, 1, 1),
    date(2027, 3, 26),  # Good Friday
    date(2027, 3, 29),  # Easter Monday
    date(2027, 5, 3),
    date(2027, 5, 31),
    date(2027, 8, 30),
    date(2027, 12, 27),  # Christmas Day (substitute day)
    date(2027, 12, 28),  # Boxing Day (substitute day)
    # 2028: New Year's Day is a Saturday -> substitute Monday 3 January.
    date(2028, 1, 3),
    date(2028, 4, 14),  # Good Friday
    date(2028, 4, 17),  # Easter Monday
    date(2028, 5, 1),
    date(2028, 5, 29),
    date(2028, 8, 28),
    date(2028, 12, 25),  # Christmas Day (Monday)
    date(2028, 12, 26),  # Boxing Day (Tuesday)
}


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_the_calendar_2026_to_2028_is_exactly_the_gov_uk_england_and_wales_list() -> None:
    non_working_weekdays = {
        d for d in _days(date(2026, 1, 1), date(2028, 12, 31)) if d.weekday() < 5 and not is_working_day(d)
    }
    assert non_working_weekdays == GOV_UK_ENGLAND_AND_WALES


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # Christmas / New Year 2026-27
        (date(2026, 12, 24), True),
        (date(2026, 12, 25), False),  # Christmas Day, Friday
        (date(2026, 12, 26), False),  # Saturday (Boxing Day)
        (date(2026, 12, 28), False),  # Boxing Day substitute
        (date(2026, 12, 29), True),
        (date(2027, 1, 1), False),
        (date(2027, 1, 4), True),
        # Christmas 2027 on a Saturday: substitutes 27 and 28 December
        (date(2027, 12, 24), True),
        (date(2027, 12, 27), False),
        (date(2027, 12, 28), False),
        (date(2027, 12, 29), True),
        # New Year 2028 on a Saturday: substitute Monday 3 January
        (date(2028, 1, 1), False),
        (date(2028, 1, 3), False),
        (date(2028, 1, 4), True),
        # Easter
        (date(2026, 4, 2), True),
        (date(2026, 4, 3), False),
        (date(2026, 4, 6), False),
        (date(2026, 4, 7), True),
        (date(2027, 3, 25), True),
        (date(2027, 3, 26), False),
        (date(2027, 3, 29), False),
        (date(2028, 4, 13), True),
        (date(2028, 4, 14), False),
        (date(2028, 4, 17), False),
        (date(2028, 4, 18), True),
    ],
)
def test_is_working_day_around_christmas_new_year_and_easter(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_bank_holiday_names_say_which_substitute_day_it_is() -> None:
    assert bank_holiday_name(date(2027, 12, 27)) == "Christmas Day (observed)"
    assert bank_holiday_name(date(2028, 1, 3)) == "New Year's Day (observed)"
    assert bank_holiday_name(date(2027, 12, 29)) is None


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 12, 24), 1, date(2026, 12, 29)),  # over Christmas + Boxing Day substitute
        (date(2026, 12, 24), 4, date(2027, 1, 4)),  # 29, 30, 31 Dec, (1 Jan), 4 Jan
        (date(2027, 12, 24), 1, date(2027, 12, 29)),  # over the 27/28 Dec substitutes
        (date(2027, 12, 24), 4, date(2028, 1, 4)),  # 29, 30, 31 Dec, (3 Jan substitute), 4 Jan
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # over Good Friday and Easter Monday
        (date(2027, 3, 25), 1, date(2027, 3, 30)),
        (date(2028, 4, 13), 1, date(2028, 4, 18)),
        (date(2026, 6, 1), 5, date(2026, 6, 8)),  # a plain week: Mon + 5 = next Mon
    ],
)
def test_add_working_days_skips_weekends_and_bank_holidays(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n) == expected


def test_day_zero_is_the_event_date_and_is_never_counted() -> None:
    # "within N Working Days from the issuing of a Test Completion Certificate" (15.1): day 1 is the
    # first Working Day after the certificate date, whatever day the certificate was issued on.
    assert add_working_days(date(2026, 6, 1), 0) == date(2026, 6, 1)
    assert add_working_days(date(2026, 6, 1), 1) == date(2026, 6, 2)  # Monday -> Tuesday
    assert add_working_days(date(2026, 12, 26), 1) == date(2026, 12, 29)  # Saturday, 28th a holiday
    assert add_working_days(date(2026, 12, 25), 1) == date(2026, 12, 29)  # issued on Christmas Day


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2026, 1, 5), -1)


def test_working_days_between_is_signed_and_excludes_the_start() -> None:
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 24)) == 0
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 29)) == 1
    assert working_days_between(date(2026, 12, 29), date(2026, 12, 24)) == -1
    assert working_days_between(date(2027, 12, 24), date(2028, 1, 4)) == 4


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31)),
    n=st.integers(min_value=1, max_value=80),
)
def test_add_and_between_are_inverse_and_land_on_a_working_day(start: date, n: int) -> None:
    due = add_working_days(start, n)
    assert is_working_day(due)
    assert working_days_between(start, due) == n
    assert add_working_days(start, n - 1) < due


# --------------------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("certificate", "severity", "expected"),
    [
        # 15.1 (a)-(c) from Friday 4 December 2026, across Christmas 2026 and New Year 2027.
        (date(2026, 12, 4), 3, date(2027, 1, 6)),
        (date(2026, 12, 4), 4, date(2027, 2, 3)),
        (date(2026, 12, 4), 5, date(2027, 3, 3)),
        # 20 Working Days from Monday 1 March 2027 cross Easter 2027 (26 and 29 March).
        (date(2027, 3, 1), 3, date(2027, 3, 31)),
        # 20 Working Days from Wednesday 1 December 2027 cross the 27/28 December substitutes.
        (date(2027, 12, 1), 3, date(2027, 12, 31)),
    ],
)
def test_work_off_due_dates_are_20_40_60_working_days(
    certificate: date, severity: int, expected: date
) -> None:
    assert work_off_due(certificate, severity) == expected


def test_work_off_timescales_per_severity() -> None:
    # 15.1: severity 3 -> 20, 4 -> 40, 5 -> 60; none for 1-2 (threshold 0: cannot be extant at a
    # successful exit).
    assert [work_off_days(s) for s in (1, 2, 3, 4, 5)] == [None, None, 20, 40, 60]
    assert work_off_due(date(2026, 12, 4), 1) is None
    assert work_off_due(date(2026, 12, 4), 2) is None
    with pytest.raises(ValueError):
        work_off_days(6)
    with pytest.raises(ValueError):
        work_off_days(0)


def test_20_37_draft_report_referral_is_10_working_days() -> None:
    # Provided Friday 18 December 2026: 21-24 Dec (4), 29-31 Dec (7), 4-6 Jan (10).
    assert draft_report_referral_deadline(date(2026, 12, 18)) == date(2027, 1, 6)


def test_13_7_deselection_referral_is_10_working_days() -> None:
    # Decision Friday 1 May 2026; Monday 4 May is the Early May bank holiday.
    assert deselection_referral_deadline(date(2026, 5, 1)) == date(2026, 5, 18)


def test_13_26_exclusion_referral_is_5_working_days() -> None:
    # TAG decision Wednesday 12 April 2028: 13 (1), Good Friday, Easter Monday, 18-21 (2-5).
    assert exclusion_referral_deadline(date(2028, 4, 12)) == date(2028, 4, 21)
