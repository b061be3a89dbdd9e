"""ESME behaviour model: energy and TOU, supply and contactor, outages, load limiting, tariff, billing
and daily logs, clock, logs and alerts — driven with a hand-moved clock."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from labs.virtual.devices import (
    BillingCalendar,
    DeviceCommandError,
    LoadLimit,
    PaymentMode,
    RejectCode,
    SupplyState,
    Tariff,
    TouSwitch,
)
from labs.virtual.devices import alerts as A
from labs.virtual.devices.tariff import add_months, next_billing_occurrence

from .test_devices_support import START, HandClock, codes, esme


def test_energy_accumulates_into_the_tou_register_of_the_active_rate() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=1000)
    clock.advance(hours=7)  # 00:00-06:00 rate 1, 06:00-07:00 rate 2
    regs = m.registers()
    assert regs.tou_kwh == pytest.approx((1006.0, 201.0, 300.0, 400.0))
    assert regs.total_kwh == pytest.approx(1907.0)


def test_measured_power_follows_the_applied_load_and_the_contactor() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=0)
    m.apply_load(2500)
    assert m.measured_power() == 2500
    m.disable_supply()
    assert m.supply_state() is SupplyState.DISABLED
    assert m.measured_power() == 0
    before = m.registers().total_kwh
    clock.advance(hours=2)
    assert m.registers().total_kwh == before  # no energy through an open contactor
    with pytest.raises(ValueError):
        m.apply_load(-1)


def test_arm_then_customer_button_enables_supply() -> None:
    m = esme()
    with pytest.raises(DeviceCommandError) as exc:
        m.arm_supply()
    assert exc.value.code is RejectCode.INVALID_STATE
    m.disable_supply()
    m.arm_supply()
    assert m.supply_state() is SupplyState.ARMED
    assert m.measured_power() == 0
    assert A.SUPPLY_ARMED in codes(m)
    m.press_button()
    assert m.supply_state() is SupplyState.ENABLED
    assert m.measured_power() == 1000
    with pytest.raises(DeviceCommandError):
        m.press_button()


def test_enable_supply_remotely() -> None:
    m = esme()
    m.disable_supply()
    m.enable_supply()
    assert m.supply_state() is SupplyState.ENABLED


def test_mains_outage_raises_interrupted_then_restored_short_and_long() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    m.power_off()
    assert m.measured_power() == 0
    with pytest.raises(DeviceCommandError) as exc:
        m.disable_supply()
    assert exc.value.code is RejectCode.NOT_POWERED
    before = m.registers().total_kwh
    clock.advance(60)
    assert m.registers().total_kwh == before
    m.power_on()
    clock.advance(10)
    m.power_off()
    clock.advance(minutes=3)
    m.power_on()
    sent = m.drain_alerts()
    assert [a.code for a in sent] == [
        A.SUPPLY_INTERRUPTED,
        A.SUPPLY_RESTORED,
        A.SUPPLY_INTERRUPTED,
        A.SUPPLY_RESTORED_LONG,
    ]
    assert sent[0].at == START
    assert sent[1].at == START + timedelta(seconds=60)
    assert sent[3].details["outage_s"] == 180
    assert m.drain_alerts() == []


def test_reboot_is_a_zero_length_outage() -> None:
    m = esme()
    m.reboot()
    assert codes(m) == [A.SUPPLY_INTERRUPTED, A.SUPPLY_RESTORED]
    assert m.powered


def test_load_limit_disables_then_arms_at_the_exact_instant() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=500)
    m.set_load_limit(LoadLimit(threshold_w=3000, period_s=60))
    m.apply_load(4000)
    clock.advance(30)
    m.apply_load(1000)  # drops below: the period restarts
    clock.advance(30)
    m.apply_load(4000)
    clock.advance(59)
    assert m.supply_state() is SupplyState.ENABLED
    clock.advance(600)  # sampled late: the trip still happened at +60 s
    assert m.supply_state() is SupplyState.ARMED
    sent = m.drain_alerts()
    assert [a.code for a in sent] == [A.LOAD_LIMIT_THRESHOLD_EXCEEDED, A.SUPPLY_ARMED_LOAD_LIMIT]
    assert sent[0].at == START + timedelta(seconds=120)
    assert m.load_limit_counter == 1
    m.reset_load_limit_counter()
    assert m.load_limit_counter == 0


def test_load_limit_restoration_period_re_enables() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=4000)
    m.set_load_limit(LoadLimit(threshold_w=3000, period_s=60, restoration_s=300))
    clock.advance(61)
    assert m.supply_state() is SupplyState.ARMED
    m.apply_load(1000)
    clock.advance(300)
    assert m.supply_state() is SupplyState.ENABLED
    assert codes(m)[-1] == A.SUPPLY_ENABLED_AFTER_LOAD_LIMIT


def test_load_limit_validation_and_old_firmware() -> None:
    with pytest.raises(DeviceCommandError):
        esme().set_load_limit(LoadLimit(threshold_w=0, period_s=60))
    with pytest.raises(DeviceCommandError) as exc:
        esme(fw="1.3.0").set_load_limit(LoadLimit(threshold_w=1000, period_s=60))
    assert exc.value.code is RejectCode.NOT_SUPPORTED


def test_tamper_is_a_security_event_and_locks_supply_when_configured() -> None:
    m = esme()
    m.tamper()
    assert m.security_log()[-1].code == A.TAMPER_DETECT
    assert m.supply_state() is SupplyState.ENABLED
    m.set_supply_tamper_state("locked")
    m.tamper("terminal_cover")
    assert m.supply_state() is SupplyState.DISABLED
    assert codes(m)[-2:] == [A.TAMPER_TERMINAL_COVER, A.SUPPLY_DISABLED_LOCKED_TAMPER]
    with pytest.raises(ValueError, match="known"):
        m.tamper("unknown")


def test_jammed_contactor_fails_with_connect_and_disconnect_failures() -> None:
    m = esme()
    m.jam_contactor()
    with pytest.raises(DeviceCommandError) as exc:
        m.disable_supply()
    assert exc.value.code is RejectCode.CONTACTOR_FAULT
    assert m.supply_state() is SupplyState.ENABLED
    m.jam_contactor(False)
    m.disable_supply()
    m.jam_contactor()
    with pytest.raises(DeviceCommandError):
        m.enable_supply()
    assert codes(m) == [A.SUPPLY_DISCONNECT_FAILURE, A.SUPPLY_CONNECT_FAILURE]


def test_readout_keeps_the_foundation_data_sets() -> None:
    m = esme(initial_kwh=[1.0, 2.0, 3.0, 4.0], load_w=0)
    assert m.readout() == [
        ("C.1.0", "E21Z000001", None),
        ("0.2.0", "1.4.2", None),
        ("1.8.0", "000010.000", "kWh"),
        ("1.8.1", "000001.000", "kWh"),
        ("1.8.2", "000002.000", "kWh"),
        ("1.8.3", "000003.000", "kWh"),
        ("1.8.4", "000004.000", "kWh"),
    ]


def test_tariff_update_validates_against_the_firmware_rate_limit() -> None:
    old = esme(fw="1.3.0")
    with pytest.raises(DeviceCommandError) as exc:
        old.update_tariff(Tariff.uniform(6))
    assert exc.value.code is RejectCode.INVALID_ARGUMENT
    m = esme()
    result = m.update_tariff(Tariff.uniform(6))
    assert result.executed
    assert len(m.registers().tou_kwh) == 6
    assert m.billing_records()[-1].trigger == "tariff"
    assert m.read_tariff().rates == 6


@pytest.mark.parametrize(
    "tariff",
    [
        Tariff(rates=2, switches=(TouSwitch(time(1), 1),), prices=(1.0, 2.0)),
        Tariff(rates=2, switches=(TouSwitch(time(0), 1), TouSwitch(time(0), 2)), prices=(1.0, 2.0)),
        Tariff(rates=2, switches=(TouSwitch(time(0), 3),), prices=(1.0, 2.0)),
        Tariff(rates=2, prices=(1.0,)),
        Tariff(rates=1, switches=(TouSwitch(time(0), 1),), prices=(1.0,), block_thresholds=(2.0, 1.0)),
        Tariff(rates=1, switches=(TouSwitch(time(0), 1),), prices=(1.0,), block_thresholds=(1.0,)),
        Tariff(rates=1, switches=(TouSwitch(time(0), 1),), prices=(-1.0,)),
    ],
)
def test_invalid_tariffs_are_rejected(tariff: Tariff) -> None:
    with pytest.raises(DeviceCommandError) as exc:
        esme().update_tariff(tariff)
    assert exc.value.code is RejectCode.INVALID_ARGUMENT


def test_48_half_hourly_rates() -> None:
    clock = HandClock()
    m = esme(clock=clock, model="VESME-3P", fw="2.0.0", initial_kwh=[], load_w=1000)
    m.update_tariff(Tariff.uniform(48))
    clock.advance(hours=1)
    tou = m.registers().tou_kwh
    assert tou[:3] == pytest.approx((0.5, 0.5, 0.0))
    assert len(tou) == 48


def test_future_dated_tariff_runs_at_its_time_with_0x8f66() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    due = START + timedelta(hours=2)
    result = m.update_prices((1.0, 2.0, 3.0, 4.0), standing_charge=10.0, at=due)
    assert not result.executed and result.scheduled_for == due and result.instruction == 1
    assert len(m.scheduled_commands()) == 1
    clock.advance(hours=1)
    assert m.read_tariff().prices == (20.0, 25.0, 30.0, 35.0)
    clock.advance(hours=5)
    assert m.read_tariff().prices == (1.0, 2.0, 3.0, 4.0)
    alert = m.drain_alerts()[-1]
    assert (alert.code, alert.at, alert.details["instruction"]) == (A.FUTURE_DATED_ACTIONED, due, 1)
    assert m.scheduled_commands() == []


def test_old_firmware_refuses_future_dating() -> None:
    m = esme(fw="1.3.0")
    with pytest.raises(DeviceCommandError) as exc:
        m.set_payment_mode(PaymentMode.PREPAYMENT, at=START + timedelta(days=1))
    assert exc.value.code is RejectCode.NOT_SUPPORTED
    assert m.set_payment_mode(PaymentMode.PREPAYMENT).executed  # immediate is fine


def test_payment_mode_change_takes_a_billing_snapshot() -> None:
    m = esme(balance=5000)
    m.set_payment_mode(PaymentMode.PREPAYMENT)
    assert m.payment_mode is PaymentMode.PREPAYMENT
    assert [r.trigger for r in m.billing_records()] == ["payment_mode"]
    assert A.BILLING_DATA_LOG_UPDATED in codes(m)


def test_block_tariff_prices_by_block_and_resets_on_the_billing_calendar() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=1000)
    m.update_tariff(
        Tariff(
            rates=1,
            switches=(TouSwitch(time(0), 1),),
            prices=(99.0,),
            standing_charge=0.0,
            block_thresholds=(1.0,),
            block_prices=(10.0, 40.0),
        )
    )
    m.set_billing_calendar(BillingCalendar(START + timedelta(hours=3), "daily"))
    clock.advance(hours=2)
    assert m.registers().block_kwh == pytest.approx((1.0, 1.0, 0.0, 0.0))
    assert m.prepay_values().balance == pytest.approx(-50.0)
    clock.advance(hours=1)
    assert m.registers().block_kwh == (0.0, 0.0, 0.0, 0.0)
    record = m.billing_records()[-1]
    assert (record.trigger, record.at, record.block_kwh[:2]) == (
        "calendar",
        START + timedelta(hours=3),
        (1.0, 2.0),
    )


def test_billing_calendar_snapshots_each_period() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    m.set_billing_calendar(BillingCalendar(START + timedelta(days=1), "daily"))
    clock.advance(days=3, hours=1)
    records = m.billing_records()
    assert [r.at for r in records] == [START + timedelta(days=d) for d in (1, 2, 3)]
    assert codes(m).count(A.BILLING_DATA_LOG_UPDATED) == 3


def test_billing_calendar_arithmetic() -> None:
    cal = BillingCalendar(START.replace(day=31, month=1), "monthly")
    assert cal.next_after(START) == cal.start
    assert cal.next_after(cal.start) == START.replace(day=28, month=2)
    assert add_months(START.replace(month=12), 1).year == 2026
    weekly = BillingCalendar(START, "weekly")
    assert weekly.next_after(START + timedelta(days=1)) == START + timedelta(weeks=1)


def test_billing_time_calendar_starts_at_the_next_occurrence_by_the_meters_clock() -> None:
    """SRV 6.8 to an ESME as DUIS carries it (a time and a periodicity, no start date): the first snapshot
    is the next occurrence of that time by the meter's own clock, not before; weekly and monthly days."""
    clock = HandClock()
    m = esme(clock=clock)
    m.set_clock(START + timedelta(hours=5))  # the meter's clock 5 h ahead of the reference
    now = START + timedelta(hours=5)
    cal = m.set_billing_time(time(7, 0), "daily")
    assert cal.start == now.replace(hour=7) and cal.as_billing_time() == {
        "billing_time": "07:00:00",
        "period": "daily",
    }
    clock.advance(hours=1, minutes=59)  # meter time 06:59: not yet
    assert not m.billing_records()
    clock.advance(minutes=2)
    assert [r.at for r in m.billing_records()] == [now.replace(hour=7)]
    passed = m.set_billing_time(time(1, 0), "daily")  # 01:00 is past today: tomorrow
    assert passed.start == now.replace(hour=1) + timedelta(days=1)
    weekly = next_billing_occurrence(now, time(6), "weekly", now.isoweekday())  # today, later
    assert weekly == now.replace(hour=6)
    assert next_billing_occurrence(now, time(4), "weekly", now.isoweekday()) == now.replace(
        hour=4
    ) + timedelta(weeks=1)
    monthly = next_billing_occurrence(now, time(0), "monthly", now.day)  # today 00:00 is past: next month
    assert monthly == add_months(now.replace(hour=0), 1)
    assert BillingCalendar(monthly, "monthly").as_billing_time()["day"] == now.day
    with pytest.raises(DeviceCommandError):
        next_billing_occurrence(now, time(0), "monthly", 29)


