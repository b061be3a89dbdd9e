"""COSEM object model for the virtual lab: A-XDR value types, the model interface, and a simple model.

Device simulators (ESME, GSME, ...) expose their data to the DLMS server in :mod:`labs.virtual.dlms_server`
through the small :class:`CosemModel` protocol defined here: ``get`` / ``set`` / ``action`` addressed by
class id, 6-byte OBIS code and attribute or method index.  Errors are raised as typed exceptions
(:class:`CosemError` subclasses) whose ``code`` is the Data-Access-Result / Action-Result the server puts
on the wire, so a simulator never has to know about APDU encoding.

Values are explicit A-XDR types (:class:`DoubleLongUnsigned`, :class:`OctetString`, :class:`Structure`,
...) because the wire type is part of the device's behaviour under test: a register read back as
``long-unsigned`` instead of ``double-long-unsigned`` is a different meter.  :func:`to_cosem` infers a type
for plain Python values when the exact type does not matter.  The codec is written here rather than
reused from ``dlms_cosem.dlms_data`` because that module cannot encode booleans, nulls or lengths above
255 and cannot decode floats or UTF-8 strings (dlms-cosem 25.1).

:class:`SimpleCosemModel` is a dictionary-backed implementation with helpers for the interface classes
the SMETS1 DMCT scenarios need (data, register, clock, disconnect control); values may be callables so a
simulator can compute them live from its own state.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, Protocol

__all__ = [
    "AccessContext",
    "ActionResult",
    "Array",
    "Attribute",
    "AuthLevel",
    "AxdrDecodeError",
    "Bcd",
    "BitString",
    "Boolean",
    "ClockObject",
    "ControlState",
    "CosemError",
    "CosemModel",
    "CosemObject",
    "CosemValue",
    "DataAccessResult",
    "Date",
    "DateTime",
    "DisconnectControl",
    "DontCare",
    "DoubleLong",
    "DoubleLongUnsigned",
    "Enum",
    "Float32",
    "Float64",
    "HardwareFault",
    "Integer",
    "Long",
    "Long64",
    "Long64Unsigned",
    "LongUnsigned",
    "Method",
    "Null",
    "ObjectClassInconsistent",
    "ObjectUnavailable",
    "ObjectUndefined",
    "OctetString",
    "OtherReason",
    "ReadWriteDenied",
    "ScopeOfAccessViolated",
    "SelectiveAccess",
    "SimpleCosemModel",
    "Structure",
    "TemporaryFailure",
    "Time",
    "TypeUnmatched",
    "Unsigned",
    "Utf8String",
    "VisibleString",
    "cosem_to_datetime",
    "datetime_to_cosem",
    "decode",
    "decode_at",
    "encode",
    "obis_to_str",
    "parse_obis",
    "to_cosem",
]

# --------------------------------------------------------------------------------------------------
# Result codes and errors
# --------------------------------------------------------------------------------------------------


class DataAccessResult(enum.IntEnum):
    """Data-Access-Result (IEC 62056-5-3), returned by GET and SET."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(enum.IntEnum):
    """Action-Result (IEC 62056-5-3); the codes shared with Data-Access-Result have the same numbers."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class CosemError(Exception):
    """A COSEM service failed; ``code`` is the Data-Access-Result (GET/SET) or Action-Result (ACTION).

    Subclasses fix the code so simulators can ``raise ReadWriteDenied("supply is armed")`` without
    caring which service is running; the codes used here are identical in both enumerations.
    """

    code: ClassVar[int] = DataAccessResult.OTHER_REASON

    def __init__(self, message: str = "", *, code: int | None = None) -> None:
        super().__init__(message or type(self).__name__)
        if code is not None:
            self.code = code  # type: ignore[misc]  # per-instance override of the class default


class HardwareFault(CosemError):
    code = DataAccessResult.HARDWARE_FAULT


class TemporaryFailure(CosemError):
    code = DataAccessResult.TEMPORARY_FAILURE


class ReadWriteDenied(CosemError):
    code = DataAccessResult.READ_WRITE_DENIED


class ObjectUndefined(CosemError):
    code = DataAccessResult.OBJECT_UNDEFINED


class ObjectClassInconsistent(CosemError):
    code = DataAccessResult.OBJECT_CLASS_INCONSISTENT


class ObjectUnavailable(CosemError):
    code = DataAccessResult.OBJECT_UNAVAILABLE


class TypeUnmatched(CosemError):
    code = DataAccessResult.TYPE_UNMATCHED


class ScopeOfAccessViolated(CosemError):
    code = DataAccessResult.SCOPE_OF_ACCESS_VIOLATED


class OtherReason(CosemError):
    code = DataAccessResult.OTHER_REASON


class AxdrDecodeError(ValueError):
    """Bytes are not a well-formed A-XDR ``Data`` value (or use a type this codec does not support)."""


# --------------------------------------------------------------------------------------------------
# OBIS codes
# --------------------------------------------------------------------------------------------------


def parse_obis(obis: str | bytes | Iterable[int]) -> bytes:
    """Normalise an OBIS code to its 6-byte wire form.

    Accepts ``"1.0.1.8.0.255"``, ``"1-0:1.8.0*255"``, ``"1-0:1.8.0.255"``, five-group forms (F defaults
    to 255), 6 raw bytes, or six integers.  The model keys objects by the 6-byte form because that is
    what arrives in every request, so lookups on the hot path need no parsing.
    """
    if isinstance(obis, bytes | bytearray):
        if len(obis) != 6:
            raise ValueError(f"OBIS code must be 6 bytes, got {len(obis)}")
        return bytes(obis)
    if isinstance(obis, str):
        text = obis.strip()
        for sep in "-:*":
            text = text.replace(sep, ".")
        parts = [p for p in text.split(".") if p != ""]
        if len(parts) == 5:
            parts.append("255")
        if len(parts) != 6 or not all(p.isdigit() for p in parts):
            raise ValueError(f"not an OBIS code: {obis!r}")
        numbers = [int(p) for p in parts]
    else:
        numbers = [int(p) for p in obis]
        if len(numbers) != 6:
            raise ValueError(f"OBIS code needs 6 groups, got {len(numbers)}")
    if any(not 0 <= n <= 255 for n in numbers):
        raise ValueError(f"OBIS groups must be 0..255: {obis!r}")
    return bytes(numbers)


def obis_to_str(obis: bytes) -> str:
    """Dotted form used in logs and docs (``1.0.1.8.0.255``)."""
    return ".".join(str(b) for b in obis)


# --------------------------------------------------------------------------------------------------
# A-XDR value types
# --------------------------------------------------------------------------------------------------


def _encode_length(n: int, out: bytearray) -> None:
    """A-XDR length/quantity: one byte below 128, else 0x80|count followed by big-endian bytes."""
    if n < 0x80:
        out.append(n)
        return
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    out.append(0x80 | len(raw))
    out += raw


class CosemValue:
    """Base of all A-XDR ``Data`` values.  Subclasses are frozen dataclasses and therefore hashable."""

    __slots__ = ()
    TAG: ClassVar[int] = -1

    def encode_into(self, out: bytearray) -> None:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """A-XDR encoding including the type tag (same method name as ``dlms_cosem.dlms_data``)."""
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    def to_python(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Null(CosemValue):
    TAG: ClassVar[int] = 0

    def encode_into(self, out: bytearray) -> None:
        out.append(0)

    def to_python(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class DontCare(CosemValue):
    TAG: ClassVar[int] = 255

    def encode_into(self, out: bytearray) -> None:
        out.append(255)

    def to_python(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Boolean(CosemValue):
    value: bool
    TAG: ClassVar[int] = 3

    def encode_into(self, out: bytearray) -> None:
        out.append(3)
        out.append(1 if self.value else 0)

    def to_python(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True, slots=True)
class _IntegerValue(CosemValue):
    value: int
    SIZE: ClassVar[int] = 1
    SIGNED: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise TypeError(f"{type(self).__name__} needs an int, got {self.value!r}")
        bits = self.SIZE * 8
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.SIGNED else (0, (1 << bits) - 1)
        if not lo <= self.value <= hi:
            raise ValueError(f"{type(self).__name__} out of range: {self.value}")

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += self.value.to_bytes(self.SIZE, "big", signed=self.SIGNED)

    def to_python(self) -> int:
        return self.value


@dataclass(frozen=True, slots=True)
class Integer(_IntegerValue):
    """integer: signed 8 bit."""

    TAG: ClassVar[int] = 15
    SIZE: ClassVar[int] = 1
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Long(_IntegerValue):
    """long: signed 16 bit."""

    TAG: ClassVar[int] = 16
    SIZE: ClassVar[int] = 2
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class DoubleLong(_IntegerValue):
    """double-long: signed 32 bit."""

    TAG: ClassVar[int] = 5
    SIZE: ClassVar[int] = 4
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Long64(_IntegerValue):
    """long64: signed 64 bit."""

    TAG: ClassVar[int] = 20
    SIZE: ClassVar[int] = 8
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Unsigned(_IntegerValue):
    """unsigned: 8 bit."""

    TAG: ClassVar[int] = 17
    SIZE: ClassVar[int] = 1


@dataclass(frozen=True, slots=True)
class LongUnsigned(_IntegerValue):
    """long-unsigned: 16 bit."""

    TAG: ClassVar[int] = 18
    SIZE: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class DoubleLongUnsigned(_IntegerValue):
    """double-long-unsigned: 32 bit."""

    TAG: ClassVar[int] = 6
    SIZE: ClassVar[int] = 4


@dataclass(frozen=True, slots=True)
class Long64Unsigned(_IntegerValue):
    """long64-unsigned: 64 bit."""

    TAG: ClassVar[int] = 21
    SIZE: ClassVar[int] = 8


@dataclass(frozen=True, slots=True)
class Enum(_IntegerValue):
    """enum: unsigned 8 bit whose meaning is defined by the attribute."""

    TAG: ClassVar[int] = 22
    SIZE: ClassVar[int] = 1


@dataclass(frozen=True, slots=True)
class Bcd(_IntegerValue):
    """bcd: one byte carried as a signed 8 bit integer (as in the Green Book A-XDR table)."""

    TAG: ClassVar[int] = 13
    SIZE: ClassVar[int] = 1
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Float32(CosemValue):
    value: float
    TAG: ClassVar[int] = 23

    def encode_into(self, out: bytearray) -> None:
        out.append(23)
        out += struct.pack(">f", self.value)

    def to_python(self) -> float:
        return float(self.value)


@dataclass(frozen=True, slots=True)
class Float64(CosemValue):
    value: float
    TAG: ClassVar[int] = 24

    def encode_into(self, out: bytearray) -> None:
        out.append(24)
        out += struct.pack(">d", self.value)

    def to_python(self) -> float:
        return float(self.value)


@dataclass(frozen=True, slots=True)
class OctetString(CosemValue):
    value: bytes
    TAG: ClassVar[int] = 9

    def __post_init__(self) -> None:
        if not isinstance(self.value, bytes):
            object.__setattr__(self, "value", bytes(self.value))

    def encode_into(self, out: bytearray) -> None:
        out.append(9)
        _encode_length(len(self.value), out)
        out += self.value

    def to_python(self) -> bytes:
        return self.value


@dataclass(frozen=True, slots=True)
class VisibleString(CosemValue):
    """visible-string: ASCII only, checked on construction so a bad value fails in the simulator."""

    value: str
    TAG: ClassVar[int] = 10

    def __post_init__(self) -> None:
        self.value.encode("ascii")

    def encode_into(self, out: bytearray) -> None:
        raw = self.value.encode("ascii")
        out.append(10)
        _encode_length(len(raw), out)
        out += raw

    def to_python(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Utf8String(CosemValue):
    value: str
    TAG: ClassVar[int] = 12

    def encode_into(self, out: bytearray) -> None:
        raw = self.value.encode("utf-8")
        out.append(12)
        _encode_length(len(raw), out)
        out += raw

    def to_python(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class BitString(CosemValue):
    """bit-string: ``bit_length`` bits, most significant bit of ``value[0]`` first."""

    value: bytes
    bit_length: int

    TAG: ClassVar[int] = 4

    def __post_init__(self) -> None:
        if len(self.value) != (self.bit_length + 7) // 8:
            raise ValueError(f"bit-string of {self.bit_length} bits needs {(self.bit_length + 7) // 8} bytes")

    @classmethod
    def from_bits(cls, bits: str) -> BitString:
        """``BitString.from_bits("1011")``: convenient for status words written as in the spec tables."""
        if any(c not in "01" for c in bits):
            raise ValueError(f"not a bit string: {bits!r}")
        padded = bits + "0" * (-len(bits) % 8)
        raw = bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))
        return cls(raw, len(bits))

    def encode_into(self, out: bytearray) -> None:
        out.append(4)
        _encode_length(self.bit_length, out)
        out += self.value

    def to_python(self) -> str:
        return "".join(f"{b:08b}" for b in self.value)[: self.bit_length]


@dataclass(frozen=True, slots=True)
class _FixedOctets(CosemValue):
    value: bytes
    SIZE: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if len(self.value) != self.SIZE:
            raise ValueError(f"{type(self).__name__} is {self.SIZE} bytes, got {len(self.value)}")

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += self.value

    def to_python(self) -> bytes:
        return bytes(self.value)


@dataclass(frozen=True, slots=True)
class DateTime(_FixedOctets):
    """date-time (tag 25, 12 octets).  Most COSEM attributes use an :class:`OctetString` instead."""

    TAG: ClassVar[int] = 25
    SIZE: ClassVar[int] = 12


@dataclass(frozen=True, slots=True)
class Date(_FixedOctets):
    TAG: ClassVar[int] = 26
    SIZE: ClassVar[int] = 5


@dataclass(frozen=True, slots=True)
class Time(_FixedOctets):
    TAG: ClassVar[int] = 27
    SIZE: ClassVar[int] = 4


@dataclass(frozen=True, slots=True, init=False)
class Array(CosemValue):
    """array: items should share one type (not enforced: devices under test may get it wrong)."""

    items: tuple[CosemValue, ...]
    TAG: ClassVar[int] = 1

    def __init__(self, items: Iterable[Any] = ()) -> None:
        object.__setattr__(self, "items", tuple(to_cosem(i) for i in items))

    def encode_into(self, out: bytearray) -> None:
        out.append(1)
        _encode_length(len(self.items), out)
        for item in self.items:
            item.encode_into(out)

    def to_python(self) -> list[Any]:
        return [i.to_python() for i in self.items]


@dataclass(frozen=True, slots=True, init=False)
class Structure(CosemValue):
    items: tuple[CosemValue, ...]
    TAG: ClassVar[int] = 2

    def __init__(self, items: Iterable[Any] = ()) -> None:
        object.__setattr__(self, "items", tuple(to_cosem(i) for i in items))

    def encode_into(self, out: bytearray) -> None:
        out.append(2)
        _encode_length(len(self.items), out)
        for item in self.items:
            item.encode_into(out)

    def to_python(self) -> tuple[Any, ...]:
        return tuple(i.to_python() for i in self.items)


def to_cosem(value: Any) -> CosemValue:
    """Give a plain Python value an A-XDR type.

    ``None`` → null-data, ``bool`` → boolean, ``int`` → double-long-unsigned when it fits (the common
    COSEM counter type), else double-long / long64 / long64-unsigned, ``float`` → float64, ``str`` →
    visible-string (utf8-string if not ASCII), ``bytes`` → octet-string, ``datetime`` → the 12-octet
    COSEM date-time octet-string, ``list`` → array, ``tuple`` → structure.  Use explicit types where the
    wire type matters.
    """
    if isinstance(value, CosemValue):
        return value
    if value is None:
        return Null()
    if isinstance(value, bool):
        return Boolean(value)
    if isinstance(value, int):
        if 0 <= value < 1 << 32:
            return DoubleLongUnsigned(value)
        if -(1 << 31) <= value < 0:
            return DoubleLong(value)
        return Long64(value) if value < 0 else Long64Unsigned(value)
    if isinstance(value, float):
        return Float64(value)
    if isinstance(value, str):
        return VisibleString(value) if value.isascii() else Utf8String(value)
    if isinstance(value, bytes | bytearray):
        return OctetString(bytes(value))
    if isinstance(value, datetime):
        return OctetString(datetime_to_cosem(value))
    if isinstance(value, list):
        return Array(value)
    if isinstance(value, tuple):
        return Structure(value)
    raise TypeError(f"no A-XDR type for {type(value).__name__}: {value!r}")


def encode(value: CosemValue | Any) -> bytes:
    """A-XDR encoding of ``value`` (plain Python values are typed with :func:`to_cosem`)."""
    return to_cosem(value).to_bytes()


# --------------------------------------------------------------------------------------------------
# A-XDR decoding
# --------------------------------------------------------------------------------------------------

_INTEGER_TYPES: dict[int, type[_IntegerValue]] = {
    cls.TAG: cls
    for cls in (
        Integer,
        Long,
        DoubleLong,
        Long64,
        Unsigned,
        LongUnsigned,
        DoubleLongUnsigned,
        Long64Unsigned,
        Enum,
        Bcd,
    )
}
_FIXED_OCTET_TYPES: dict[int, type[_FixedOctets]] = {cls.TAG: cls for cls in (DateTime, Date, Time)}
MAX_DEPTH = 16


def _decode_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise AxdrDecodeError("truncated length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 4 or pos + count > len(data):
        raise AxdrDecodeError("bad length encoding")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def _take(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
    end = pos + n
    if end > len(data):
        raise AxdrDecodeError("truncated value")
    return data[pos:end], end


def decode_at(data: bytes, pos: int = 0, *, depth: int = 0) -> tuple[CosemValue, int]:
    """Decode one ``Data`` value starting at ``pos``; return it and the position after it.

    Quantities are checked against the bytes that remain before allocating anything, so hostile input
    (an array claiming 2**32 elements) fails fast instead of exhausting memory.
    """
    if depth > MAX_DEPTH:
        raise AxdrDecodeError("nesting too deep")
    if pos >= len(data):
        raise AxdrDecodeError("truncated: missing type tag")
    tag = data[pos]
    pos += 1
    int_type = _INTEGER_TYPES.get(tag)
    if int_type is not None:
        raw, pos = _take(data, pos, int_type.SIZE)
        return int_type(int.from_bytes(raw, "big", signed=int_type.SIGNED)), pos
    if tag in (1, 2):
        count, pos = _decode_length(data, pos)
        if count > len(data) - pos:
            raise AxdrDecodeError("element count exceeds data")
        items = []
        for _ in range(count):
            item, pos = decode_at(data, pos, depth=depth + 1)
            items.append(item)
        return (Array(items) if tag == 1 else Structure(items)), pos
    if tag == 0:
        return Null(), pos
    if tag == 255:
        return DontCare(), pos
    if tag == 3:
        raw, pos = _take(data, pos, 1)
        return Boolean(raw[0] != 0), pos
    if tag in (9, 10, 12):
        n, pos = _decode_length(data, pos)
        raw, pos = _take(data, pos, n)
        try:
            if tag == 9:
                return OctetString(raw), pos
            if tag == 10:
                return VisibleString(raw.decode("ascii")), pos
            return Utf8String(raw.decode("utf-8")), pos
        except UnicodeDecodeError as exc:
            raise AxdrDecodeError(f"bad string: {exc}") from exc
    if tag == 4:
        bits, pos = _decode_length(data, pos)
        raw, pos = _take(data, pos, (bits + 7) // 8)
        return BitString(raw, bits), pos
    if tag == 23:
        raw, pos = _take(data, pos, 4)
        return Float32(struct.unpack(">f", raw)[0]), pos
    if tag == 24:
        raw, pos = _take(data, pos, 8)
        return Float64(struct.unpack(">d", raw)[0]), pos
    fixed = _FIXED_OCTET_TYPES.get(tag)
    if fixed is not None:
        raw, pos = _take(data, pos, fixed.SIZE)
        return fixed(raw), pos
    raise AxdrDecodeError(f"unsupported A-XDR type tag {tag}")


def decode(data: bytes) -> CosemValue:
    """Decode exactly one ``Data`` value; trailing bytes are an error."""
    value, pos = decode_at(data, 0)
    if pos != len(data):
        raise AxdrDecodeError(f"{len(data) - pos} trailing bytes after value")
    return value


# --------------------------------------------------------------------------------------------------
# COSEM date-time (12 octets)
# --------------------------------------------------------------------------------------------------

DEVIATION_NOT_SPECIFIED = -0x8000


def datetime_to_cosem(dt: datetime, *, clock_status: int = 0) -> bytes:
    """12-octet COSEM date-time.

    The deviation follows the Blue Book (and dlms-cosem): minutes from *local time to UTC*, so UTC+1 is
    ``-60``.  A naive datetime gets deviation "not specified" (0x8000).
    """
    offset = dt.utcoffset()
    deviation = DEVIATION_NOT_SPECIFIED if offset is None else -int(offset.total_seconds() // 60)
    return (
        dt.year.to_bytes(2, "big")
        + bytes([dt.month, dt.day, dt.isoweekday(), dt.hour, dt.minute, dt.second, dt.microsecond // 10000])
        + deviation.to_bytes(2, "big", signed=True)
        + bytes([clock_status & 0xFF])
    )


def cosem_to_datetime(raw: bytes) -> datetime:
    """Inverse of :func:`datetime_to_cosem` for fully specified values (wildcards raise ValueError).

    Unspecified hundredths read as 0; an unspecified deviation gives a naive datetime.
    """
    if len(raw) != 12:
        raise ValueError(f"COSEM date-time is 12 octets, got {len(raw)}")
    year = int.from_bytes(raw[0:2], "big")
    month, day, _dow, hour, minute, second, hundredths = raw[2:9]
    if year == 0xFFFF or 0xFF in (month, day, hour, minute, second):
        raise ValueError("date-time has unspecified fields")
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    tz = None if deviation == DEVIATION_NOT_SPECIFIED else timezone(timedelta(minutes=-deviation))
    micro = 0 if hundredths == 0xFF else hundredths * 10000
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


# --------------------------------------------------------------------------------------------------
# Model interface
# --------------------------------------------------------------------------------------------------


class AuthLevel(enum.IntEnum):
    """Authentication mechanism of the association a request arrives on (Green Book mechanism ids)."""

    NONE = 0  # lowest level security (public client)
    LLS = 1  # low level security: password
    HLS = 2  # any high level mechanism (not implemented by the server; here for models)


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Who is asking: lets a model apply per-association access rights as real meters do."""

    client_address: int = 16
    mechanism: AuthLevel = AuthLevel.NONE


