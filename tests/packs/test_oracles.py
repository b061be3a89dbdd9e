"""The expected-value oracles of the packs (test_packs/oracles): pure rules, checked on hand-worked
values so a pack comparing a device with them compares with the requirement, not with a typo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_packs.oracles import clock, gas, load_limit, prepay, supply, tariff
from test_packs.oracles.window import Window

T0 = datetime(2026, 3, 1, 5, 30, tzinfo=UTC)
FOUR_RATES = {"switches": [{"at": f"{h:02d}:00", "rate": h // 6 + 1} for h in (0, 6, 12, 18)]}


def test_energy_accrues_to_the_rate_in_force_and_costs_its_price() -> None:
    switches = tariff.switches_of(FOUR_RATES)
    assert tariff.rate_at(switches, T0) == 1 and tariff.rate_at(switches, T0.replace(hour=18)) == 4
    # 2 kW from 05:30 to 13:00: 0.5 h of rate 1, 6 h of rate 2, 1 h of rate 3
    kwh = tariff.energy_by_rate(switches, 4, T0, T0.replace(hour=13, minute=0), 2000)
    assert kwh == [Decimal(1), Decimal(12), Decimal(2), Decimal(0)]
    assert tariff.cost_pence(kwh, [20, 25, 30, 35]) == Decimal(380)
    # across midnight: 22:00 -> 02:00 is 2 h of rate 4 then 2 h of rate 1, and one standing charge
    late = T0.replace(hour=22, minute=0)
    assert tariff.energy_by_rate(switches, 4, late, late + timedelta(hours=4), 1000) == [2, 0, 0, 2]
    assert tariff.midnights_between(late, late + timedelta(hours=4)) == 1
    assert tariff.midnights_between(late, late + timedelta(hours=1)) == 0
    assert tariff.midnights_between(late, late + timedelta(days=2, hours=2)) == 2 + 1
    assert tariff.balance_change(kwh, [20, 25, 30, 35], 50, 1) == Decimal(-430)
    with pytest.raises(ValueError):
        tariff.switches_of({"switches": [{"at": "01:00", "rate": 1}]})  # must start at midnight


def test_a_tariff_switching_by_day_changes_rate_at_midnight() -> None:
    """A gas tariff switches by day: ``days`` gives each weekday's rate (Monday first), and energy across
    a device midnight splits there, whatever the day profile's switch times."""
    days = tariff.days_of({"days": [1, 2, 3, 4, 1, 2, 3]})
    assert days is not None and tariff.days_of(FOUR_RATES) is None
    switches = tariff.switches_of(FOUR_RATES)
    sunday = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)  # a Sunday (rate 3), Monday next (rate 1)
    assert tariff.rate_at(switches, sunday, days) == 3
    assert tariff.energy_by_rate(switches, 4, sunday, sunday + timedelta(hours=4), 1000, days) == [2, 0, 2, 0]
    with pytest.raises(ValueError):
        tariff.days_of({"days": [1, 2]})


def test_block_tariff_prices_each_block_once_its_threshold_is_passed() -> None:
    """SRV 1.1.1 block tariff, worked by hand: thresholds 2, 5, 9 kWh; from counter 1.5 kWh, 6 kWh
    fall 0.5 in block 0, 3 in block 1, 2.5 in block 2 and none in block 3."""
    split = tariff.energy_by_block([2, 5, 9], Decimal("1.5"), 6)
    assert split == [Decimal("0.5"), Decimal(3), Decimal("2.5"), Decimal(0)]
    # 0.5 x 10 + 3 x 20 + 2.5 x 30 = 140 p; a counter exactly at a threshold is in the next block
    assert tariff.block_cost_pence([2, 5, 9], [10, 20, 30, 40], Decimal("1.5"), 6) == Decimal(140)
    assert tariff.energy_by_block([2], 2, 1) == [Decimal(0), Decimal(1)]
    assert tariff.block_cost_pence([2, 5, 9], [10, 20, 30, 40], 9, Decimal("0.25")) == Decimal(10)
    assert tariff.energy_by_block([2, 5], 0, 0) == [Decimal(0)] * 3
    with pytest.raises(ValueError):
        tariff.energy_by_block([5, 2], 0, 1)  # thresholds must ascend
    with pytest.raises(ValueError):
        tariff.block_cost_pence([2, 5], [10, 20], 0, 1)  # one price more than thresholds


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    cuts=st.lists(st.decimals("0.001", "500", places=3), min_size=1, max_size=3, unique=True),
    counter=st.decimals("0", "600", places=3),
    first=st.decimals("0", "300", places=3),
    second=st.decimals("0", "300", places=3),
)
def test_block_split_is_whole_additive_and_priced_within_its_prices(
    cuts: list[Decimal], counter: Decimal, first: Decimal, second: Decimal
) -> None:
    """Properties of the block oracle (seeded: ``derandomize``): the split adds up to the energy, two
    stretches cost what their sum costs (the counter carries on), and the cost lies between the
    cheapest and the dearest block price."""
    thresholds = sorted(cuts)
    prices = [Decimal(10 + 7 * i) for i in range(len(thresholds) + 1)]
    split = tariff.energy_by_block(thresholds, counter, first + second)
    assert sum(split) == first + second and all(e >= 0 for e in split)
    whole = tariff.block_cost_pence(thresholds, prices, counter, first + second)
    parts = tariff.block_cost_pence(thresholds, prices, counter, first) + tariff.block_cost_pence(
        thresholds, prices, counter + first, second
    )
    assert whole == parts
    assert min(prices) * (first + second) <= whole <= max(prices) * (first + second)


