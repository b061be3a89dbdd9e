"""Standard DMCT SRVT, field bounds (issue 14, item 2): the SRVs whose fields carry values the meter
holds, sent the *boundary* values of each field - the least, and the most the field carries on both
routes (``_inputs.MAX_PRICE``) - and, for a top-up, the value 1 p over the maximum credit threshold,
which the *meter* must refuse (E11, 0x8F5B UTRN exceeds the maximum credit; nothing credited). Only
refusals a requirement names are asked for: none for a zero threshold, none for a negative price.
Ordinary values are drawn by the positive tests
(``test_srv.py``), where the oracles check the meter uses them; here each check is a read-back on the
meter (SRV 4.11.1, 4.13, 6.2.5: the device's own registers) against the value sent, and the refusal
against the requirement. Ordinary values mixed in are seeded and recorded in the transcript
(``_inputs``), so a failure replays with ``DMCT_PACK_SEED``.

Nothing flows through the meter meanwhile (a price at its field maximum must not eat the balance), and
every test puts back what it changed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from test_packs.marks import role_param
from test_packs.oracles import prepay as prepay_oracle
from test_packs.oracles import tariff as tariff_oracle
from test_packs.service_reference_variant import _metering as metering
from test_packs.service_reference_variant._inputs import MAX_PRICE, note, pence, seeded
from test_packs.service_reference_variant._srvt import BALANCE_TOLERANCE, SrvtRig

TARIFF, PREPAY, CONFIG = "Tariff and Payment", "Prepayment", "Device Configuration"
#: Read-back slack (pence): far below the thousandth of a penny the finest DUIS price field carries.
EPS = 1e-4


def _param(srv: str, role: str, group: str) -> Any:
    return role_param(role, srv=srv, group=group, requirements=(f"SRVT-{srv}-{role.upper()}",))


#: Real seconds a test may hold a standing charge at its field maximum: no device midnight may fall in
#: them (the meter would take a day's charge of up to 42,949 pounds from the balance, and the pack's
#: later prepayment tests would start from that).
HOLD_S = 8.0


def clear_of_midnight(t: SrvtRig, role: str, real_s: float = HOLD_S) -> None:
    """Wait, if need be, until the meter's next midnight is more than ``real_s`` real seconds away.

    The lab's clock rate is measured from two optical clock reads (3600 on the virtual lab, 1 on a
    real one): at 3600 a device day is 24 real seconds, at 1 this waits only within seconds of
    midnight."""
    optical = t.optical(role)
    c0, m0 = optical.clock(), time.monotonic()
    time.sleep(0.2)
    c1, m1 = optical.clock(), time.monotonic()
    rate = max(1.0, (c1 - c0).total_seconds() / (m1 - m0))
    midnight = tariff_oracle.next_midnight(c1)
    if (midnight - c1).total_seconds() < rate * real_s:
        metering.wait_device_time(t, role, midnight + timedelta(minutes=1), real_timeout=real_s * 3)


def tariff_of(held: dict[str, Any]) -> dict[str, Any]:
    """SRV 1.1.1 parameters that put back the tariff SRV 4.11.1 read."""
    params: dict[str, Any] = {
        "rates": held["rates"],
        "prices": held["prices"],
        "standing_charge": held["standing_charge"],
        "switches": [{"at": s["at"], "rate": s["rate"]} for s in held["switches"]],
    }
    if held.get("days"):
        params["days"] = held["days"]
    if held.get("block_thresholds"):
        params |= {"block_thresholds": held["block_thresholds"], "block_prices": held["block_prices"]}
    return params


def same(got: Any, want: Any) -> bool:
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    return abs(float(got) - float(want)) <= EPS


def bound_prices(t: SrvtRig, role: str, srv: str, rates: int) -> list[list[float]]:
    """The price lists to send in turn: the least price (0), the most the field carries and ordinary
    drawn prices for the other rates - in one list, or for a single-rate tariff (the SMETS1 GSMEs
    modelled hold one rate) the most, then the least. The drawn prices are whole pence: DUIS carries
    one ``PriceScale`` for all of a tariff's electricity prices, and the one that holds 32767 p holds
    no fraction of a penny."""
    rng = seeded(t.request, f"{srv} bounds {role}")
    if rates == 1:
        return [[MAX_PRICE[role]], [0.0]]
    return [[0.0, MAX_PRICE[role], *[pence(rng, 1.0, 99.0, places=0) for _ in range(rates - 2)]]]


def expect_tariff(t: SrvtRig, role: str, srv: str, prices: list[float], standing: float) -> None:
    held = t.result("4.11.1", role)
    assert same(held["prices"], prices), f"SRV {srv}: the {role} holds prices {held['prices']}, sent {prices}"
    assert same(held["standing_charge"], standing), (
        f"SRV {srv}: the {role} holds standing charge {held['standing_charge']} p/day, sent {standing}"
    )


@pytest.mark.parametrize("role", [_param("1.1.1", r, TARIFF) for r in ("esme", "gsme")])
def test_tariff_bounds(srvt: SrvtRig, role: str) -> None:
    """SRVT-1.1.1 (field bounds): a tariff whose prices run from 0 to the most the price field carries
    (``_inputs.MAX_PRICE``: 32767 p for electricity, 4294967.295 p for gas) with a standing charge at
    that maximum is held exactly (SRV 4.11.1 on the meter). Other prices drawn, seeded. No price is
    sent for the meter to refuse: DUIS's electricity ``PriceType`` is signed (xs:short), so a negative
    price is one the interface allows, and nothing in the text makes a meter refuse it. Compared with:
    the prices and standing charge sent (the requirement: held exactly, within the field)."""
    t = srvt
    before = t.result("4.11.1", role)
    restore = tariff_of(before)
    rounds = bound_prices(t, role, "1.1.1", int(before["rates"]))
    note(t.request, "1.1.1 bounds", prices=rounds, standing_charge=MAX_PRICE[role])
    with metering.idle(t, role):
        clear_of_midnight(t, role)
        try:
            for prices in rounds:
                sent = {**restore, "prices": prices, "standing_charge": MAX_PRICE[role]}
                t.ok("1.1.1", role, sent)
                expect_tariff(t, role, "1.1.1", prices, MAX_PRICE[role])
        finally:
            t.ok("1.1.1", role, restore)


@pytest.mark.parametrize("role", [_param("1.2.1", r, TARIFF) for r in ("esme", "gsme")])
def test_price_bounds(srvt: SrvtRig, role: str) -> None:
    """SRVT-1.2.1 (field bounds): prices from 0 to the most the field carries and the least standing
    charge (0) are held exactly, the switch times kept (no negative price is sent to be refused: see
    :func:`test_tariff_bounds`). Compared with: the prices and standing charge sent, and the switch
    times read before."""
    t = srvt
    before = t.result("4.11.1", role)
    rounds = bound_prices(t, role, "1.2.1", len(before["prices"]))
    note(t.request, "1.2.1 bounds", prices=rounds, standing_charge=0.0)
    with metering.idle(t, role):
        try:
            for prices in rounds:
                t.ok("1.2.1", role, {"prices": prices, "standing_charge": 0.0})
                expect_tariff(t, role, "1.2.1", prices, 0.0)
            assert t.result("4.11.1", role)["switches"] == before["switches"], "SRV 1.2.1 moved the switches"
        finally:
            t.ok("1.2.1", role, {"prices": before["prices"], "standing_charge": before["standing_charge"]})


#: SRV 2.1 fields the maximum applies to: DUIS carries them as xs:int (electricity) / xs:unsignedInt
#: (gas) whole pence; 2^31 - 1 fits both.
INT_MAX = 2**31 - 1


@pytest.mark.parametrize("role", [_param("2.1", r, PREPAY) for r in ("esme", "gsme")])
def test_prepay_bounds(srvt: SrvtRig, role: str) -> None:
    """SRVT-2.1 (field bounds), oracle :mod:`test_packs.oracles.prepay`: the maximum credit threshold
    is a bound the meter applies *inclusively* - with it set to a drawn value M, a UTRN worth exactly M
    is credited in full and one worth M + 1 p refused (E11, 0x8F5B, nothing credited); the thresholds
    at their least (0) and the maximum meter balance at the most the field carries are held. (No
    maximum credit threshold of 0 is sent for the meter to refuse: no text this project holds says a
    meter must, and a check that could fail a sound meter signs as false a report as one that passes a
    broken one.)"""
    t = srvt
    before = t.result("4.13", role)
    keys = ("low_credit_threshold", "emergency_credit_limit", "emergency_credit_threshold",
            "max_credit", "max_balance")  # fmt: skip
    restore = {k: before[k] for k in keys}
    rng = seeded(t.request, f"2.1 bounds {role}")
    most = 10 * rng.randrange(150, 500)  # 15.00-49.90 GBP: a UTRN worth it is ordinary
    note(t.request, "2.1 max credit threshold (p)", max_credit=most)
    with metering.idle(t, role):
        try:
            t.ok("2.1", role, {"max_credit": float(most), "max_balance": float(INT_MAX),
                               "low_credit_threshold": 0.0, "emergency_credit_threshold": 0.0})  # fmt: skip
            held = t.result("4.13", role)
            assert same(held["max_credit"], most), f"max credit threshold held {held}, sent {most}"
            assert same(held["max_balance"], INT_MAX), f"max meter balance held {held['max_balance']}"
            assert same(held["low_credit_threshold"], 0.0), held
            assert same(held["emergency_credit_threshold"], 0.0), held
            b0 = t.balance(role)
            limits = {"max_credit": Decimal(most), "max_balance": Decimal(INT_MAX)}
            want = prepay_oracle.top_up(most, balance=b0, **limits)
            assert want.refusal is None and want.credited == most
            t.ok("2.2", role, {"utrn": t.utrn(role, most)})
            b1 = t.balance(role)
            assert abs(b1 - (b0 + want.credited)) <= BALANCE_TOLERANCE + 1, (
                f"a UTRN worth exactly the maximum credit threshold ({most} p): balance {b0} -> {b1}; "
                f"the prepay oracle expects {b0 + want.credited}"
            )
            beyond = prepay_oracle.top_up(most + 1, balance=b1, **limits)
            assert beyond.refusal == prepay_oracle.UTRN_EXCEEDS_MAX_CREDIT
            since = t.mark(role)
            t.rejected("E11", "2.2", role, {"utrn": t.utrn(role, most + 1)})
            logged = t.log_codes(role, since=since) + t.log_codes(role, security=True, since=since)
            assert beyond.refusal in logged, (
                f"the {role} logged no 0x{beyond.refusal:04X} for a UTRN 1 p over the max credit threshold"
            )
            assert abs(t.balance(role) - b1) <= BALANCE_TOLERANCE + 1, "a refused UTRN credited something"
            t.ok("1.5", role, {"delta": -float(most)})  # take back the credit the test gave
        finally:
            t.ok("2.1", role, restore)


#: DUIS ``LoadLimitPowerThreshold`` is xs:unsignedInt W; the framed route carries any number.
MAX_THRESHOLD_W = 4294967295.0


@pytest.mark.parametrize("role", [_param("6.4.1", "esme", CONFIG)])
def test_load_limit_bounds(srvt: SrvtRig, role: str) -> None:
    """SRVT-6.4.1 (field bounds): a load limit threshold at the most the field carries (DUIS
    xs:unsignedInt W) is held exactly (SRV 6.2.5 on the meter) with the period sent. (No 0 W threshold
    is sent for the meter to refuse: no text this project holds says it must.) The oracle checks of the
    limiting itself, at drawn thresholds and periods, are in SRVT-6.4.1 (``test_srv.py``)."""
    t = srvt
    rng = seeded(t.request, f"6.4.1 bounds {role}")
    period = float(rng.randrange(1, 3600))
    note(t.request, "6.4.1 bounds", threshold_w=MAX_THRESHOLD_W, period_s=period)
    try:
        t.ok("6.4.1", role, {"threshold_w": MAX_THRESHOLD_W, "period_s": period})
        held = t.result("6.2.5", role)["load_limit"]
        assert held and same(held["threshold_w"], MAX_THRESHOLD_W), f"load limit held {held}"
        assert same(held["period_s"], period), f"load limit period held {held}, sent {period} s"
    finally:
        t.ok("6.4.1", role, {"threshold_w": 100000.0, "period_s": 60.0})
