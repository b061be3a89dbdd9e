"""GSME: volume and conversion, valve, battery and power loss, and sleeping (wakes, pending commands)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labs.virtual.devices import DeviceCommandError, GasConversion, Gsme, RejectCode, SupplyState
from labs.virtual.devices import alerts as A

from .test_devices_support import START, HandClock, codes, gsme

KWH_PER_M3 = 39.5 * 1.02264 / 3.6


def test_volume_and_energy_with_calorific_value() -> None:
    clock = HandClock()
    g = gsme(clock=clock, flow_m3h=2.0, initial_m3=100.0)
    base_kwh = g.registers().total_kwh
    assert base_kwh == pytest.approx(100.0 * KWH_PER_M3)
    clock.advance(hours=3)
    assert g.volume() == pytest.approx(106.0)
    assert g.measured_flow() == 2.0
    assert g.registers().total_kwh - base_kwh == pytest.approx(6.0 * KWH_PER_M3)
    g.set_conversion(GasConversion(calorific_value=36.0, conversion_factor=1.0))
    clock.advance(hours=1)
    assert g.registers().total_kwh - base_kwh == pytest.approx(6.0 * KWH_PER_M3 + 2.0 * 10.0)
    assert g.daily_reads() == []
    clock.advance(days=1)
    assert g.daily_reads()[0].extra["volume_m3"] == pytest.approx(148.0)  # 24 h at 2 m³/h
    with pytest.raises(DeviceCommandError):
        g.set_conversion(GasConversion(calorific_value=0))
    with pytest.raises(ValueError):
        g.apply_flow(-1)


def test_valve_is_the_supply_state_and_cannot_be_opened_remotely() -> None:
    g = gsme(flow_m3h=1.0)
    g.disable_supply()
    assert g.measured_flow() == 0
    with pytest.raises(DeviceCommandError) as exc:
        g.enable_supply()
    assert exc.value.code is RejectCode.NOT_SUPPORTED
    g.arm_supply()
    g.press_button()
    assert g.supply_state() is SupplyState.ENABLED
    assert g.measured_flow() == 1.0


def test_battery_drains_with_wakes_and_valve_movements() -> None:
    clock = HandClock()
    g = gsme(clock=clock)
    clock.advance(days=1)
    g.advance()
    assert g.wakes == 48
    assert g.battery_pct == pytest.approx(100 - 48 * 0.002)
    g.disable_supply()
    g.arm_supply()  # arming does not move the valve
    g.press_button()
    assert g.battery_pct == pytest.approx(100 - 48 * 0.002 - 2 * 0.5)


def test_low_battery_alert_once() -> None:
    g = gsme(battery_pct=10.4)
    g.disable_supply()
    g.arm_supply()
    g.press_button()
    assert codes(g).count(A.LOW_BATTERY) == 1


def test_battery_eliminator_level_below_the_low_level_alerts_once_and_rearms() -> None:
    """The rig's battery eliminator (instrument ``gsme_battery_level``) sets the charge the meter sees."""
    g = gsme()
    g.battery_supply(50.0)
    assert A.LOW_BATTERY not in codes(g)
    g.battery_supply(g.low_battery_pct - 0.5)
    g.battery_supply(g.low_battery_pct - 1.0)
    assert codes(g).count(A.LOW_BATTERY) == 1
    g.battery_supply(100.0)  # back above the level: the next fall alerts again
    g.battery_supply(1.0)
    assert codes(g).count(A.LOW_BATTERY) == 2
    with pytest.raises(ValueError):
        g.battery_supply(100.5)


def test_flat_battery_loses_power_and_a_new_one_raises_power_loss() -> None:
    clock = HandClock()
    g = gsme(clock=clock, battery_pct=0.3)
    g.disable_supply()
    assert not g.powered
    assert g.next_wake(clock.now()) is None
    with pytest.raises(DeviceCommandError) as exc:
        g.arm_supply()
    assert exc.value.code is RejectCode.NOT_POWERED
    g.replace_battery()
    assert g.powered
    assert codes(g)[-1] == A.GSME_POWER_SUPPLY_LOSS