def test_top_up_credit_debt_and_refusals() -> None:
    limits = {"max_credit": Decimal(10_000), "max_balance": Decimal(50_000)}
    plain = prepay.top_up(1050, balance=Decimal(0), **limits)
    assert plain == prepay.TopUp(Decimal(1050), Decimal(0))
    debt = prepay.top_up(
        1050, balance=Decimal(0), payment_debt=Decimal(500), payment_debt_rate_pct=Decimal(10), **limits
    )
    assert (debt.credited, debt.recovered) == (Decimal(945), Decimal(105))
    small = prepay.top_up(
        1000, balance=Decimal(0), payment_debt=Decimal(30), payment_debt_rate_pct=Decimal(10), **limits
    )
    assert small.recovered == 30  # never more than the debt
    assert prepay.top_up(10_001, balance=Decimal(0), **limits).refusal == prepay.UTRN_EXCEEDS_MAX_CREDIT
    assert prepay.top_up(10_000, balance=Decimal(0), **limits).refusal is None  # the threshold itself is fine
    assert prepay.top_up(1000, balance=Decimal(49_500), **limits).refusal == prepay.CREDIT_EXCEEDS_MAX_BALANCE


def test_daily_recovery_emergency_credit_and_alerts() -> None:
    debts = [(Decimal(1234), Decimal(17)), (Decimal(5), Decimal(17))]
    assert prepay.midnight_recovery(True, debts) == 22
    assert prepay.midnight_recovery(False, debts) == 0  # credit mode recovers no time debt
    assert prepay.emergency_credit_remaining(Decimal(80), Decimal(300)) == 300
    assert prepay.emergency_credit_remaining(Decimal(-400), Decimal(300)) == 0
    levels = {"low": Decimal(200), "ec_threshold": Decimal(100), "disablement": Decimal(0)}
    assert prepay.credit_alerts(Decimal(80), ec_active=False, **levels) == {
        prepay.LOW_CREDIT,
        prepay.EC_AVAILABLE,
    }
    assert prepay.credit_alerts(Decimal(80), ec_active=True, **levels) == {prepay.LOW_CREDIT}
    assert prepay.supply_disabled_for_credit(True, Decimal(0), Decimal(0))
    assert not prepay.supply_disabled_for_credit(False, Decimal(-500), Decimal(0))


def test_load_limit_clock_gas_and_supply() -> None:
    assert load_limit.limiting(2000.1, 2000) and not load_limit.limiting(2000, 2000)
    applied = Window(T0, T0 + timedelta(seconds=5))
    due = load_limit.trip_window(applied, 60)
    assert (due.lo, due.hi) == (T0 + timedelta(seconds=60), T0 + timedelta(seconds=65))
    assert T0 + timedelta(seconds=62) in due and T0 + timedelta(minutes=60) not in due
    assert load_limit.restoration_window(due, 120).lo == T0 + timedelta(seconds=180)
    assert clock.synchronise(9.9) == clock.Synchronisation(True, clock.CLOCK_ADJUSTED)
    assert clock.synchronise(-10.1) == clock.Synchronisation(False, clock.CLOCK_NOT_ADJUSTED)
    assert gas.volume_m3(500, timedelta(hours=2)) == 1
    assert gas.kwh(Decimal(1), Decimal("39.5"), Decimal("1.02264")).quantize(Decimal("0.0001")) == Decimal(
        "11.2206"
    )
    assert supply.restoration_alert(timedelta(minutes=3)) == supply.SUPPLY_RESTORED_LONG
    assert supply.restoration_alert(timedelta(seconds=179)) == supply.SUPPLY_RESTORED
    with pytest.raises(ValueError):
        Window(T0, T0 - timedelta(seconds=1))


def test_migration_state_windows_and_alert_counts() -> None:
    from test_packs.oracles import migration_state as ms

    low, high = ms.register_window("esme", Decimal("1900"), 3600)
    assert low == Decimal("1899.98") and high == Decimal("1925.32")  # 25.3 kW for one hour
    low, high = ms.register_window("gsme", Decimal("10"), 0)
    assert (low, high) == (Decimal("9.98"), Decimal("10.02"))
    with pytest.raises(ValueError):
        ms.register_window("esme", Decimal(0), -1)
    sound = [("0x8F70", "smso"), ("0x8F70", "supplier"), ("0x8F70", "network_operator"), ("0x8F43", None)]
    assert ms.credential_alert_excess(sound) == []
    assert ms.credential_alert_excess([("0x8f70", "smso")] * 2) == ["0x8F70 for role 'smso' 2 times"]
    assert ms.credential_alert_excess([("0x8F70", None)] * 4) == ["4 x 0x8F70, at most 3 (one per role)"]


def test_clock_offset_from_a_reading_bracketed_in_reference_time() -> None:
    reference = Window(T0, T0 + timedelta(seconds=30))  # the read happened somewhere in these 30 s
    kept = clock.offset(T0 + timedelta(seconds=12), reference)
    assert (kept.lo, kept.hi) == (-18.0, 12.0)
    assert kept.near(0) and kept.near(22) and not kept.near(23) and not kept.near(-29) and not kept.near(900)
    ahead = clock.offset(T0 + timedelta(seconds=30 + 45), reference)  # 45 s ahead at the latest instant
    assert not ahead.near(0) and ahead.near(45) and ahead.near(60, tolerance_s=15)
    assert clock.offset(T0 + timedelta(seconds=915), reference).near(900)
    assert clock.synchronise(10.0).adjusted and not clock.synchronise(900).adjusted
