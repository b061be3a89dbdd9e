"""A-XDR ``Data`` values: the explicit COSEM wire types, their encoding and their decoding.

Values are explicit A-XDR types (:class:`DoubleLongUnsigned`, :class:`OctetString`, :class:`Structure`,
...) because the wire type is part of the device's behaviour under test: a register read back as
``long-unsigned`` instead of ``double-long-unsigned`` is a different meter. :func:`to_cosem` infers a type
for plain Python values when the exact type does not matter. The codec is written here rather than
reused from ``dlms_cosem.dlms_data`` because that module cannot encode booleans, nulls or lengths above
255 and cannot decode floats or UTF-8 strings (dlms-cosem 25.1).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from .date_time import datetime_to_cosem


class AxdrDecodeError(ValueError):
    """Bytes are not a well-formed A-XDR ``Data`` value (or use a type this codec does not support)."""


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


# -- decoding --------------------------------------------------------------------------------------

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
