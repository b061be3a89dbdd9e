"""Role drivers: what a test talks to (``esme.read_import_registers()``), composed from protocols.

A role driver hides which protocol answers a question, so the same pack test runs against any meter
that can answer it. Values are returned as exact decimals with their units; a device that answers
with a missing or malformed value is a product failure (:class:`DeviceError`), not a lab fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from device_drivers.errors import DeviceError
from device_drivers.links import Link
from device_drivers.protocols.iec62056_21 import Readout, ReadoutClient

#: IEC 62056-21 / OBIS addresses used in optical readouts (C.1.0 = meter serial, 0.2.0 = firmware).
SERIAL, FIRMWARE, IMPORT_TOTAL = "C.1.0", "0.2.0", "1.8.0"


@dataclass(frozen=True, slots=True)
class Identity:
    """What a meter says about itself on its optical port (checked against the EPCL in migration)."""

    manufacturer_flag: str
    model: str
    serial: str
    firmware_version: str


@dataclass(frozen=True, slots=True)
class ImportRegisters:
    """Active import energy: the total register and the TOU rate registers, in ``unit``."""

    total: Decimal
    tou: tuple[Decimal, ...]
    unit: str


class MeterDriver:
    """Common optical-port behaviour of ESME and GSME."""

    role = "meter"

    def __init__(self, name: str, optical: Link, *, attempts: int = 3, backoff_s: float = 0.05) -> None:
        self.name = name
        self.optical = optical
        self._readout = ReadoutClient(optical, attempts=attempts, backoff_s=backoff_s)

    def readout(self) -> Readout:
        return self._readout.readout()

    def identity(self) -> Identity:
        data = self.readout()
        return Identity(
            data.manufacturer_flag,
            data.identification,
            self._value(data, SERIAL),
            self._value(data, FIRMWARE),
        )

    def _value(self, data: Readout, address: str) -> str:
        item = data.get(address)
        if item is None:
            raise DeviceError(self.name, f"readout lacks data set {address}")
        return item.value

    def _number(self, data: Readout, address: str) -> tuple[Decimal, str | None]:
        item = data.get(address)
        if item is None:
            raise DeviceError(self.name, f"readout lacks data set {address}")
        try:
            return Decimal(item.value), item.unit
        except InvalidOperation:
            raise DeviceError(self.name, f"{address} value {item.value!r} is not a number") from None


class EsmeDriver(MeterDriver):
    """Electricity meter (ESME)."""

    role = "esme"

    def read_import_registers(self) -> ImportRegisters:
        """Total and TOU active import registers (1.8.0, 1.8.1 ... 1.8.n), as SRV 4.1.1 returns them."""
        data = self.readout()
        total, unit = self._number(data, IMPORT_TOTAL)
        tou: list[Decimal] = []
        for rate in range(1, 49):  # SMETS1 ESMEs have up to 48 TOU registers
            address = f"1.8.{rate}"
            if data.get(address) is None:
                break
            value, rate_unit = self._number(data, address)
            if rate_unit != unit:
                raise DeviceError(self.name, f"{address} unit {rate_unit!r} differs from 1.8.0 unit {unit!r}")
            tou.append(value)
        return ImportRegisters(total, tuple(tou), unit or "")
