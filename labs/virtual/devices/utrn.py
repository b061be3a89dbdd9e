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

DEFAULT_SECRET = "dmct-virtual-utrn"


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


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def luhn_digit(digits: str) -> int:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def device_tag(device_id: str) -> int:
    return _hash_int(device_id) % 10**4


def authenticator(device_id: str, amount_pence: int, sequence: int, secret: str) -> int:
    return _hash_int(f"{secret}|{device_id}|{amount_pence}|{sequence}") % 10**5


def make_utrn(device_id: str, amount_pence: int, sequence: int, secret: str = DEFAULT_SECRET) -> str:
    """Mint a valid UTRN for ``device_id`` (what the supplier's prepayment system would issue)."""
    if not 1 <= amount_pence <= 999_999:
        raise ValueError("amount_pence must be 1..999999")
    if not 0 <= sequence <= 9999:
        raise ValueError("sequence must be 0..9999")
    body = (
        f"{amount_pence:06d}{sequence:04d}{device_tag(device_id):04d}"
        f"{authenticator(device_id, amount_pence, sequence, secret):05d}"
    )
    return body + str(luhn_digit(body))


def parse_utrn(utrn: str) -> Utrn | None:
    """The fields of ``utrn``, or ``None`` when its format or check digit is wrong."""
    if len(utrn) != 20 or not utrn.isascii() or not utrn.isdigit():
        return None
    if luhn_digit(utrn[:19]) != int(utrn[19]):
        return None
    amount = int(utrn[0:6])
    if amount == 0:
        return None
    return Utrn(amount, int(utrn[6:10]), int(utrn[10:14]), int(utrn[14:19]))


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