@dataclass(frozen=True, slots=True)
class SelectiveAccess:
    """Selective-access descriptor of a GET/SET (e.g. range_descriptor on a profile buffer)."""

    selector: int
    parameters: CosemValue


class CosemModel(Protocol):
    """What the DLMS server needs from a device simulator.

    ``obis`` is always the 6-byte wire form.  ``ctx`` is ``None`` for in-process callers (simulator
    code, tests) which bypass access rights.  Implementations raise :class:`CosemError` subclasses;
    any other exception is reported on the wire as other-reason and logged by the server.
    Calls are synchronous and made on the event loop, so they must not block.
    """

    def get(
        self,
        class_id: int,
        obis: bytes,
        attribute: int,
        ctx: AccessContext | None = None,
        selector: SelectiveAccess | None = None,
    ) -> CosemValue: ...

    def set(
        self, class_id: int, obis: bytes, attribute: int, value: CosemValue, ctx: AccessContext | None = None
    ) -> None: ...

    def action(
        self,
        class_id: int,
        obis: bytes,
        method: int,
        parameter: CosemValue | None,
        ctx: AccessContext | None = None,
    ) -> CosemValue | None: ...


# --------------------------------------------------------------------------------------------------
# SimpleCosemModel
# --------------------------------------------------------------------------------------------------

