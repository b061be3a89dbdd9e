"""Service route wire format, route side: frames, canonical JSON, response codes (pure functions).

This is the route's own implementation of ``docs/protocols/service-route.md``. The harness client
(the service-route driver) implements the same document independently: a simulator
sharing the driver's codec could not catch the driver's bugs.

Frame: ``magic "S1" | version u8 | flags u8 | length u32 BE | payload (UTF-8 JSON object) | CRC-32 u32
BE over everything before it``.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any

MAGIC = b"S1"
VERSION = 1
HEADER = struct.Struct(">2sBBI")
HEADER_SIZE = HEADER.size  # 8
CRC_SIZE = 4
#: Largest payload the route accepts (advertised in ``welcome``).
MAX_PAYLOAD = 1 << 20
#: Above this announced length the route does not even skip the frame: it answers E3 and hangs up.
HARD_LIMIT = 16 << 20

#: Response codes: I = information, W = warning (inside ``warnings``), E = error.
CODES: dict[str, str] = {
    "I0": "success",
    "I99": "acknowledged; the response follows",
    "E1": "malformed frame or message",
    "E2": "unsupported protocol version",
    "E3": "frame larger than the receiver's limit",
    "E4": "unknown SRV",
    "E5": "unknown device",
    "E6": "invalid parameters",
    "E7": "access denied: user role not eligible for this SRV or device",
    "E8": "signature missing or invalid",
    "E9": "unknown signer",
    "E10": "replay: counter not greater than the last one seen",
    "E11": "device rejected the command",
    "E12": "device unreachable (HAN or WAN)",
    "E13": "not applicable to SMETS1 or not supported by this device's firmware",
    "E14": "device not in a state for this request (inventory status)",
    "E15": "request timed out waiting for the device",
    "E16": "route busy or internal failure (the request was not acted on)",
    "W1": "some instructions were not actioned",
    "W2": "data returned at reduced resolution",
}


class WireError(Exception):
    """A frame or message the route cannot accept; ``code`` is the E-code to answer with."""

    def __init__(
        self, code: str, message: str, request_id: str | None = None, *, device_type: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id
        #: An E7 about the SRV's target device type rather than the User's role.
        self.device_type = device_type


@dataclass(frozen=True)
class Header:
    version: int
    flags: int
    length: int


def canonical(obj: Any) -> bytes:
    """The bytes a signature covers: sorted keys, no whitespace, ASCII, finite numbers only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def encode_frame(message: dict[str, Any], *, version: int = VERSION) -> bytes:
    payload = canonical(message)
    head = HEADER.pack(MAGIC, version, 0, len(payload))
    return head + payload + struct.pack(">I", zlib.crc32(head + payload))


def parse_header(data: bytes) -> Header:
    """Decode the 8-byte header; bad magic is fatal for the stream (no resynchronisation)."""
    magic, version, flags, length = HEADER.unpack(data)
    if magic != MAGIC:
        raise WireError("E1", f"bad magic {magic!r}")
    return Header(version, flags, length)


def check_frame(head: bytes, payload: bytes, crc: bytes) -> None:
    if struct.unpack(">I", crc)[0] != zlib.crc32(head + payload):
        raise WireError("E1", "CRC-32 mismatch")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def parse_message(payload: bytes) -> dict[str, Any]:
    """JSON object with a string ``type``; anything else is E1."""
    try:
        obj = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError("E1", f"payload is not UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise WireError("E1", "payload is not a JSON object")
    rid = obj.get("id")
    rid = rid if isinstance(rid, str) and len(rid) <= 64 else None
    if not isinstance(obj.get("type"), str):
        raise WireError("E1", "message has no type", rid)
    for value in _walk(obj):
        if isinstance(value, float) and not math.isfinite(value):
            raise WireError("E1", "non-finite number", rid)
    return obj


def _walk(obj: Any) -> list[Any]:
    out: list[Any] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            out.append(item)
    return out
