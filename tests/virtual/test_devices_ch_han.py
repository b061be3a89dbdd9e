"""CH: HAN device log, join/unjoin, link quality, WAN, routing (ESME now, GSME at wake), GSME cache,
HAN errors; PPMID/IHD showing what the meters send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from labs.virtual.devices import (
    CommsHub,
    DeviceCommandError,
    Esme,
    Gsme,
    Ihd,
    PaymentMode,
    PendingCommand,
    Ppmid,
    RejectCode,
    SupplyState,
    make_utrn,
)
from labs.virtual.devices import alerts as A

from .test_devices_support import START, HandClock, ch, codes, esme, gsme, ihd, ppmid


@dataclass
class Rig:
    clock: HandClock
    ch: CommsHub
    esme: Esme
    gsme: Gsme
    ppmid: Ppmid
    ihd: Ihd


def rig(join: bool = True, ch_defects: tuple[str, ...] = (), ppmid_defects: tuple[str, ...] = ()) -> Rig:
    clock = HandClock()
    r = Rig(
        clock,
        ch(ch_defects, clock),
        esme(clock=clock, payment_mode=PaymentMode.PREPAYMENT, balance=1000, load_w=0),
        gsme(clock=clock, flow_m3h=1.0),
        ppmid(ppmid_defects, clock=clock),
        ihd(clock=clock),
    )
    for dev in (r.esme, r.gsme, r.ppmid, r.ihd):
        r.ch.attach(dev)
    if join:
        r.ch.update_device_log(
            {
                r.esme.device_id: "esme",
                r.gsme.device_id: "gsme",
                r.ppmid.device_id: "ppmid",
                r.ihd.device_id: "ihd",
            }
        )
        for dev in (r.esme, r.gsme, r.ppmid, r.ihd):
            r.ch.join(dev.device_id)
        r.ch.drain_alerts()
    return r


def test_device_log_join_and_unjoin_alerts() -> None:
    r = rig(join=False)
    eui = r.ppmid.device_id
    with pytest.raises(DeviceCommandError):
        r.ch.join(eui)  # not whitelisted
    r.ch.update_device_log({eui: "ppmid"})
    r.ch.join(eui)
    r.ch.join(eui)  # already joined: no-op
    assert r.ppmid.joined_to == r.ch.device_id
    r.ch.unjoin(eui)
    with pytest.raises(DeviceCommandError):
        r.ch.unjoin(eui)
    assert r.ppmid.joined_to is None
    assert codes(r.ch) == [
        A.JOIN_FAILED,
        A.CH_DEVICE_LOG_CHANGED,
        A.JOIN_SUCCEEDED,
        A.UNJOIN_SUCCEEDED,
        A.UNJOIN_FAILED,
    ]
    with pytest.raises(DeviceCommandError) as exc:
        r.ch.join("00-00-00-00-00-00-00-99")  # not on the HAN at all
    assert exc.value.code is RejectCode.UNREACHABLE


def test_removing_a_joined_device_from_the_log_unjoins_it() -> None:
    r = rig()
    r.ch.update_device_log(remove=[r.ihd.device_id])
    assert r.ihd.device_id not in r.ch.joined
    assert [s.eui for s in r.ch.han_status()] == sorted(
        [r.esme.device_id, r.gsme.device_id, r.ppmid.device_id]
    )


def test_han_status_link_quality_and_han_loss() -> None:
    r = rig()
    r.ch.set_link_quality(r.esme.device_id, 42)
    status = {s.eui: s for s in r.ch.han_status()}
    assert status[r.esme.device_id].link_quality == 42
    assert status[r.esme.device_id].reachable and status[r.esme.device_id].device_type == "esme"
    r.ch.set_han_loss(r.esme.device_id)
    assert not r.ch.reachable(r.esme.device_id)
    with pytest.raises(DeviceCommandError) as exc:
        r.ch.send_now(r.esme.device_id, r.esme.disable_supply)
    assert exc.value.code is RejectCode.UNREACHABLE
    r.ch.set_han_loss(r.esme.device_id, False)
    r.ch.send_now(r.esme.device_id, r.esme.disable_supply)
    assert r.esme.supply_state() is SupplyState.DISABLED
    with pytest.raises(ValueError):
        r.ch.set_link_quality(r.esme.device_id, 300)


def test_wan_loss_blocks_routing() -> None:
    r = rig()
    r.ch.set_wan(False)
    with pytest.raises(DeviceCommandError) as exc:
        r.ch.send_now(r.esme.device_id, r.esme.measured_power)
    assert exc.value.code is RejectCode.WAN_UNAVAILABLE
    r.ch.set_wan(True)
    assert r.ch.send_now(r.esme.device_id, r.esme.measured_power) == 0


def test_gsme_commands_wait_at_the_ch_until_the_wake() -> None:
    r = rig()
    with pytest.raises(DeviceCommandError):
        r.ch.send_now(r.gsme.device_id, r.gsme.disable_supply)
    with pytest.raises(DeviceCommandError):
        r.ch.send_to_gsme(r.esme.device_id, "x", r.esme.disable_supply)
    ticket = r.ch.send_to_gsme(r.gsme.device_id, "disable_supply", r.gsme.disable_supply)
    r.clock.advance(minutes=29)
    r.gsme.advance()
    assert not ticket.done
    r.clock.advance(minutes=2)
    r.gsme.advance()
    assert ticket.delivered_at == START + timedelta(minutes=30)
    assert r.gsme.supply_state() is SupplyState.DISABLED


def test_gsme_cache_is_refreshed_at_each_wake() -> None:
    r = rig()
    assert r.ch.gsme_cache() is None
    r.clock.advance(minutes=31)
    cache = r.ch.gsme_cache()
    assert cache is not None and cache.at == START + timedelta(minutes=30)
    assert cache.volume_m3 == pytest.approx(0.5)
    r.clock.advance(minutes=30)
    cache = r.ch.gsme_cache()
    assert cache is not None and cache.volume_m3 == pytest.approx(1.0)
    assert r.ihd.readings[r.gsme.device_id]["volume_m3"] == pytest.approx(1.0)


def test_silent_gsme_gets_han_error_gt01() -> None:
    r = rig()
    r.clock.advance(hours=1)
    assert r.ch.han_error(r.gsme.device_id) is None
    r.gsme.power_off()
    r.clock.advance(hours=2)
    assert r.ch.han_error(r.gsme.device_id) == "GT01"
    assert r.ch.han_error(r.esme.device_id) is None


def test_displays_show_balance_and_messages_while_joined() -> None:
    r = rig()
    r.esme.top_up(make_utrn(r.esme.device_id, 500, 1))
    r.esme.display_message("Your tariff changes tomorrow")
    for display in (r.ppmid, r.ihd):
        assert display.shown_balance(r.esme.device_id) == 1500
        assert display.last_message() == "Your tariff changes tomorrow"
    r.ch.unjoin(r.ihd.device_id)
    r.esme.display_message("second")
    assert r.ppmid.last_message() == "second"
    assert r.ihd.last_message() == "Your tariff changes tomorrow"
    r.ch.set_han_loss(r.ppmid.device_id)
    r.esme.display_message("third")
    assert r.ppmid.last_message() == "second"


def test_ppmid_sends_customer_actions_through_the_ch() -> None:
    r = rig()
    result = r.ppmid.enter_utrn(r.esme.device_id, make_utrn(r.esme.device_id, 700, 1))
    assert r.esme.prepay_values().balance == 1700
    assert A.CREDIT_ADDED_LOCALLY in codes(r.esme)
    assert result is not None
    r.esme.disable_supply()
    r.esme.arm_supply()
    r.ppmid.press_enable(r.esme.device_id)
    assert r.esme.supply_state() is SupplyState.ENABLED
    with pytest.raises(DeviceCommandError):
        r.ppmid.activate_emergency_credit(r.esme.device_id)  # plenty of credit: EC not available
    ticket = r.ppmid.enter_utrn(r.gsme.device_id, make_utrn(r.gsme.device_id, 300, 1))
    assert isinstance(ticket, PendingCommand) and not ticket.done
    r.clock.advance(minutes=30)
    r.gsme.advance()
    assert ticket.done and ticket.error is None
    r.ch.unjoin(r.ppmid.device_id)
    with pytest.raises(DeviceCommandError):
        r.ppmid.enter_utrn(r.esme.device_id, make_utrn(r.esme.device_id, 700, 2))


def test_gsme_idle_wakes_are_booked_lazily_even_with_displays_joined() -> None:
    """A display joined to the CH does not make an event-driven lab witness every GSME wake (issue 21:
    an idle 1,400-rig lab looked at 2,800 wakes a second): what it shows is read through a look at the
    display, which catches the joined GSMEs up first; idle wakes are booked only every LAZY_WAKES, a
    waiting command's wake at once."""
    from labs.virtual.devices.gsme import LAZY_WAKES

    r = rig()
    first = r.gsme.next_wake(r.gsme._processed)
    assert first is not None
    lazy = first + (LAZY_WAKES - 1) * r.gsme.wake_interval
    assert r.gsme.next_due() == lazy  # IHD and PPMID joined
    for display in (r.ihd, r.ppmid):
        r.ch.unjoin(display.device_id)
    assert r.gsme.next_due() == lazy
    r.ch.join(r.ihd.device_id)
    assert r.gsme.next_due() == lazy
    r.gsme.enqueue("read", lambda: None)  # a waiting command: its wake is booked
    assert r.gsme.next_due() == first