def test_daily_read_log_snapshots_each_device_midnight_and_takes_standing_charge() -> None:
    clock = HandClock()
    m = esme(clock=clock, load_w=1000, initial_kwh=[0.0, 0.0, 0.0, 0.0])
    clock.advance(days=3, hours=5)
    reads = m.daily_reads()
    assert [r.at for r in reads] == [START + timedelta(days=d) for d in (1, 2, 3)]
    assert [r.total_kwh for r in reads] == pytest.approx([24.0, 48.0, 72.0])
    # 24 kWh/day at 6 kWh per rate: (20+25+30+35)*6 = 660 p, plus 50 p standing charge a day
    assert reads[1].balance == pytest.approx(-660.0 * 2 - 50.0)


def test_a_meter_in_service_starts_with_daily_reads_whatever_the_hour() -> None:
    """History (lab file ``virtual.history_days``): started at 00:30 a meter already holds today's and
    the previous midnights' reads, totals running back at today's consumption; the seeded defect
    drops the same midnights as live ones (the 1st and 3rd), and live midnights carry on from there."""
    clock = HandClock(START + timedelta(minutes=30))
    m = esme(clock=clock, load_w=1000, initial_kwh=[100.0, 0.0, 0.0, 0.0], history_days=3)
    reads = m.daily_reads()
    assert [r.at for r in reads] == [START - timedelta(days=d) for d in (2, 1, 0)]
    assert [r.total_kwh for r in reads] == pytest.approx([52.0, 76.0, 100.0])  # 24 kWh a day
    assert reads[0].tou_kwh[0] == pytest.approx(52.0)
    clock.advance(days=1)
    assert [r.at for r in m.daily_reads()][-1] == START + timedelta(days=1)
    bad = esme(["daily_log_missing_day"], clock=HandClock(START + timedelta(minutes=30)), history_days=3)
    assert [r.at for r in bad.daily_reads()] == [START - timedelta(days=1)]
    with pytest.raises(ValueError, match="at most 731 days"):
        m.record_history(800)  # the lab file's field refuses it earlier, naming the field


