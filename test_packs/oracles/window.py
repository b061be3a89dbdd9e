"""Device-time windows: an instant a test cannot observe exactly, bounded by two device-clock reads.

A read of the meter takes real time, and the lab's clock may run thousands of times faster than the
wall clock, so every "when" in a pack test is a window ``[lo, hi]`` of *device* time (the clock read
just before and just after). Oracles take windows and return windows; tolerances follow from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    """Device time known to lie in ``[lo, hi]``."""

    lo: datetime
    hi: datetime

    def __post_init__(self) -> None:
        if self.hi < self.lo:
            raise ValueError(f"window ends before it starts: {self.lo} > {self.hi}")

    @property
    def width(self) -> timedelta:
        return self.hi - self.lo

    def shifted(self, by: timedelta) -> Window:
        return Window(self.lo + by, self.hi + by)

    def widened(self, by: timedelta) -> Window:
        return Window(self.lo - by, self.hi + by)

    def __contains__(self, when: object) -> bool:
        return isinstance(when, datetime) and self.lo <= when <= self.hi
