"""Metering measurements for the oracle checks: energy really flows (the lab's load source or gas flow
rig) and the meter is read at two instants, each bracketed by the meter's own clock.

A :class:`Snapshot` is one bracketed read of the meter's registers, balance (and gas volume); a
:class:`Metering` is the pair around a stretch of *device* time with a known, constant flow, and holds
the bounds the oracles need: energy per TOU rate over the shortest and the longest interval the reads
allow (``[w0.hi, w1.lo]`` and ``[w0.lo, w1.hi]``), so every tolerance is stated in device time.

Nothing here imports ``labs``: the measurements run unchanged against a real meter and lab.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from test_packs.oracles import gas, tariff
from test_packs.oracles.window import Window
from test_packs.service_reference_variant._srvt import SrvtRig

#: Flow the tests apply: the ESME load source (W) and the GSME flow rig (l/h).
ESME_LOAD_W = 2000.0
GSME_FLOW_LPH = 500.0
#: The lab instrument point of each meter's source of energy: the ESME's load (W), the GSME's gas flow (l/h).
SETPOINT = {"esme": "esme_load_setpoint", "gsme": "gsme_flow_setpoint"}


@dataclass(frozen=True)
class Snapshot:
    """One read of a meter, bracketed by its clock: ``at`` holds every instant the values may be from."""

    at: Window
    tou: tuple[Decimal, ...]
    total: Decimal
    balance: Decimal
    volume: Decimal | None


def snapshot(t: SrvtRig, role: str) -> Snapshot:
    optical = t.optical(role)
    lo = optical.clock()
    regs = optical.import_registers()
    balance = optical.balance().balance_pence
    volume = optical.gas_volume() if role == "gsme" else None
    hi = optical.clock()
    return Snapshot(Window(lo, hi), regs.tou, regs.total, balance, volume)


def wait_device_time(t: SrvtRig, role: str, until: datetime, *, real_timeout: float = 60.0) -> None:
    """Sleep until the meter's clock has passed ``until`` (device time)."""
    optical = t.optical(role)
    deadline = time.monotonic() + real_timeout
    while optical.clock() < until:
        if time.monotonic() > deadline:
            raise AssertionError(f"the {role}'s clock did not reach {until} within {real_timeout:g} s")
        time.sleep(0.05)


def kwh_per_m3(t: SrvtRig) -> Decimal:
    """The GSME's conversion from its configuration (SRV 6.2.8), by the gas oracle."""
    c = t.result("6.2.8", "gsme")
    return gas.kwh(Decimal(1), Decimal(str(c["calorific_value"])), Decimal(str(c["conversion_factor"])))


class Flow:
    """The lab's source of energy for one meter: the ESME load source (W) or the GSME flow rig (l/h).
    ``watts`` is the power it amounts to, from the instruments (measured power, or measured gas flow
    and the GSME's conversion by the gas oracle)."""

    def __init__(self, t: SrvtRig, role: str) -> None:
        self.t, self.role = t, role
        bank = t.instruments
        self.point = SETPOINT[role]
        self.level = ESME_LOAD_W if role == "esme" else GSME_FLOW_LPH
        self.before = float(bank.read(self.point))
        self.watts = 0.0
        if role == "gsme":
            valve = t.optical("gsme").supply_state()
            assert valve == "enabled", f"the GSME valve is {valve}: gas cannot flow (a test before shut it)"

    def set(self, on: bool) -> Window:
        """Switch the flow on or off; the device-time window in which it happened."""
        optical, bank = self.t.optical(self.role), self.t.instruments
        lo = optical.clock()
        bank.write(self.point, self.level if on else 0.0)
        hi = optical.clock()
        if on:
            if self.role == "esme":
                self.watts = bank.measured_power()
                assert self.watts > 0, "no power flows through the ESME (supply off?)"
            else:
                flow = bank.measured_gas_flow()
                assert flow > 0, "no gas flows through the GSME (valve closed?)"
                self.watts = float(Decimal(str(flow)) / 1000 * kwh_per_m3(self.t) * 1000)
        return Window(lo, hi)

    def restore(self) -> None:
        self.t.instruments.write(self.point, self.before)


@contextmanager
def idle(t: SrvtRig, role: str) -> Iterator[None]:
    """Nothing flows through the meter for the block (its load or gas-flow source at 0, then back to what
    it was: the lab file may set either), so its balance and registers move only by what is tested."""
    bank = t.instruments
    before = float(bank.read(SETPOINT[role]))
    bank.write(SETPOINT[role], 0.0)
    try:
        yield
    finally:
        bank.write(SETPOINT[role], before)


@contextmanager
def flowing(t: SrvtRig, role: str) -> Iterator[float]:
    """Energy flows through the meter for the block; yields the power it amounts to (W)."""
    flow = Flow(t, role)
    try:
        flow.set(True)
        yield flow.watts
    finally:
        flow.restore()


@dataclass(frozen=True)
class Metering:
    """Two snapshots taken while nothing flows, around a stretch where ``watts`` flowed from within
    ``on`` to within ``off`` (device-time windows): the reads are static, the timing is bounded."""

    first: Snapshot
    last: Snapshot
    watts: float
    on: Window
    off: Window

    @property
    def inner(self) -> tuple[datetime, datetime]:
        return self.on.hi, self.off.lo

    @property
    def outer(self) -> tuple[datetime, datetime]:
        return self.on.lo, self.off.hi

    def tou_delta(self) -> list[Decimal]:
        return [b - a for a, b in zip(self.first.tou, self.last.tou, strict=True)]

    def expected_by_rate(
        self, switches: list[tariff.Switch], rates: int, days: list[int] | None = None
    ) -> list[tuple[Decimal, Decimal]]:
        """Per TOU register, the least and most energy the tariff oracle allows (kWh)."""
        lo = tariff.energy_by_rate(switches, rates, *self.inner, self.watts, days)
        hi = tariff.energy_by_rate(switches, rates, *self.outer, self.watts, days)
        return list(zip(lo, hi, strict=True))

    def midnights(self) -> set[int]:
        """Standing charges that may have fallen due between the snapshots (both if ambiguous)."""
        return {
            tariff.midnights_between(self.first.at.hi, self.last.at.lo),
            tariff.midnights_between(self.first.at.lo, self.last.at.hi),
        }


def meter_for(t: SrvtRig, role: str, hours: float) -> Metering:
    """A snapshot with nothing flowing, energy flowing for ``hours`` of device time, flow stopped, a
    snapshot."""
    flow = Flow(t, role)
    try:
        flow.set(False)
        first = snapshot(t, role)
        on = flow.set(True)
        wait_device_time(t, role, on.hi + timedelta(hours=hours))
        off = flow.set(False)
        last = snapshot(t, role)
    finally:
        flow.restore()
    return Metering(first, last, flow.watts, on, off)


def describe(m: Metering) -> dict[str, Any]:
    """What a failure message shows of a measurement."""
    return {
        "on": f"{m.on.lo:%d %H:%M:%S}..{m.on.hi:%H:%M:%S}",
        "off": f"{m.off.lo:%d %H:%M:%S}..{m.off.hi:%H:%M:%S}",
        "watts": m.watts,
        "tou_delta": [f"{x:.3f}" for x in m.tou_delta()],
        "balance": f"{m.first.balance} -> {m.last.balance}",
    }
