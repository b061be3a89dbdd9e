"""Helpers shared by the device-model tests: a hand-driven clock and catalogue-built devices.

(Named ``test_devices_*`` to stay within the files these tests own; it holds no tests.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from labs.virtual.clock import SimClock
from labs.virtual.devices import CommsHub, Esme, Gsme, Ihd, Ppmid, build_device, load_catalogue
from labs.virtual.devices.base import Device

START = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)  # a Monday, midnight UTC


class HandClock:
    """A reference clock the test moves explicitly."""

    def __init__(self, start: datetime = START) -> None:
        self.t = 0.0
        self.sim = SimClock(start, source=lambda: self.t)

    def advance(self, seconds: float = 0.0, **kw: float) -> None:
        self.t += seconds + timedelta(**kw).total_seconds()

    def now(self) -> datetime:
        return self.sim.now()


def build(
    model: str, firmware: str, defects: Iterable[str] = (), clock: HandClock | None = None, **kw: Any
) -> Device:
    entry = load_catalogue().model(model)
    return build_device(entry, firmware, defects, (clock or HandClock()).sim, **kw)


def esme(
    defects: Iterable[str] = (),
    clock: HandClock | None = None,
    model: str = "VESME-1P",
    fw: str = "1.4.2",
    **kw: Any,
) -> Esme:
    kw.setdefault("serial", "E21Z000001")
    dev = build(model, fw, defects, clock, **kw)
    assert isinstance(dev, Esme)
    return dev


def gsme(defects: Iterable[str] = (), clock: HandClock | None = None, fw: str = "3.0.1", **kw: Any) -> Gsme:
    kw.setdefault("serial", "G4Z0000001")
    dev = build("VGSME-G4", fw, defects, clock, **kw)
    assert isinstance(dev, Gsme)
    return dev


def ch(defects: Iterable[str] = (), clock: HandClock | None = None, fw: str = "2.1.0") -> CommsHub:
    dev = build("VCH-100", fw, defects, clock, serial="00-1A-2B-FF-FE-00-00-01")
    assert isinstance(dev, CommsHub)
    return dev


def ppmid(defects: Iterable[str] = (), clock: HandClock | None = None) -> Ppmid:
    dev = build("VPPMID-1", "1.0.0", defects, clock, serial="PPMID-1")
    assert isinstance(dev, Ppmid)
    return dev


def ihd(defects: Iterable[str] = (), clock: HandClock | None = None) -> Ihd:
    dev = build("VIHD-1", "1.1.0", defects, clock, serial="IHD-1")
    assert isinstance(dev, Ihd)
    return dev


def codes(device: Device) -> list[int]:
    """Alert codes sent so far (without draining)."""
    device.advance()
    return [a.code for a in device.outbox]
