"""Standard DMCT SRVT, positive tests: every SMETS1 SRV on every device type of the DMC it targets.

Each case sends the SRV through the service route and verifies its effect **independently of the route**
wherever the device allows it — the meter's optical port (DLMS: registers, balance, supply state, clock,
firmware, event and security logs), the rig's instruments (load, measured power) — and waits for the
alerts it must raise. Where a device has no independent path (the CH, DCC-held data) the effect is read
back with another SRV. Every test puts back what it changed (supply, tariff, modes, firmware, logs).

One table (``CASES``) keyed by SRV, parametrised over the roles each SRV targets; a DMC lacking a role
makes that variant not applicable. Future-dated variants are in ``test_future_dated``.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import pytest

from device_drivers.errors import LinkTimeout
from device_drivers.route import RouteCannotExpress, RouteError
from test_packs.oracles import billing_calendar as cal_oracle
from test_packs.oracles import clock as clock_oracle
from test_packs.oracles import gas as gas_oracle
from test_packs.oracles import load_limit as ll_oracle
from test_packs.oracles import prepay as prepay_oracle
from test_packs.oracles import tariff as tariff_oracle
from test_packs.oracles.window import Window
from test_packs.service_reference_variant import _metering as metering
from test_packs.service_reference_variant._cases import CaseTable
from test_packs.service_reference_variant._inputs import (
    MPXN_LENGTHS,
    SUPPLIER_NAME_MAX,
    digits,
    note,
    pence,
    printable,
    seeded,
)
from test_packs.service_reference_variant._srvt import (
    BALANCE_TOLERANCE,
    KWH_TOLERANCE,
    SrvtRig,
    parse_at,
    wait_until,
)

TABLE = CaseTable()
case = TABLE.case
TARIFF, PREPAY, DISPLAY, READS = "Tariff and Payment", "Prepayment", "Display and Customer", "Reads"
SCHEDULES, CONFIG, CREDS, SUPPLY = "Schedules", "Device Configuration", "Security Credentials", "Supply"
HAN, FIRMWARE = "Inventory and HAN", "Firmware"
EM, GM, CH = ("esme",), ("gsme",), ("ch",)
METERS = ("esme", "gsme")
ALL3 = ("esme", "gsme", "ch")

# GBCS alert / event codes the tests look for (docs/virtual-devices.md, "Alert codes used").
BILLING_LOG_UPDATED = 0x8F0A
CLOCK_ADJUSTED = 0x8145
EC_ACTIVATED = 0x81AB
LOAD_LIMIT_ABOVE = 0x8F01
LOAD_LIMIT_ARMED = 0x8F33
LL_RESTORED = 0x8F34
SUPPLY_ARMED = 0x8F32
CREDENTIALS_UPDATED = 0x8F70
FW_VERIFIED = 0x8F72
FW_CHANGED = 0x8F43
FW_VERIFY_FAILED = 0x8F1C
JOINED, UNJOINED = 0x8F49, 0x8F4B
DEVICE_LOG_CHANGED = 0x8F12
FUTURE_ACTIONED = 0x8F66


def d(value: Any) -> Decimal:
    return Decimal(str(value))


def codes_of(entries: list[dict[str, Any]]) -> list[int]:
    return [int(str(e["code"]), 16) for e in entries]


def ch_log_since(t: SrvtRig, since: datetime, *, security: bool = False) -> list[dict[str, Any]]:
    """The CH's event or security log entries at or after ``since`` (SRV 6.13: the CH has no local port)."""
    entries = t.result("6.13", "ch", {"log": "security" if security else "event"})["entries"]
    return [e for e in entries if (parse_at(e.get("at")) or datetime.min.replace(tzinfo=UTC)) >= since]


def expect_security_event(t: SrvtRig, role: str, code: int, since: datetime | None = None) -> None:
    if role == "ch":
        assert since is not None
        got = codes_of(ch_log_since(t, since, security=True))
        assert code in got, f"the CH's security log has no 0x{code:04X} since {since}: {got}"
    else:
        t.expect_logged(role, code, security=True)


def firmware_of(t: SrvtRig, role: str) -> str:
    if role == "ch":
        return str(t.result("11.2", "ch")["firmware_version"])
    return t.optical(role).firmware_version()


#: DUIS FirmwareVersion: 1-8 characters (the DCC's User interface carries no longer version).
FIRMWARE_VERSION_MAX = 8


def other_version(version: str, tag: str) -> str:
    """A firmware version other than ``version`` that DUIS can carry: ``version`` cut to fit, ``-tag``."""
    return f"{version[: FIRMWARE_VERSION_MAX - len(tag) - 1]}-{tag}"


# ------------------------------------------------------------------------------ tariff and payment
def tariff_params(tariff: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "rates": tariff["rates"],
        "prices": tariff["prices"],
        "standing_charge": tariff["standing_charge"],
        "switches": [{"at": s["at"], "rate": s["rate"]} for s in tariff["switches"]],
    }
    if tariff.get("block_thresholds"):
        params["block_thresholds"] = tariff["block_thresholds"]
        params["block_prices"] = tariff["block_prices"]
    if tariff.get("days"):
        params["days"] = tariff["days"]
    return params


#: Device hours an oracle metering check runs for: long enough to cross several TOU switches.
TOU_HOURS = 3.5
PRICE_HOURS = 2.0


#: Least difference between two TOU prices drawn (p/kWh): energy charged at another rate's price shows.
PRICE_STEP = 5.0


def tou_prices(t: SrvtRig, role: str, rates: int) -> list[float]:
    """Varied inputs (seeded, recorded in the transcript, ``_inputs``): ``rates`` TOU prices in pence
    with two decimals (what both routes carry exactly below 327 p), 5-30 p for the cheapest and each
    next one 5-25 p dearer, in a drawn order over the rates."""
    rng = seeded(t.request, f"1.1.1 prices {role} {rates} rates")
    prices = [pence(rng, 5.0, 30.0)]
    for _ in range(rates - 1):
        prices.append(round(prices[-1] + rng.uniform(PRICE_STEP, 25.0), 2))
    rng.shuffle(prices)
    note(t.request, f"1.1.1 TOU prices ({rates} rates)", prices=prices)
    return prices


def hourly_tariff(
    now: datetime, rates: int, standing_charge: float, prices: list[float] | None = None
) -> dict[str, Any]:
    """A tariff with a switch every hour, built around the meter's clock so the next hours of device
    time cover the highest rates: the highest-but-one for the hour after the next switch, the highest
    for the hour after that, the lower rates by hour otherwise. Prices (``prices``, else 10 p rising by
    7.5 p) all differ, so energy charged at the wrong rate shows in the balance."""

    def rate(hour: int) -> int:
        k = (hour - now.hour) % 24
        if k == 1:
            return rates - 1
        if k == 2:
            return rates
        return hour % (rates - 2) + 1

    return {
        "rates": rates,
        "prices": prices if prices is not None else [round(10.0 + 7.5 * i, 2) for i in range(rates)],
        "standing_charge": standing_charge,
        "switches": [{"at": f"{h:02d}:00:00", "rate": rate(h)} for h in range(24)],
    }


#: Gas: TOU rates a gas tariff holds (DUIS ``GasPriceElements``: 4 TOU prices; no DCC User sends more).
GAS_TOU_RATES = 4
#: Gas: device hours metered on each side of the day boundary.
DAY_SWITCH_HOURS = 1.5


def daily_tariff(
    now: datetime, rates: int, standing_charge: float, prices: list[float] | None = None
) -> dict[str, Any]:
    """A tariff that switches rate by day, as a gas meter does (DUIS's ``GasDayProfile`` holds one TOU
    rate; its week profile names a day profile per weekday): around the meter's clock, today at the
    highest-but-one rate, tomorrow at the highest, the other days at the lower rates by turns, so the
    rate changes at every midnight and the next two midnights both border the highest rate. Prices all
    differ (``prices``, else 10 p rising by 7.5 p), so gas charged at the wrong rate shows in the
    balance."""
    today = now.weekday()
    days = [(d % (rates - 2)) + 1 for d in range(7)]
    days[today], days[(today + 1) % 7] = rates - 1, rates
    return {
        "rates": rates,
        "prices": prices if prices is not None else [round(10.0 + 7.5 * i, 2) for i in range(rates)],
        "standing_charge": standing_charge,
        "switches": [{"at": "00:00:00", "rate": days[0]}],
        "days": days,
    }


def meter_across_midnight(t: SrvtRig, role: str) -> metering.Metering:
    """Meter a flow from ``DAY_SWITCH_HOURS`` before the meter's next midnight (its clock: the soonest
    day boundary, at clock rate 3600 a device day is 24 real seconds) to as long after it."""
    now = t.optical(role).clock()
    midnight = tariff_oracle.next_midnight(now)
    start = midnight - timedelta(hours=DAY_SWITCH_HOURS)
    if now < start:
        metering.wait_device_time(t, role, start)
    hours = (midnight - t.optical(role).clock()).total_seconds() / 3600 + DAY_SWITCH_HOURS
    m = metering.meter_for(t, role, hours)
    spans = m.on.hi < midnight < m.off.lo
    assert spans, f"the flow did not span the {role}'s midnight: {metering.describe(m)}"
    return m


def check_metering(t: SrvtRig, role: str, m: metering.Metering, sent: dict[str, Any]) -> None:
    """Compare a metering measurement with the tariff oracle: energy per TOU register (the rate in
    force by the switch times, device time), and the balance (energy cost at the rate's price, less
    the standing charge of each device midnight). Tolerances: the device time each snapshot took."""
    switches = tariff_oracle.switches_of(sent)
    slack = KWH_TOLERANCE
    got = m.tou_delta()  # registers of rates only a former tariff used stay, and must not move
    prices = [*sent["prices"], *[0.0] * (len(got) - len(sent["prices"]))]
    expected = m.expected_by_rate(switches, len(got), tariff_oracle.days_of(sent))
    for rate, ((lo, hi), value) in enumerate(zip(expected, got, strict=True), 1):
        assert lo - slack <= value <= hi + slack, (
            f"TOU register {rate} of the {role} gained {value:.3f} kWh; the tariff oracle allows "
            f"{lo:.3f}..{hi:.3f} kWh ({metering.describe(m)})"
        )
    # reads taken with nothing flowing; the meter shows whole pence, so two rounded reads differ from
    # the true change by up to a penny
    cost_slack = slack * len(got) * d(max(prices)) + d("1")
    moved = m.last.balance - m.first.balance
    options = [tariff_oracle.balance_change(got, prices, sent["standing_charge"], n) for n in m.midnights()]
    assert any(abs(moved - want) <= cost_slack for want in options), (
        f"the {role}'s balance moved {moved:.2f} p; the tariff oracle expects {[f'{o:.2f}' for o in options]}"
        f" +- {cost_slack:.2f} p for the energy registered ({metering.describe(m)})"
    )


@case("1.1.1", TARIFF, *METERS)
def update_import_tariff(t: SrvtRig, role: str) -> None:
    """SRVT-1.1.1: the tariff sent is held (SRV 4.11.1), the change takes a billing snapshot (0x8F0A),
    the registers stay cumulative, and - oracle :mod:`test_packs.oracles.tariff` - energy flowing under
    the new tariff accrues to the TOU register of the rate in force and is charged at its price.
    Inputs varied: to the ESME an hourly day profile using every rate, the highest two included; to the
    GSME a tariff switching by day (a gas meter switches rate by day: DUIS's ``GasDayProfile`` holds one
    TOU rate, and no DCC User can send a gas meter more), 4 rates, the highest two today and tomorrow
    (every midnight a change of rate), gas metered from before the meter's next midnight to after it:
    the gas before lands in the ending day's rate's register and cost, the gas after in the next's.
    Prices drawn (seeded, :func:`tou_prices`); the price fields' bounds are in ``test_field_bounds.py``."""
    before = t.result("4.11.1", role)
    t.mark(role)
    with metering.flowing(t, role):  # registers that hold something, so a reset would show
        metering.wait_device_time(t, role, t.optical(role).clock() + timedelta(minutes=30))
    regs0 = t.optical(role).import_registers()
    assert regs0.total > 0, f"nothing registered under a real flow: {regs0}"
    if role == "gsme":
        prices = tou_prices(t, role, GAS_TOU_RATES)
        new = daily_tariff(t.optical(role).clock(), GAS_TOU_RATES, before["standing_charge"], prices)
    else:
        new = hourly_tariff(t.optical(role).clock(), 6, before["standing_charge"], tou_prices(t, role, 6))
    try:
        try:
            t.ok("1.1.1", role, new)
        except RouteError as exc:  # a model holding fewer rates refuses 6 (E11; max TOU rates differ)
            assert exc.code == "E11" and role != "gsme", exc
            new = hourly_tariff(t.optical(role).clock(), 4, before["standing_charge"], tou_prices(t, role, 4))
            t.ok("1.1.1", role, new)
        after = t.result("4.11.1", role)
        assert after["prices"] == new["prices"], f"tariff prices read back {after['prices']}, sent {new}"
        assert after["rates"] == new["rates"], after
        # Independent: the tariff change takes a billing snapshot (0x8F0A) on the meter.
        t.expect_logged(role, BILLING_LOG_UPDATED)
        regs1 = t.optical(role).import_registers()
        assert len(regs1.tou) >= after["rates"], "TOU registers fewer than the tariff's rates"
        assert regs1.total >= regs0.total - KWH_TOLERANCE, (
            f"the tariff change reset the registers: {regs0} -> {regs1}"
        )
        for rate, (a, b) in enumerate(zip(regs0.tou, regs1.tou, strict=False), 1):
            assert b >= a - KWH_TOLERANCE, f"TOU register {rate} went back at the tariff change: {a} -> {b}"
        if role == "gsme":
            check_metering(t, role, meter_across_midnight(t, role), new)
        else:
            check_metering(t, role, metering.meter_for(t, role, TOU_HOURS), new)
    finally:
        t.ok("1.1.1", role, tariff_params(before))


