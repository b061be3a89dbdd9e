"""Where a pack gets the UTRNs its top-ups send (SRV 2.2): the lab's *UTRN source*.

A UTRN is minted for one meter by the supplier's prepayment system; a meter accepts it only if it is
authentic for that meter. A pack cannot make one up, so it asks the lab's source, named in the lab file
(``prepayment: {utrn: ...}``, see :class:`harness.lab.inventory.UtrnSpec`):

* ``scheme`` — the project's documented UTRN format (``docs/virtual-devices.md``, "UTRN format") keyed
  by a secret read from an environment variable: what the virtual lab's meters accept, and what a lab
  whose test prepayment system uses that scheme can share;
* ``command`` — any other prepayment system: a program the lab provides, run once per UTRN with the
  meter's EUI-64, the credit in pence and a sequence number substituted into its arguments
  (``{device}``, ``{amount_pence}``, ``{sequence}``), printing the 20-digit UTRN.

A source that cannot produce a UTRN (the command fails, hangs or prints no UTRN) is a lab problem, not a
meter's: :class:`UtrnSourceUnavailable` is an infrastructure fault and the test is *blocked*.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from typing import Any, Protocol

import specifications
from device_drivers.errors import InfrastructureFault

#: The project's UTRN scheme, read from the shared specification (the virtual lab's meters read the
#: same file with their own code to verify what is minted here).
_SCHEME = specifications.load("utrn_scheme")
_FIELDS: list[dict[str, Any]] = list(_SCHEME["fields"])
_BY_NAME = {f["name"]: f for f in _FIELDS}
#: The secret of the virtual lab's UTRN scheme.
VIRTUAL_SECRET: str = _SCHEME["virtual_secret"]
UTRN_DIGITS: int = _SCHEME["digits"]


class UtrnSourceUnavailable(InfrastructureFault):
    """The lab's UTRN source gave no UTRN: the top-up cannot be attempted (blocked, not failed)."""


class UtrnSource(Protocol):
    """Mints a UTRN worth ``amount_pence`` for the meter ``device_id`` (EUI-64)."""

    def mint(self, device_id: str, amount_pence: int, sequence: int) -> str: ...


def luhn_digit(digits: str) -> int:
    """The Luhn check digit to append to ``digits`` (the scheme's last digit catches keypad typos)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def _hashed(name: str, **values: object) -> int:
    """A hashed field: the digest of its template, as a big-endian integer, modulo 10**width."""
    field = _BY_NAME[name]
    digest = hashlib.new(_SCHEME["hash"], field["template"].format(**values).encode()).digest()
    modulus: int = 10 ** int(field["width"])
    return int.from_bytes(digest, "big") % modulus


def device_tag(device_id: str) -> int:
    """Digits 11-14: binds the UTRN to one meter."""
    return _hashed("device_tag", device_id=device_id)


def authenticator(device_id: str, amount_pence: int, sequence: int, secret: str) -> int:
    """Digits 15-19: only a holder of the secret can make them."""
    return _hashed(
        "authenticator", secret=secret, device_id=device_id, amount_pence=amount_pence, sequence=sequence
    )


@dataclass(frozen=True)
class SchemeUtrnSource:
    """The project's UTRN scheme: amount (6), sequence (4), device tag (4), authenticator (5), Luhn."""

    secret: str = VIRTUAL_SECRET

    def mint(self, device_id: str, amount_pence: int, sequence: int) -> str:
        numbers = {"amount_pence": amount_pence, "sequence": sequence}
        values: dict[str, object] = {"secret": self.secret, "device_id": device_id, **numbers}
        amount, seq = _BY_NAME["amount_pence"]["range"], _BY_NAME["sequence"]["range"]
        if not amount[0] <= amount_pence <= amount[1] or not seq[0] <= sequence <= seq[1]:
            raise ValueError(
                f"a UTRN holds {amount[0]}-{amount[1]} pence and a sequence {seq[0]}-{seq[1]}, "
                f"not {amount_pence}, {sequence}"
            )
        utrn = ""
        for field in _FIELDS:  # in wire order, as the specification lists them
            width, source = int(field["width"]), field["from"]
            if source == "value":
                number = numbers[field["name"]]
            elif source == "hash":
                number = _hashed(field["name"], **values)
            else:  # "luhn": over every digit before it
                number = luhn_digit(utrn)
            utrn += f"{number:0{width}d}"
        return utrn


@dataclass(frozen=True)
class CommandUtrnSource:
    """A lab-provided program that asks the test prepayment system for one UTRN and prints it."""

    argv: tuple[str, ...]
    timeout_s: float = 30.0

    def mint(self, device_id: str, amount_pence: int, sequence: int) -> str:
        values = {"device": device_id, "amount_pence": amount_pence, "sequence": sequence}
        args = [a.format(**values) for a in self.argv]
        name = f"UTRN source {self.argv[0]}"
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except FileNotFoundError:
            raise UtrnSourceUnavailable(name, "the program does not exist") from None
        except subprocess.TimeoutExpired:
            raise UtrnSourceUnavailable(name, f"no UTRN within {self.timeout_s:g} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise UtrnSourceUnavailable(name, f"exited {done.returncode}: {last}")
        return parse_utrn(done.stdout, name)


def parse_utrn(text: str, source: str) -> str:
    """The UTRN a source printed: 20 digits, spaces or hyphens between groups allowed."""
    found = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(rf"\d{{{UTRN_DIGITS}}}", found):
        shown = text.strip()[:60] or "nothing"
        raise UtrnSourceUnavailable(source, f"printed {shown!r}, not a {UTRN_DIGITS}-digit UTRN")
    return found
