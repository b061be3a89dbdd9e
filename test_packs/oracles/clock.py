"""Clock oracle (SRV 6.11 Synchronise Clock).

A meter adjusts its clock to the reference only when its error is within the tolerance (10 s for the
SMETS1 devices the virtual lab models; a lab sets its own) and raises 0x8145; beyond it the meter
refuses, leaves its clock alone and raises 0x81C6 (clock drift must not be accepted silently).
"""

from __future__ import annotations

from dataclasses import dataclass

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