@case("1.2.1", TARIFF, *METERS)
def update_price(t: SrvtRig, role: str) -> None:
    """SRVT-1.2.1: the prices and standing charge sent are held, the switch times kept, and - oracle
    :mod:`test_packs.oracles.tariff` - energy consumed afterwards is charged at the *new* prices
    (balance change = - sum of energy per register x its new price, less standing charges). Inputs
    varied, seeded and recorded in the transcript (``_inputs``): every price moved 5-20 p, all up or
    all down (never below 1 p), a standing charge of 10-99 p/day with pence fractions; the fields'
    bounds and a price the meter must refuse are in ``test_field_bounds.py``."""
    before = t.result("4.11.1", role)
    rng = seeded(t.request, f"1.2.1 {role}")
    steps = [rng.uniform(PRICE_STEP, 20.0) for _ in before["prices"]]
    # all up or all down, so prices charged at the old rates cannot cancel out in the balance
    down = rng.random() < 0.5 and all(p - s >= 1.0 for p, s in zip(before["prices"], steps, strict=True))
    prices = [round(p - s if down else p + s, 2) for p, s in zip(before["prices"], steps, strict=True)]
    standing = pence(rng, 10.0, 99.0)
    standing += 0.37 if standing == int(standing) else 0.0  # a fraction of a penny a meter must keep
    note(t.request, "1.2.1 prices", prices=prices, standing_charge=standing)
    try:
        t.ok("1.2.1", role, {"prices": prices, "standing_charge": standing})
        after = t.result("4.11.1", role)
        assert after["prices"] == prices, f"prices read back {after['prices']}, sent {prices}"
        assert abs(float(after["standing_charge"]) - standing) < 1e-6, (
            f"standing charge read back {after['standing_charge']} p/day, sent {standing}"
        )
        assert after["switches"] == before["switches"], "a price update must not change the TOU switches"
        sent = tariff_params(after) | {"prices": prices, "standing_charge": standing}
        check_metering(t, role, metering.meter_for(t, role, PRICE_HOURS), sent)
    finally:
        t.ok("1.2.1", role, {"prices": before["prices"], "standing_charge": before["standing_charge"]})


#: Balance reads while no energy flows: only rounding and a standing charge at a midnight can move it.
STILL = Decimal("0.5")


def standing_charge(t: SrvtRig, role: str) -> Decimal:
    return d(t.result("4.11.1", role)["standing_charge"])


def balance_moved_by(t: SrvtRig, role: str, before: Decimal, delta: Decimal, since: datetime) -> None:
    """The balance is ``before + delta`` (prepay oracle), allowing the standing charge of any device
    midnight between ``since`` and now (no energy flows). The clock is read after the balance, so a
    midnight just before the balance read is counted (read first, at 3600x it raced the midnight)."""
    after = t.balance(role)
    now = t.optical(role).clock()
    charges = tariff_oracle.midnights_between(since, now) * standing_charge(t, role)
    assert abs(after - (before + delta)) <= STILL + charges, (
        f"the {role}'s balance went {before} -> {after}; the prepay oracle expects {before + delta} "
        f"(+- {STILL + charges} p)"
    )


@case("1.5", TARIFF, *METERS)
def update_meter_balance(t: SrvtRig, role: str) -> None:
    """SRVT-1.5, oracle :mod:`test_packs.oracles.prepay`: the adjustment is added with its sign
    (a credit of 101-999 p, then a debit of 50-399 p: whole pence, seeded and recorded in the
    transcript, ``_inputs``); in credit mode a balance below the disablement threshold
    leaves supply as it was (SRV 1.6: credit mode never disables for credit); in prepayment mode it
    raises 0x8F0F and disables supply."""
    optical = t.optical(role)
    if role == "esme":
        t.restore_supply(role)
    # A credit-mode meter is never shut for credit, and no test before this one shuts a GSME's valve.
    supply = optical.supply_state()
    assert supply == "enabled", f"the {role} in credit mode starts with supply {supply}, not enabled"
    rng = seeded(t.request, f"1.5 {role}")
    plus, minus = rng.randrange(101, 1000), rng.randrange(50, 400)
    note(t.request, "1.5 adjustments (p)", plus=plus, minus=-minus)
    with metering.idle(t, role):  # the balance moves only by the adjustment, however slow the route
        b0 = t.balance(role)
        result = t.result("1.5", role, {"delta": float(plus)})
        b1 = t.balance(role)
    assert b0 + plus - BALANCE_TOLERANCE <= b1 <= b0 + plus + 1, f"balance {b0} -> {b1} after +{plus} p"
    assert abs(d(result["balance"]) - b1) <= BALANCE_TOLERANCE, f"route says {result}, meter {b1}"
    with metering.idle(t, role):
        since, b2 = optical.clock(), t.balance(role)
        t.ok("1.5", role, {"delta": float(-minus)})
        balance_moved_by(t, role, b2, Decimal(-minus), since)
        assert optical.payment_mode() == "credit", "the rig should be in credit mode"
        cfg = t.result("4.13", role)
        below = float(cfg["disablement_threshold"]) - 150.0 - float(t.balance(role))
        t.ok("1.5", role, {"delta": round(below, 2)})  # credit mode, balance below disablement
        try:
            off = d(cfg["disablement_threshold"])
            want = (
                "disabled"
                if prepay_oracle.supply_disabled_for_credit(False, t.balance(role), off)
                else supply
            )
            state = optical.supply_state()
            assert state == want, f"credit mode, balance {t.balance(role)} p: supply went {supply} -> {state}"
            if role == "esme":  # a GSME valve stays shut until the customer opens it: 7.2-gsme checks it
                credit_disables_supply(t, role)
        finally:
            t.ensure_balance(role, 1000.0)
            t.restore_supply(role)


def credit_disables_supply(t: SrvtRig, role: str) -> None:
    """Oracle :mod:`test_packs.oracles.prepay`: in prepayment mode, credit below the disablement
    threshold raises 0x8F0F and disables supply (left armed by the top-up that follows)."""
    off = d(t.result("4.13", role)["disablement_threshold"])
    with t.payment_mode(role, "prepayment"):
        since = t.mark(role)
        t.ok("1.5", role, {"delta": round(float(off) - 10.0 - float(t.balance(role)), 2)})
        disabled = prepay_oracle.supply_disabled_for_credit(True, t.balance(role), off)
        state = t.optical(role).supply_state()
        assert (state == "disabled") == disabled, f"prepayment, balance {t.balance(role)} p: supply {state}"
        if disabled:
            t.alerts(prepay_oracle.CREDIT_BELOW_DISABLEMENT, role, since=since)
        t.ensure_balance(role, 1000.0)


@case("1.6", TARIFF, *METERS)
def update_payment_mode(t: SrvtRig, role: str) -> None:
    """SRVT-1.6: the meter's payment mode follows SRV 1.6 both ways (credit -> prepayment -> credit)
    and the change takes a billing snapshot (0x8F0A). Compared with: the mode sent (the requirement),
    read on the meter's optical port and with SRV 6.2.9; the snapshot in the meter's own event log."""
    assert t.optical(role).payment_mode() == "credit", "the rig should start in credit mode"
    t.mark(role)
    with t.payment_mode(role, "prepayment"):
        assert t.optical(role).payment_mode() == "prepayment", "optical port: mode unchanged by SRV 1.6"
        assert t.result("6.2.9", role)["payment_mode"] == "prepayment"
        t.expect_logged(role, BILLING_LOG_UPDATED)  # a payment-mode change takes a billing snapshot
    assert t.optical(role).payment_mode() == "credit", "SRV 1.6 back to credit did not take effect"


# ------------------------------------------------------------------------------------- prepayment
@case("2.1", PREPAY, *METERS)
def update_prepay_configuration(t: SrvtRig, role: str) -> None:
    """SRVT-2.1: the threshold sent is held (SRV 4.13) and other settings kept; oracle
    :mod:`test_packs.oracles.prepay`: the meter *uses* it - in prepayment mode, combined credit
    falling below the new low credit threshold (well above the factory one) raises 0x810D. Inputs
    varied, seeded and recorded in the transcript (``_inputs``): the threshold 300-890 p above the one
    held, credit falling to 5-119 p below it; the fields' bounds (maximum credit threshold equal to and
    1 p beyond a top-up, a value the meter must refuse) are in ``test_field_bounds.py``."""
    before = t.result("4.13", role)
    rng = seeded(t.request, f"2.1 {role}")
    new = float(before["low_credit_threshold"]) + 10 * rng.randrange(30, 90)
    dip = rng.randrange(5, 120)
    note(t.request, "2.1 low credit threshold (p)", threshold=new, credit_below_by=dip)
    try:
        t.ok("2.1", role, {"low_credit_threshold": new})
        after = t.result("4.13", role)
        assert after["low_credit_threshold"] == new, f"read back {after}, sent {new}"
        assert after["max_credit"] == before["max_credit"], "other settings must be kept"
        with metering.idle(t, role), t.payment_mode(role, "prepayment"):
            t.ok("1.5", role, {"delta": round(new + 300.0 - float(t.balance(role)), 2)})  # above it
            since = t.mark(role)
            t.ok("1.5", role, {"delta": -300.0 - dip})  # combined credit now new - dip
            level = t.balance(role)
            due = prepay_oracle.credit_alerts(
                level, low=d(new), ec_threshold=d(after["emergency_credit_threshold"]),
                disablement=d(after["disablement_threshold"]), ec_active=False,
            )  # fmt: skip
            assert prepay_oracle.LOW_CREDIT in due, (level, new)
            t.alerts(prepay_oracle.LOW_CREDIT, role, since=since)
            t.ensure_balance(role, 1000.0)
    finally:
        t.ok("2.1", role, {"low_credit_threshold": before["low_credit_threshold"]})


