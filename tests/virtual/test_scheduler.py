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

from labs.virtual.clock import SimClock
from labs.virtual.devices import Esme, Gsme, KeyRef, build_device, load_catalogue
from labs.virtual.devices import alerts as A
from labs.virtual.devices.base import Device
from labs.virtual.scheduler import EventScheduler

START = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
RATE = 7200.0  # a GSME's 10-minute wake interval passes in 1/12 s


def _device(clock: SimClock, model: str, fw: str, serial: str) -> Device:
    return build_device(load_catalogue().model(model), fw, (), clock, serial=serial)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def test_a_gsme_wakes_on_its_own_and_is_looked_at_only_for_its_wakes() -> None:
    async def scenario() -> None:
        clock = SimClock(START, rate=RATE)
        gsme = _device(clock, "VGSME-U6", "1.2.0", "G1")
        assert isinstance(gsme, Gsme)
        first_wake = gsme.next_wake(clock.now())
        assert first_wake is not None
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
        scheduler = EventScheduler(clock)
        scheduler.watch(gsmes)
        await asyncio.sleep(0.3)
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
