"""A simulated clock: settable offset and rate, so logs and calendars need no real waiting.

Device models never call ``time`` themselves; they ask their clock. With ``rate=3600`` an hour of
device time passes every real second, which is how daily logs or TOU switch points are reached fast.
Pass ``source`` (a callable returning seconds) to drive a clock by hand in unit tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(
        self,
        start: datetime | None = None,
        *,
        rate: float = 1.0,
        source: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._origin_real = source()
        self._origin_sim = start or datetime.now(UTC)
        self.rate = rate

    def now(self) -> datetime:
        return self._origin_sim + timedelta(seconds=(self._source() - self._origin_real) * self.rate)

    def set(self, when: datetime, *, rate: float | None = None) -> None:
        """Jump the device clock (as a clock-adjust command or drift injection would)."""
        self._origin_real = self._source()
        self._origin_sim = when
        if rate is not None:
            self.rate = rate
