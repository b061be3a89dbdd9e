"""The PPMID's and IHD's ``display`` interface: what a HAN display shows, as a read-only COSEM object list.

A SMETS1 PPMID or IHD has no optical port a lab reads; in a real lab a technician (or a camera) reads its
screen. The virtual lab serves the screen instead, so that what the CH forwards to a display (SRV 3.1
messages, the meters' balances, the GSME's readings) can be checked through a real protocol — and so the
``display_frozen`` defect (a display that keeps its first update) can be seen at all.

:class:`DisplayObjects` implements :class:`~labs.virtual.cosem.CosemModel` over a
:class:`~labs.virtual.devices.han.HanDisplay` for the DLMS/HDLC server (:mod:`labs.virtual.dlms_server`),
the same transport as the meters' optical ports, so one client library reads both. Values are computed
from the model on every request. Every object is read-only: a display is only ever written by the CH.

The object list is documented in ``docs/virtual-lab.md``; :data:`DISPLAY_OBJECT_LIST` is that table as
data. The driver side (the harness's display driver) keeps its own copy of the codes on
purpose: a simulator sharing the driver's tables could not catch the driver's bugs.
"""

from __future__ import annotations

from labs.virtual.cosem import (
    Array,
    Attribute,
    Boolean,
    CosemValue,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Long,
    Null,
    OctetString,
    SimpleCosemModel,
    Structure,
    Unsigned,
    datetime_to_cosem,
)
from labs.virtual.devices.han import HanDisplay
from labs.virtual.meter_objects import (
    CLOCK,
    DEVICE_ID,
    DISPLAYED_MESSAGE,
    FIRMWARE,
    LOGICAL_DEVICE_NAME,
    ObjectInfo,
)

__all__ = ["DISPLAYED_METERS", "DISPLAY_OBJECT_LIST", "DisplayObjects"]

#: What the display shows per meter: array of {meter EUI-64, balance (pence) | null, gas volume (litres) |
#: null}. A project code: value group E = 128 is manufacturer specific (IEC 62056-6-1), under the consumer
#: message group 0-0:96.13, because no standard object holds "what a HAN display shows for each meter".
DISPLAYED_METERS = "0.0.96.13.128.255"

_DISPLAYS = ("ppmid", "ihd")
#: The documented display object list (the same table as in docs/virtual-lab.md).
DISPLAY_OBJECT_LIST: tuple[ObjectInfo, ...] = (
    ObjectInfo(
        CLOCK, 8, "clock", _DISPLAYS, "2 time, 3 time_zone, 4 status, 8 dst_enabled, 9 clock_base", "r"
    ),
    ObjectInfo(LOGICAL_DEVICE_NAME, 1, "COSEM logical device name", _DISPLAYS, "2 value", "r"),
    ObjectInfo(DEVICE_ID, 1, "device identifier (EUI-64)", _DISPLAYS, "2 value", "r"),
    ObjectInfo(FIRMWARE, 1, "active firmware identifier", _DISPLAYS, "2 value", "r"),
    ObjectInfo(DISPLAYED_MESSAGE, 1, "message on the display (SRV 3.1)", _DISPLAYS, "2 value", "r"),
    ObjectInfo(DISPLAYED_METERS, 1, "balance and gas reading shown per meter", _DISPLAYS, "2 value", "r"),
)


class DisplayObjects(SimpleCosemModel):
    """The ``display`` object list of one PPMID or IHD, live over its behaviour model.

    ``manufacturer_flag`` is the 3-letter FLAG id that starts the logical device name (the lab file's
    ``virtual.manufacturer_flag``).
    """

    def __init__(self, display: HanDisplay, *, manufacturer_flag: str = "DMC") -> None:
        super().__init__()
        if len(manufacturer_flag) != 3 or not manufacturer_flag.isascii():
            raise ValueError("manufacturer_flag is three ASCII letters")
        self.display = display
        name = (manufacturer_flag + display.model).encode("ascii", "replace")[:16]
        self.add_data(LOGICAL_DEVICE_NAME, OctetString(name))
        self.add_data(DEVICE_ID, lambda: OctetString(display.device_id.encode("ascii", "replace")))
        # the *reported* version (wrong with the wrong_firmware_reported defect)
        self.add_data(FIRMWARE, lambda: OctetString(display.firmware_version.encode("ascii", "replace")))
        self._add_clock()
        self.add_data(DISPLAYED_MESSAGE, self._message)
        self.add_data(DISPLAYED_METERS, self._meters)

    def _add_clock(self) -> None:
        display = self.display

        def get_time() -> CosemValue:
            return OctetString(datetime_to_cosem(display.device_time()))

        # Device time is UTC with no DST (docs/virtual-devices.md); read-only on a display.
        self.add_object(
            8,
            CLOCK,
            {
                2: Attribute(get_time),
                3: Attribute(lambda: Long(0)),
                4: Attribute(lambda: Unsigned(0)),
                8: Attribute(lambda: Boolean(False)),
                9: Attribute(lambda: Enum(1)),  # internal crystal
            },
        )

    def _message(self) -> CosemValue:
        """The latest message the display received (UTF-8; empty before the first)."""
        self.display.advance()
        return OctetString((self.display.last_message() or "").encode("utf-8"))

    def _meters(self) -> CosemValue:
        """One row per meter the display has heard from, sorted by EUI-64: what it shows for it."""
        display = self.display
        display.advance()
        rows = []
        for eui in sorted(set(display.balances) | set(display.readings)):
            balance = display.balances.get(eui)
            volume = display.readings.get(eui, {}).get("volume_m3")
            rows.append(
                Structure(
                    [
                        OctetString(eui.encode("ascii", "replace")),
                        DoubleLong(round(balance)) if balance is not None else Null(),
                        DoubleLongUnsigned(round(float(volume) * 1000))
                        if isinstance(volume, int | float)
                        else Null(),
                    ]
                )
            )
        return Array(rows)
