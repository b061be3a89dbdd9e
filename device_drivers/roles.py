"""Role drivers: what a test talks to (``esme.read_import_registers()``), composed from protocols.

A role driver hides which protocol answers a question, so the same pack test runs against any meter
that can answer it. Values are returned as exact decimals with their units; a device that answers
with a missing or malformed value is a product failure (:class:`DeviceError`), not a lab fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from device_drivers.errors import DeviceError, LinkDown
from device_drivers.protocols.iec62056_21 import Readout, ReadoutClient

if TYPE_CHECKING:  # handed in by the harness: a driver never builds them, so it need not import them
    from device_drivers.links import Link
    from device_drivers.protocols.display import DisplayedMeter, DisplayIdentity, DisplayPort
    from device_drivers.protocols.meter_optical import MeterOptical
    from device_drivers.route import ServiceRoute

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
    """Common optical-port behaviour of ESME and GSME.

    A meter's optical port answers IEC 62056-21 readouts (``readout`` link) and DLMS/COSEM over HDLC
    (``dlms`` link, reached as ``meter.optical``: clock, supply state, logs, ...). A rig may wire
    either or both; asking for one it lacks is a lab fault naming the missing link.
    """

    role = "meter"

    def __init__(
        self,
        name: str,
        readout: Link | None = None,
        *,
        optical: MeterOptical | None = None,
        attempts: int = 3,
        backoff_s: float = 0.05,
    ) -> None:
        self.name = name
        self._optical = optical
        self._readout = ReadoutClient(readout, attempts=attempts, backoff_s=backoff_s) if readout else None

    @property
    def optical(self) -> MeterOptical:
        """The DLMS/COSEM client of the optical port (``esme.optical.supply_state()``)."""
        if self._optical is None:
            raise LinkDown(self.name, "the rig wires no DLMS optical link ('dlms') for this meter")
        return self._optical

    def displayed_message(self) -> str:
        """The text the meter's display shows (SRV 3.1 Display Message), read on the DLMS optical port;
        empty when it shows none."""
        return self.optical.displayed_message()

    def readout(self) -> Readout:
        if self._readout is None:
            raise LinkDown(self.name, "the rig wires no IEC 62056-21 readout link ('optical') for this meter")
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


class GsmeDriver(MeterDriver):
    """Gas meter (GSME): battery powered and asleep between wake-ups on its HAN side, but its optical
    port answers locally (the lab's independent view of what the meter holds)."""

    role = "gsme"


class ChDriver:
    """Communications hub (CH): it has no local port a lab uses, so it is reached through the service
    route by its Device ID (EUI-64), as the S1SP reaches it."""

    role = "ch"

    def __init__(self, name: str, route: ServiceRoute, device_id: str, *, user: str = "supplier") -> None:
        self.name = name
        self.route = route
        self.device_id = device_id
        self.user = user

    def device_log(self) -> list[dict[str, Any]]:
        """The HAN device log (whitelist) as SRV 8.9 Read Device Log returns it."""
        result = self.route.submit("8.9", self.device_id, {}, user=self.user).result or {}
        devices: list[dict[str, Any]] = list(result.get("devices", []))
        return devices

    def firmware_version(self) -> str:
        """SRV 11.2 Read Firmware Version."""
        result = self.route.submit("11.2", self.device_id, {}, user=self.user).result or {}
        return str(result.get("firmware_version", ""))


class DisplayDriver:
    """A HAN display (PPMID or IHD), read through its ``display`` interface: what its screen shows.

    Read-only: a display is driven by what the meters publish through the CH (SRV 3.1 messages,
    balances, GSME readings), so tests act through the route and check here. ``display`` is the
    :class:`DisplayPort` of the device's ``display`` link.
    """

    role = "display"

    def __init__(self, name: str, display: DisplayPort) -> None:
        self.name = name
        self.display = display

    def displayed_message(self) -> str:
        """The message the screen shows (empty when none)."""
        return self.display.displayed_message()

    def displayed_meters(self) -> dict[str, DisplayedMeter]:
        """What the screen shows per meter (EUI-64 → balance in pence, gas volume in m³)."""
        return self.display.displayed_meters()

    def identity(self) -> DisplayIdentity:
        return self.display.identity()

    def firmware_version(self) -> str:
        return self.display.firmware_version()


class PpmidDriver(DisplayDriver):
    """Prepayment interface device (PPMID)."""

    role = "ppmid"


class IhdDriver(DisplayDriver):
    """In-home display (IHD)."""

    role = "ihd"