def test_daily_log_follows_the_device_clock() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    m.set_clock(START.replace(hour=23, minute=59))
    clock.advance(61)
    assert [r.at for r in m.daily_reads()] == [START + timedelta(days=1)]


def test_clock_set_synchronise_and_drift() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    m.set_clock(START + timedelta(seconds=5))
    assert m.device_time() == START + timedelta(seconds=5)
    result = m.synchronise_clock(START)
    assert result.adjusted and result.delta_s == -5
    assert m.device_time() == START
    m.set_clock(START + timedelta(minutes=5))
    with pytest.raises(DeviceCommandError) as exc:
        m.synchronise_clock(START)
    assert exc.value.code is RejectCode.CLOCK_OUTSIDE_TOLERANCE
    assert codes(m) == [A.CLOCK_ADJUSTED, A.CLOCK_NOT_ADJUSTED_OUTSIDE_TOLERANCE]
    m.set_clock(clock.now())
    m.set_drift(1000.0)
    clock.advance(1000)
    assert m.device_time() - clock.now() == timedelta(seconds=1)


def test_event_and_security_logs_are_bounded_ring_buffers() -> None:
    m = esme()
    for _ in range(150):
        m.tamper("magnetic_field")
    log = m.security_log()
    assert len(log) == 100
    assert all(e.name == "Unauthorised Physical Access - Strong Magnetic field" for e in log)
    for _ in range(120):
        m.disable_supply()
        m.arm_supply()
    assert len(m.event_log()) == 100
    m.clear_event_log()
    assert m.event_log() == []
    assert m.security_log()[-1].code == A.EVENT_LOG_CLEARED


def test_alerts_carry_device_name_and_time_and_can_be_switched_off() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    m.configure_alert(A.SUPPLY_ARMED, send=False)
    m.disable_supply()
    clock.advance(7)
    m.arm_supply()
    assert codes(m) == []
    assert m.event_log()[-1].code == A.SUPPLY_ARMED  # logged, not sent
    m.configure_alert(A.SUPPLY_ARMED, send=True)
    m.press_button()
    m.disable_supply()
    m.arm_supply()
    (alert,) = m.drain_alerts()
    assert (alert.name, alert.device, alert.at, alert.hex_code) == (
        "Supply Armed",
        m.device_id,
        START + timedelta(seconds=7),
        "0x8F32",
    )
    with pytest.raises(KeyError):
        m.configure_alert(0x1234, send=False)


def test_identity_commands() -> None:
    m = esme()
    m.update_supplier_name("Virtual Energy")
    m.set_mpxn("1234567890123")
    m.display_message("hello")
    assert (m.supplier_name, m.mpxn, m.last_message) == ("Virtual Energy", "1234567890123", "hello")
    assert m.firmware_version == "1.4.2"
    assert m.device_id == m.alerter.device and len(m.device_id) == 23
