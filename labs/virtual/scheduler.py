"""The simulator's clock, event-driven: one timer heap on which every device schedules its next due event.

Why: a device model only moves when someone looks (:meth:`~labs.virtual.devices.base.Device.advance`
processes the interval since it last looked, mark by mark), so something must look when a mark is due —
a TOU switch, midnight's daily read, a billing date, a future-dated command, a credit threshold, a GSME
wake — or its alerts would wait for the next request. Looking at every device every few milliseconds
costs a core for an idle lab of a hundred rigs and blocks the loop for tens of milliseconds at a
thousand. Here each device instead asks for one wake-up at its next due instant
(:meth:`~labs.virtual.devices.base.Device.next_due`), so an idle lab costs nothing but its events.

How it stays right:

* **Touches.** Whatever looks at a device (a DLMS request, an SRV, the control API, an instrument)
  goes through ``advance``, which calls the device's ``on_touch`` hook; so do raised alerts. A touched
  device is re-examined in a pass queued right after the current callback — after the command that
  touched it has changed its state — and its wake-up moved to its new next due instant.
* **Bounded passes.** A pass (due wake-ups or touched devices) stops after :data:`PASS_BUDGET_S` of
  work and queues the rest with ``call_soon``, so a burst (every meter's midnight at once) never holds
  the loop much longer than that: DLMS and route requests interleave.
* **The reference clock.** Wake-ups are kept in reference (lab) time and converted to the loop's clock
  at the clock's rate; when the reference clock is set or its rate changes, every wake-up is re-timed.
* **Listeners** (the S1SP route) are told after a device was examined, to forward its alerts and
  complete what waited on it. Other timers (a DSP-held request, a DCC schedule, a GSME deadline) are
  kept on the same heap with :meth:`EventScheduler.at`.

Touches may come from another thread (tests drive models directly); the dirty set is guarded by a lock
and the pass is queued with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from labs.virtual.clock import SimClock
from labs.virtual.devices.base import Device

log = logging.getLogger(__name__)

#: Real seconds of work one pass may do before it yields the loop (the rest is queued).
PASS_BUDGET_S = 0.0005
#: Real seconds added to every wake-up, so float rounding never wakes a device a hair before its mark.
SLACK_S = 0.0002
#: A re-computed mark this close to the booked one is the same mark (float rounding of, say, a credit
#: threshold crossing re-derived after every read): the booking stands.
SAME_MARK = timedelta(milliseconds=1)


Listener = Callable[[Device], None]


@dataclass(slots=True)
class _Timer:
    """One booking. A device's wake-up carries the device (examined for the mark ``when``) and no
    callback; a re-booking updates it in place. Why: every object a booking allocates outlives the
    collector's youngest generation, and at a thousand rigs the closures, keys and timers of a few
    seconds' bookings made each gen-0 collection a pause of several milliseconds (issue 21)."""

    when: datetime  # reference time
    real: float  # loop time
    seq: int
    callback: Callable[[], None] | None
    device: Device | None = None


