"""Standard DMCT SRVT, negative tests: invalid requests get the right error and change nothing.

* invalid parameters (schema, values, a future date where none is allowed or in the past) → E6;
* an SRV the device or SMETS1 does not support → E4 (unknown), E13 (not SMETS1-applicable), E7 (not
  for this device type);
* requests the *device* must refuse (a duplicate UTRN, joining a device missing from the CH's device
  log) → E11, logged by the device.

After each rejection the device is read independently (optical port) to show nothing happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from test_packs.marks import by_role
from test_packs.oracles import prepay
from test_packs.service_reference_variant._metering import idle, wait_device_time
from test_packs.service_reference_variant._srvt import (
    BALANCE_TOLERANCE,
    SrvtRig,
    fresh_sequence,
    parse_at,
)

NEG = "Negative"
INVALID, UNSUPPORTED = "SRVT-NEG-INVALID-PARAMS", "SRVT-NEG-UNSUPPORTED"
DUPLICATE_UTRN, JOIN_FAILED = 0x8F51, 0x8F48
UTRN_LOCKED_OUT = 0x81C5
#: How long a meter suspends UTRN entry after repeated rejections (device time), and a margin.
LOCKOUT = timedelta(hours=1, minutes=5)
#: Balance reads while no energy flows (pence): rounding only.
STILL = Decimal("0.5")


Unchanged = Callable[[SrvtRig, str], Any]


def supply(t: SrvtRig, role: str) -> Any:
    return t.optical(role).supply_state() if role in ("esme", "gsme") else None


def balance(t: SrvtRig, role: str) -> Any:
    return t.balance(role)


def tariff(t: SrvtRig, role: str) -> Any:
    return t.result("4.11.1", role)["prices"]


def han(t: SrvtRig, role: str) -> Any:
    return sorted(d["eui"] for d in t.result("8.9", "ch")["devices"])


def _p(
    key: str,
    srv: str,
    role: str,
    code: str,
    requirement: str,
    params: dict[str, Any] | None,
    unchanged: Unchanged,
    future: timedelta | None = None,
    roles: tuple[str, ...] = (),
) -> Any:
    return pytest.param(
        srv,
        role,
        code,
        params,
        unchanged,
        future,
        id=f"{key}-{role}",
        marks=[
            pytest.mark.dmct_srv(srv),
            pytest.mark.dmct_group(NEG),
            pytest.mark.dmct_requirement(requirement),
            pytest.mark.dmct_roles(*(roles or (role,))),
        ],
    )


HOUR = timedelta(hours=1)
CASES = [
    _p("1.5-not-a-number", "1.5", "esme", "E6", INVALID, {"delta": "lots"}, balance),
    _p("1.5-missing", "1.5", "gsme", "E6", INVALID, {}, balance),
    _p("2.2-bad-utrn", "2.2", "esme", "E6", INVALID, {"utrn": "12345"}, balance),
    _p("3.1-empty-text", "3.1", "gsme", "E6", INVALID, {"text": ""}, supply),
    _p("7.2-unknown-param", "7.2", "esme", "E6", INVALID, {"at_once": True}, supply),
    _p("7.2-future-dated", "7.2", "esme", "E6", INVALID, {}, supply, HOUR),
    _p("1.2.1-future-in-past", "1.2.1", "esme", "E6", INVALID, {"prices": [1.0]}, tariff, -HOUR),
    _p("6.13-unknown-log", "6.13", "ch", "E6", INVALID, {"log": "audit"}, han),
    _p("8.11-nothing", "8.11", "ch", "E6", INVALID, {}, han),
    _p("6.15.2-not-smets1", "6.15.2", "esme", "E13", UNSUPPORTED, {}, supply),
    _p("99.1-unknown-srv", "99.1", "esme", "E4", UNSUPPORTED, {}, supply),
    _p("7.1-electricity-only", "7.1", "gsme", "E7", UNSUPPORTED, {}, supply),
    _p("6.2.8-gas-only", "6.2.8", "esme", "E7", UNSUPPORTED, {}, supply),
    _p(
        "8.11-ch-only",
        "8.11",
        "esme",
        "E7",
        UNSUPPORTED,
        {"add": {"0A-0B-0C-0D-0E-0F-10-12": "ihd"}},
        han,
        roles=("esme", "ch"),
    ),
    _p("1.1.1-not-a-meter", "1.1.1", "ch", "E7", UNSUPPORTED, {"rates": 1, "prices": [1.0]}, han),
]


@pytest.mark.parametrize(("srv", "role", "code", "params", "unchanged", "future"), CASES)
def test_rejected(
    srv: str,
    role: str,
    code: str,
    params: dict[str, Any] | None,
    unchanged: Unchanged,
    future: timedelta | None,
    srvt: SrvtRig,
) -> None:
    """SRVT-NEG-INVALID-PARAMS / SRVT-NEG-UNSUPPORTED: an invalid or unsupported request (``CASES``:
    malformed or missing parameters, an SRV the device type does not take, an SRV unknown or not for
    SMETS1) is rejected with the code the DUIS error table gives and changes nothing. Compared with: the
    requirement's code per case, and the device's own state before and after (balance on the optical
    port within the tolerance, supply state, tariff, the CH's device log)."""
    before = unchanged(srvt, role)
    when = srvt.route_now() + future if future is not None else None
    srvt.rejected(code, srv, role, params, future_date=when)
    after = unchanged(srvt, role)
    if unchanged is balance:
        assert abs(after - before) <= BALANCE_TOLERANCE, f"balance moved {before} -> {after}"
    else:
        assert after == before, f"a rejected SRV {srv} changed the device: {before} -> {after}"


@pytest.mark.dmct_srv("2.2")
@pytest.mark.dmct_group(NEG)
@pytest.mark.dmct_requirement(INVALID)
@pytest.mark.parametrize("role", by_role("esme", "gsme"))
def test_duplicate_utrn_rejected(role: str, srvt: SrvtRig) -> None:
    """SRVT-NEG-INVALID-PARAMS (a UTRN is accepted once): a UTRN already used is refused by the meter
    itself (E11), credited once and logged (0x8F51). Compared with: the balance on the meter's optical
    port (no second credit) and the GBCS code in its security log."""
    utrn = srvt.utrn(role, 100)
    srvt.mark(role)
    srvt.ok("2.2", role, {"utrn": utrn})
    b1 = srvt.balance(role)
    srvt.rejected("E11", "2.2", role, {"utrn": utrn})
    b2 = srvt.balance(role)
    assert b2 <= b1 + 1, f"the duplicate UTRN was credited again: {b1} -> {b2}"
    srvt.expect_logged(role, DUPLICATE_UTRN, security=True)


@pytest.mark.dmct_srv("8.7.2")
@pytest.mark.dmct_group(NEG)
@pytest.mark.dmct_requirement(INVALID)
@pytest.mark.dmct_roles("ch", "esme")
def test_join_of_unlisted_device_rejected(srvt: SrvtRig) -> None:
    """SRVT-NEG-INVALID-PARAMS (only a device in the CH's device log may join): a device removed from
    the CH's device log cannot join (E11; the CH logs 0x8F48 naming it). Compared with: the requirement's
    code, the CH's event log entry for this device after the test began, and the ESME's supply state on
    its optical port once restored."""
    eui = srvt.eui("esme").upper()
    since = srvt.route_now()
    try:
        srvt.ok("8.11", "ch", {"remove": [eui]})  # removing a joined device unjoins it
        srvt.rejected("E11", "8.7.2", "esme")
        entries = srvt.result("6.13", "ch", {"log": "event"})["entries"]
        failed = [
            e
            for e in entries
            if e["code"] == f"0x{JOIN_FAILED:04X}"
            and e["details"].get("eui", "").upper() == eui
            and (parse_at(e["at"]) or since) >= since
        ]
        assert failed, f"the CH logged no failed join (0x{JOIN_FAILED:04X}) of {eui} since {since}"
    finally:
        srvt.ok("8.11", "ch", {"add": {eui: "esme"}})
        srvt.ok("8.7.2", "esme")
    assert srvt.result("7.4", "esme")["supply"] == srvt.optical("esme").supply_state()


OTHER_METER = {"esme": "gsme", "gsme": "esme"}


def balance_kept(t: SrvtRig, role: str, before: Decimal) -> None:
    """Nothing credited: the balance is as before, less at most one standing charge (a device
    midnight may pass while the test runs; no energy flows)."""
    after = t.balance(role)
    charge = Decimal(str(t.result("4.11.1", role)["standing_charge"]))
    assert before - charge - STILL <= after <= before + STILL, (
        f"the {role}'s balance moved {before} -> {after}"
    )


def logged(t: SrvtRig, role: str, code: int) -> bool:
    """Whether the meter logged ``code`` since the test began (event or security log)."""
    return code in t.log_codes(role) or code in t.log_codes(role, security=True)


@pytest.mark.dmct_srv("2.2")
@pytest.mark.dmct_group(NEG)
@pytest.mark.dmct_requirement("SRVT-NEG-DEVICE-REFUSES")
@pytest.mark.parametrize(
    ("role", "case"),
    [
        pytest.param(
            r,
            c,
            id=f"{r}-{c}",
            marks=pytest.mark.dmct_roles(*((r, OTHER_METER[r]) if c == "other-meter" else (r,))),
        )
        for r in ("esme", "gsme")
        for c in ("over-max-credit", "over-max-balance", "other-meter")
    ],
)
def test_top_up_refused_by_meter(role: str, case: str, srvt: SrvtRig) -> None:
    """SRVT-NEG-DEVICE-REFUSES: values the *meter* must refuse (the route passes them on), oracle
    :mod:`test_packs.oracles.prepay`: a UTRN worth one penny more than the maximum credit threshold
    (0x8F5B), a top-up that would take the balance over the maximum meter balance (0x8F47), and UTRNs
    minted for the rig's other meter (0x8F64, and after repeated rejections manual entry suspended,
    0x81C4). Each is refused (E11), logged, and credits nothing."""
    t = srvt
    cfg = t.result("4.13", role)
    max_credit, max_balance = Decimal(str(cfg["max_credit"])), Decimal(str(cfg["max_balance"]))
    t.mark(role)
    with idle(t, role):
        if case == "over-max-credit":
            value = int(max_credit) + 1
            b0 = t.balance(role)
            want = prepay.top_up(value, balance=b0, max_credit=max_credit, max_balance=max_balance)
            assert want.refusal == prepay.UTRN_EXCEEDS_MAX_CREDIT
            t.rejected("E11", "2.2", role, {"utrn": t.utrn(role, value)})
            assert logged(t, role, want.refusal), f"the {role} logged no 0x{want.refusal:04X}"
            balance_kept(t, role, b0)
        elif case == "over-max-balance":
            b0 = t.balance(role)
            target = max_balance - 500
            t.ok("1.5", role, {"delta": float(target - b0)})
            try:
                b1 = t.balance(role)
                want = prepay.top_up(1000, balance=b1, max_credit=max_credit, max_balance=max_balance)
                assert want.refusal == prepay.CREDIT_EXCEEDS_MAX_BALANCE
                t.rejected("E11", "2.2", role, {"utrn": t.utrn(role, 1000)})
                assert logged(t, role, want.refusal), f"the {role} logged no 0x{want.refusal:04X}"
                balance_kept(t, role, b1)
            finally:
                t.ok("1.5", role, {"delta": float(b0 - t.balance(role))})
        else:
            other = t.eui(OTHER_METER[role]).upper()
            source = t.request.getfixturevalue("utrn_source")
            b0 = t.balance(role)
            for attempt in range(5):
                utrn = source.mint(other, 100, (fresh_sequence() + attempt) % 10_000)
                t.rejected("E11", "2.2", role, {"utrn": utrn})
                assert logged(t, role, prepay.UTRN_NOT_FOR_DEVICE) or logged(t, role, UTRN_LOCKED_OUT), (
                    f"the {role} logged no 0x8F64 for a UTRN minted for {other}"
                )
                if logged(t, role, prepay.UTRN_MANUAL_ENTRY_SUSPENDED):
                    break
            assert logged(t, role, prepay.UTRN_MANUAL_ENTRY_SUSPENDED), "repeated rejected UTRNs: no 0x81C4"
            balance_kept(t, role, b0)
            # the suspension lasts an hour of device time: let it pass for the tests after this one
            wait_device_time(t, role, t.optical(role).clock() + LOCKOUT)
