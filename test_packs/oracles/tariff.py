"""Tariff oracle (SRV 1.1.1 Update Import Tariff, 1.2.1 Update Price, 4.1.2 TOU registers).

What the requirement says a meter does with the tariff it holds: energy accrues to the TOU register of
the rate in force at that time of day (switch times in device time) — or, for a tariff that switches
by day as a gas meter does, on that weekday (:func:`days_of`) — each kWh is charged at the price
of that rate, and the standing charge (pence per day) is debited once per device midnight. Prices are
pence per kWh; energies kWh; results are :class:`~decimal.Decimal`.

A *block* tariff (SRV 1.1.1 block thresholds and prices) prices by the block counter instead: the
counter counts the kWh imported in the billing period, and block ``n``'s price applies once the counter
has reached threshold ``n`` (block 0 below the first threshold), so one stretch of consumption is split
at each threshold it crosses (:func:`energy_by_block`, :func:`block_cost_pence`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Switch:
    """From ``at`` (time of day, device time) the 1-based ``rate`` applies until the next switch."""

    at: time
    rate: int


def switches_of(tariff: Mapping[str, Any]) -> list[Switch]:
    """The switches of a tariff as SRV 4.11.1 returns it (``{"at": "HH:MM[:SS]", "rate": n}``)."""
    out = [Switch(time.fromisoformat(str(s["at"])), int(s["rate"])) for s in tariff["switches"]]
    if not out or out[0].at != time(0) or [s.at for s in out] != sorted({s.at for s in out}):
        raise ValueError(f"not a valid day profile: {tariff['switches']}")
    return out


def days_of(tariff: Mapping[str, Any]) -> list[int] | None:
    """A tariff that switches rate by day (how a gas meter switches: DUIS's ``GasDayProfile`` holds one
    TOU rate): the rate of each weekday, Monday first (``"days"``); None for a day profile."""
    days = tariff.get("days")
    if not days:
        return None
    out = [int(r) for r in days]
    if len(out) != 7 or min(out) < 1:
        raise ValueError(f"not a week of day rates (Monday first): {days}")
    return out


def rate_at(switches: Sequence[Switch], when: datetime, days: Sequence[int] | None = None) -> int:
    """The rate in force at ``when`` (device time): the weekday's rate when the tariff switches by day,
    else the last switch at or before that time of day."""
    if days:
        return days[when.weekday()]
    rate = switches[0].rate
    for s in switches:
        if s.at <= when.time():
            rate = s.rate
    return rate


def _boundaries(switches: Sequence[Switch], start: datetime, end: datetime) -> list[datetime]:
    """Every switch instant strictly inside ``(start, end)``, in order."""
    out: list[datetime] = []
    day = datetime.combine(start.date(), time(0), start.tzinfo)
    while day < end:
        for s in switches:
            at = datetime.combine(day.date(), s.at, start.tzinfo)
            if start < at < end:
                out.append(at)
        day += timedelta(days=1)
    return out


def energy_by_rate(
    switches: Sequence[Switch],
    rates: int,
    start: datetime,
    end: datetime,
    watts: float | Decimal,
    days: Sequence[int] | None = None,
) -> list[Decimal]:
    """kWh per TOU register for a constant ``watts`` drawn over device time ``[start, end)`` (switching
    at the day profile's times, or at each device midnight when ``days`` gives a rate per weekday)."""
    out = [Decimal(0)] * rates
    midnight = [Switch(time(0), 1)]
    cuts = [start, *_boundaries(midnight if days else switches, start, end), end]
    for a, b in itertools.pairwise(cuts):
        hours = Decimal(str((b - a).total_seconds())) / Decimal(3600)
        out[rate_at(switches, a, days) - 1] += Decimal(str(watts)) / Decimal(1000) * hours
    return out


def cost_pence(kwh_by_rate: Sequence[Decimal], prices: Sequence[float | Decimal]) -> Decimal:
    """What the energy costs at the tariff's prices (pence)."""
    if len(kwh_by_rate) > len(prices):
        raise ValueError(f"{len(kwh_by_rate)} registers for {len(prices)} prices")
    return sum((kwh * Decimal(str(p)) for kwh, p in zip(kwh_by_rate, prices, strict=False)), Decimal(0))


def next_midnight(when: datetime) -> datetime:
    """The first device midnight after ``when`` (its day's end), in ``when``'s time zone."""
    return datetime.combine(when.date() + timedelta(days=1), time(0), when.tzinfo)


def midnights_between(start: datetime, end: datetime) -> int:
    """Device midnights in ``(start, end]``: how many standing charges fall due."""
    first = next_midnight(start)
    return 0 if end < first else (end - first).days + 1


def balance_change(
    kwh_by_rate: Sequence[Decimal],
    prices: Sequence[float | Decimal],
    standing_charge: float | Decimal,
    midnights: int,
) -> Decimal:
    """The meter balance change the tariff requires: minus the energy cost and the standing charges."""
    return -(cost_pence(kwh_by_rate, prices) + Decimal(str(standing_charge)) * midnights)


def _dec(value: float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def energy_by_block(
    thresholds: Sequence[float | Decimal], counter: float | Decimal, kwh: float | Decimal
) -> list[Decimal]:
    """kWh per block (``len(thresholds) + 1`` of them) for ``kwh`` imported from block counter
    ``counter`` on: each kWh belongs to the block the counter is in when it is consumed."""
    cuts = [_dec(t) for t in thresholds]
    if cuts != sorted(set(cuts)) or any(c <= 0 for c in cuts):
        raise ValueError(f"block thresholds must be positive and ascending: {list(thresholds)}")
    start, end = _dec(counter), _dec(counter) + _dec(kwh)
    if start < 0 or end < start:
        raise ValueError(f"counter {counter} and energy {kwh} must not be negative")
    bounds = [Decimal(0), *cuts, None]
    out: list[Decimal] = []
    for lo, hi in itertools.pairwise(bounds):
        assert lo is not None
        top = end if hi is None else min(end, hi)
        out.append(max(Decimal(0), top - max(start, lo)))
    return out


def block_cost_pence(
    thresholds: Sequence[float | Decimal],
    prices: Sequence[float | Decimal],
    counter: float | Decimal,
    kwh: float | Decimal,
) -> Decimal:
    """What ``kwh`` imported from block counter ``counter`` on costs at the block prices (pence)."""
    if len(prices) != len(thresholds) + 1:
        raise ValueError(f"{len(prices)} block prices for {len(thresholds)} thresholds (need one more)")
    return sum(
        (e * _dec(p) for e, p in zip(energy_by_block(thresholds, counter, kwh), prices, strict=True)),
        Decimal(0),
    )
