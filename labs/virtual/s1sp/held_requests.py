"""Requests the route has answered I99 and still holds: GSME Instructions queued at the CH, and requests
the DSP holds until their future execution date.

Why a module of its own: the service's housekeeping completes them as the clock moves; the types are
data, shared by the service and its clock without either importing the other's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labs.virtual.devices import PendingCommand

from . import executors as X


@dataclass
class Pending:
    """A request answered I99 whose GSME Instructions wait at the CH."""

    ctx: X.Ctx
    plan: X.Plan
    outcomes: list[dict[str, Any]]
    tickets: dict[int, PendingCommand]
    deadline: datetime


@dataclass
class Deferred:
    """A DSP-future-dated request held until its execution date."""

    ctx: X.Ctx
    due: datetime
