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
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` whenever the clock is set (its mapping to real time changes): an
        event-driven simulator re-times its wake-ups then."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def now(self) -> datetime:
        return self._origin_sim + timedelta(seconds=(self._source() - self._origin_real) * self.rate)

    def set(self, when: datetime, *, rate: float | None = None) -> None:
        """Jump the device clock (as a clock-adjust command or drift injection would)."""
        self._origin_real = self._source()
        self._origin_sim = when
        if rate is not None:
            self.rate = rate
        for listener in list(self._listeners):
            listener()
