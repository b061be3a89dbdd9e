"""Tariff (TOU switch times, block thresholds, prices, standing charge) and the billing calendar.

Simplifications, all documented in ``docs/virtual-devices.md``: one day profile repeated every day, or
a week of one rate per day (``days``: how a gas meter switches, by day — DUIS's ``GasDayProfile`` holds
one ``TOUTariffAction``; no seasons or special days), device time in UTC (no BST), standing charge and
time-based debt taken once a day at device midnight. A block tariff prices energy by the block counter
reached in the current billing period, while energy still accrues into the TOU register of the active
rate.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal

from .errors import DeviceCommandError, RejectCode

MAX_TOU_RATES = 48
MAX_BLOCKS = 4


@dataclass(frozen=True)
class TouSwitch:
    """From ``at`` (time of day) the ``rate`` (1-based) applies until the next switch."""

    at: time
    rate: int


def _uniform_switches(rates: int) -> tuple[TouSwitch, ...]:
    out = []
    for i in range(rates):
        minutes = i * 1440 // rates
        out.append(TouSwitch(time(minutes // 60, minutes % 60), i + 1))
    return tuple(out)


@dataclass(frozen=True)
class Tariff:
    """Prices in pence per kWh, standing charge in pence per day, block thresholds in kWh."""

    rates: int = 4
    switches: tuple[TouSwitch, ...] = field(default_factory=lambda: _uniform_switches(4))
    prices: tuple[float, ...] = (20.0, 25.0, 30.0, 35.0)
    standing_charge: float = 50.0
    block_thresholds: tuple[float, ...] = ()
    block_prices: tuple[float, ...] = ()
    #: Switching by day: the rate of each weekday, Monday first (7 of them); ``switches`` then unused.
    days: tuple[int, ...] = ()

    @classmethod
    def uniform(
        cls, rates: int, *, prices: tuple[float, ...] | None = None, standing_charge: float = 50.0
    ) -> Tariff:
        """``rates`` equal slots over the day (rate 1 from midnight), prices 20, 25, 30 ... by default."""
        return cls(
            rates=rates,
            switches=_uniform_switches(rates),
            prices=prices if prices is not None else tuple(20.0 + 5.0 * i for i in range(rates)),
            standing_charge=standing_charge,
        )

    @classmethod
    def by_day(cls, rates: int, *, standing_charge: float = 50.0) -> Tariff:
        """Switching by day (a gas meter's factory tariff): rate 1 on Monday, 2 on Tuesday, ... cycling
        through the ``rates``; prices 20, 25, 30 ... by default."""
        return cls(
            rates=rates,
            switches=(TouSwitch(time(0), 1),),
            prices=tuple(20.0 + 5.0 * i for i in range(rates)),
            standing_charge=standing_charge,
            days=tuple(d % rates + 1 for d in range(7)),
        )

    def validate(self, max_rates: int = MAX_TOU_RATES) -> None:
        """Reject a tariff the device cannot hold (what SRV 1.1.1 gets back from a real meter)."""

        def bad(message: str) -> DeviceCommandError:
            return DeviceCommandError(RejectCode.INVALID_ARGUMENT, message)

        if not 1 <= self.rates <= max_rates:
            raise bad(f"{self.rates} TOU rates; this device supports 1..{max_rates}")
        if len(self.prices) != self.rates:
            raise bad(f"{len(self.prices)} prices for {self.rates} rates")
        if self.days:
            if len(self.days) != 7:
                raise bad(f"a week of day rates needs 7 (Monday to Sunday), got {len(self.days)}")
            if any(not 1 <= r <= self.rates for r in self.days):
                raise bad("a day rate names a rate the tariff does not have")
        if not self.switches or self.switches[0].at != time(0):
            raise bad("the first TOU switch must be at 00:00")
        times = [s.at for s in self.switches]
        if times != sorted(set(times)):
            raise bad("TOU switch times must be strictly ascending")
        if any(not 1 <= s.rate <= self.rates for s in self.switches):
            raise bad("a TOU switch names a rate the tariff does not have")
        if len(self.block_thresholds) >= MAX_BLOCKS:
            raise bad(f"at most {MAX_BLOCKS - 1} block thresholds")
        if list(self.block_thresholds) != sorted(set(self.block_thresholds)) or any(
            t <= 0 for t in self.block_thresholds
        ):
            raise bad("block thresholds must be positive and ascending")
        if self.block_thresholds and len(self.block_prices) != len(self.block_thresholds) + 1:
            raise bad("a block tariff needs one price more than thresholds")
        if any(p < 0 for p in (*self.prices, *self.block_prices, self.standing_charge)):
            raise bad("prices and standing charge must not be negative")

    @property
    def has_blocks(self) -> bool:
        return bool(self.block_thresholds)

    def rate_at(self, when: datetime) -> int:
        """The (1-based) TOU rate in force at ``when``."""
        if self.days:
            return self.days[when.weekday()]
        t = when.time()
        rate = self.switches[0].rate
        for switch in self.switches:
            if switch.at <= t:
                rate = switch.rate
            else:
                break
        return rate

    def next_switch_after(self, when: datetime) -> datetime:
        if self.days:  # switching by day: the next device midnight
            return datetime.combine(when.date() + timedelta(days=1), time(0), when.tzinfo)
        t = when.time()
        for switch in self.switches:
            if switch.at > t:
                return datetime.combine(when.date(), switch.at, when.tzinfo)
        return datetime.combine(when.date() + timedelta(days=1), self.switches[0].at, when.tzinfo)

    def block_index(self, counter_kwh: float) -> int:
        """0-based block for a block counter value."""
        return sum(1 for threshold in self.block_thresholds if counter_kwh >= threshold)

    def price(self, rate: int, counter_kwh: float) -> float:
        if self.has_blocks:
            return self.block_prices[self.block_index(counter_kwh)]
        return self.prices[rate - 1]


Period = Literal["daily", "weekly", "monthly"]


def add_months(when: datetime, months: int) -> datetime:
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class BillingCalendar:
    """Billing snapshots at ``start`` and every ``period`` after it (device time)."""

    start: datetime
    period: Period = "monthly"

    def occurrence(self, n: int) -> datetime:
        if self.period == "daily":
            return self.start + timedelta(days=n)
        if self.period == "weekly":
            return self.start + timedelta(weeks=n)
        return add_months(self.start, n)

    def next_after(self, when: datetime) -> datetime:
        """The first billing instant strictly after ``when``."""
        if when < self.start:
            return self.start
        days = (when - self.start).days
        n = {"daily": days, "weekly": days // 7, "monthly": days // 31}[self.period]
        while self.occurrence(n) <= when:
            n += 1
        return self.occurrence(n)

    def as_billing_time(self) -> dict[str, object]:
        """The calendar as an electricity meter's own calendar says it (and as DUIS's
        ``ElectricityBillingCalendar`` carries it): the time of day of its occurrences, the period and
        the day (ISO day of the week 1-7 for weekly, day of the month for monthly; none for daily)."""
        out: dict[str, object] = {
            "billing_time": self.start.time().replace(tzinfo=None).isoformat(),
            "period": self.period,
        }
        if self.period == "weekly":
            out["day"] = self.start.isoweekday()
        elif self.period == "monthly":
            out["day"] = self.start.day
        return out


def next_billing_occurrence(now: datetime, at: time, period: Period, day: int | None = None) -> datetime:
    """The first instant strictly after ``now`` (device time) at time of day ``at`` on the calendar's day:
    any day (daily), ISO day of the week ``day`` 1-7 (weekly: 1 is Monday) or day of the month ``day``
    1-28 (monthly). An electricity meter's billing calendar is a time and a periodicity, not a start date
    (DUIS ``ElectricityBillingCalendar``): this is the start it implies, computed by the meter's clock."""
    if period == "weekly" and not (day is not None and 1 <= day <= 7):
        raise DeviceCommandError(
            RejectCode.INVALID_ARGUMENT, f"a weekly billing calendar needs a day 1-7, got {day}"
        )
    if period == "monthly" and not (day is not None and 1 <= day <= 28):
        raise DeviceCommandError(
            RejectCode.INVALID_ARGUMENT, f"a monthly billing calendar needs a day 1-28, got {day}"
        )
    candidate = datetime.combine(now.date(), at.replace(tzinfo=None), tzinfo=now.tzinfo)
    if period == "weekly":
        assert day is not None
        candidate += timedelta(days=(day - candidate.isoweekday()) % 7)
        step = timedelta(weeks=1)
    elif period == "monthly":
        assert day is not None
        candidate = candidate.replace(day=day)
        if candidate <= now:
            return add_months(candidate, 1)
        return candidate
    else:
        step = timedelta(days=1)
    return candidate if candidate > now else candidate + step
