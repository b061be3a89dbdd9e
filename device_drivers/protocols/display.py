"""A PPMID's or IHD's ``display`` interface over DLMS/COSEM: what the HAN display shows, read-only.

A lab needs an independent view of a HAN display's screen to test that SRV 3.1 messages, balances and
gas readings reach it (and that it keeps up with them). The virtual lab serves the screen as a small
read-only object list on the same transport as the meters' optical ports (HDLC + xDLMS, documented in
``docs/virtual-lab.md``); a real lab can put any reader of its display (a test port, a camera with OCR)
behind the same object list.

**Written independently of the simulator**: the codes are kept here, nothing is imported from ``labs``.
Association, retries and the error taxonomy are :class:`~device_drivers.protocols.meter_optical.DlmsPort`'s:
link trouble → ``LinkDown``/``LinkTimeout``/``FrameError`` (test blocked); an error answer or a value that
contradicts the object list → :class:`~device_drivers.protocols.meter_optical.OpticalDeviceError` (a
``DeviceError``: test failed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from device_drivers.protocols.meter_optical import (
    CLASS_DATA,
    OBIS_DEVICE_ID,
    OBIS_FIRMWARE,
    OBIS_LOGICAL_DEVICE_NAME,
    DlmsPort,
)

if TYPE_CHECKING:  # the DLMS client is imported by DlmsPort when a session first opens
    from device_drivers.protocols.dlms import DlmsOpticalClient

__all__ = ["OBIS_DISPLAYED_METERS", "DisplayIdentity", "DisplayPort", "DisplayedMeter"]

#: What the display shows per meter: array of {meter EUI-64 (octet-string, ASCII), balance in pence
#: (double-long) or null-data, gas volume in litres (double-long-unsigned) or null-data}.
OBIS_DISPLAYED_METERS = "0.0.96.13.128.255"


class DisplayIdentity(NamedTuple):
    """What a HAN display says about itself."""

    manufacturer_flag: str
    model: str
    device_id: str
    firmware_version: str


class DisplayedMeter(NamedTuple):
    """What the display shows for one meter: its balance (pence) and gas volume (m³), if any."""

    device_id: str
    balance_pence: Decimal | None
    gas_volume_m3: Decimal | None


class DisplayPort(DlmsPort):
    """One PPMID's or IHD's ``display`` interface: ``displayed_message()``, ``displayed_meters()``,
    ``clock()``, ``firmware_version()``, ``identity()``. Read-only; a password is optional (the public
    client may read everything)."""

    def identity(self) -> DisplayIdentity:
        """Manufacturer flag and model (from the logical device name), device id (EUI-64), firmware."""

        def read(client: DlmsOpticalClient) -> DisplayIdentity:
            name = self._text("logical device name", client.get(CLASS_DATA, OBIS_LOGICAL_DEVICE_NAME, 2))
            if len(name) < 4:
                raise self._wrong("logical device name", f"{name!r} is too short for FLAG id + model")
            return DisplayIdentity(
                manufacturer_flag=name[:3],
                model=name[3:],
                device_id=self._text("device id", client.get(CLASS_DATA, OBIS_DEVICE_ID, 2)),
                firmware_version=self._text("firmware", client.get(CLASS_DATA, OBIS_FIRMWARE, 2)),
            )

        return self._call("identity", read)

    def displayed_meters(self) -> dict[str, DisplayedMeter]:
        """What the display shows for each meter it has heard from, by the meter's EUI-64."""
        what = "displayed meters"

        def read(client: DlmsOpticalClient) -> dict[str, DisplayedMeter]:
            rows = client.get(CLASS_DATA, OBIS_DISPLAYED_METERS, 2)
            if not isinstance(rows, list):
                raise self._wrong(what, f"expected an array, got {rows!r}")
            out: dict[str, DisplayedMeter] = {}
            for row in rows:
                if not isinstance(row, tuple) or len(row) != 3:
                    raise self._wrong(what, f"row {row!r} is not {{meter, balance, volume}}")
                eui = self._text(what, row[0])
                balance = None if row[1] is None else Decimal(self._integer(what, row[1]))
                volume = None if row[2] is None else Decimal(self._integer(what, row[2])).scaleb(-3)
                out[eui] = DisplayedMeter(eui, balance, volume)
            return out

        return self._call(what, read)

    def shown_balance(self, meter: str) -> Decimal | None:
        """The balance (pence) the display shows for ``meter`` (EUI-64), None if it shows none."""
        shown = self.displayed_meters().get(meter.upper())
        return shown.balance_pence if shown is not None else None