Getter = Callable[[], CosemValue]
Setter = Callable[[CosemValue], None]
MethodHandler = Callable[[CosemValue | None], CosemValue | None]


@dataclass(slots=True)
class Attribute:
    """One attribute: how to read it, how (whether) to write it, and who may do either.

    ``setter=None`` makes the attribute read-only for everyone.  Levels are minimum authentication
    mechanisms: by default anyone may read and only an LLS (or better) association may write, which is
    how the public client of a SMETS1 meter behaves.
    """

    getter: Getter
    setter: Setter | None = None
    read_level: AuthLevel = AuthLevel.NONE
    write_level: AuthLevel = AuthLevel.LLS
    selective_getter: Callable[[SelectiveAccess], CosemValue] | None = None


@dataclass(slots=True)
class Method:
    handler: MethodHandler
    level: AuthLevel = AuthLevel.LLS


@dataclass(slots=True)
class CosemObject:
    class_id: int
    logical_name: bytes
    attributes: dict[int, Attribute] = field(default_factory=dict)
    methods: dict[int, Method] = field(default_factory=dict)

    @property
    def obis(self) -> str:
        return obis_to_str(self.logical_name)


def _stored(initial: CosemValue, *, check_type: bool = True) -> tuple[Getter, Setter]:
    """A getter/setter pair over one stored value; SET must keep the A-XDR type (else type-unmatched)."""
    cell = [initial]

    def get() -> CosemValue:
        return cell[0]

    def put(value: CosemValue) -> None:
        if check_type and type(value) is not type(cell[0]):
            raise TypeUnmatched(f"expected {type(cell[0]).__name__}, got {type(value).__name__}")
        cell[0] = value

    return get, put


