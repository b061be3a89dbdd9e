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
from dataclasses import dataclass

# The scheme itself (tag, authenticator, Luhn digit) is the harness's, which mints UTRNs for packs
# (device_drivers/utrn.py); the simulated meter only verifies them.
from device_drivers.utrn import VIRTUAL_SECRET as DEFAULT_SECRET
from device_drivers.utrn import SchemeUtrnSource, authenticator, device_tag, luhn_digit

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
    """Mint a valid UTRN for ``device_id`` (what the supplier's prepayment system would issue)."""
    return SchemeUtrnSource(secret).mint(device_id, amount_pence, sequence)


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
