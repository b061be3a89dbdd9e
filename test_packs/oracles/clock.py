"""Clock oracle (SRV 6.11 Synchronise Clock).

A meter adjusts its clock to the reference only when its error is within the tolerance (10 s for the
SMETS1 devices the virtual lab models; a lab sets its own) and raises 0x8145; beyond it the meter
refuses, leaves its clock alone and raises 0x81C6 (clock drift must not be accepted silently).

A device's clock is compared with the reference (the lab's clock, as the route's answers carry it)
through :func:`offset`: a device-clock reading taken at an instant known only to a reference-time
window bounds the offset, and :meth:`Offset.near` says whether it may be the one expected (0 for a
clock that keeps the reference, ``e`` for one left ``e`` off) within the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from test_packs.oracles.window import Window

CLOCK_ADJUSTED = 0x8145
CLOCK_NOT_ADJUSTED = 0x81C6
TOLERANCE_S = 10.0


@dataclass(frozen=True)
class Synchronisation:
    adjusted: bool
    alert: int


def synchronise(error_s: float, tolerance_s: float = TOLERANCE_S) -> Synchronisation:
    """What SRV 6.11 must do for a meter clock ``error_s`` seconds off the reference."""
    if abs(error_s) <= tolerance_s:
        return Synchronisation(True, CLOCK_ADJUSTED)
    return Synchronisation(False, CLOCK_NOT_ADJUSTED)


@dataclass(frozen=True)
class Offset:
    """Bounds (seconds) on a device clock's offset from the reference: ``device - reference``."""

    lo: float
    hi: float

    def near(self, expected_s: float, tolerance_s: float = TOLERANCE_S) -> bool:
        """Whether the offset may be ``expected_s`` to within ``tolerance_s`` (the bounds and the band
        ``expected_s +- tolerance_s`` overlap)."""
        return self.lo <= expected_s + tolerance_s and self.hi >= expected_s - tolerance_s


def offset(reading: datetime, reference: Window) -> Offset:
    """The offset a device-clock ``reading`` shows when the instant it was taken is known only to lie in
    ``reference`` (reference time: e.g. between the route's answer before the read and the one after)."""
    return Offset((reading - reference.hi).total_seconds(), (reading - reference.lo).total_seconds())
