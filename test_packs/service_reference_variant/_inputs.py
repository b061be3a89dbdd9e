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
