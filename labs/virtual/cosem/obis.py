"""OBIS codes: the 6-byte logical names COSEM objects are addressed by, parsed from the usual text forms."""

from __future__ import annotations

import functools
from collections.abc import Iterable


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
        return _parse_text(obis)
    numbers = [int(p) for p in obis]
    if len(numbers) != 6:
        raise ValueError(f"OBIS code needs 6 groups, got {len(numbers)}")
    return _checked(numbers, obis)


@functools.lru_cache(maxsize=4096)
def _parse_text(obis: str) -> bytes:
    """Text forms, cached: every meter's object list names the same few hundred codes."""
    text = obis.strip()
    for sep in "-:*":
        text = text.replace(sep, ".")
    parts = [p for p in text.split(".") if p != ""]
    if len(parts) == 5:
        parts.append("255")
    if len(parts) != 6 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not an OBIS code: {obis!r}")
    return _checked([int(p) for p in parts], obis)


def _checked(numbers: list[int], obis: object) -> bytes:
    if any(not 0 <= n <= 255 for n in numbers):
        raise ValueError(f"OBIS groups must be 0..255: {obis!r}")
    return bytes(numbers)


def obis_to_str(obis: bytes) -> str:
    """Dotted form used in logs and docs (``1.0.1.8.0.255``)."""
    return ".".join(str(b) for b in obis)