@case("2.2", PREPAY, *METERS)
def top_up_device(t: SrvtRig, role: str) -> None:
    """SRVT-2.2, oracle :mod:`test_packs.oracles.prepay`: a UTRN of 1000 p, then one of a value that is
    not whole pounds with a payment-based debt recovered at a percentage of each top-up: the meter
    credits the value less the debt recovered, and the debt falls by what was recovered. Inputs varied,
    seeded and recorded in the transcript (``_inputs``): value 1020-4980 p in 20 p steps (never whole
    pounds), rate 5-25 %, a debt larger than the recovery (so the rate, not the debt, bounds it)."""
    utrn = t.utrn(role, 1000)
    b0 = t.balance(role)
    result = t.ok("2.2", role, {"utrn": utrn}).result or {}
    b1 = t.balance(role)
    assert b0 + 1000 - BALANCE_TOLERANCE <= b1 <= b0 + 1000 + 1, f"optical balance {b0} -> {b1} after 1000 p"
    if "amount" in result:
        assert d(result["amount"]) == 1000, result
    debt_before = t.result("4.3", role)["debts"]["payment_debt"]
    cfg = t.result("4.13", role)
    rng = seeded(t.request, f"2.2 {role}")
    rate = rng.choice((5, 10, 15, 20, 25))
    value = 20 * rng.choice([k for k in range(51, 250) if k % 5])  # whole pence, never whole pounds
    owed = rng.randrange(value * rate // 100 + 100, value * rate // 100 * 3 + 200)
    note(t.request, "2.2 top-up", value=value, payment_debt=owed, rate_pct=rate)
    try:
        t.ok("2.3", role, {"debts": [{"name": "payment_debt", "amount": float(owed), "rate": float(rate)}]})
        with metering.idle(t, role):
            since, b2 = t.optical(role).clock(), t.balance(role)
            want = prepay_oracle.top_up(
                value, balance=b2, payment_debt=d(owed), payment_debt_rate_pct=d(rate),
                max_credit=d(cfg["max_credit"]), max_balance=d(cfg["max_balance"]),
            )  # fmt: skip
            t.ok("2.2", role, {"utrn": t.utrn(role, value)})
            balance_moved_by(t, role, b2, want.credited, since)
        debt = [d(x) for x in t.result("4.3", role)["debts"]["payment_debt"]]
        assert abs(debt[0] - (d(owed) - want.recovered)) <= d("0.01"), (
            f"payment debt {debt[0]} p after a {value} p top-up; the prepay oracle expects "
            f"{d(owed) - want.recovered} ({owed} p owed, {rate} % recovered)"
        )
    finally:
        t.ok(
            "2.3",
            role,
            {"debts": [{"name": "payment_debt", "amount": debt_before[0], "rate": debt_before[1]}]},
        )


@case("2.3", PREPAY, *METERS)
def update_debt(t: SrvtRig, role: str) -> None:
    """SRVT-2.3: amount and rate are both held; oracles :mod:`test_packs.oracles.prepay` and
    :mod:`~test_packs.oracles.tariff`: across one device midnight in prepayment mode with no energy
    flowing, the balance falls by exactly the standing charge plus the time debt's daily rate, the debt
    by its rate, and the daily read log gains the midnight's read (SRV 4.6.1) stamped 00:00. Inputs
    varied, seeded and recorded in the transcript (``_inputs``): a daily rate of 5-60 p and an amount
    from three times the rate to 4000 p, whole pence (what both routes carry for gas), never the amount
    held. The amount always exceeds the rate, so a meter recovering the wrong rate shows."""
    before = t.result("4.3", role)["debts"]["time_debt_1"]
    rng = seeded(t.request, f"2.3 {role}")
    rate = pence(rng, 5.0, 60.0, places=0)
    amount = pence(rng, 3 * rate, 4000.0, places=0)
    if float(before[0]) == amount:  # differs from what the meter holds
        amount += 1.0
    note(t.request, "2.3 time debt 1", amount=amount, rate=rate)
    try:
        t.ok("2.3", role, {"debts": [{"name": "time_debt_1", "amount": amount, "rate": rate}]})
        after = t.result("4.3", role)["debts"]["time_debt_1"]
        assert [float(x) for x in after] == [amount, rate], f"time debt 1 read back {after}, sent {amount}"
        with metering.idle(t, role), t.payment_mode(role, "prepayment"):
            midnight_check(t, role, d(rate))
    finally:
        t.ok("2.3", role, {"debts": [{"name": "time_debt_1", "amount": before[0], "rate": before[1]}]})


def midnight_check(t: SrvtRig, role: str, rate: Decimal) -> None:
    """One device midnight, its balance and time debt 1 compared with the oracles. The debt is read
    just before the measured window: a midnight passed on the way (the one skipped when too close)
    has already recovered from it, so the expectation starts from what the meter then held."""
    optical = t.optical(role)
    now = optical.clock()
    midnight = tariff_oracle.next_midnight(now)
    if midnight - now < timedelta(hours=1):  # too close to read cleanly before it: take the next one
        metering.wait_device_time(t, role, midnight + timedelta(minutes=30))
        midnight += timedelta(days=1)
    sc = standing_charge(t, role)
    wd = optical.clock()
    amount = d(t.result("4.3", role)["debts"]["time_debt_1"][0])
    b0, w0 = t.balance(role), optical.clock()
    metering.wait_device_time(t, role, midnight + timedelta(minutes=30))
    b1, w1 = t.balance(role), optical.clock()
    assert tariff_oracle.midnights_between(w0, w1) == 1, (w0, w1)
    assert tariff_oracle.midnights_between(wd, w1) == 1, f"a midnight passed while reading the debt: {wd}"
    recovered = prepay_oracle.midnight_recovery(True, [(amount, rate)])
    want = b0 - sc - recovered
    assert abs(b1 - want) <= STILL, (
        f"across the {role}'s midnight {midnight:%Y-%m-%d} the balance went {b0} -> {b1}; the oracles "
        f"expect {want} (standing charge {sc} p, time debt {recovered} p)"
    )
    debt = d(t.result("4.3", role)["debts"]["time_debt_1"][0])
    assert abs(debt - (amount - recovered)) <= d("0.01"), f"time debt 1 is {debt} p after the midnight"
    reads = t.result("4.6.1", role)["reads"]
    stamps = [parse_at(r["at"]) for r in reads]
    assert midnight in stamps, f"no daily read stamped {midnight} in {stamps[-3:]}"


@case("2.5", PREPAY, *METERS)
def activate_emergency_credit(t: SrvtRig, role: str) -> None:
    """SRVT-2.5, oracle :mod:`test_packs.oracles.prepay`: credit falling below the emergency credit
    threshold raises 0x8119; SRV 2.5 then raises 0x81AB and grants the emergency credit limit *set by
    SRV 2.1* (not the factory value). Inputs varied, seeded and recorded in the transcript
    (``_inputs``): the limit 150-950 p in 10 p steps, never the one held nor the factory 500 p."""
    cfg = t.result("4.13", role)
    rng = seeded(t.request, f"2.5 {role}")
    held = float(cfg["emergency_credit_limit"])
    limit = float(rng.choice([v for v in range(150, 960, 10) if v not in (held, 500)]))
    note(t.request, "2.5 emergency credit limit (p)", limit=limit)

    def run() -> None:
        with t.payment_mode(role, "prepayment"):
            since = t.mark(role)
            t.ok("1.5", role, {"delta": round(80.0 - float(t.balance(role)), 2)})  # below the EC threshold
            due = prepay_oracle.credit_alerts(
                t.balance(role), low=d(cfg["low_credit_threshold"]),
                ec_threshold=d(cfg["emergency_credit_threshold"]),
                disablement=d(cfg["disablement_threshold"]), ec_active=False,
            )  # fmt: skip
            for code in sorted(due):
                t.alerts(code, role, since=since)
            balance = t.balance(role)
            t.ok("2.5", role)
            remaining = t.optical(role).balance().emergency_credit_pence
            want = prepay_oracle.emergency_credit_remaining(balance, d(limit))
            assert abs(remaining - want) <= STILL, (
                f"emergency credit {remaining} p after SRV 2.5; the prepay oracle expects {want} p "
                f"(limit {limit} p set by SRV 2.1)"
            )
            t.expect_logged(role, EC_ACTIVATED)
            t.alerts(EC_ACTIVATED, role, since=since)

    try:
        t.ok("2.1", role, {"emergency_credit_limit": limit})
        with metering.idle(t, role):
            run()
    finally:
        t.ok("2.1", role, {"emergency_credit_limit": cfg["emergency_credit_limit"]})


# ------------------------------------------------------------------------------- display, customer
@case("3.1", DISPLAY, *METERS)
def display_message(t: SrvtRig, role: str) -> None:
    """SRVT-3.1: the message sent is what the meter's display shows. Compared with: the text sent
    (new each run, so a stale display cannot pass), read on the meter's own display object."""
    text = f"SRVT {datetime.now(UTC):%H%M%S%f}"
    result = t.ok("3.1", role, {"text": text})
    assert [i["target"].upper() for i in result.instructions] == [t.eui(role).upper()], result.instructions
    assert result.outcomes() == ["actioned"], result.instructions
    shown = t.optical(role).displayed_message()  # the meter's display, read on its own port
    assert shown == text, f"the {role}'s display shows {shown!r}, not the message sent ({text!r})"


@case("3.2", DISPLAY, *EM)
def restrict_access_change_of_tenancy(t: SrvtRig, role: str) -> None:
    """SRVT-3.2: the new tenant reads nothing from before the restriction date. Compared with: the
    restriction date sent, applied to the billing data log (SRV 4.4.2) - one tariff-triggered record
    made before the date and one after it (SRV 1.1.1 with the same tariff); the first must be withheld,
    the second returned. The pack then restricts from a date before any data, so the rig stays
    re-runnable."""
    tariff = tariff_params(t.result("4.11.1", role))
    t.ok("1.1.1", role, tariff)  # a record before the date
    cut = t.optical(role).clock()
    t.ok("1.1.1", role, tariff)  # and one after it

    def stamps() -> list[datetime]:
        records = t.result("4.4.2", role)["records"]
        return [at for r in records if (at := parse_at(r["at"])) is not None]

    assert [a for a in stamps() if a < cut], f"no billing record before {cut} to withhold"
    try:
        result = t.result("3.2", role, {"from_date": cut.isoformat()})
        assert parse_at(result["restricted_from"]) == cut, result
        after = stamps()
        early = [a for a in after if a < cut]
        assert not early, f"records from before the restriction date {cut} returned: {early[-3:]}"
        assert after, f"the record made after the restriction date {cut} is withheld too"
    finally:
        t.result("3.2", role, {"from_date": "2000-01-01T00:00:00+00:00"})
    assert [a for a in stamps() if a < cut], "lifting the restriction did not bring the older records back"


@case("3.4", DISPLAY, *METERS)
def update_supplier_name(t: SrvtRig, role: str) -> None:
    """SRVT-3.4: the supplier name sent is held. Compared with: the name sent, read on the meter's own
    supplier-name object. Inputs varied, seeded and recorded in the transcript (``_inputs``): a name
    of the most characters both routes carry (15, printable ASCII with spaces and punctuation), then
    one of a single character (the least). No name the routes carry is one a meter must refuse (any
    1-15 printable characters is a supplier name), so none is sent."""
    rng = seeded(t.request, f"3.4 {role}")
    names = [printable(rng, SUPPLIER_NAME_MAX), printable(rng, 1)]
    note(t.request, "3.4 supplier names", names=names)
    for name in names:
        result = t.ok("3.4", role, {"name": name})
        assert result.outcomes() == ["actioned"], result.instructions
        held = t.optical(role).supplier_name()  # independent: the meter's own supplier-name object
        assert held == name, f"the {role} holds supplier name {held!r}, not {name!r}"


# -------------------------------------------------------------------------------------------- reads
@case("4.1.1", READS, *METERS)
def read_instantaneous_import_registers(t: SrvtRig, role: str) -> None:
    """SRVT-4.1.1: the route's import register (and gas volume) lies between two reads of the meter's
    own registers bracketing it; for the ESME under a 3 kW load from the lab's load source the register
    must advance. Compared with: the meter's optical registers (bounds, not only agreement) and the
    instruments' load; a GSME answer from the CH's cache must be under 2 h of device time old. The
    energy oracle checks are in 1.1.1 / 1.2.1 / 6.2.8 (oracle :mod:`test_packs.oracles.tariff`)."""
    optical = t.optical(role)
    first = optical.import_registers()
    if role == "esme":  # under a known load the register must advance, and the route read with it
        with t.esme_load(3000.0):
            wait_until(
                "the ESME import register advances under a 3 kW load",
                lambda: optical.import_registers().total > first.total + KWH_TOLERANCE,
            )
    result = t.result("4.1.1", role)
    second = optical.import_registers()
    route = d(result["total_kwh"])
    assert second.total >= first.total, f"optical import register went backwards: {first} -> {second}"
    assert route <= second.total + KWH_TOLERANCE, f"route {route} kWh > meter {second.total} kWh"
    if result.get("source") == "ch_cache":  # a GSME read answered from the CH's cache of its last wake
        age = optical.clock() - (parse_at(result["cached_at"]) or datetime.min.replace(tzinfo=UTC))
        assert age <= timedelta(hours=2), f"the CH's GSME cache is {age} old"
    else:
        assert route >= first.total - KWH_TOLERANCE, f"route {route} kWh < meter {first.total} kWh"
    if role == "gsme":
        assert d(result["volume_m3"]) <= optical.gas_volume() + Decimal("0.001"), result


@case("4.1.2", READS, *METERS)
def read_tou_matrices(t: SrvtRig, role: str) -> None:
    """SRVT-4.1.2: one TOU register per rate, each between two optical reads bracketing the route's
    read, and the total equal to their sum (tolerance 0.002 kWh per register). Compared with: the
    meter's optical registers and the requirement that the total is the sum of the TOU registers;
    which rate energy accrues to is checked against oracle :mod:`test_packs.oracles.tariff` in 1.1.1."""
    optical = t.optical(role)
    first = optical.import_registers()
    result = t.result("4.1.2", role)
    second = optical.import_registers()
    tou = [d(v) for v in result["tou_kwh"]]
    assert len(tou) == len(second.tou), f"route has {len(tou)} TOU registers, the meter {len(second.tou)}"
    tolerance = KWH_TOLERANCE * len(tou)
    assert abs(d(result["total_kwh"]) - sum(tou)) <= tolerance, f"total != sum of TOU registers: {result}"
    for rate, (lo, value, hi) in enumerate(zip(first.tou, tou, second.tou, strict=True), start=1):
        assert lo - KWH_TOLERANCE <= value <= hi + KWH_TOLERANCE, (
            f"TOU {rate}: route {value}, meter {lo}..{hi}"
        )
    # The meter's registers are read one GET after another while energy may flow: the total (read
    # first) may lag the TOU registers read after it, never lead them, and a total read afterwards
    # bounds them from above. A meter whose total is not the sum of its TOU registers falls outside.
    later = optical.import_registers()
    assert second.total - tolerance <= sum(second.tou) <= later.total + tolerance, (
        f"optical total != sum of TOU: {second}, then total {later.total}"
    )


@case("4.3", READS, *METERS)
def read_prepay_values(t: SrvtRig, role: str) -> None:
    """SRVT-4.3: mode, balance and debts read through the route; for the ESME after a +300 p SRV 1.5
    (read, change, read: a cached answer fails). Compared with: the meter's optical balance and mode,
    the route's balance within the two optical reads taken around it (energy flows meanwhile: over DUIS
    a round trip is device minutes at 3600x) and BALANCE_TOLERANCE; the balance arithmetic itself is
    checked against oracle :mod:`test_packs.oracles.prepay` in 1.5 / 2.2 / 2.3."""
    if role == "esme":  # read, change, read: the second read must follow the change (no stale answer)
        t.result("4.3", role)
        t.ok("1.5", role, {"delta": 300.0})
    first = t.optical(role).balance()
    result = t.result("4.3", role)
    meter = t.optical(role).balance()
    assert result["mode"] == meter.payment_mode, f"route {result['mode']}, meter {meter.payment_mode}"
    lo = min(first.balance_pence, meter.balance_pence) - BALANCE_TOLERANCE
    hi = max(first.balance_pence, meter.balance_pence) + BALANCE_TOLERANCE
    assert lo <= d(result["balance"]) <= hi, f"{result} outside the optical reads {first} .. {meter}"
    assert set(result["debts"]) >= {"time_debt_1", "time_debt_2", "payment_debt"}, result


@case("4.4.2", READS, *METERS)
def retrieve_billing_data_log(t: SrvtRig, role: str) -> None:
    """SRVT-4.4.2: a tariff change (SRV 1.1.1, the same tariff again) adds a tariff-triggered billing
    record after the test's start, whose total does not exceed the meter's register, and 0x8F0A is
    logged. Compared with: the requirement (a tariff change takes a billing snapshot), the meter's
    device clock (``mark``) and its optical registers and event log."""
    tariff = t.result("4.11.1", role)
    since = t.mark(role)
    t.ok("1.1.1", role, tariff_params(tariff))  # the same tariff again: a "tariff" billing snapshot
    records = t.result("4.4.2", role)["records"]
    assert all(r["trigger"] in ("payment_mode", "tariff") for r in records), records
    fresh = [r for r in records if r["trigger"] == "tariff" and (parse_at(r["at"]) or since) > since]
    assert fresh, f"no tariff-triggered billing record since {since}: {records[-3:]}"
    assert d(fresh[-1]["total_kwh"]) <= t.optical(role).import_registers().total + KWH_TOLERANCE
    t.expect_logged(role, BILLING_LOG_UPDATED)


@case("4.6.1", READS, *METERS)
def retrieve_daily_read_log(t: SrvtRig, role: str) -> None:
    """SRVT-4.6.1: the daily read log holds one read per device midnight (stamped 00:00, none
    missing, the last today by the meter's clock), with totals never going backwards and not above the
    register. Compared with: the requirement (a read at each device midnight), the meter's own clock
    and optical registers."""
    reads = t.result("4.6.1", role)["reads"]
    now = t.optical(role).clock()
    total = t.optical(role).import_registers().total
    assert reads, "the daily read log is empty"
    days = [parse_at(r["at"]) for r in reads]
    assert all(x is not None and x.time() == datetime.min.time() for x in days), f"not midnights: {days}"
    gaps = [(a, b) for a, b in itertools.pairwise(days) if a and b and b - a != timedelta(days=1)]
    assert not gaps, f"daily reads missing between {gaps[:3]}"
    last = days[-1]
    assert last is not None and last.date() == now.date(), f"no read for today's midnight ({now}): {last}"
    totals = [d(r["total_kwh"]) for r in reads]
    assert totals == sorted(totals), f"daily totals go backwards: {totals}"
    assert totals[-1] <= total + KWH_TOLERANCE, f"last daily read {totals[-1]} > register {total}"


@case("4.8.1", READS, *METERS)
def read_active_import_profile(t: SrvtRig, role: str) -> None:
    """SRVT-4.8.1: the profile's intervals are contiguous at the resolution it declares (W2 when less
    than half-hourly), totals never go backwards nor above the register. Compared with: the requirement
    (contiguous, cumulative intervals) and the meter's optical registers."""
    result = t.ok("4.8.1", role)
    data = result.result or {}
    assert data.get("resolution") in ("half_hourly", "daily"), data
    if data["resolution"] != "half_hourly":
        assert any(w.get("code") == "W2" for w in result.warnings), "reduced resolution without W2"
    totals = [d(i["total_kwh"]) for i in data["intervals"]]
    assert totals, "no profile intervals"
    step = timedelta(minutes=30) if data["resolution"] == "half_hourly" else timedelta(days=1)
    ats = [parse_at(i["at"]) for i in data["intervals"]]
    gaps = [(a, b) for a, b in itertools.pairwise(ats) if a is None or b is None or b - a != step]
    assert not gaps, f"profile intervals missing between {gaps[:3]}"
    assert totals == sorted(totals), f"profile totals go backwards: {totals}"
    assert totals[-1] <= t.optical(role).import_registers().total + KWH_TOLERANCE


@case("4.11.1", READS, *METERS)
def read_tariff(t: SrvtRig, role: str) -> None:
    """SRVT-4.11.1: read, change the prices (SRV 1.2.1, each +1 p), read: the second read shows the
    prices sent; the tariff read is well formed (a price per rate, first switch at 00:00, switches
    naming only its rates) and the meter keeps a TOU register per rate. Compared with: the values sent
    and the requirement's shape of a tariff; the optical port's TOU registers."""
    tariff = t.result("4.11.1", role)
    prices = [round(p + 1.0, 2) for p in tariff["prices"]]  # read, change (SRV 1.2.1), read
    try:
        t.ok("1.2.1", role, {"prices": prices})
        read = t.result("4.11.1", role)["prices"]
        assert read == prices, f"SRV 4.11.1 reads prices {read} after setting {prices}"
    finally:
        t.ok("1.2.1", role, {"prices": tariff["prices"], "standing_charge": tariff["standing_charge"]})
    assert tariff["rates"] == len(tariff["prices"]), tariff
    assert tariff["switches"] and tariff["switches"][0]["at"].startswith("00:00"), tariff
    assert {s["rate"] for s in tariff["switches"]} <= set(range(1, tariff["rates"] + 1)), tariff
    tou = t.optical(role).import_registers().tou
    # A register per rate; those of rates only a former tariff used are kept (cumulative registers).
    assert len(tou) >= tariff["rates"], f"the meter registers {len(tou)} TOU rates, tariff has {tariff}"


@case("4.13", READS, *METERS)
def read_prepayment_configuration(t: SrvtRig, role: str) -> None:
    """SRVT-4.13: read, change the low credit threshold (SRV 2.1, +35 p), read: the second read shows
    it; the thresholds are ordered (low credit >= emergency credit >= disablement) and the maximum
    balance is at least the maximum credit. Compared with: the value sent and the requirement's
    ordering of the thresholds; whether the meter *uses* them is checked in 2.1 / 2.5 (oracle
    :mod:`test_packs.oracles.prepay`)."""
    c = t.result("4.13", role)
    if role == "esme":  # read, change (SRV 2.1), read: the second read must show the change
        new = float(c["low_credit_threshold"]) + 35.0
        try:
            t.ok("2.1", role, {"low_credit_threshold": new})
            again = t.result("4.13", role)
            assert again["low_credit_threshold"] == new, f"SRV 4.13 reads {again} after setting {new}"
        finally:
            t.ok("2.1", role, {"low_credit_threshold": c["low_credit_threshold"]})
    assert c["low_credit_threshold"] >= c["emergency_credit_threshold"] >= c["disablement_threshold"], c
    assert c["max_credit"] > 0 and c["max_balance"] >= c["max_credit"], c


@case("4.18", READS, *METERS)
def read_meter_balance(t: SrvtRig, role: str) -> None:
    """SRVT-4.18: the balance read through the route; for the ESME after a +400 p SRV 1.5 (read,
    change, read: a cached answer fails). Compared with: the meter's optical balance (agreement within
    BALANCE_TOLERANCE); the balance arithmetic is checked against oracle
    :mod:`test_packs.oracles.prepay` in 1.5 / 2.2 / 2.3."""
    # Nothing flows meanwhile: the balance moves only by the change, not by a load over a slow round trip.
    with metering.idle(t, role):
        if role == "esme":  # read, change, read: the second read must follow the change (no stale answer)
            t.result("4.18", role)
            t.ok("1.5", role, {"delta": 400.0})
        result = t.result("4.18", role)
        meter = t.balance(role)
    assert abs(d(result["balance"]) - meter) <= BALANCE_TOLERANCE, f"route {result}, meter {meter} p"


# ---------------------------------------------------------------------------------------- schedules
def _new_schedule(t: SrvtRig) -> str:
    start = (t.route_now() + timedelta(days=30)).isoformat()
    result = t.result("5.1", "esme", {"srv": "4.6.1", "start": start, "period_s": 86400})
    sid = str(result["schedule_id"])
    assert sid, result
    return sid


def _schedules(t: SrvtRig, sid: str) -> list[dict[str, Any]]:
    return list(t.result("5.2", "esme", {"schedule_id": sid})["schedules"])


@case("5.1", SCHEDULES, *EM)
def create_schedule(t: SrvtRig, role: str) -> None:
    """SRVT-5.1: a schedule created (SRV 4.6.1 daily, 30 days ahead of the route's clock) is held
    with the SRV, period and zero runs sent. Compared with: the values sent, read back with SRV 5.2 (a
    DCC-held schedule has no device-side port)."""
    sid = _new_schedule(t)
    try:
        [s] = _schedules(t, sid)
        assert s["srv"] == "4.6.1" and s["period_s"] == 86400 and s["runs"] == 0, s
    finally:
        t.ok("5.3", "esme", {"schedule_id": sid})


@case("5.2", SCHEDULES, *EM)
def read_schedule(t: SrvtRig, role: str) -> None:
    """SRVT-5.2: the schedule just created is among those SRV 5.2 returns. Compared with: the schedule
    id SRV 5.1 returned (DCC-held data: no device-side port)."""
    sid = _new_schedule(t)
    try:
        everything = t.result("5.2", "esme")["schedules"]
        assert sid in {s["schedule_id"] for s in everything}, everything
    finally:
        t.ok("5.3", "esme", {"schedule_id": sid})


@case("5.3", SCHEDULES, *EM)
def delete_schedule(t: SrvtRig, role: str) -> None:
    """SRVT-5.3: after SRV 5.3 the schedule is gone. Compared with: the schedule id deleted, read back
    with SRV 5.2 (DCC-held data: no device-side port)."""
    sid = _new_schedule(t)
    assert t.result("5.3", "esme", {"schedule_id": sid}).get("deleted") == sid
    assert _schedules(t, sid) == [], "the schedule is still held after SRV 5.3"


# ------------------------------------------------------------------------------ device configuration
@case("6.2.1", CONFIG, *EM)
def read_config_voltage(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.1: variant and nominal voltage read through the route are plausible (200-250 V) and
    are what the meter holds. Compared with: the meter's own nominal-voltage object on the optical port
    (agreement: the ESME has no other source of its nominal voltage)."""
    c = t.result("6.2.1", role)
    assert c["variant"] in ("single_element", "polyphase", "twin_element"), c
    assert 200 <= c["nominal_voltage_v"] <= 250, c
    meter = t.optical(role).nominal_voltage()  # independent: the meter's nominal voltage object
    assert c["nominal_voltage_v"] == meter, (
        f"route reads {c['nominal_voltage_v']} V, the meter holds {meter} V"
    )


@case("6.2.2", CONFIG, *EM)
def read_config_randomisation(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.2: the randomised offset limit read through the route is a non-negative number of
    seconds and is what the meter holds. Compared with: the meter's own object on the optical port
    (agreement: no other source of the setting)."""
    c = t.result("6.2.2", role)
    assert isinstance(c["randomised_offset_limit_s"], int) and c["randomised_offset_limit_s"] >= 0, c
    held = t.optical(role).randomised_offset_limit()
    assert c["randomised_offset_limit_s"] == held, f"route reads {c}, the meter holds {held} s"


@case("6.2.3", CONFIG, *METERS)
def read_config_billing_calendar(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.3: the billing calendar read is well formed — a gas meter's a start and a period, an
    ESME's a billing time and a periodicity (its calendar as a DCC User sends it: DUIS
    ``ElectricityBillingCalendar``, no start date); for the ESME read, change (SRV 6.8, weekly, a time new
    each run on the day whose next occurrence is farthest away), read: the second read shows the time,
    period and day sent. Compared with: the values sent; that the meter *uses* the calendar (a snapshot
    at its next occurrence) is checked in 6.8 (oracle :mod:`test_packs.oracles.billing_calendar`)."""
    c = t.result("6.2.3", role)
    assert "billing_calendar" in c, c
    cal = c["billing_calendar"]
    if role != "esme":
        assert cal is None or (parse_at(cal["start"]) and cal["period"] in ("daily", "weekly", "monthly")), c
        return
    assert cal is None or (
        dtime.fromisoformat(cal["billing_time"]) and cal["period"] in cal_oracle.PERIODS
    ), c
    now = t.optical(role).clock()  # read, change (SRV 6.8), read: the second read must show the new calendar
    at = dtime(0, datetime.now(UTC).minute, 0)
    day = cal_oracle.farthest_day(now, at, "weekly")  # no snapshot while the calendar is held
    try:
        t.ok("6.8", role, {"billing_time": at.isoformat(), "period": "weekly", "day": day})
        read = t.result("6.2.3", role)["billing_calendar"]
        assert read and (dtime.fromisoformat(read["billing_time"]), read["period"], read.get("day")) == (
            at,
            "weekly",
            day,
        ), read
    finally:
        restore_esme_calendar(t)


def restore_esme_calendar(t: SrvtRig) -> None:
    """Leave the ESME a monthly calendar whose next occurrence (by its clock) is as far as a month allows,
    so it takes no calendar snapshot during the run."""
    at = dtime(0, 0, 0)
    day = cal_oracle.farthest_day(t.optical("esme").clock(), at, "monthly")
    t.ok("6.8", "esme", {"billing_time": at.isoformat(), "period": "monthly", "day": day})


@case("6.2.4", CONFIG, *METERS)
def read_config_identity(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.4: the device identity read through the route. Compared with: the lab file's record
    of the DMC (model, manufacturer, hardware and firmware versions, Device ID) and the meter's own
    identity object (serial, firmware) on the optical port."""
    c = t.result("6.2.4", role)
    meter = t.optical(role).identity()
    spec = t.spec(role)
    assert c["device_id"].upper() == t.eui(role).upper() == meter.device_id.upper(), (c, meter)
    assert c["serial"] == meter.serial, f"route serial {c['serial']}, meter {meter.serial}"
    assert c["model"] == spec.model and c["manufacturer"] == spec.manufacturer, (c, spec)
    assert c["hardware_version"] == spec.hardware_version, (c, spec)
    assert c["firmware_version"] == meter.firmware_version == spec.firmware_version, (c, meter, spec)


@case("6.2.5", CONFIG, *EM)
def read_config_power_thresholds(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.5: the load-limit settings read; read, change (SRV 6.4.1, a threshold new each
    run), read: the second read shows the threshold and period sent. Compared with: the values sent;
    that the meter *uses* them is checked in 6.4.1 (oracle :mod:`test_packs.oracles.load_limit`)."""
    c = t.result("6.2.5", role)
    limit = c["load_limit"]
    assert limit is None or (limit["threshold_w"] > 0 and limit["period_s"] > 0), c
    threshold = 90000.0 + datetime.now(UTC).second  # read, change (SRV 6.4.1), read
    try:
        t.ok("6.4.1", role, {"threshold_w": threshold, "period_s": 120.0})
        read = t.result("6.2.5", role)["load_limit"]
        assert read and read["threshold_w"] == threshold and read["period_s"] == 120.0, read
    finally:
        t.ok("6.4.1", role, {"threshold_w": 100000.0, "period_s": 60.0})


@case("6.2.7", CONFIG, *METERS)
def read_config_mpxn(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.7: the MPxN read is empty or 6-13 digits; for the ESME after SRV 6.20.1 the read shows
    the MPAN just set. Compared with: the value sent (6.20.1 varies it, leading zeros included)."""
    mpxn = t.result("6.2.7", role)["mpxn"]
    assert mpxn == "" or re.fullmatch(r"\d{6,13}", mpxn), mpxn
    if role == "esme":  # after SRV 6.20.1 the read must show the new MPAN
        new = "1900012345679" if mpxn != "1900012345679" else "1900012345678"
        t.ok("6.20.1", role, {"mpxn": new})
        assert t.result("6.2.7", role)["mpxn"] == new, "SRV 6.2.7 does not read the MPAN just set"


@case("6.2.8", CONFIG, *GM)
def read_config_gas(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.8: the gas configuration read is plausible, and - oracle
    :mod:`test_packs.oracles.gas` - the meter converts with it: under a real gas flow the volume
    register counts flow x device time and the energy registers volume x CV x factor / 3.6."""
    c = t.result("6.2.8", role)
    cv, cf = d(c["calorific_value"]), d(c["conversion_factor"])
    assert Decimal(30) <= cv <= Decimal(50), c
    assert abs(cf - Decimal("1.02264")) < Decimal("0.01"), c
    # Oracle test_packs.oracles.gas: gas really flows (the lab's flow rig) for two hours of device
    # time; the meter is read with the flow stopped, so its volume and energy registers are still.
    # The volume register must count flow x device time (the flow's start and stop are known to
    # device-time windows), the energy registers volume x CV x factor / 3.6.
    m = metering.meter_for(t, role, 2.0)
    flow = d(m.watts) / 1000 / metering.kwh_per_m3(t) * 1000  # l/h the flow rig measured
    assert m.first.volume is not None and m.last.volume is not None
    lo = gas_oracle.volume_m3(flow, m.inner[1] - m.inner[0])
    hi = gas_oracle.volume_m3(flow, m.outer[1] - m.outer[0])
    moved = m.last.volume - m.first.volume
    assert lo - Decimal("0.001") <= moved <= hi + Decimal("0.001"), (
        f"{flow:.1f} l/h for {m.inner[1] - m.inner[0]}..{m.outer[1] - m.outer[0]} of device time: the gas "
        f"oracle expects {lo:.4f}..{hi:.4f} m3, the volume register moved {moved:.4f} m3"
    )
    energy = m.last.total - m.first.total
    expected = gas_oracle.kwh(moved, cv, cf)
    # The volume register shows whole litres while the meter converts what really flowed: the energy
    # of one litre (a rounding at each of the two reads) is within tolerance, as are the energy
    # registers' own 0.001 kWh steps.
    litre = gas_oracle.kwh(Decimal("0.001"), cv, cf)
    assert abs(energy - expected) <= Decimal("0.003") + litre + expected * Decimal("0.0005"), (
        f"{moved:.4f} m3 with CV {cv} and factor {cf} is {expected:.3f} kWh (gas oracle); "
        f"the energy registers moved {energy:.3f} kWh"
    )


@case("6.2.9", CONFIG, *METERS)
def read_config_payment_mode(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.9: the payment mode read; for the ESME after SRV 1.6 to prepayment the read follows
    the change. Compared with: the mode sent, and the meter's optical port."""
    assert t.result("6.2.9", role)["payment_mode"] == t.optical(role).payment_mode()
    if role == "esme":  # after a change of mode (SRV 1.6) the read must follow it
        with t.payment_mode(role, "prepayment"):
            read = t.result("6.2.9", role)["payment_mode"]
            assert read == "prepayment" == t.optical(role).payment_mode(), f"SRV 6.2.9 reads {read!r}"


@case("6.2.10", CONFIG, *METERS)
def read_config_alert_behaviours(t: SrvtRig, role: str) -> None:
    """SRVT-6.2.10: the suppressed alert codes read are GBCS codes; for the ESME read, switch 0x81C6
    Clock Not Adjusted (a configurable alert) off (SRV 6.22), read: the second read lists it. Compared
    with: the change sent; that the meter then logs but does not send the alert is checked in 6.22."""
    suppressed = t.result("6.2.10", role)["suppressed"]
    assert all(re.fullmatch(r"0x[0-9A-F]{4}", c) for c in suppressed), suppressed
    if role == "esme":  # switch one alert off (SRV 6.22): the read must show it, then back on
        code = "0x81C6"
        try:
            t.ok("6.22", role, {"alerts": [{"code": code, "send": False}]})
            assert code in t.result("6.2.10", role)["suppressed"], "SRV 6.2.10 misses the alert switched off"
        finally:
            t.ok("6.22", role, {"alerts": [{"code": code, "send": code not in suppressed}]})


#: Device-time slack on a load-limit event: the meter checks once per its own processing step.
LL_SLACK = timedelta(seconds=2)
#: Restoration period of the test (device seconds): long enough to drop the load before it ends.
RESTORE_S = 3600.0


@case("6.4.1", CONFIG, *EM)
def update_load_limit(t: SrvtRig, role: str) -> None:
    """SRVT-6.4.1, oracle :mod:`test_packs.oracles.load_limit`: power *at* the threshold never limits
    (boundary); a load over a lower threshold limits exactly one period of device time after the
    settings took effect (0x8F01, 0x8F33, supply armed, load limit counter +1); with a restoration
    period of an hour the meter re-enables supply that long after (0x8F34). Tolerance: the device-time
    window around the SRV's submission, plus LL_SLACK. Inputs varied, seeded and recorded in the
    transcript (``_inputs``): the load (1510-2790 W, never whole kW: the first threshold equals it),
    the lower threshold (a third to two thirds of it, 10 W steps) and the period (30-149 s); the
    field maximum and a threshold the meter must refuse are in ``test_field_bounds.py``."""
    optical = t.optical(role)
    rng = seeded(t.request, f"6.4.1 {role}")
    load = float(rng.choice([w for w in range(1510, 2800, 10) if w % 1000]))
    lower = float(10 * rng.randrange(int(load) // 30, int(load) * 2 // 30))
    period = float(rng.randrange(30, 150))
    note(t.request, "6.4.1 load limit", load_w=load, threshold_w=lower, period_s=period)
    with t.esme_load(load):
        try:
            since = t.mark(role)
            power = float(t.instruments.read("esme_load_setpoint"))
            assert power == load, f"the load source is at {power} W, set to {load} W"
            t.ok("6.4.1", role, {"threshold_w": load, "period_s": period})  # at the threshold: no limiting
            assert not ll_oracle.limiting(power, load)
            metering.wait_device_time(t, role, optical.clock() + timedelta(minutes=10))
            state = optical.supply_state()
            assert state == "enabled", f"power at the {load} W threshold (not above it) limited: {state}"
            counter = optical.load_limit_counter()
            lo = optical.clock()
            t.ok("6.4.1", role, {"threshold_w": lower, "period_s": period, "restoration_s": RESTORE_S})
            applied = Window(lo, optical.clock())
            limit = t.result("6.2.5", role)["load_limit"]
            assert limit and limit["threshold_w"] == lower and limit["period_s"] == period, limit
            assert ll_oracle.limiting(power, lower)
            # the load above the lower limit for a period: the meter alerts and arms supply.
            due = ll_oracle.trip_window(applied, period).widened(LL_SLACK)
            [above] = t.alerts(LOAD_LIMIT_ABOVE, role, since=since)
            t.instruments.set_load(0.0)  # no second trip after the restoration: one event to time
            t.alerts(LOAD_LIMIT_ARMED, role, since=since)
            at = parse_at(above.at)
            assert at in due, f"0x8F01 at {at}; the load-limit oracle expects {due.lo}..{due.hi}"
            back = ll_oracle.restoration_window(Window(at, at), RESTORE_S).widened(LL_SLACK)  # type: ignore[arg-type]
            [restored] = t.alerts(LL_RESTORED, role, since=since)
            assert parse_at(restored.at) in back, f"0x8F34 at {restored.at}; expected {back.lo}..{back.hi}"
            got = optical.load_limit_counter()
            assert got >= counter + 1, f"load limit counter {counter} -> {got} after limiting"
            t.ok("6.4.1", role, {"threshold_w": lower, "period_s": period})  # no restoration: stays armed
            t.instruments.set_load(load)
            wait_until("supply armed by the load limit", lambda: optical.supply_state() == "armed")
            assert t.instruments.measured_power() == 0, "power still flows after the load limit tripped"
        finally:
            t.ok("6.4.1", role, {"threshold_w": 100000.0, "period_s": 60.0})
            t.restore_supply(role)
            t.ok("6.4.2", role)
        assert t.instruments.measured_power() > 0, "supply not restored after the test"


@case("6.4.2", CONFIG, *EM)
def reset_load_limit_counter(t: SrvtRig, role: str) -> None:
    """SRVT-6.4.2: the counter of load limiting events (the meter's own object) is zero after the
    reset; the test first trips the limit once (2 kW from the lab's load source over a 1 kW limit), so a
    reset that does nothing is seen. Compared with: the requirement (reset means zero) and the
    load-limit event the instruments caused."""
    optical = t.optical(role)
    if optical.load_limit_counter() == 0:
        since = t.mark(role)
        with t.esme_load(2000.0):
            try:
                t.ok("6.4.1", role, {"threshold_w": 1000.0, "period_s": 60.0})
                t.alerts(LOAD_LIMIT_ABOVE, role, since=since)
            finally:
                t.ok("6.4.1", role, {"threshold_w": 100000.0, "period_s": 60.0})
                t.restore_supply(role)
    assert optical.load_limit_counter() > 0, "the load limit tripped but its counter did not count it"
    result = t.ok("6.4.2", role)
    assert result.outcomes() == ["actioned"], result.instructions
    assert optical.load_limit_counter() == 0, "SRV 6.4.2 left the load limit counter as it was"


@case("6.8", CONFIG, *METERS)
def update_billing_calendar(t: SrvtRig, role: str) -> None:
    """SRVT-6.8: the calendar sent is held (SRV 6.2.3) and the meter takes a billing snapshot (0x8F0A in
    its event log) at its first occurrence by the meter's own clock, not before. To the ESME: a daily
    billing time four device hours ahead (an electricity calendar is a time and a periodicity: DUIS
    ``ElectricityBillingCalendar``); to the GSME: a daily calendar starting two device hours ahead (DUIS
    ``GasBillingCalendar``). Compared with: the values sent and oracle
    :mod:`test_packs.oracles.billing_calendar` — the next occurrence of the time sent after the meter's
    clock (its optical port) around the request, the snapshot's log time within a device minute of it."""
    optical = t.optical(role)
    before = optical.clock()
    if role == "esme":
        at = (before + timedelta(hours=4)).replace(microsecond=0).time()
        params: dict[str, Any] = {"billing_time": at.isoformat(), "period": "daily"}
        expected = cal_oracle.next_occurrence(before, at, "daily")
    else:
        expected = (before + timedelta(hours=2)).replace(microsecond=0)
        params = {"start": expected.isoformat(), "period": "daily"}
    try:
        t.ok("6.8", role, params)
        after = optical.clock()
        assert after < expected, (
            f"the request took until {after} (meter time), past the calendar's {expected}"
        )
        cal = t.result("6.2.3", role)["billing_calendar"]
        if role == "esme":
            assert cal and (dtime.fromisoformat(cal["billing_time"]), cal["period"]) == (at, "daily"), cal
        else:
            assert cal and parse_at(cal["start"]) == expected and cal["period"] == "daily", cal
        # Independent: at the first occurrence by its own clock the meter takes a billing snapshot.
        metering.wait_device_time(t, role, expected + cal_oracle.TOLERANCE, real_timeout=30.0)

        def snapshots() -> list[datetime]:
            return [r.at for r in optical.event_log(since=before) if r.code == BILLING_LOG_UPDATED]

        wait_until("billing snapshot 0x8F0A on the billing calendar", lambda: bool(snapshots()), timeout=3.0)
        snaps = snapshots()
        assert abs(snaps[0] - expected) <= cal_oracle.TOLERANCE, (
            f"first billing snapshot at {snaps[0]} (meter time); its first occurrence is {expected}"
        )
    finally:
        if role == "esme":
            restore_esme_calendar(t)
        else:
            t.ok("6.8", role, {"start": "2099-01-01T00:00:00+00:00", "period": "monthly"})


def clock_offset_bounds(t: SrvtRig, role: str) -> tuple[float, float]:
    """Bounds (seconds) on the meter clock's offset from the route's reference clock."""
    before = t.route_now()
    meter = t.optical(role).clock()
    after = t.route_now()
    return (meter - after).total_seconds(), (meter - before).total_seconds()


@case("6.11", CONFIG, *METERS)
def synchronise_clock(t: SrvtRig, role: str) -> None:
    """SRVT-6.11 (SRV 6.11 adjusts a clock within the tolerance, 0x8145), oracle
    :mod:`test_packs.oracles.clock`: adjusted and logged; the meter's clock (its own port) reads the
    reference (the route's answers around the read) to the tolerance; an hour of *device* time later
    (waited on the meter's clock, not the wall's) it still does, and SRV 6.11 adjusts it again - a clock
    that drifts beyond the tolerance within the hour is refused. Errors put on the clock on purpose, within
    and beyond the tolerance: ``test_clock.py``."""
    t.mark(role)
    result = t.result("6.11", role)
    assert result.get("adjusted") is True, result
    t.expect_logged(role, CLOCK_ADJUSTED)
    for waited in (timedelta(0), timedelta(hours=1)):
        metering.wait_device_time(t, role, t.optical(role).clock() + waited)
        lo, hi = clock_offset_bounds(t, role)
        assert clock_oracle.Offset(lo, hi).near(0.0), (
            f"meter clock off the reference by {lo:.1f}..{hi:.1f} s, {waited} (device time) after SRV 6.11"
        )
    again = t.result("6.11", role)
    assert again.get("adjusted") is True, f"an hour after SRV 6.11 the {role}'s clock is refused: {again}"


@case("6.13", CONFIG, *ALL3)
def read_event_or_security_log(t: SrvtRig, role: str) -> None:
    """SRVT-6.13: the event and security logs read through the route hold what the device logged. A
    meter's last 20 entries on its optical port must all be in the read (time to the second and code);
    the ESME first logs something new (a clock synchronisation). The CH (no optical port) must show,
    after the route's time, the 0x8F12 its device log change makes, its entries GBCS-coded and in time
    order, and its joins (0x8F49). Compared with: the meter's own logs on its optical port, and for the
    CH the event the test itself caused (the requirement: a device log change is logged)."""
    if role == "esme":  # read once, make the meter log something new (a clock sync), then compare
        t.result("6.13", role, {"log": "event"})
        t.result("6.11", role)
    if role == "ch":  # read once, make the CH log something new (a device log change), then find it
        fake = "0A-0B-0C-0D-0E-0F-10-14"
        t.result("6.13", role, {"log": "security"})
        since = t.route_now()
        try:
            t.ok("8.11", "ch", {"add": {fake: "ihd"}})
            fresh = codes_of(ch_log_since(t, since, security=True))
            assert DEVICE_LOG_CHANGED in fresh, f"SRV 6.13 shows no 0x8F12 after a device log change: {fresh}"
        finally:
            t.ok("8.11", "ch", {"remove": [fake]})
    for log in ("event", "security"):
        if role == "ch":
            entries = t.result("6.13", role, {"log": log})["entries"]
            assert all(re.fullmatch(r"0x[0-9A-F]{4}", e["code"]) for e in entries), entries
            ats = [parse_at(e["at"]) for e in entries]
            assert ats == sorted(ats), "CH log not in time order"  # type: ignore[type-var]
            if log == "event":
                joined = {e["details"].get("eui", "").upper() for e in entries if e["code"] == "0x8F49"}
                assert joined, f"the CH's event log records no join: {entries[-5:]}"
            continue
        optical = t.optical(role)
        local = optical.security_log() if log == "security" else optical.event_log()
        entries = t.result("6.13", role, {"log": log})["entries"]
        remote = {(parse_at(e["at"]).replace(microsecond=0), int(e["code"], 16)) for e in entries}  # type: ignore[union-attr]
        missing = [r for r in local[-20:] if (r.at.replace(microsecond=0), r.code) not in remote]
        assert not missing, f"{log} log entries on the meter missing from SRV 6.13: {missing[:5]}"


def _keys(t: SrvtRig, role: str, credential_role: str = "supplier") -> list[dict[str, Any]]:
    return list(t.result("6.24.1", role, {"credential_role": credential_role})["keys"])


@case("6.15.1", CREDS, *ALL3)
def update_security_credentials_krp(t: SrvtRig, role: str) -> None:
    """SRVT-6.15.1: the supplier's key is replaced — same key id, version one higher (SRV 6.24.1) — the
    device logs 0x8F70 in its security log, and a meter then accepts a critical command signed with the
    new key (SRV 6.11 adjusts). Compared with: the key version before the update (the requirement: one
    rotation, one version), the device's security log (optical port; the CH's through SRV 6.13)."""
    since = t.route_now() if role == "ch" else t.mark(role)
    [before] = _keys(t, role)
    t.ok("6.15.1", role)
    [after] = _keys(t, role)
    assert after["key_id"] == before["key_id"] and after["version"] == before["version"] + 1, (before, after)
    expect_security_event(t, role, CREDENTIALS_UPDATED, since)
    # The route now signs with the new key: a critical command still works.
    if role != "ch":
        assert t.result("6.11", role).get("adjusted") is True


@case("6.20.1", CONFIG, *METERS)
def set_import_mpxn(t: SrvtRig, role: str) -> None:
    """SRVT-6.20.1: the MPxN is held as the string sent (SRV 6.2.7). Inputs varied, seeded and recorded
    in the transcript (``_inputs``): MPxNs of the least and the most digits both routes carry (an MPAN
    13, an MPRN 6 and 10), one with leading zeros (a meter that stores it as a number loses them), in
    a drawn order. No MPxN the routes carry is one a meter must refuse (the meter holds the identifier
    it is given), so none is sent. Compared with: the string sent."""
    rng = seeded(t.request, f"6.20.1 {role}")
    least, most = MPXN_LENGTHS[role]
    values = [digits(rng, least), digits(rng, most, leading_zero=True)]
    if most != least:
        values.append(digits(rng, most))
    rng.shuffle(values)
    note(t.request, "6.20.1 MPxNs", values=values)
    before = t.result("6.2.7", role)["mpxn"]
    try:
        for value in values:
            t.ok("6.20.1", role, {"mpxn": value})
            held = t.result("6.2.7", role)["mpxn"]
            assert held == value, f"SRV 6.20.1 set MPxN {value!r}; SRV 6.2.7 reads {held!r}"
    finally:
        if before:
            t.ok("6.20.1", role, {"mpxn": before})


#: GBCS configurable alerts (0x81xx) both DUIS bodies carry (``SupplierESMECommon``, ``SupplierGSME``).
CONFIGURABLE = (0x810D, 0x810E, 0x8119, 0x8154, 0x8155, 0x8168, 0x81A7, 0x81A8, 0x81A9, 0x81AA, 0x81AB,
                0x81BD, 0x81C0, 0x81C4, 0x81C5)  # fmt: skip


@case("6.22", CONFIG, *METERS)
def configure_alert_behaviour(t: SrvtRig, role: str) -> None:
    """SRVT-6.22: the behaviour read back (SRV 6.2.10) follows the change, and the meter *uses* it: with
    0x8145 Clock Adjusted switched off, a clock synchronisation (SRV 6.11) logs 0x8145 but sends no
    alert - shown by an alert sent after it (0x8F32 Supply Armed, from disabling and arming supply)
    arriving while no 0x8145 did (a meter's alerts reach the User in the order raised). 6.22 configures
    the GBCS configurable alerts (0x81xx: the DUIS body's SupplierESMECommon / SupplierGSMEAlertsEvents
    list no 0x8Fxx code). A GSME's valve is left armed (its customer opens it).
    Compared with: the change sent and the requirement (switched off: logged, not sent). Inputs
    varied, seeded and recorded in the transcript (``_inputs``): 0x8145 switched off in one request
    with 2-4 more configurable codes (``CONFIGURABLE``: one below 0x81A0, one above, in a drawn
    order), each read back switched off and then on again. The route refuses a code it does not know
    (E6); every configurable code is one a meter must take, so there is no value for the meter to
    refuse."""
    adjusted = f"0x{CLOCK_ADJUSTED:04X}"
    rng = seeded(t.request, f"6.22 {role}")
    low = [c for c in CONFIGURABLE if c < 0x81A0]
    high = [c for c in CONFIGURABLE if c >= 0x81A0]
    others = [rng.choice(low), rng.choice(high)]
    others += rng.sample([c for c in CONFIGURABLE if c not in others], rng.randrange(0, 3))
    codes = [adjusted, *(f"0x{c:04X}" for c in others)]
    rng.shuffle(codes)
    note(t.request, "6.22 alerts switched off", codes=codes)
    try:
        t.ok("6.22", role, {"alerts": [{"code": c, "send": False} for c in codes]})
        suppressed = t.result("6.2.10", role)["suppressed"]
        assert not [c for c in codes if c not in suppressed], f"switched off {codes}; 6.2.10: {suppressed}"
        since = t.mark(role)
        t.ok("6.11", role)
        t.expect_logged(role, CLOCK_ADJUSTED)
        t.ok("7.2", role)
        t.ok("7.3", role)
        t.alerts(SUPPLY_ARMED, role, since=since)  # sent after the suppressed one was raised
        eui = t.eui(role).upper()
        try:
            sent = t.route.wait_alerts(
                lambda a: (
                    a.code == adjusted
                    and (a.device or "").upper() == eui
                    and (parse_at(a.at) or since) >= since
                ),
                0.01,
            )
        except LinkTimeout:
            sent = []
        assert not sent, f"0x8145 switched off by SRV 6.22 was still sent: {sent}"
    finally:
        t.ok("6.22", role, {"alerts": [{"code": c, "send": True} for c in codes]})
        t.restore_supply(role)
    suppressed = t.result("6.2.10", role)["suppressed"]
    assert not [c for c in codes if c in suppressed], f"switched {codes} back on; 6.2.10: {suppressed}"


@case("6.23", CREDS, *ALL3)
def update_security_credentials_cos(t: SrvtRig, role: str) -> None:
    """SRVT-6.23: a change-of-supplier credential update raises the device's supplier key version by
    one (SRV 6.24.1), keeps the inventory's supplier and logs 0x8F70 in the device's security log.
    Compared with: the key version before the update (the requirement: one rotation) and the device's
    own security log (the CH's via SRV 6.13)."""
    since = t.route_now() if role == "ch" else t.mark(role)
    supplier = t.result("8.2", role)["supplier"]
    [before] = _keys(t, role)
    t.ok("6.23", role, {"new_supplier": supplier})
    [after] = _keys(t, role)
    assert after["version"] == before["version"] + 1, (before, after)
    assert t.result("8.2", role)["supplier"] == supplier
    expect_security_event(t, role, CREDENTIALS_UPDATED, since)


@case("6.24.1", CREDS, *ALL3)
def retrieve_security_credentials(t: SrvtRig, role: str) -> None:
    """SRVT-6.24.1: supplier and network operator keys are the S1SP's; after a rotation (SRV 6.15.1)
    the read shows the version one higher. Compared with: the key version before the rotation (the
    requirement: one rotation, one version)."""
    for credential_role in ("supplier", "network_operator"):
        keys = _keys(t, role, credential_role)
        assert keys and all(k["key_id"].startswith("S1SP") for k in keys), (credential_role, keys)
    if role != "gsme":  # after a rotation (SRV 6.15.1) the read must show the new key version
        [before] = _keys(t, role)
        t.ok("6.15.1", role)
        [after] = _keys(t, role)
        assert after["version"] == before["version"] + 1, f"SRV 6.24.1 read {after} after rotating {before}"


@case("6.25", CONFIG, *EM)
def set_supply_tamper_state(t: SrvtRig, role: str) -> None:
    """SRVT-6.25: the supply tamper state sent is held (the meter's own object) and setting it does
    not cut supply; it is put back to 'unchanged'. Compared with: the state sent. What the meter must
    *do* with it - a real tamper (the lab's terminal-cover actuator) disables supply only when
    'locked', with 0x81BE - is checked in ``test_device_events.py``."""
    optical = t.optical(role)
    try:
        result = t.ok("6.25", role, {"state": "locked"})
        assert result.outcomes() == ["actioned"], result.instructions
        assert optical.supply_tamper_state() == "locked", "the meter's supply tamper state is not locked"
        assert optical.supply_state() == "enabled", "setting the tamper state must not cut supply"
    finally:
        t.ok("6.25", role, {"state": "unchanged"})
    assert optical.supply_tamper_state() == "unchanged", "the supply tamper state did not return"


# -------------------------------------------------------------------------------------------- supply
@case("7.1", SUPPLY, *EM)
def enable_supply(t: SrvtRig, role: str) -> None:
    """SRVT-7.1: a disabled ESME is enabled and power flows (lab instruments); oracle
    :mod:`test_packs.oracles.prepay`: in prepayment mode with credit below the disablement threshold
    the *meter* refuses SRV 7.1 (E11) and the supply stays off."""
    optical = t.optical(role)
    with t.esme_load(2000.0):
        try:
            optical.disconnect()  # independent path: the optical port's remote_disconnect
            assert optical.supply_state() == "disabled"
            t.ok("7.1", role)
            assert optical.supply_state() == "enabled", "optical port: supply not enabled by SRV 7.1"
            assert t.instruments.measured_power() > 1000, "no power flows after SRV 7.1"
        finally:
            t.restore_supply(role)
    with t.esme_load(0.0), t.payment_mode(role, "prepayment"):
        try:
            cfg = t.result("4.13", role)
            t.ok(
                "1.5",
                role,
                {"delta": round(float(cfg["disablement_threshold"]) - 50.0 - float(t.balance(role)), 2)},
            )
            off = d(cfg["disablement_threshold"])
            assert prepay_oracle.supply_disabled_for_credit(True, t.balance(role), off), t.balance(role)
            try:
                result = t.submit("7.1", role)
            except RouteError as exc:
                assert exc.code == "E11", f"SRV 7.1 without credit: {exc.code} {exc}"
            else:
                assert result.code != "I0" or "failed" in result.outcomes(), (
                    f"SRV 7.1 without credit: {result.code} {result.instructions}"
                )
            state = optical.supply_state()
            assert state != "enabled", "SRV 7.1 enabled supply with no credit left"
        finally:
            t.ensure_balance(role, 1000.0)
            t.restore_supply(role)


@case("7.2", SUPPLY, *METERS)
def disable_supply(t: SrvtRig, role: str) -> None:
    """SRVT-7.2: the ESME's supply is disabled and no power flows (the lab's instruments: measured
    power 0 under a 2 kW load; the meter's own active power 0); a GSME whose valve is open is first
    shut for credit (oracle :mod:`test_packs.oracles.prepay`, in prepayment mode), then SRV 7.2 shuts
    it. Compared with: the instruments and the meter's optical supply state."""
    optical = t.optical(role)
    if role == "esme":
        with t.esme_load(2000.0):
            try:
                assert t.instruments.measured_power() > 1000, "no load before the test"
                t.ok("7.2", role)
                assert optical.supply_state() == "disabled", "optical port: supply not disabled by SRV 7.2"
                assert t.instruments.measured_power() == 0, "power still flows after SRV 7.2"
                assert optical.active_power() == 0, "the meter still measures power after SRV 7.2"
            finally:
                t.restore_supply(role)
    else:
        try:
            if optical.supply_state() == "enabled":  # while the valve is open: credit closes it too
                with metering.idle(t, role):
                    credit_disables_supply(t, role)
            t.ok("7.2", role)
            assert optical.supply_state() == "disabled", "optical port: valve not closed by SRV 7.2"
        finally:
            t.restore_supply(role)


@case("7.3", SUPPLY, *METERS)
def arm_supply(t: SrvtRig, role: str) -> None:
    """SRVT-7.3: a disabled supply is armed (the meter's optical supply state) and 0x8F32 is logged and
    alerted after the test's start (device clock). Compared with: the requirement's state machine and
    the meter's own event log."""
    optical = t.optical(role)
    try:
        if optical.supply_state() != "disabled":
            t.ok("7.2", role)
        since = t.mark(role)
        t.ok("7.3", role)
        assert optical.supply_state() == "armed", "optical port: supply not armed by SRV 7.3"
        t.expect_logged(role, SUPPLY_ARMED)
        t.alerts(SUPPLY_ARMED, role, since=since)
    finally:
        t.restore_supply(role)


@case("7.4", SUPPLY, *METERS)
def read_supply_status(t: SrvtRig, role: str) -> None:
    """SRVT-7.4: the supply status read through the route; for the ESME after SRV 7.2 it reads
    'disabled'. Compared with: the state SRV 7.2 must leave (the requirement), and the optical port."""
    assert t.result("7.4", role)["supply"] == t.optical(role).supply_state()
    if role != "esme":  # the GSME's change of state waits for its wake: 7.2/7.3-gsme cover it
        return
    # A read that only ever agrees with a state that never moved proves little: disable, read, restore.
    try:
        t.ok("7.2", role)
        read = t.result("7.4", role)["supply"]
        assert read == "disabled", f"SRV 7.4 reads {read!r} after SRV 7.2 Disable Supply"
        assert read == t.optical(role).supply_state(), "SRV 7.4 and the optical port disagree"
    finally:
        t.restore_supply(role)


# -------------------------------------------------------------------------------- inventory and HAN
INVENTORY_ROLES = {"inventory": ("ch", "esme")}


@case("8.2", HAN, "inventory", also=INVENTORY_ROLES)
def read_inventory(t: SrvtRig, role: str) -> None:
    """SRVT-8.2: each device of the rig is Commissioned in the S1SP inventory with its device type,
    region SMETS1, model and firmware version. Compared with: the lab file's record of the rig (the
    DMC's models and versions) and, for the meters, their own identity object."""
    types = {"ch": "CHF", "esme": "ESME", "gsme": "GSME", "ppmid": "PPMID", "ihd": "IHD"}
    for device in t.rig.devices:
        if not device.eui64:
            continue
        entry = t.result("8.2", device.role)
        assert entry["status"] == "Commissioned", entry
        assert entry["device_type"] == types[device.role] and entry["region"] == "SMETS1", entry
        assert entry["model"] == device.model and entry["firmware_version"] == device.firmware_version, entry
        if device.role in ("esme", "gsme"):
            assert t.optical(device.role).identity().model == entry["model"], entry


@case("8.3", HAN, "inventory", also={"inventory": ("ihd",)})
def decommission_device(t: SrvtRig, role: str) -> None:
    # Only a HAN display is decommissioned: the status is terminal and the meters serve every other test.
    """SRVT-8.3: the HAN display decommissioned is Decommissioned in the inventory and takes no SRVs
    (E14). Compared with: the requirement (a terminal status; no SRV reaches the device)."""
    result = t.result("8.3", "ihd")
    assert result["status"] == "Decommissioned", result
    assert t.result("8.2", "ihd")["status"] == "Decommissioned"
    t.rejected("E14", "11.2", "ihd")


@case("8.4", HAN, "inventory", also={"inventory": ("esme",)})
def update_inventory(t: SrvtRig, role: str) -> None:
    """SRVT-8.4: Update Inventory changes the ESME's Smart Metering Inventory entry as asked, read back
    with SRV 8.2: its import MPxN (a drawn 13-digit MPAN, seeded; the original put back) and, where the
    route can say the status (DUIS's 8.4 sets no Suspended: there the status sweeps have the DCC
    suspend), its status: Suspended takes no SRVs (E14), Commissioned again answers SRV 7.4 as its
    optical port shows. Compared with: the values sent, read back, and the requirement (a Suspended
    device takes no SRVs)."""
    rng = seeded(t.request, "8.4 mpxn")
    original = t.result("8.2", "esme").get("mpxn")
    mpan = digits(rng, MPXN_LENGTHS["esme"][0])
    while mpan == original:
        mpan = digits(rng, MPXN_LENGTHS["esme"][0])
    note(t.request, "8.4 MPxN", original=original, sent=mpan)
    try:
        t.ok("8.4", "esme", {"mpxn": mpan})
        held = t.result("8.2", "esme").get("mpxn")
        assert held == mpan, f"SRV 8.4 set the import MPxN {mpan}; the inventory holds {held}"
    finally:
        if original:
            t.ok("8.4", "esme", {"mpxn": original})
    try:
        suspended = t.result("8.4", "esme", {"status": "Suspended"})
    except RouteCannotExpress as exc:
        note(t.request, f"8.4 status not checked on this route: {exc}")
        return
    try:
        assert suspended["status"] == "Suspended"
        assert t.result("8.2", "esme")["status"] == "Suspended", "SRV 8.4 did not suspend the ESME"
        t.rejected("E14", "7.4", "esme")  # a Suspended device takes no SRVs
    finally:
        assert t.result("8.4", "esme", {"status": "Commissioned"})["status"] == "Commissioned"
    assert t.result("7.4", "esme")["supply"] == t.optical("esme").supply_state()


def _han(t: SrvtRig) -> dict[str, dict[str, Any]]:
    return {d["eui"].upper(): d for d in t.result("8.9", "ch")["devices"]}


JOIN_ROLES = {"ch": ("esme",)}


@case("8.7.2", HAN, *ALL3, also=JOIN_ROLES)
def join_service(t: SrvtRig, role: str) -> None:
    """SRVT-8.7.2: a device unjoined then joined is joined in the CH device log (SRV 8.9), and the CH
    logs the join (0x8F49) for the target's EUI-64 after the route's time. Compared with: the target
    device (the requirement) and, for a meter, its own supply state read through it once joined."""
    target = "esme" if role == "ch" else role
    eui = t.eui(target).upper()
    since = t.route_now()
    try:
        t.ok("8.8.2", target)
        assert not _han(t)[eui]["joined"], "the device is still joined"
        t.ok("8.7.2", target)
        assert _han(t)[eui]["joined"], "SRV 8.7.2: the device is not joined"
    finally:
        if not _han(t)[eui]["joined"]:
            t.ok("8.7.2", target)
    if role == "ch":
        entries = [e for e in ch_log_since(t, since) if e["details"].get("eui", "").upper() == eui]
        assert JOINED in codes_of(entries), f"the CH logged no join of {eui}: {entries}"
    else:
        assert t.result("7.4", role)["supply"] == t.optical(role).supply_state()


@case("8.8.2", HAN, *ALL3, also=JOIN_ROLES)
def unjoin_service(t: SrvtRig, role: str) -> None:
    """SRVT-8.8.2: an unjoined device is not joined in the CH device log, an unjoined ESME is
    unreachable (E12), and the CH logs the unjoin (0x8F4B) for its EUI-64. Compared with: the
    requirement (no HAN traffic to an unjoined device); the device is joined back."""
    target = "esme" if role == "ch" else role
    eui = t.eui(target).upper()
    since = t.route_now()
    try:
        t.ok("8.8.2", target)
        assert not _han(t)[eui]["joined"], "SRV 8.8.2: the device is still joined"
        if target == "esme":
            t.rejected("E12", "7.4", target)  # an unjoined ESME is unreachable on the HAN
    finally:
        t.ok("8.7.2", target)
    assert _han(t)[eui]["joined"], "could not join the device back"
    if role == "ch":
        entries = [e for e in ch_log_since(t, since) if e["details"].get("eui", "").upper() == eui]
        assert UNJOINED in codes_of(entries), f"the CH logged no unjoin of {eui}: {entries}"


@case("8.9", HAN, *ALL3)
def read_device_log(t: SrvtRig, role: str) -> None:
    """SRVT-8.9: read, add a device (SRV 8.11), read: the second read lists it; every meter of the rig
    is listed with its type, joined and reachable. Compared with: the device added and the lab file's
    record of the rig."""
    if role in ("ch", "esme"):  # read, add a device (SRV 8.11), read: the second read must show it
        fake = "0A-0B-0C-0D-0E-0F-10-13"
        t.result("8.9", role)
        try:
            t.ok("8.11", "ch", {"add": {fake: "ihd"}})
            listed = {d["eui"].upper() for d in t.result("8.9", role)["devices"]}
            assert fake in listed, f"SRV 8.9 does not list the device just added: {sorted(listed)}"
        finally:
            t.ok("8.11", "ch", {"remove": [fake]})
    devices = {d["eui"].upper(): d for d in t.result("8.9", role)["devices"]}
    for device in t.rig.devices:
        if device.role == "ch" or not device.eui64:
            continue
        entry = devices.get(device.eui64.upper())
        assert entry is not None, f"the {device.role} {device.eui64} is not in the CH device log: {devices}"
        assert entry["device_type"] == device.role and entry["joined"] and entry["reachable"], entry


@case("8.11", HAN, *CH)
def update_han_device_log(t: SrvtRig, role: str) -> None:
    """SRVT-8.11: the device added is in the CH device log, the DCC alert N24 answers the request and
    the CH logs 0x8F12 in its security log; removing it takes it out again. Compared with: the device
    sent (the requirement) and the CH's own security log (SRV 6.13)."""
    fake = "0A-0B-0C-0D-0E-0F-10-11"
    since = t.route_now()
    try:
        result = t.ok("8.11", "ch", {"add": {fake: "ihd"}})
        assert fake in _han(t), "SRV 8.11: the device is not in the CH device log"
        alert = t.alerts("N24", "ch", request_id=result.request_id)[0]
        assert alert.kind == "dcc", alert
        expect_security_event(t, "ch", DEVICE_LOG_CHANGED, since)
    finally:
        t.ok("8.11", "ch", {"remove": [fake]})
    assert fake not in _han(t), "SRV 8.11 remove: the device is still in the CH device log"


# ------------------------------------------------------------------------------------------ firmware
@case("11.1", FIRMWARE, *ALL3)
def update_firmware(t: SrvtRig, role: str) -> None:
    """SRVT-11.1: the image of the running version is transferred block by block and verified
    (0x8F72 in the device's security log); an image built for another model fails the *device's*
    verification (0x8F1C) and never runs. Compared with: the requirement (SMETS1 firmware verification)
    and the firmware version the device reports on its own port."""
    since = t.route_now() if role == "ch" else t.mark(role)
    version = firmware_of(t, role)
    result = t.ok("11.1", role, {"version": version})  # the image of what runs: nothing to undo
    assert len(result.instructions) >= 3 and set(result.outcomes()) == {"actioned"}, result.instructions
    assert result.instructions[-1]["command"].startswith("verify"), result.instructions[-1]
    expect_security_event(t, role, FW_VERIFIED, since)
    # An image built for another model must fail the device's verification (0x8F1C) and never run:
    # the device, not only the DCC, guards against a wrong image (SMETS1 firmware verification).
    wrong = t.submit("11.1", role, {"version": other_version(version, "o"), "image_model": "NOT-THIS-MODEL"})
    verify = wrong.instructions[-1]
    assert verify["command"].startswith("verify") and verify["outcome"] == "failed", (
        f"an image for another model passed the {role}'s verification: {wrong.code} {wrong.instructions}"
    )
    expect_security_event(t, role, FW_VERIFY_FAILED, since)
    assert firmware_of(t, role) == version, "the running firmware changed after a refused image"


@case("11.2", FIRMWARE, *ALL3)
def read_firmware_version(t: SrvtRig, role: str) -> None:
    """SRVT-11.2: the version read is the lab file's record of the DMC; after activating another
    image the read shows the image now running, then the DMC's again. Compared with: the lab file's
    record and the version activated; the optical port (meters) or SRV 8.2 (CH) as extra evidence."""
    route = t.result("11.2", role)["firmware_version"]
    assert route == t.spec(role).firmware_version, f"route {route}, DMC {t.spec(role).firmware_version}"
    if role != "gsme":  # after an activation the read must show the image now running, then restore
        target = other_version(route, "r")
        try:
            t.ok("11.1", role, {"version": target})
            t.ok("11.3", role)
            read = t.result("11.2", role)["firmware_version"]
            assert read == target, f"SRV 11.2 reads {read!r} while {target!r} runs"
        finally:
            t.ok("11.1", role, {"version": route})
            t.ok("11.3", role)
        assert t.result("11.2", role)["firmware_version"] == route, "could not restore the DMC's firmware"
    if role == "ch":
        assert t.result("8.2", role)["firmware_version"] == route
    else:
        assert t.optical(role).firmware_version() == route, "route and optical port disagree"


@case("11.3", FIRMWARE, *ALL3)
def activate_firmware(t: SrvtRig, role: str) -> None:
    """SRVT-11.3: after transfer and activation the new image runs (the device's own firmware version
    and the inventory) and 0x8F43 is logged in its security log; the DMC's image is restored.
    Compared with: the version activated (the requirement)."""
    since = t.route_now() if role == "ch" else t.mark(role)
    original = firmware_of(t, role)
    target = other_version(original, "s")
    try:
        t.ok("11.1", role, {"version": target})
        t.ok("11.3", role)
        assert firmware_of(t, role) == target, "the new image is not running after SRV 11.3"
        assert t.result("8.2", role)["firmware_version"] == target
        expect_security_event(t, role, FW_CHANGED, since)
    finally:
        if firmware_of(t, role) != original:
            t.ok("11.1", role, {"version": original})
            t.ok("11.3", role)
    assert firmware_of(t, role) == original, "could not restore the DMC's firmware"


CASES = TABLE.cases


@pytest.mark.parametrize(("srv", "role"), TABLE.params())
def test_positive(srv: str, role: str, srvt: SrvtRig) -> None:
    """The SRV is processed for the device and its effect verified independently. Each case's function
    (``TABLE``, registered with ``@case``) names its requirement and what it is compared with."""
    CASES[srv].run(srvt, role)


# ------------------------------------------------------------------------------------- future-dated
def _future_prices(t: SrvtRig, role: str) -> None:
    """SRVT-1.2.1 + SRVT-FD-1.2.1: prices future-dated two hours ahead are held by the device
    (scheduled), unchanged before the date, and applied with 0x8F66 stamped no earlier than the date
    (10 s of device-time slack). Compared with: the execution date sent (the requirement) and the
    prices sent (SRV 4.11.1)."""
    before = t.result("4.11.1", role)
    prices = [round(p + 3.0, 2) for p in before["prices"]]
    when = t.future(timedelta(hours=2))
    try:
        result = t.ok("1.2.1", role, {"prices": prices}, future_date=when)
        assert result.outcomes() == ["scheduled"], f"not held by the device: {result.instructions}"
        assert t.result("4.11.1", role)["prices"] == before["prices"], "prices changed before the date"
        alert = t.alerts(FUTURE_ACTIONED, role, request_id=result.request_id)[0]
        assert alert.instruction == 1 and alert.total_instructions == 1, alert
        assert (parse_at(alert.at) or when) >= when - timedelta(seconds=10), f"actioned early: {alert.at}"
        assert t.result("4.11.1", role)["prices"] == prices, "prices not applied at the date"
    finally:
        t.ok("1.2.1", role, {"prices": before["prices"], "standing_charge": before["standing_charge"]})


def _future_credentials(t: SrvtRig, role: str) -> None:
    """SRVT-6.15.1 + SRVT-FD-6.15.1: a credentials update future-dated two hours ahead is held by the
    device (scheduled), the key unchanged while the date is still ahead (where the read lands before
    it), and applied with 0x8F66 stamped no earlier than the date (10 s of device-time slack): the key
    version is then one higher. Compared with: the execution date sent and the key version before."""
    [before] = _keys(t, role)
    when = t.future(timedelta(hours=2))
    result = t.ok("6.15.1", role, future_date=when)
    assert result.outcomes() == ["scheduled"], f"not held by the device: {result.instructions}"
    [held] = _keys(t, role)
    if t.route_now() < when - timedelta(seconds=10):  # the read came back before the date
        assert held["version"] == before["version"], f"credentials updated before the date: {held}"
    alert = t.alerts(FUTURE_ACTIONED, role, request_id=result.request_id)[0]
    assert (parse_at(alert.at) or when) >= when - timedelta(seconds=10), f"actioned early: {alert.at}"
    [after] = _keys(t, role)
    assert after["version"] == before["version"] + 1, (before, after)


def _future_message(t: SrvtRig, role: str) -> None:
    """SRVT-3.1 + SRVT-FD-3.1: a message future-dated by the DSP is acknowledged (I99) and executed
    no earlier than its date, and the meter's own display then shows it. Compared with: the execution
    date and the text sent (the requirement)."""
    when = t.future(timedelta(hours=1))
    text = f"SRVT future {datetime.now(UTC):%H%M%S%f}"
    result = t.ok("3.1", role, {"text": text}, future_date=when)
    assert result.acknowledged, "a DSP-future-dated request is acknowledged (I99) first"
    at = parse_at(result.responses[-1].get("at"))
    assert at is not None and at >= when, f"executed at {at}, before its date {when}"
    shown = t.optical(role).displayed_message()
    assert shown == text, f"the {role}'s display shows {shown!r} after the dated message ({text!r})"


FUTURE = [
    ("1.2.1", TARIFF, METERS, _future_prices),
    ("6.15.1", CREDS, ALL3, _future_credentials),
    ("3.1", DISPLAY, EM, _future_message),
]
FUTURE_RUN = {srv: run for srv, _, _, run in FUTURE}
FUTURE_PARAMS = [
    pytest.param(
        srv,
        role,
        id=f"{srv}-{role}",
        marks=[
            pytest.mark.dmct_srv(srv),
            pytest.mark.dmct_group(group),
            pytest.mark.dmct_requirement(f"SRVT-{srv}-{role.upper()}", f"SRVT-FD-{srv}"),
            pytest.mark.dmct_roles(role),
        ],
    )
    for srv, group, roles, _ in FUTURE
    for role in roles
]


@pytest.mark.parametrize(("srv", "role"), FUTURE_PARAMS)
def test_future_dated(srv: str, role: str, srvt: SrvtRig) -> None:
    """Future-dated variant: held until its date (device: 0x8F66 then; DSP: I99 then the answer). Each
    variant's function (``FUTURE``) names its requirement and what it is compared with."""
    try:
        FUTURE_RUN[srv](srvt, role)
    except RouteError as exc:
        raise AssertionError(f"SRV {srv} future-dated to the {role}: {exc}") from exc
