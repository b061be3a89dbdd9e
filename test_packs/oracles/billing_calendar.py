"""Billing calendar oracle (SRV 6.8 Update Device Configuration (Billing Calendar), read by 6.2.3).

An electricity meter's billing calendar is a time of day and a periodicity — daily, weekly on an ISO day
of the week (1 Monday .. 7 Sunday), monthly on a day of the month 1-28 — with no start date: that is
what a DCC User sends (DUIS ``ElectricityBillingCalendar``: ``BillingTime`` and ``Daily`` / ``Weekly`` /
``Monthly``) and what the packs send to an ESME on every route. The meter takes its billing snapshot
(event 0x8F0A, billing data log updated) at each occurrence of that time **by its own clock**; the
first is the next occurrence after the calendar reaches it, none before.

:func:`next_occurrence` is that rule (written here, independent of any simulator); :func:`farthest_day`
picks a calendar whose next occurrence is as far from ``now`` as the period allows — for a calendar set
only to be read back, or to leave the meter with one that does not bill during a run.
"""

from __future__ import annotations

import calendar
from datetime import datetime, time, timedelta
from typing import Literal

Period = Literal["daily", "weekly", "monthly"]
PERIODS: tuple[Period, ...] = ("daily", "weekly", "monthly")
BILLING_LOG_UPDATED = 0x8F0A
#: How far (device time) the snapshot's log entry may be from the occurrence: the meter's event log has
#: one-second timestamps and the lab's simulated clock runs fast, so a minute of device time is a tiny
#: fraction of a real second either way.
TOLERANCE = timedelta(minutes=1)


def _in_months(when: datetime, months: int) -> datetime:
    m0 = when.month - 1 + months
    year, month = when.year + m0 // 12, m0 % 12 + 1
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))


def next_occurrence(now: datetime, at: time, period: Period, day: int | None = None) -> datetime:
    """The first instant strictly after ``now`` (the meter's clock) at time of day ``at`` on the
    calendar's day (any day; ISO weekday ``day``; day of the month ``day``)."""
    first = datetime.combine(now.date(), at.replace(tzinfo=None), tzinfo=now.tzinfo)
    if period == "daily":
        return first if first > now else first + timedelta(days=1)
    if day is None:
        raise ValueError(f"a {period} calendar needs a day")
    if period == "weekly":
        if not 1 <= day <= 7:
            raise ValueError(f"weekly day {day} is not an ISO day of the week 1-7")
        first += timedelta(days=(day - first.isoweekday()) % 7)
        return first if first > now else first + timedelta(weeks=1)
    if not 1 <= day <= 28:
        raise ValueError(f"monthly day {day} is not 1-28")
    first = first.replace(day=day)
    return first if first > now else _in_months(first, 1)


def farthest_day(now: datetime, at: time, period: Literal["weekly", "monthly"]) -> int:
    """The day (ISO weekday or day of the month) whose next occurrence of ``at`` is farthest from ``now``."""
    days = range(1, 8) if period == "weekly" else range(1, 29)
    return max(days, key=lambda d: next_occurrence(now, at, period, d))