def test_a_display_look_catches_up_the_gsme_wakes_it_would_have_heard() -> None:
    """Nobody looked at the GSME: reading the display (its ``advance``) brings it the reading of the
    last wake before now, computed from the flow (1 m³/h: 0.5 m³ per 30-minute wake interval)."""
    r = rig()
    r.clock.advance(minutes=61)  # wakes at 30 and 60 minutes
    assert r.gsme.wakes == 0 and r.ihd.readings == {}
    r.ihd.advance()
    assert r.gsme.wakes == 2
    assert r.ihd.readings[r.gsme.device_id]["volume_m3"] == pytest.approx(1.0)


def test_a_meter_update_reaches_a_frozen_display_after_the_gsme_wakes_before_it() -> None:
    """A display that keeps only its first update (``display_frozen``) shows the order of its updates:
    forwarding an ESME update then first catches the joined GSMEs up to the ESME's instant, so the
    display's first update is the 30-minute wake's reading, not the 31-minute message. A display that
    keeps the latest per meter shows no order: no catch-up then (midnight would make every meter do
    one at once), and its next look brings the reading."""
    frozen = rig(ppmid_defects=("display_frozen",))
    frozen.clock.advance(minutes=31)
    frozen.esme.display_message("hello")  # nobody looked at the GSME or the display
    assert frozen.gsme.wakes == 1 and frozen.gsme.last_wake == START + timedelta(minutes=30)
    assert frozen.ppmid.readings[frozen.gsme.device_id]["volume_m3"] == pytest.approx(0.5)
    assert frozen.ppmid.last_message() is None  # frozen at the reading, which came first
    plain = rig()
    plain.clock.advance(minutes=31)
    plain.esme.display_message("hello")
    assert plain.gsme.wakes == 0 and plain.ppmid.last_message() == "hello"
    plain.ppmid.advance()
    assert plain.ppmid.readings[plain.gsme.device_id]["volume_m3"] == pytest.approx(0.5)
