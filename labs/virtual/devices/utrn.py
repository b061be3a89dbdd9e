"""UTRN (Unique Transaction Reference Number) format and check used by the simulated meters.

Real UTRNs are vendor/SMSO specific; this project defines its own, documented so a third-party client
or a pack can mint valid and invalid ones (see ``docs/virtual-devices.md``). 20 decimal digits:

=========  =====================================================================================
digits     meaning
=========  =====================================================================================
1-6        credit in pence, 000001-999999
7-10       sequence number 0000-9999 (makes each top-up unique)
11-14      device tag: ``int(sha256(device_id)) mod 10**4`` — binds the UTRN to one meter
15-19      authenticator: ``int(sha256(f"{secret}|{device_id}|{amount}|{sequence}")) mod 10**5``
20         Luhn check digit over digits 1-19 (catches keypad typos)
=========  =====================================================================================

Checks run in that order of cheapness: format and Luhn, then device tag, then authenticator; the meter
then checks replay and credit limits itself (:mod:`.prepay`).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

import specifications

__all__ = [
    "DEFAULT_SECRET",
    "Utrn",
    "UtrnProblem",
    "authenticator",
    "check_utrn",
    "device_tag",
    "luhn_digit",
    "make_utrn",
    "parse_utrn",
]


# The scheme is a published specification (specifications/utrn_scheme.yaml), read here with the
# simulator's own code: the harness mints UTRNs with its own reading of the same file
# (the harness's UTRN source), so a bug in either side's arithmetic shows as a rejected top-up.
_SCHEME = specifications.load("utrn_scheme")
DEFAULT_SECRET: str = _SCHEME["virtual_secret"]
_DIGITS: int = _SCHEME["digits"]
_HASH: str = _SCHEME["hash"]


@dataclass(frozen=True)
class _Field:
    name: str
    start: int  # 0-based digit offset in the UTRN
    width: int
    source: str  # value | hash | luhn
    template: str = ""
    low: int = 0
    high: int = 0


def _fields(spec: list[dict[str, Any]]) -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    start = 0
    for item in spec:
        low, high = item.get("range", (0, 0))
        width, template = int(item["width"]), item.get("template", "")
        field = _Field(item["name"], start, width, item["from"], template, low, high)
        out[field.name] = field
        start += field.width
    if start != _DIGITS:
        raise ValueError(f"utrn_scheme: the fields make {start} digits, not {_DIGITS}")
    return out


_FIELDS = _fields(_SCHEME["fields"])


def _hash_field(name: str, **values: object) -> int:
    field = _FIELDS[name]
    digest = hashlib.new(_HASH, field.template.format(**values).encode()).digest()
    modulus: int = 10**field.width
    return int.from_bytes(digest, "big") % modulus


def luhn_digit(digits: str) -> int:
    """The Luhn check digit that makes ``digits`` + it pass the Luhn check."""
    total = 0
    for position, ch in enumerate(reversed(digits), start=1):  # position 1 is next to the check digit
        d = int(ch) * (2 if position % 2 else 1)
        total += d - 9 if d > 9 else d
    return -total % 10


def device_tag(device_id: str) -> int:
    """The device-tag field: binds a UTRN to one meter."""
    return _hash_field("device_tag", device_id=device_id)


def authenticator(device_id: str, amount_pence: int, sequence: int, secret: str) -> int:
    """The authenticator field: only a holder of the secret can make it."""
    return _hash_field(
        "authenticator", secret=secret, device_id=device_id, amount_pence=amount_pence, sequence=sequence
    )


class UtrnProblem(enum.Enum):
    FORMAT = "format"  # not 20 digits, zero amount, or Luhn check failed
    NOT_FOR_DEVICE = "not_for_device"
    NOT_AUTHENTIC = "not_authentic"


@dataclass(frozen=True)
class Utrn:
    """The fields of a well-formed UTRN."""

    amount_pence: int
    sequence: int
    device_tag: int
    authenticator: int


def make_utrn(device_id: str, amount_pence: int, sequence: int, secret: str = DEFAULT_SECRET) -> str:
    """Mint a valid UTRN for ``device_id`` (what the supplier's prepayment system would issue): the
    simulator's own construction, for its tests and third-party clients of the virtual lab."""
    amount, seq = _FIELDS["amount_pence"], _FIELDS["sequence"]
    if not amount.low <= amount_pence <= amount.high or not seq.low <= sequence <= seq.high:
        raise ValueError(
            f"a UTRN holds {amount.low}-{amount.high} pence and a sequence {seq.low}-{seq.high}, "
            f"not {amount_pence}, {sequence}"
        )
    body = (
        f"{amount_pence:0{amount.width}d}{sequence:0{seq.width}d}"
        f"{device_tag(device_id):0{_FIELDS['device_tag'].width}d}"
        f"{authenticator(device_id, amount_pence, sequence, secret):0{_FIELDS['authenticator'].width}d}"
    )
    return body + str(luhn_digit(body))


def parse_utrn(utrn: str) -> Utrn | None:
    """The fields of ``utrn``, or ``None`` when its format or check digit is wrong."""
    if len(utrn) != _DIGITS or not utrn.isascii() or not utrn.isdigit():
        return None
    check = _FIELDS["check"]
    if luhn_digit(utrn[: check.start]) != int(utrn[check.start : check.start + check.width]):
        return None

    def number(name: str) -> int:
        field = _FIELDS[name]
        return int(utrn[field.start : field.start + field.width])

    amount = number("amount_pence")
    if amount == 0:
        return None
    return Utrn(amount, number("sequence"), number("device_tag"), number("authenticator"))


def check_utrn(utrn: str, device_id: str, secret: str = DEFAULT_SECRET) -> Utrn | UtrnProblem:
    """The UTRN's fields if it is valid for ``device_id``, else what is wrong with it."""
    fields = parse_utrn(utrn)
    if fields is None:
        return UtrnProblem.FORMAT
    if fields.device_tag != device_tag(device_id):
        return UtrnProblem.NOT_FOR_DEVICE
    if fields.authenticator != authenticator(device_id, fields.amount_pence, fields.sequence, secret):
        return UtrnProblem.NOT_AUTHENTIC
    return fields
