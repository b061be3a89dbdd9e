"""Seeded varied inputs for SRVT tests (issue 14, item 2): each test that draws its inputs draws them
from a :class:`random.Random` whose seed - and the values drawn - go into the test's transcript, so a
failure replays exactly: ``DMCT_PACK_SEED=<seed> dmct run ... -k <test>``.

Without ``DMCT_PACK_SEED`` every run draws a fresh seed, so successive runs cover more of the input
space; a draw is always built to exercise the requirement (e.g. block prices strictly rising or falling
by at least a few pence), so a seeded defect is caught whatever the seed.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from device_drivers.transcript import Transcript

SEED_ENV = "DMCT_PACK_SEED"


def seeded(request: pytest.FixtureRequest, what: str) -> random.Random:
    """A random source for ``what``, its seed noted in the test's transcript."""
    given = os.environ.get(SEED_ENV, "").strip()
    seed = int(given) if given else random.SystemRandom().randrange(2**32)
    note(request, f"{what}: seed {seed} (replay: {SEED_ENV}={seed})")
    return random.Random(f"{seed}:{what}")


def note(request: pytest.FixtureRequest, text: str, **values: Any) -> None:
    """A line of the test's transcript (device ``inputs``): what the test drew, for the evidence."""
    transcript: Transcript = request.getfixturevalue("transcript")
    extra = ", ".join(f"{k}={v!r}" for k, v in values.items())
    transcript.note("inputs", f"{text}{': ' + extra if extra else ''}")


# ---------------------------------------------------------------------------- field bounds and draws
#: The largest price (pence per kWh, or per day for a standing charge) a price field carries on both
#: routes: DUIS electricity prices are ``PriceType`` (xs:short) at the coarsest ``PriceScale`` the
#: builder uses (10^-2 GBP): 32767 p; DUIS gas prices and standing charges are xs:unsignedInt
#: thousandths of a penny (no scale). The framed route carries any non-negative number.
MAX_PRICE = {"esme": 32767.0, "gsme": 4294967.295}
#: SRV 3.4 SupplierName: 1-15 printable ASCII characters on both routes (DUIS ``maxLength 15``,
#: ``[ -~]+``; the framed route allows 30).
SUPPLIER_NAME_MAX = 15
#: SRV 6.20.1 MPxN lengths both routes carry: an MPAN is 13 digits; an MPRN 6-10 (DUIS ``MPRN``
#: allows 1-10, the framed route 6-13).
MPXN_LENGTHS = {"esme": (13, 13), "gsme": (6, 10)}
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


def pence(rng: random.Random, lo: float, hi: float, places: int = 2) -> float:
    """A price or amount between ``lo`` and ``hi`` with ``places`` decimals (whole pence at 0)."""
    value = round(rng.uniform(lo, hi), places)
    return float(int(value)) if places == 0 else value


def printable(rng: random.Random, length: int) -> str:
    """``length`` printable ASCII characters, space and punctuation included, never starting or ending
    with a space (a route may trim those)."""
    inner = "".join(rng.choice(PRINTABLE) for _ in range(length))
    ends = PRINTABLE.strip()
    if length == 1:
        return rng.choice(ends)
    return rng.choice(ends) + inner[1:-1] + rng.choice(ends)


def digits(rng: random.Random, length: int, *, leading_zero: bool = False) -> str:
    """A string of ``length`` decimal digits; with ``leading_zero`` it starts with a 0."""
    first = "0" if leading_zero else rng.choice("123456789")
    return first + "".join(rng.choice("0123456789") for _ in range(length - 1))