def _value_getter(value: CosemValue | Callable[[], Any]) -> Getter:
    if isinstance(value, CosemValue):
        return lambda: value
    if callable(value):
        source = value
        return lambda: to_cosem(source())
    raise TypeError(f"value must be a CosemValue or a callable, got {value!r}")


class ControlState(enum.IntEnum):
    """Disconnect control (class 70) control_state."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class DisconnectControl:
    """State machine of a disconnect control object (IC 70), remote transitions only.

    Modes 1, 3 and 5 send ``remote_reconnect`` to ready_for_reconnection (the consumer must then press
    the button: :meth:`manual_reconnect`); modes 2, 4 and 6 reconnect directly; mode 0 never
    disconnects.  ``on_change`` lets the device simulator switch its load/supply model.
    """

    def __init__(
        self,
        *,
        control_mode: int = 4,
        state: ControlState = ControlState.CONNECTED,
        on_change: Callable[[ControlState], None] | None = None,
    ) -> None:
        self.control_mode = control_mode
        self.state = state
        self.on_change = on_change

    @property
    def output_state(self) -> bool:
        return self.state is ControlState.CONNECTED

    def _move(self, new: ControlState) -> None:
        changed = new is not self.state
        self.state = new
        if changed and self.on_change is not None:
            self.on_change(new)

    def remote_disconnect(self) -> None:
        if self.control_mode == 0:
            raise TemporaryFailure("control_mode 0: disconnection not possible")
        self._move(ControlState.DISCONNECTED)

    def remote_reconnect(self) -> None:
        if self.control_mode == 0:
            raise TemporaryFailure("control_mode 0: disconnection not possible")
        if self.state is ControlState.DISCONNECTED:
            direct = self.control_mode in (2, 4, 6)
            self._move(ControlState.CONNECTED if direct else ControlState.READY_FOR_RECONNECTION)

    def manual_reconnect(self) -> None:
        """The consumer pressed the button on the meter."""
        if self.state is ControlState.READY_FOR_RECONNECTION:
            self._move(ControlState.CONNECTED)


class ClockObject:
    """Clock (IC 8) over a time source: SET of ``time`` stores an offset, so simulated time keeps running.

    ``now`` is the simulator's time source (default: the host clock in UTC).  A device model with its
    own simulated clock passes ``now`` and ``set_time`` and keeps the offset itself.
    """

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        set_time: Callable[[datetime], None] | None = None,
        time_zone: int = 0,
        status: int = 0,
    ) -> None:
        self._source = now or (lambda: datetime.now(UTC))
        self._set_time = set_time
        self.offset = timedelta(0)
        self.time_zone = time_zone
        self.status = status

    def now(self) -> datetime:
        return self._source() + self.offset

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if self._set_time is not None:
            self._set_time(when)
        else:
            self.offset = when - self._source()


def _require_integer_zero(parameter: CosemValue | None) -> None:
    """Disconnect-control methods take ``integer(0)``; tolerate an absent parameter."""
    if parameter is not None and not isinstance(parameter, Integer | Null):
        raise TypeUnmatched("method parameter must be integer(0)")


class SimpleCosemModel:
    """Dictionary-backed :class:`CosemModel`; also the building block for richer simulators.

    Objects are registered with ``add_*`` helpers or :meth:`add_object`.  Lookups are O(1) on the
    6-byte logical name.  Attribute 1 (logical_name) is always provided.
    """

    def __init__(self) -> None:
        self._objects: dict[bytes, CosemObject] = {}

    # -- registration -------------------------------------------------------------------------

    def add_object(
        self,
        class_id: int,
        obis: str | bytes,
        attributes: Mapping[int, Attribute] | None = None,
        methods: Mapping[int, Method] | None = None,
    ) -> CosemObject:
        ln = parse_obis(obis)
        if ln in self._objects:
            raise ValueError(f"object {obis_to_str(ln)} already registered")
        obj = CosemObject(class_id, ln)
        obj.attributes[1] = Attribute(getter=lambda: OctetString(ln))
        obj.attributes.update(attributes or {})
        obj.methods.update(methods or {})
        self._objects[ln] = obj
        return obj

    def _value_attribute(
        self, value: CosemValue | Callable[[], Any], writable: bool, on_set: Setter | None
    ) -> Attribute:
        if isinstance(value, CosemValue) and on_set is None:
            getter, setter = _stored(value)
            return Attribute(getter, setter if writable else None)
        if writable and on_set is None:
            raise ValueError("a writable computed value needs on_set")
        return Attribute(_value_getter(value), on_set if writable else None)

    def add_data(
        self,
        obis: str | bytes,
        value: CosemValue | Callable[[], Any],
        *,
        writable: bool = False,
        on_set: Setter | None = None,
    ) -> CosemObject:
        """Data (IC 1): attribute 2 ``value``; ``value`` may be a callable computing it on each GET."""
        return self.add_object(1, obis, {2: self._value_attribute(value, writable, on_set)})

    def add_register(
        self,
        obis: str | bytes,
        value: CosemValue | Callable[[], Any],
        *,
        scaler: int = 0,
        unit: int = 255,
        writable: bool = False,
        on_set: Setter | None = None,
    ) -> CosemObject:
        """Register (IC 3): 2 ``value``, 3 ``scaler_unit`` = structure{integer scaler, enum unit}.

        Units are Blue Book codes (30 = Wh, 27 = W, 13 = m3, 255 = unitless).  Method 1 ``reset`` sets a
        stored value back to zero of the same type.
        """
        value_attr = self._value_attribute(value, writable, on_set)
        scaler_unit = Structure([Integer(scaler), Enum(unit)])
        methods: dict[int, Method] = {}
        if isinstance(value, _IntegerValue) and on_set is None:
            initial_type = type(value)
            getter, setter = _stored(value)
            value_attr = Attribute(getter, setter if writable else None)

            def reset(_parameter: CosemValue | None) -> None:
                setter(initial_type(0))

            methods[1] = Method(reset)
        return self.add_object(3, obis, {2: value_attr, 3: Attribute(lambda: scaler_unit)}, methods)

    def add_clock(
        self,
        obis: str | bytes = "0.0.1.0.0.255",
        *,
        now: Callable[[], datetime] | None = None,
        set_time: Callable[[datetime], None] | None = None,
        time_zone: int = 0,
        status: int = 0,
    ) -> ClockObject:
        """Clock (IC 8): 2 time (12-octet date-time octet-string, writable), 3 time_zone (long),
        4 status (unsigned), 8 daylight_savings_enabled (boolean), 9 clock_base (enum, 1 = crystal).
        Method 6 ``shift_time`` (long seconds).
        """
        clock = ClockObject(now=now, set_time=set_time, time_zone=time_zone, status=status)

        def get_time() -> CosemValue:
            return OctetString(datetime_to_cosem(clock.now(), clock_status=clock.status))

        def set_time_attr(value: CosemValue) -> None:
            if not isinstance(value, OctetString) or len(value.value) != 12:
                raise TypeUnmatched("clock time is a 12-octet octet-string")
            try:
                clock.set(cosem_to_datetime(value.value))
            except ValueError as exc:
                raise TypeUnmatched(str(exc)) from exc

        def set_zone(value: CosemValue) -> None:
            if not isinstance(value, Long):
                raise TypeUnmatched("time_zone is a long")
            clock.time_zone = value.value

        def shift_time(parameter: CosemValue | None) -> None:
            if not isinstance(parameter, Long):
                raise TypeUnmatched("shift_time takes a long (seconds)")
            clock.offset += timedelta(seconds=parameter.value)

        self.add_object(
            8,
            obis,
            {
                2: Attribute(get_time, set_time_attr),
                3: Attribute(lambda: Long(clock.time_zone), set_zone),
                4: Attribute(lambda: Unsigned(clock.status)),
                8: Attribute(lambda: Boolean(False)),
                9: Attribute(lambda: Enum(1)),
            },
            {6: Method(shift_time)},
        )
        return clock

    def add_disconnect_control(
        self,
        obis: str | bytes = "0.0.96.3.10.255",
        *,
        control_mode: int = 4,
        state: ControlState = ControlState.CONNECTED,
        on_change: Callable[[ControlState], None] | None = None,
    ) -> DisconnectControl:
        """Disconnect control (IC 70): 2 output_state (boolean), 3 control_state (enum),
        4 control_mode (enum, writable); methods 1 remote_disconnect, 2 remote_reconnect."""
        dc = DisconnectControl(control_mode=control_mode, state=state, on_change=on_change)

        def set_mode(value: CosemValue) -> None:
            if not isinstance(value, Enum):
                raise TypeUnmatched("control_mode is an enum")
            if value.value > 6:
                raise OtherReason("control_mode must be 0..6")
            dc.control_mode = value.value

        def disconnect(parameter: CosemValue | None) -> None:
            _require_integer_zero(parameter)
            dc.remote_disconnect()

        def reconnect(parameter: CosemValue | None) -> None:
            _require_integer_zero(parameter)
            dc.remote_reconnect()

        self.add_object(
            70,
            obis,
            {
                2: Attribute(lambda: Boolean(dc.output_state)),
                3: Attribute(lambda: Enum(int(dc.state))),
                4: Attribute(lambda: Enum(dc.control_mode), set_mode),
            },
            {1: Method(disconnect), 2: Method(reconnect)},
        )
        return dc

    # -- introspection ------------------------------------------------------------------------

    def __contains__(self, obis: object) -> bool:
        try:
            return parse_obis(obis) in self._objects  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def __iter__(self) -> Iterator[CosemObject]:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def object(self, obis: str | bytes) -> CosemObject:
        try:
            return self._objects[parse_obis(obis)]
        except KeyError:
            raise ObjectUndefined(f"no object {obis!r}") from None

    # -- CosemModel ---------------------------------------------------------------------------

    def _lookup(self, class_id: int, obis: bytes | str) -> CosemObject:
        ln = obis if isinstance(obis, bytes) and len(obis) == 6 else parse_obis(obis)
        obj = self._objects.get(ln)
        if obj is None:
            raise ObjectUndefined(f"no object {obis_to_str(ln)}")
        if obj.class_id != class_id:
            raise ObjectClassInconsistent(f"{obis_to_str(ln)} is class {obj.class_id}, not {class_id}")
        return obj

    def get(
        self,
        class_id: int,
        obis: bytes | str,
        attribute: int,
        ctx: AccessContext | None = None,
        selector: SelectiveAccess | None = None,
    ) -> CosemValue:
        obj = self._lookup(class_id, obis)
        attr = obj.attributes.get(attribute)
        if attr is None:
            raise ObjectUndefined(f"{obj.obis} has no attribute {attribute}")
        if ctx is not None and ctx.mechanism < attr.read_level:
            raise ReadWriteDenied(f"{obj.obis}/{attribute} needs {attr.read_level.name} to read")
        if selector is not None:
            if attr.selective_getter is None:
                raise OtherReason(f"{obj.obis}/{attribute} does not support selective access")
            return attr.selective_getter(selector)
        return attr.getter()

    def set(
        self,
        class_id: int,
        obis: bytes | str,
        attribute: int,
        value: CosemValue,
        ctx: AccessContext | None = None,
    ) -> None:
        obj = self._lookup(class_id, obis)
        attr = obj.attributes.get(attribute)
        if attr is None:
            raise ObjectUndefined(f"{obj.obis} has no attribute {attribute}")
        if attr.setter is None:
            raise ReadWriteDenied(f"{obj.obis}/{attribute} is read-only")
        if ctx is not None and ctx.mechanism < attr.write_level:
            raise ReadWriteDenied(f"{obj.obis}/{attribute} needs {attr.write_level.name} to write")
        attr.setter(value)

    def action(
        self,
        class_id: int,
        obis: bytes | str,
        method: int,
        parameter: CosemValue | None,
        ctx: AccessContext | None = None,
    ) -> CosemValue | None:
        obj = self._lookup(class_id, obis)
        meth = obj.methods.get(method)
        if meth is None:
            raise ObjectUndefined(f"{obj.obis} has no method {method}")
        if ctx is not None and ctx.mechanism < meth.level:
            raise ReadWriteDenied(f"{obj.obis} method {method} needs {meth.level.name}")
        return meth.handler(parameter)

    def value_of(self, obis: str | bytes, attribute: int = 2) -> Any:
        """Current value as plain Python, bypassing access rights (for simulators and tests)."""
        obj = self.object(obis)
        return self.get(obj.class_id, obj.logical_name, attribute).to_python()
