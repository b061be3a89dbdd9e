"""The event-driven simulator clock (labs/virtual/scheduler.py): devices are looked at when their next
event is due — and only then, or when someone touches them — on one timer heap.

Each test runs a real asyncio loop on a fast simulated clock; expectations are computed from the
clock and the devices' own intervals, not from the scheduler's bookkeeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from labs.virtual.clock import SimClock
from labs.virtual.devices import Esme, Gsme, KeyRef, build_device, load_catalogue
from labs.virtual.devices import alerts as A
from labs.virtual.devices.base import Device
from labs.virtual.devices.gsme import LAZY_WAKES
from labs.virtual.scheduler import EventScheduler

START = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
RATE = 7200.0  # a GSME's 10-minute wake interval passes in 1/12 s


def _device(clock: SimClock, model: str, fw: str, serial: str) -> Device:
    return build_device(load_catalogue().model(model), fw, (), clock, serial=serial)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def _watch_wakes(gsme: Device) -> list[datetime]:
    """A wake listener nobody declared lazy: whoever it is sees every wake as it happens."""
    assert isinstance(gsme, Gsme)
    heard: list[datetime] = []
    gsme.wake_listeners.append(lambda g, at: heard.append(at))
    return heard


def test_a_gsme_wakes_on_its_own_and_is_looked_at_only_for_its_wakes() -> None:
    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        gsme = _device(clock, "VGSME-U6", "1.2.0", "G1")
        assert isinstance(gsme, Gsme)
        first_wake = gsme.next_wake(clock.now())
        assert first_wake is not None
        _watch_wakes(gsme)  # a watched GSME (a display joined to its CH) is looked at every wake
        looks: list[datetime] = []
        scheduler = EventScheduler(clock)
        scheduler.subscribe(lambda device: looks.append(clock.now()))
        scheduler.watch([gsme])
        await asyncio.sleep(0.6)
        now = clock.now()
        due = (now - first_wake) // gsme.wake_interval + 1  # wakes whose instant has passed
        # Nobody asked the GSME anything, yet it woke at every interval (give or take the one in flight)
        assert due - 1 <= gsme.wakes <= due
        # ... and was looked at once to start with and then once per wake, not every few milliseconds.
        assert len(looks) <= gsme.wakes + 2
        assert scheduler.pending() == 1  # one booking: its next wake
        scheduler.close()

    _run(scenario())


def test_a_future_dated_command_runs_and_alerts_at_its_time_without_polling() -> None:
    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        esme = _device(clock, "VESME-1P", "1.4.2", "E1")
        assert isinstance(esme, Esme)
        scheduler = EventScheduler(clock)
        alerted: list[tuple[datetime, list[int]]] = []
        scheduler.subscribe(lambda device: alerted.append((clock.now(), [a.code for a in device.outbox])))
        scheduler.watch([esme])
        await asyncio.sleep(0.05)
        at = esme.device_time() + timedelta(minutes=30)  # 0.25 s of real time at this rate
        result = esme.update_credentials("supplier", [KeyRef("SUPPLIER-2", 2)], at=at)
        assert result.instruction is not None and not result.executed
        await asyncio.sleep(0.6)
        seen = [when for when, codes in alerted if A.FUTURE_DATED_ACTIONED in codes]
        assert seen, "the scheduler never looked at the ESME when its command fell due"
        reference_due = esme.devclock.reference_at(at)
        # Looked at once the reference clock passed the command's time, and promptly.
        assert reference_due <= seen[0] <= reference_due + timedelta(seconds=0.2 * RATE)
        scheduler.close()

    _run(scenario())


def test_many_devices_due_at_once_are_served_in_several_short_passes() -> None:
    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        gsmes = [_device(clock, "VGSME-U6", "1.2.0", f"G{n}") for n in range(300)]
        for g in gsmes:
            _watch_wakes(g)
        scheduler = EventScheduler(clock)
        scheduler.watch(gsmes)
        await asyncio.sleep(0.5)  # the last built wakes an interval (1/12 s) after it was built
        assert all(isinstance(g, Gsme) and g.wakes >= 1 for g in gsmes)
        # Every GSME shares one wake instant, yet the work was split: the loop was yielded between.
        assert scheduler.passes > 2
        scheduler.close()

    _run(scenario())


def test_setting_the_reference_clock_retimes_the_wake_ups() -> None:
    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        gsme = _device(clock, "VGSME-U6", "1.2.0", "G1")
        assert isinstance(gsme, Gsme)
        _watch_wakes(gsme)
        scheduler = EventScheduler(clock)
        scheduler.watch([gsme])
        await asyncio.sleep(0.05)
        clock.set(clock.now(), rate=0.0)  # time stands still: nothing is due any more
        wakes = gsme.wakes
        await asyncio.sleep(0.3)
        assert gsme.wakes == wakes
        clock.set(clock.now(), rate=RATE)  # and runs again: the wake-ups resume
        await asyncio.sleep(0.3)
        assert gsme.wakes > wakes
        scheduler.close()

    _run(scenario())


def test_an_unwatched_gsme_is_looked_at_every_few_wakes_and_a_queued_command_at_the_next() -> None:
    """Nobody sees an idle GSME's wake as it happens (no command waits, no display is joined, no alert
    is near): the lab looks at it only every LAZY_WAKES wakes, and a look catches up every wake in
    between exactly as a watched one did them. A queued command is delivered at the very next wake."""

    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        idle = _device(clock, "VGSME-U6", "1.2.0", "G1")
        watched = _device(clock, "VGSME-U6", "1.2.0", "G2")
        assert isinstance(idle, Gsme) and isinstance(watched, Gsme)
        heard = _watch_wakes(watched)
        first = idle.next_wake(clock.now())
        assert first is not None
        looks: list[Device] = []
        scheduler = EventScheduler(clock)
        scheduler.subscribe(looks.append)
        scheduler.watch([idle, watched])
        await asyncio.sleep(1.2)  # about 14 wake intervals at this rate
        idle_looks = sum(1 for d in looks if d is idle)
        assert watched.wakes >= 10 and len(heard) == watched.wakes
        assert idle_looks <= watched.wakes // LAZY_WAKES + 2
        # A look catches the idle one up: every wake its interval put before now, and their drain.
        idle.advance()
        n = (clock.now() - first) // idle.wake_interval + 1
        assert n >= 10 and (idle.wakes, idle.last_wake) == (n, first + (n - 1) * idle.wake_interval)
        assert idle.battery_pct == pytest.approx(100.0 - n * idle.wake_drain_pct)
        # A queued command: delivered at the next wake, promptly (not LAZY_WAKES wakes later).
        ticket = idle.enqueue("read", lambda: "done")
        next_wake = idle.next_wake(clock.now())
        assert next_wake is not None
        while not ticket.done:
            await asyncio.sleep(0.005)
        assert ticket.delivered_at == next_wake
        assert clock.now() - next_wake < timedelta(seconds=0.05 * RATE)
        scheduler.close()

    _run(scenario())


def test_a_gsme_near_its_low_battery_level_is_watched_for_the_alert() -> None:
    """The wake whose drain crosses the low-battery level raises 0x8F1F: it is looked at when it comes
    (the alert reaches the listeners then), idle or not."""

    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        gsme = _device(clock, "VGSME-U6", "1.2.0", "G1")
        assert isinstance(gsme, Gsme)
        gsme.battery_pct = gsme.low_battery_pct + 2.5 * gsme.wake_drain_pct  # crossed at the 3rd wake
        first = gsme.next_wake(clock.now())
        assert first is not None
        alerted: list[datetime] = []
        scheduler = EventScheduler(clock)
        scheduler.subscribe(
            lambda d: alerted.extend(clock.now() for a in d.alerter.drain() if a.code == A.LOW_BATTERY)
        )
        scheduler.watch([gsme])
        await asyncio.sleep(0.5)
        crossing = first + 2 * gsme.wake_interval
        assert alerted and crossing <= alerted[0] <= crossing + timedelta(seconds=0.05 * RATE)
        scheduler.close()

    _run(scenario())


def test_an_idle_rig_with_displays_joined_is_looked_at_only_for_due_events() -> None:
    """Issue 21: an idle lab costs only its events. A CH, PPMID and IHD have nothing due: after the
    first look the lab never examines them; the GSME (displays joined to its CH) is booked only every
    LAZY_WAKES wakes. A look at a display then shows the reading of the last wake before it."""

    async def scenario() -> None:
        from labs.virtual.devices import CommsHub, Ihd, Ppmid

        clock = SimClock(START, rate=RATE)
        hub = _device(clock, "VCH-100", "2.1.0", "00-1A-2B-FF-FE-00-00-01")
        gsme = _device(clock, "VGSME-U6", "1.2.0", "G1")
        ppmid = _device(clock, "VPPMID-1", "1.0.0", "P1")
        ihd = _device(clock, "VIHD-1", "1.1.0", "I1")
        assert isinstance(hub, CommsHub) and isinstance(gsme, Gsme)
        assert isinstance(ppmid, Ppmid) and isinstance(ihd, Ihd)
        gsme.apply_flow(1.0)
        for device in (gsme, ppmid, ihd):
            hub.attach(device)
        hub.update_device_log({gsme.device_id: "gsme", ppmid.device_id: "ppmid", ihd.device_id: "ihd"})
        for device in (gsme, ppmid, ihd):
            hub.join(device.device_id)
        looks: list[Device] = []
        scheduler = EventScheduler(clock)
        scheduler.subscribe(looks.append)
        scheduler.watch([hub, gsme, ppmid, ihd])
        await asyncio.sleep(0.05)
        looks.clear()  # the first look at each, as the lab starts
        await asyncio.sleep(1.2)  # about 14 wake intervals at this rate
        assert not [d for d in looks if d is not gsme]  # nothing due: never examined
        gsme_looks = sum(1 for d in looks if d is gsme)
        ihd.advance()  # a look at the display: the GSME's wakes are caught up first
        n = (gsme._processed - gsme._wake_anchor) // gsme.wake_interval
        assert n >= 10 and gsme_looks <= n // LAZY_WAKES + 1
        assert gsme.wakes == n and gsme.last_wake is not None
        since_wake_h = (gsme._processed - gsme.last_wake).total_seconds() / 3600
        at_wake = gsme.volume_m3 - 1.0 * since_wake_h  # 1 m³/h since the last wake
        assert ihd.readings[gsme.device_id]["volume_m3"] == pytest.approx(at_wake, abs=1e-3)
        scheduler.close()

    _run(scenario())


def test_a_device_wake_up_is_re_booked_in_place() -> None:
    """Each wake-up re-books the device's one timer (no closure, key or timer per booking: issue 21,
    those outlived the collector's youngest generation and made its collections pauses)."""

    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        gsme = _device(clock, "VGSME-U6", "1.2.0", "G1")
        _watch_wakes(gsme)  # every wake booked
        scheduler = EventScheduler(clock)
        scheduler.watch([gsme])
        await asyncio.sleep(0.05)
        timer = scheduler._timers[gsme]
        assert isinstance(gsme, Gsme)
        wakes = gsme.wakes
        await asyncio.sleep(0.3)  # a few wake intervals
        assert gsme.wakes >= wakes + 2
        assert scheduler._timers[gsme] is timer and scheduler.pending() == 1
        assert timer.when == gsme.next_due()
        scheduler.close()

    _run(scenario())
