"""Behaviour model of a simulated SMETS1 electricity meter (ESME).

Plain and deterministic: energy accumulates from the applied load over simulated time into the total
import register and the TOU register of the rate active at that simulated hour. Seeded defects,
selected by name, make the model misbehave the way a faulty firmware would, so every pack test can be
shown to fail (see :data:`DEFECTS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from labs.virtual.clock import SimClock

#: Seeded defects this model knows, and what each does.
DEFECTS: dict[str, str] = {
    "tou_rate_misapplied": "energy of the 4th TOU rate is reported in the 3rd rate's register",
    "wrong_firmware_reported": "the optical port reports a firmware version other than the installed one",
    "register_runs_backwards": "the total import register decreases while energy is consumed",
}


@dataclass
class EsmeModel:
    """State of one ESME. ``tou_kwh[i]`` is rate i+1; the active rate changes every 24/n hours."""

    clock: SimClock
    model: str
    firmware_version: str
    serial: str
    manufacturer_flag: str
    load_w: float = 1000.0
    tou_kwh: list[float] = field(default_factory=lambda: [1000.0, 200.0, 300.0, 400.0])
    defects: frozenset[str] = frozenset()
    _last: datetime | None = None

    def __post_init__(self) -> None:
        unknown = self.defects - DEFECTS.keys()
        if unknown:
            raise ValueError(f"unknown ESME defect(s): {', '.join(sorted(unknown))}")
        self._last = self.clock.now()

    # -- behaviour ---------------------------------------------------------------------------------
    def advance(self) -> None:
        """Accumulate energy up to the clock's now, hour segment by hour segment (rates switch)."""
        now = self.clock.now()
        assert self._last is not None
        t = self._last
        while t < now:
            boundary = t.replace(minute=0, second=0, microsecond=0).timestamp() + 3600
            seg_end = min(now.timestamp(), boundary)
            kwh = self.load_w / 1000.0 * (seg_end - t.timestamp()) / 3600.0
            self.tou_kwh[self.rate_index(t)] += kwh
            t = datetime.fromtimestamp(seg_end, now.tzinfo)
        self._last = now

    def reboot(self) -> None:
        """Power cycle: registers are non-volatile; accumulation restarts from the clock's now."""
        self.advance()

    def rate_index(self, when: datetime) -> int:
        return when.hour * len(self.tou_kwh) // 24

    def total_kwh(self) -> float:
        return sum(self.tou_kwh)

    # -- what the optical port shows -----------------------------------------------------------------
    def readout(self) -> list[tuple[str, str, str | None]]:
        """Data sets ``(address, value, unit)`` for an IEC 62056-21 readout."""
        self.advance()
        registers = list(self.tou_kwh)
        total = sum(registers)
        if "tou_rate_misapplied" in self.defects and len(registers) >= 4:
            registers[2] = registers[3]
        if "register_runs_backwards" in self.defects:
            total = max(0.0, 1_000_000.0 - total)
        firmware = self.firmware_version
        if "wrong_firmware_reported" in self.defects:
            firmware = firmware + "-rc"
        out: list[tuple[str, str, str | None]] = [
            ("C.1.0", self.serial, None),
            ("0.2.0", firmware, None),
            ("1.8.0", f"{total:010.3f}", "kWh"),
        ]
        out += [(f"1.8.{i + 1}", f"{kwh:010.3f}", "kWh") for i, kwh in enumerate(registers)]
        return out
