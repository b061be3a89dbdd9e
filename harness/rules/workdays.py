"""Working Days and the SVTAD deadlines counted in them.

Every timescale the harness computes (Work Off Plans, 15.1; referral windows, 13.4, 13.7, 13.26, 20.37) is
expressed in **Working Days**. The SVTAD does not define the term itself: clause 1.1 defers to Section A
of the SEC, which the project distils (``shared/design/verdict-rules.md``) as Monday to Friday except bank
holidays in England and Wales. The calendar of those bank holidays comes from the ``holidays`` package
(``country_holidays("GB", subdiv="ENG")``: New Year's Day, Good Friday, Easter Monday, the early May,
Spring and Summer bank holidays, Christmas Day and Boxing Day, with the weekday substitutes the Royal
Proclamations appoint, e.g. Monday 27 and Tuesday 28 December 2027 when Christmas falls on a Saturday)
rather than a hand-kept list, so a new year never needs a code change. One-off holidays proclaimed after
the installed ``holidays`` release (a coronation, a state funeral) are only known once the package is
upgraded; the tests pin the 2026-2028 calendar so such a change is noticed.

**How a period is counted.** "within 20 Working Days from the issuing of a Test Completion Certificate"
(15.1 (a)), "within 10 Working Days of the relevant draft DMCT Testing Report being provided" (20.37): we
read these, with the general rule of English law for periods running *from* an event, as excluding the
day of the event. Day 0 is the event date (certificate issued, draft report provided, decision made);
day 1 is the first Working Day *after* it, whether or not the event date is itself a Working Day; the
deadline is the n-th such day and is inclusive (the last day on which the obligation can still be met).
Counting the event day would shorten every period by a day for a certificate issued late in the
afternoon, and an event on a Saturday would otherwise need a special case. So a certificate issued on
Friday 4 December 2026 gives a severity 3 due date 20 Working Days later: Wednesday 6 January 2027
(25 and 28 December 2026 and 1 January 2027 are bank holidays).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

#: 15.1 (a)-(c): Work Off Plan timescales per severity, in Working Days from the issuing of a Test
#: Completion Certificate. Severities 1 and 2 have no timescale: their threshold is 0 in Tables 13.2,
#: 13.3 and 20.1, so an issue of that severity cannot be extant at a successful exit.
WORK_OFF_DAYS: dict[int, int] = {3: 20, 4: 40, 5: 60}

#: 20.37: a Supplier Party may refer a draft DMCT Testing Report to the Secretary of State "within 10
#: Working Days of the relevant draft DMCT Testing Report being provided".
DRAFT_REPORT_REFERRAL_DAYS = 10

#: 13.7: a Supplier Party may refer a DMC de-selection "within 10 Working Days of the DCC's decision"
#: (13.4 gives the same window for the DCC's initial DMC selection).
DESELECTION_REFERRAL_DAYS = 10

#: 13.26: the DCC may refer a TAG exclusion decision "within 5 Working Days of the TAG's decision".
EXCLUSION_REFERRAL_DAYS = 5


@lru_cache(maxsize=1)
def _calendar() -> Any:
    # One calendar, populated lazily a year at a time (``expand=True`` is the package default).
    return holidays.country_holidays("GB", subdiv="ENG")


def bank_holiday_name(d: date) -> str | None:
    """The England and Wales bank holiday falling on ``d`` (weekends included), or None."""
    name = _calendar().get(d)
    return None if name is None else str(name)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a bank holiday in England and Wales (SEC Section A via SVTAD 1.1)."""
    return d.weekday() < 5 and d not in _calendar()


@functools.lru_cache(maxsize=4096)
def add_working_days(start: date, n: int) -> date:
    """The n-th Working Day after ``start`` (``start`` is day 0 and never counted; see the module doc).

    ``n == 0`` returns ``start`` unchanged. Negative ``n`` is refused: no SVTAD period runs backwards.
    """
    if n < 0:
        raise ValueError(f"a number of Working Days cannot be negative: {n}")
    day = start
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Signed count of Working Days in ``(start, end]``; negative, counted over ``(end, start]``, if
    ``end`` is before ``start``.

    ``working_days_between(today, due)`` is the number of Working Days left until a deadline: 0 on the
    due date itself, negative once it has passed (by the number of Working Days since).
    """
    if end < start:
        return -working_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def work_off_days(severity: int) -> int | None:
    """15.1: Working Days allowed to resolve an open issue of ``severity``; None for severity 1-2."""
    if severity not in range(1, 6):
        raise ValueError(f"severity must be 1-5, got {severity}")
    return WORK_OFF_DAYS.get(severity)


def work_off_due(certificate_date: date, severity: int) -> date | None:
    """15.1: the resolution due date of an open issue, counted from the Test Completion Certificate.

    None for severity 1-2: 15.1 sets no timescale for them because they cannot be extant at a
    successful exit (their threshold is 0); callers report them as such rather than inventing a date.
    """
    days = work_off_days(severity)
    return None if days is None else add_working_days(certificate_date, days)


def draft_report_referral_deadline(provided: date) -> date:
    """20.37: last day a Supplier Party may refer a draft DMCT Testing Report provided on ``provided``."""
    return add_working_days(provided, DRAFT_REPORT_REFERRAL_DAYS)


def deselection_referral_deadline(decision: date) -> date:
    """13.7: last day a Supplier Party may refer the DCC's DMC de-selection decision made on ``decision``."""
    return add_working_days(decision, DESELECTION_REFERRAL_DAYS)


def exclusion_referral_deadline(tag_decision: date) -> date:
    """13.26: last day the DCC may refer a TAG decision on a proposed exclusion made on ``tag_decision``."""
    return add_working_days(tag_decision, EXCLUSION_REFERRAL_DAYS)
