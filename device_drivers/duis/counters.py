"""RequestID counters that strictly increase per User across processes, workers and runs.

The DSP refuses a RequestID whose counter is not above the last it accepted from that User (a replay).
Every xdist worker and every run signs as the same Users, so the counter is kept in one file per User,
updated under a file lock (``filelock``), and is never below the current time in milliseconds since the
epoch (DCC Boxed's own tool counts the same way): a lost or fresh counter directory, or another machine
signing as the same User, still produces counters above any earlier run's, clocks permitting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from device_drivers.duis.ids import MAX_COUNTER, eui

Clock = Callable[[], int]


def default_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dmct" / "duis-counters"


class CounterStore:
    def __init__(self, directory: str | Path | None = None, *, clock_ms: Clock | None = None):
        self.directory = Path(directory) if directory else default_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._clock = clock_ms or (lambda: time.time_ns() // 1_000_000)

    def _path(self, user: str) -> Path:
        return self.directory / (eui(user).replace("-", "") + ".counter")

    def next(self, user: str) -> int:
        """The next counter for ``user`` (an EUI-64), above every counter handed out before."""
        path = self._path(user)
        with FileLock(str(path) + ".lock", timeout=30):
            try:
                last = int(path.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                last = 0
            value = max(last + 1, self._clock())
            if value > MAX_COUNTER:
                raise OverflowError(f"RequestID counter of {user} exhausted")
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(str(value))
            tmp.replace(path)
        return value
