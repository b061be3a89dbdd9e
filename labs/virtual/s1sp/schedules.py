"""DCC-held schedules (SRV 5.1-5.3): what the route runs at its times and answers on the User's behalf.

Kept apart from the executors that create them and the service that runs them, so both can reach the
schedule book without importing each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .installation import Reply


@dataclass
class Schedule:
    schedule_id: str
    device_id: str
    srv: str
    params: dict[str, Any]
    start: datetime
    period: timedelta
    user: str
    role: str
    reply: Reply | None
    next_due: datetime
    runs: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "srv": self.srv,
            "params": self.params,
            "start": self.start.isoformat(),
            "period_s": int(self.period.total_seconds()),
            "next_due": self.next_due.isoformat(),
            "runs": self.runs,
        }


class Schedules:
    """DCC-held schedules (SRV 5.1-5.3); the route runs each at its times and sends the responses."""

    def __init__(self) -> None:
        self.items: dict[str, Schedule] = {}
        self._ids = itertools.count(1)
        #: Told of every new schedule (the event-driven route books its first run).
        self.on_created: Callable[[Schedule], None] | None = None

    def create(
        self,
        device_id: str,
        srv: str,
        params: dict[str, Any],
        start: datetime,
        period_s: int,
        *,
        user: str,
        role: str,
        reply: Reply | None,
    ) -> str:
        """Hold a new schedule (first run at ``start``); returns its id."""
        sid = f"S{next(self._ids)}"
        self.items[sid] = Schedule(
            sid, device_id, srv, dict(params), start, timedelta(seconds=period_s), user, role, reply, start
        )
        if self.on_created is not None:
            self.on_created(self.items[sid])
        return sid

    def view(self, device_id: str, sid: str | None) -> list[dict[str, Any]]:
        return [
            s.view()
            for s in self.items.values()
            if s.device_id == device_id and (sid is None or s.schedule_id == sid)
        ]

    def delete(self, device_id: str, sid: str) -> bool:
        s = self.items.get(sid)
        if s is None or s.device_id != device_id:
            return False
        del self.items[sid]
        return True
