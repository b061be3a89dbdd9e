"""Prepayment: balance, thresholds, emergency credit, debts, top-up with UTRN checks, replay and lockout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from labs.virtual.devices import (
    DeviceCommandError,
    Esme,
    PaymentMode,
    PrepayConfig,
    RejectCode,
    SupplyState,
    make_utrn,
)
from labs.virtual.devices import alerts as A
from labs.virtual.devices.utrn import UtrnProblem, check_utrn, luhn_digit, parse_utrn

from .test_devices_support import START, HandClock, codes, esme


def prepay(clock: HandClock, balance: float = 1000.0, **kw: Any) -> Esme:
    """10 kW load: 200 p/h at rate 1 (00:00-06:00), 250 p/h at rate 2."""
    return esme(clock=clock, payment_mode=PaymentMode.PREPAYMENT, balance=balance, load_w=10_000, **kw)


def test_thresholds_raise_alerts_at_the_exact_crossing_and_disable_supply() -> None:
    clock = HandClock()
    m = prepay(clock)
    clock.advance(hours=5, minutes=30)  # sampled late on purpose
    sent = m.drain_alerts()
    assert [(a.code, a.at) for a in sent] == [
        (A.LOW_CREDIT, START + timedelta(hours=4)),  # 1000 -> 200
        (A.EMERGENCY_CREDIT_AVAILABLE, START + timedelta(hours=4, minutes=30)),  # -> 100
        (A.CREDIT_BELOW_DISABLEMENT, START + timedelta(hours=5)),  # -> 0
    ]
    assert m.supply_state() is SupplyState.DISABLED
    assert m.measured_power() == 0
    assert m.prepay_values().balance == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(DeviceCommandError):
        m.enable_supply()


def test_emergency_credit_activation_and_exhaustion() -> None:
    clock = HandClock()
    m = prepay(clock)
    with pytest.raises(DeviceCommandError) as exc:
        m.activate_emergency_credit()  # not available yet
    assert exc.value.code is RejectCode.INVALID_STATE
    clock.advance(hours=5)
    assert m.prepay_values().emergency_credit_available
    m.drain_alerts()
    m.activate_emergency_credit()
    assert m.supply_state() is SupplyState.ARMED
    assert codes(m) == [A.EMERGENCY_CREDIT_ACTIVATED, A.SUPPLY_ARMED_EMERGENCY_CREDIT]
    m.press_button()
    values = m.prepay_values()
    assert values.emergency_credit_active and values.emergency_credit_remaining == pytest.approx(500.0)
    m.drain_alerts()
    # combined credit 500: -200 p to 06:00, then 250 p/h: low again at 06:24, exhausted at 07:12
    clock.advance(hours=3)
    sent = m.drain_alerts()
    assert [(a.code, a.at) for a in sent] == [
        (A.LOW_CREDIT, START + timedelta(hours=6, minutes=24)),
        (A.EMERGENCY_CREDIT_EXHAUSTED, START + timedelta(hours=7, minutes=12)),
        (A.CREDIT_BELOW_DISABLEMENT, START + timedelta(hours=7, minutes=12)),
    ]
    assert m.supply_state() is SupplyState.DISABLED


def test_top_up_after_disablement_arms_supply_and_ends_emergency_credit() -> None:
    clock = HandClock()
    m = prepay(clock)
    clock.advance(hours=5)
    m.activate_emergency_credit()
    m.press_button()
    clock.advance(hours=3)
    result = m.top_up(make_utrn(m.device_id, 1000, 1))
    assert result.amount == 1000 and result.balance == pytest.approx(500.0)
    values = m.prepay_values()
    assert not values.emergency_credit_active
    assert m.supply_state() is SupplyState.ARMED
    assert codes(m)[-1] == A.SUPPLY_ARMED
    m.press_button()
    assert m.measured_power() == 10_000


def test_credit_mode_never_disables_for_credit() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=10_000, balance=100)
    clock.advance(hours=10)
    assert m.supply_state() is SupplyState.ENABLED
    assert m.prepay_values().balance < 0
    assert codes(m) == []


def test_adjust_balance_and_prepay_config() -> None:
    clock = HandClock()
    m = prepay(clock, balance=50)
    assert m.supply_state() is SupplyState.ENABLED  # low, not yet at the disablement threshold
    assert m.adjust_balance(-60) == pytest.approx(-10)
    assert m.supply_state() is SupplyState.DISABLED
    m.adjust_balance(1000)
    assert m.supply_state() is SupplyState.ARMED
    config = PrepayConfig(low_credit_threshold=2000)
    m.update_prepay_config(config)
    assert m.read_prepay_config() == config
    with pytest.raises(DeviceCommandError):
        m.update_prepay_config(PrepayConfig(max_credit=0))


def test_time_debt_recovered_daily() -> None:
    clock = HandClock()
    m = esme(clock=clock, payment_mode=PaymentMode.PREPAYMENT, balance=5000, load_w=0)
    m.set_debt("time_debt_1", 250, 100)
    clock.advance(days=3, hours=1)
    values = m.prepay_values()
    assert values.debts["time_debt_1"] == (0.0, 100)
    assert values.balance == pytest.approx(5000 - 250 - 3 * 50)
    assert codes(m) == [A.DEBT_COMPLETED_TIME_1]
    with pytest.raises(DeviceCommandError):
        m.set_debt("payment_debt", 10, 150)


def test_payment_debt_recovered_from_top_ups() -> None:
    m = esme(payment_mode=PaymentMode.PREPAYMENT, balance=1000, load_w=0)
    m.set_debt("payment_debt", 800, 50)
    first = m.top_up(make_utrn(m.device_id, 1000, 1))
    assert first.debt_recovered == 500 and first.balance == 1500
    second = m.top_up(make_utrn(m.device_id, 1000, 2))
    assert second.debt_recovered == 300 and second.balance == 2200
    assert m.prepay_values().debts["payment_debt"][0] == 0
    assert codes(m) == [A.DEBT_COMPLETED_PAYMENT]


def test_utrn_format_and_check() -> None:
    utrn = make_utrn("00-11-22-33-44-55-66-77", 1234, 42)
    assert len(utrn) == 20 and utrn.isdigit()
    assert utrn.startswith("0012340042")
    assert luhn_digit(utrn[:19]) == int(utrn[19])
    fields = parse_utrn(utrn)
    assert fields is not None and (fields.amount_pence, fields.sequence) == (1234, 42)
    assert check_utrn(utrn, "00-11-22-33-44-55-66-77") == fields
    assert check_utrn(utrn, "another device") is UtrnProblem.NOT_FOR_DEVICE
    assert check_utrn(utrn, "00-11-22-33-44-55-66-77", secret="other") is UtrnProblem.NOT_AUTHENTIC
    typo = utrn[:5] + str((int(utrn[5]) + 1) % 10) + utrn[6:]
    assert parse_utrn(typo) is None
    for bad in ("123", "a" * 20, "0" * 20):
        assert parse_utrn(bad) is None
    with pytest.raises(ValueError):
        make_utrn("x", 0, 1)
    with pytest.raises(ValueError):
        make_utrn("x", 1, 10_000)


def _typo(utrn: str) -> str:
    return utrn[:19] + str((int(utrn[19]) + 1) % 10)


def _forged(device_id: str) -> str:
    """Right device tag and Luhn digit, wrong authenticator."""
    good = make_utrn(device_id, 500, 7)
    body = good[:14] + f"{(int(good[14:19]) + 1) % 10**5:05d}"
    return body + str(luhn_digit(body))


@pytest.mark.parametrize(
    ("make", "alert", "reason"),
    [
        (lambda dev: _typo(make_utrn(dev, 500, 1)), A.UTRN_NOT_AUTHENTIC, RejectCode.UTRN_INVALID),
        (_forged, A.UTRN_NOT_AUTHENTIC, RejectCode.UTRN_NOT_AUTHENTIC),
        (
            lambda dev: make_utrn("someone else", 500, 1),
            A.UTRN_NOT_FOR_DEVICE,
            RejectCode.UTRN_NOT_FOR_DEVICE,
        ),
        (
            lambda dev: make_utrn(dev, 20_000, 1),
            A.UTRN_EXCEEDS_MAX_CREDIT,
            RejectCode.UTRN_EXCEEDS_MAX_CREDIT,
        ),
    ],
)
def test_bad_utrns_are_rejected_with_their_alert(make: Any, alert: int, reason: RejectCode) -> None:
    m = esme(payment_mode=PaymentMode.PREPAYMENT, balance=1000, load_w=0)
    with pytest.raises(DeviceCommandError) as exc:
        m.top_up(make(m.device_id))
    assert exc.value.code is reason
    assert codes(m) == [alert]
    assert m.security_log()[-1].code == alert
    assert m.prepay_values().balance == 1000


def test_top_up_beyond_max_balance_is_rejected() -> None:
    m = esme(payment_mode=PaymentMode.PREPAYMENT, balance=49_000, load_w=0)
    with pytest.raises(DeviceCommandError) as exc:
        m.top_up(make_utrn(m.device_id, 5000, 1))
    assert exc.value.code is RejectCode.UTRN_EXCEEDS_MAX_BALANCE
    assert codes(m) == [A.CREDIT_EXCEEDS_MAX_BALANCE]


def test_the_same_utrn_twice_is_rejected_as_duplicate() -> None:
    m = esme(payment_mode=PaymentMode.PREPAYMENT, balance=0, load_w=0)
    utrn = make_utrn(m.device_id, 1000, 1)
    m.top_up(utrn, local=True)
    assert A.CREDIT_ADDED_LOCALLY in codes(m)
    with pytest.raises(DeviceCommandError) as exc:
        m.top_up(utrn)
    assert exc.value.code is RejectCode.UTRN_DUPLICATE
    assert codes(m)[-1] == A.UTRN_DUPLICATE
    assert m.prepay_values().balance == 1000


def test_five_rejections_suspend_utrn_entry_for_an_hour() -> None:
    clock = HandClock()
    m = esme(clock=clock, payment_mode=PaymentMode.PREPAYMENT, balance=1000, load_w=0)
    for _ in range(5):
        with pytest.raises(DeviceCommandError):
            m.top_up(_typo(make_utrn(m.device_id, 100, 9)))
    assert codes(m)[-1] == A.UTRN_MANUAL_ENTRY_SUSPENDED
    good = make_utrn(m.device_id, 100, 1)
    with pytest.raises(DeviceCommandError) as exc:
        m.top_up(good)
    assert exc.value.code is RejectCode.UTRN_LOCKED_OUT
    assert codes(m)[-1] == A.UTRN_LOCKED_OUT
    clock.advance(hours=1)
    assert m.top_up(good).balance == 1100


def test_gsme_prepayment_uses_the_same_rules() -> None:
    from .test_devices_support import gsme

    clock = HandClock()
    g = gsme(clock=clock, payment_mode=PaymentMode.PREPAYMENT, balance=300, flow_m3h=1.0)
    clock.advance(hours=2)  # ~11.2 kWh/h at 20 p/kWh -> 224 p/h
    assert g.supply_state() is SupplyState.DISABLED
    assert A.CREDIT_BELOW_DISABLEMENT in codes(g)
    g.top_up(make_utrn(g.device_id, 1000, 1))
    assert g.supply_state() is SupplyState.ARMED