class EventScheduler:
    """One timer heap for a lab (or a route): device wake-ups and other timed callbacks."""

    def __init__(self, clock: SimClock, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.clock = clock
        self.loop = loop or asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._heap: list[tuple[float, int, Hashable]] = []
        self._timers: dict[Hashable, _Timer] = {}
        self._seq = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._handle_at = float("inf")
        self._lock = threading.Lock()
        self._dirty: dict[int, Device] = {}  # id(device) -> device, in touch order
        self._pass_queued = False
        self._listeners: list[Listener] = []
        self._devices: dict[int, Device] = {}
        self._closed = False
        self._examining: int | None = None
        #: Passes run and the longest one, real seconds (for benchmarks and tests).
        self.passes = 0
        self.longest_pass_s = 0.0
        clock.add_listener(self._clock_changed)

    # -- registration -------------------------------------------------------------------------------
    def watch(self, devices: Iterable[Device]) -> None:
        """Take these devices under the scheduler: each is examined once soon, then as it needs."""
        for device in devices:
            self._devices[id(device)] = device
            device.on_touch = self._touched
            self._touched(device)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(device)`` after every examination of a device (on the loop)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def close(self) -> None:
        """Forget every timer and let go of the devices (the lab or route stops)."""
        self._closed = True
        for device in self._devices.values():
            if device.on_touch == self._touched:
                device.on_touch = None
        self._devices.clear()
        self._timers.clear()
        self._heap.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.clock.remove_listener(self._clock_changed)

    # -- timers ---------------------------------------------------------------------------------------
    def at(self, when: datetime, key: Hashable, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the reference clock reaches ``when`` (replacing ``key``'s timer)."""
        self._book(key, when, callback, None)

    def _book(
        self, key: Hashable, when: datetime, callback: Callable[[], None] | None, device: Device | None
    ) -> None:
        if self._closed:
            return
        real, seq = self._real(when), next(self._seq)
        timer = self._timers.get(key)
        if timer is None:
            self._timers[key] = _Timer(when, real, seq, callback, device)
        else:  # in place: a re-booking allocates only its heap entry
            timer.when, timer.real, timer.seq = when, real, seq
            timer.callback, timer.device = callback, device
        heapq.heappush(self._heap, (real, seq, key))
        if len(self._heap) > 2 * len(self._timers) + 64:
            self._compact()  # replaced bookings left behind: keep the heap as big as what is booked
        if real < self._handle_at:
            self._arm(real)

    def _compact(self) -> None:
        """Drop the heap entries of replaced or cancelled bookings (keeping the live entries' tuples)."""
        timers = self._timers
        live = []
        for entry in self._heap:
            timer = timers.get(entry[2])
            if timer is not None and timer.seq == entry[1]:
                live.append(entry)
        heapq.heapify(live)
        self._heap = live

    def cancel(self, key: Hashable) -> None:
        self._timers.pop(key, None)  # its heap entry is skipped when it comes up

    def pending(self) -> int:
        """Timers waiting (device wake-ups included)."""
        return len(self._timers)

    def _real(self, when: datetime) -> float:
        rate = self.clock.rate
        if rate <= 0:
            return float("inf")  # a stopped clock: nothing is ever due until it is set again
        ahead = (when - self.clock.now()).total_seconds() / rate
        return self.loop.time() + max(ahead, 0.0) + SLACK_S

    def _arm(self, real: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._handle_at = real
        if real != float("inf"):
            self._handle = self.loop.call_at(real, self._run_due)

    def _clock_changed(self) -> None:
        """The reference clock was set (or its rate changed): re-time every timer."""
        if threading.get_ident() != self._thread:
            self.loop.call_soon_threadsafe(self._clock_changed)
            return
        self._heap = []
        for key, timer in self._timers.items():
            timer.real = self._real(timer.when)
            timer.seq = next(self._seq)
            self._heap.append((timer.real, timer.seq, key))
        heapq.heapify(self._heap)
        self._arm(self._heap[0][0] if self._heap else float("inf"))

    def _run_due(self) -> None:
        """Run every timer whose time has come, within the pass budget; re-arm for the next."""
        self._handle = None
        self._handle_at = float("-inf")  # bookings made by the callbacks arm nothing: we re-arm below
        started = time.perf_counter()
        now = self.loop.time()
        while self._heap and self._heap[0][0] <= now:  # not aliased: a callback's booking may compact it
            _, seq, key = heapq.heappop(self._heap)
            timer = self._timers.get(key)
            if timer is None or timer.seq != seq:
                continue  # replaced or cancelled
            try:
                if timer.device is not None:
                    self._examine(timer.device, timer.when)  # re-books it in place, or cancels it
                else:
                    del self._timers[key]
                    if timer.callback is not None:
                        timer.callback()
            except Exception:  # one model's failure must not stop the lab's clock
                log.exception("simulator timer %r failed", key)
            if time.perf_counter() - started > PASS_BUDGET_S:
                break
        self._note_pass(started)
        if not self._heap:
            self._arm(float("inf"))
            return
        head = self._heap[0][0]
        # More already due: yield to I/O first (the loop polls before running it), then carry on.
        self._arm(head if head > now else self.loop.time())

    # -- touches --------------------------------------------------------------------------------------
    def _touched(self, device: Device) -> None:
        if id(device) == self._examining and threading.get_ident() == self._thread:
            return  # our own look at it
        with self._lock:
            self._dirty[id(device)] = device
            if self._pass_queued:
                return
            self._pass_queued = True
        if threading.get_ident() == self._thread:
            self.loop.call_soon(self._examine_touched)
        else:
            self.loop.call_soon_threadsafe(self._examine_touched)

    def _examine_touched(self) -> None:
        """Re-examine touched devices (after the commands that touched them), within the budget."""
        started = time.perf_counter()
        while True:
            with self._lock:
                if not self._dirty:
                    self._pass_queued = False
                    break
                key = next(iter(self._dirty))
                device = self._dirty.pop(key)
            self._examine(device)
            if time.perf_counter() - started > PASS_BUDGET_S:
                self.loop.call_soon(self._examine_touched)  # still queued: the rest after I/O
                break
        self._note_pass(started)

    def _examine(self, device: Device, due: datetime | None = None) -> None:
        """Look at a device: woken for its mark ``due``, catch it up to that mark; touched, take it as
        its toucher left it (already caught up). Then tell the listeners, and book its next wake-up
        (unchanged bookings are left alone: most touches — a DLMS read — move nothing)."""
        if self._closed:
            return
        key = device  # its wake-up's key (a device hashes by identity)
        self._examining = id(device)
        try:
            if due is not None:
                device.advance(until=due)
            for listener in self._listeners:
                listener(device)
            nxt = device.next_due()
        except Exception:
            log.exception("simulator: examining %s failed", device.device_id)
            nxt = None
        finally:
            self._examining = None
        if nxt is None:
            self.cancel(key)
            return
        booked = self._timers.get(key)
        if due is None and booked is not None and abs(booked.when - nxt) < SAME_MARK:
            return
        self._book(key, nxt, None, device)

    def _note_pass(self, started: float) -> None:
        spent = time.perf_counter() - started
        self.passes += 1
        if spent > self.longest_pass_s:
            self.longest_pass_s = spent
