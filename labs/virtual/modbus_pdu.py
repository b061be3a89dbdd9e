"""What the Modbus Application Protocol (v1.1b3) says to answer before any register is touched.

pymodbus 3.16's server answers a quantity out of range, and any function code it cannot decode, with
exception 01 and function byte 0x80 (it has lost the function code by then), accepts a write-single-
coil value other than 0x0000/0xFF00 as "on", and returns no objects for Read Device Identification.
So the instrument bank checks each request PDU here first, sans-I/O, and only passes on what the
standard lets reach the data model (the exception-code flow charts of MAP 6.x):

* a function code the bank does not implement → exception **01**, function byte = request's | 0x80;
* quantity 0 or above the function's limit, a byte count that does not match the quantity, a
  write-single-coil value other than 0x0000/0xFF00 → exception **03**;
* Read Device Identification (0x2B / MEI 0x0E) is answered here, with the three mandatory basic
  objects (VendorName, ProductCode, MajorMinorRevision): conformity level 0x81 (basic, stream and
  individual access); a bad Read Device ID code → **03**, an unknown object in individual access → **02**
  (MAP 6.21).

Address checks (exception 02) and value checks (03 for an engineering value out of range) stay with the
data model, which is where the standard places them.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ILLEGAL_DATA_ADDRESS",
    "ILLEGAL_DATA_VALUE",
    "ILLEGAL_FUNCTION",
    "IMPLEMENTED",
    "DeviceIdentification",
    "check_request",
    "exception_pdu",
    "rtu_frame_length",
]

ILLEGAL_FUNCTION, ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE = 0x01, 0x02, 0x03
MEI, READ_DEVICE_ID = 0x2B, 0x0E

#: Function codes the instrument bank implements (pymodbus executes them against the data model).
IMPLEMENTED = frozenset({1, 2, 3, 4, 5, 6, 15, 16, 22, 23, MEI})
#: (lowest, highest) quantity per function (MAP 6.1-6.12, 6.17).
_READ_LIMITS = {1: 0x7D0, 2: 0x7D0, 3: 0x7D, 4: 0x7D}
_BASIC_OBJECTS = 3  # VendorName, ProductCode, MajorMinorRevision
CONFORMITY_BASIC = 0x81  # basic identification, stream and individual access


class DeviceIdentification:
    """The basic device identification objects 0x00-0x02 (ASCII strings)."""

    def __init__(self, vendor: str, product_code: str, revision: str) -> None:
        self.objects: tuple[bytes, ...] = tuple(s.encode("ascii") for s in (vendor, product_code, revision))

    def answer(self, pdu: bytes) -> bytes:
        """The response PDU to a complete 0x2B/0x0E request ``pdu`` (4 bytes long)."""
        code, object_id = pdu[2], pdu[3]
        if code not in (1, 2, 3, 4):
            return exception_pdu(MEI, ILLEGAL_DATA_VALUE)
        if code == 4:  # individual access: exactly that object, or 02 if it does not exist
            if object_id >= _BASIC_OBJECTS:
                return exception_pdu(MEI, ILLEGAL_DATA_ADDRESS)
            chosen: Sequence[int] = [object_id]
        else:
            # Stream access: this device has only the basic category; an object id it does not know
            # restarts the stream at object 0 (MAP 6.21).
            start = object_id if object_id < _BASIC_OBJECTS else 0
            chosen = range(start, _BASIC_OBJECTS)
        body = b"".join(bytes([i, len(self.objects[i])]) + self.objects[i] for i in chosen)
        return bytes([MEI, READ_DEVICE_ID, code, CONFORMITY_BASIC, 0x00, 0x00, len(chosen)]) + body


def exception_pdu(function: int, code: int) -> bytes:
    return bytes([(function | 0x80) & 0xFF, code])


def _quantity(pdu: bytes, at: int = 3) -> int:
    return int.from_bytes(pdu[at : at + 2], "big")


def check_request(pdu: bytes, identification: DeviceIdentification) -> bytes | None:
    """The answer the standard requires before the data model is reached, or ``None`` to pass the
    request on. ``pdu`` is one complete request PDU (function code first)."""
    if not pdu:
        return None
    fc = pdu[0]
    if fc not in IMPLEMENTED:
        return exception_pdu(fc, ILLEGAL_FUNCTION)
    if fc == MEI:
        if len(pdu) < 2 or pdu[1] != READ_DEVICE_ID:
            return exception_pdu(fc, ILLEGAL_FUNCTION)  # CANopen (0x0D) and other MEI types
        if len(pdu) != 4:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
        return identification.answer(pdu)
    if fc in _READ_LIMITS:
        if len(pdu) != 5 or not 1 <= _quantity(pdu) <= _READ_LIMITS[fc]:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    elif fc == 5:
        if len(pdu) != 5 or pdu[3:5] not in (b"\x00\x00", b"\xff\x00"):
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    elif fc == 6:
        if len(pdu) != 5:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    elif fc == 15:
        n = _quantity(pdu) if len(pdu) >= 6 else 0
        if not 1 <= n <= 0x7B0 or pdu[5] != (n + 7) // 8 or len(pdu) != 6 + pdu[5]:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    elif fc == 16:
        n = _quantity(pdu) if len(pdu) >= 6 else 0
        if not 1 <= n <= 0x7B or pdu[5] != 2 * n or len(pdu) != 6 + pdu[5]:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    elif fc == 22:
        if len(pdu) != 7:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    elif fc == 23:
        reads = _quantity(pdu) if len(pdu) >= 10 else 0
        writes = _quantity(pdu, 7) if len(pdu) >= 10 else 0
        if (
            not (1 <= reads <= 0x7D and 1 <= writes <= 0x79)
            or pdu[9] != 2 * writes
            or len(pdu) != 10 + pdu[9]
        ):
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    return None


def rtu_frame_length(frame: bytes) -> int | None:
    """Length of the RTU request frame (address + PDU + CRC) at the start of ``frame``, from its
    function code; ``None`` if not enough bytes are there yet to tell."""
    if len(frame) < 2:
        return None
    fc = frame[1]
    if fc in (1, 2, 3, 4, 5, 6):
        return 8
    if fc in (15, 16):
        return 9 + frame[6] if len(frame) >= 7 else None
    if fc == 22:
        return 10
    if fc == 23:
        return 13 + frame[10] if len(frame) >= 11 else None
    if fc == MEI:
        return 7
    return len(frame)  # unknown function: the frame is what arrived (checked by its CRC)
