"""EUI-64 spelling and RequestIDs (DUIS: ``originator EUI-64:target EUI-64:counter``).

DUIS writes an EUI-64 as eight upper-case hex octets joined by ``-``; the lab file may spell one with
or without separators. A RequestID names the User (originator), the device or DCC system (target) and
the User's counter, which must strictly increase per originator (the DSP refuses a replay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX16 = re.compile(r"^[0-9A-Fa-f]{16}$")
#: The largest counter DUIS allows (``RequestIDType``: an unsigned 64-bit integer).
MAX_COUNTER = (1 << 64) - 1


def eui(value: str) -> str:
    """``value`` as DUIS spells an EUI-64 (``00-1A-2B-FF-FE-00-00-01``); ValueError if it is none."""
    flat = re.sub(r"[-:\s]", "", value)
    if not _HEX16.match(flat):
        raise ValueError(f"not an EUI-64: {value!r}")
    flat = flat.upper()
    return "-".join(flat[i : i + 2] for i in range(0, 16, 2))


@dataclass(frozen=True, order=True)
class RequestId:
    originator: str
    target: str
    counter: int

    def __post_init__(self) -> None:
        if not 0 <= self.counter <= MAX_COUNTER:
            raise ValueError(f"RequestID counter out of range: {self.counter}")

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"

    @classmethod
    def make(cls, originator: str, target: str, counter: int) -> RequestId:
        return cls(eui(originator), eui(target), counter)

    @classmethod
    def parse(cls, text: str) -> RequestId:
        parts = text.strip().split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ValueError(f"not a DUIS RequestID: {text!r}")
        return cls(eui(parts[0]), eui(parts[1]), int(parts[2]))