def test_power_relay_off_and_on_raises_power_loss() -> None:
    g = gsme()
    g.power_off()
    g.power_off()
    g.power_on()
    g.power_on()
    assert codes(g) == [A.GSME_POWER_SUPPLY_LOSS]


def test_wake_schedule() -> None:
    clock = HandClock()
    g = gsme(clock=clock)
    half_hour = timedelta(minutes=30)
    assert g.next_wake(START) == START + half_hour
    assert g.next_wake(START + half_hour) == START + 2 * half_hour
    assert g.next_wake(START - half_hour) == START + half_hour
    assert not g.is_awake(START)
    assert g.is_awake(START + half_hour + timedelta(seconds=2))
    assert not g.is_awake(START + half_hour + timedelta(seconds=6))
    clock.advance(minutes=95)
    g.advance()
    assert (g.wakes, g.last_wake) == (3, START + 3 * half_hour)


def test_pending_commands_are_delivered_at_the_next_wake() -> None:
    clock = HandClock()
    g = gsme(clock=clock, flow_m3h=1.0)
    clock.advance(minutes=10)
    ticket = g.enqueue("disable_supply", g.disable_supply)
    failing = g.enqueue("enable_supply", g.enable_supply)
    assert not ticket.done and g.measured_flow() == 1.0
    assert g.deliver_pending() == []  # asleep
    clock.advance(minutes=25)  # the wake at +30 min happened in between
    g.advance()  # time moves only when someone looks
    assert ticket.done and ticket.delivered_at == START + timedelta(minutes=30)
    assert ticket.error is None
    assert failing.error is not None and failing.error.code is RejectCode.NOT_SUPPORTED
    assert g.supply_state() is SupplyState.DISABLED
    assert g.volume() == pytest.approx(0.5)  # the valve closed exactly at the wake
    assert g.pending == []


def test_deliver_pending_while_awake() -> None:
    clock = HandClock()
    g = gsme(clock=clock)
    clock.advance(minutes=30, seconds=2)
    ticket = g.enqueue("display_message", lambda: g.display_message("hi"))
    assert g.deliver_pending() == [ticket]
    assert g.last_message == "hi"


def test_gsme_sleep_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        Gsme(
            clock=HandClock().sim,
            device_id="x",
            model="m",
            firmware_version="1",
            serial="s",
            wake_interval_s=5,
            awake_window_s=10,
        )


def test_gas_switches_rate_by_day_at_the_meters_midnight() -> None:
    """A gas meter switches rate by day (DUIS GasDayProfile: one TOU rate): its factory tariff is a week
    of day rates, and a tariff with ``days`` puts the gas before a device midnight in the ending day's
    register and the gas after it in the next day's, at their prices."""
    from labs.virtual.devices.tariff import Tariff, TouSwitch

    clock = HandClock()  # START: a Monday, midnight
    g = gsme(clock=clock)
    assert g.tariff.days == (1,) * 7  # the factory tariff (VGSME-G4: one rate) switches by day
    assert Tariff.by_day(4).days == (1, 2, 3, 4, 1, 2, 3)
    days = (3, 4, 1, 2, 1, 2, 1)
    g.update_tariff(Tariff(4, (TouSwitch(START.time(), 3),), (10.0, 20.0, 30.0, 40.0), 0.0, days=days))
    clock.advance(hours=22)
    g.apply_flow(1.0)
    before = list(g.registers().tou_kwh)
    clock.advance(hours=4)  # Monday 22:00 -> Tuesday 02:00
    got = [b - a for a, b in zip(before, g.registers().tou_kwh, strict=True)]
    assert got == pytest.approx([0.0, 0.0, 2 * KWH_PER_M3, 2 * KWH_PER_M3])  # rate 3 Monday, 4 Tuesday
    with pytest.raises(DeviceCommandError):
        g.update_tariff(Tariff(4, (TouSwitch(START.time(), 1),), (1.0,) * 4, days=(1, 2)))
    with pytest.raises(DeviceCommandError):
        g.update_tariff(Tariff(4, (TouSwitch(START.time(), 1),), (1.0,) * 4, days=(5,) * 7))
