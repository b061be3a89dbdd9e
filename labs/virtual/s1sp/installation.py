"""The installations the virtual route serves, and the route's configuration.

Why a module of its own: the service, the SRV executors and the migration all need these types, and
the executors and the migration must not import the service (the service imports them). Shared types
live here, below all three.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from labs.virtual.devices import CommsHub, Esme, Gsme, Ihd, KeyRef, Ppmid
from labs.virtual.devices.base import Device

from .keys import DEFAULT_USERS
from .wire import MAX_PAYLOAD

InstallationType = Literal["dormant", "active", "mixed"]
Reply = Callable[[dict[str, Any]], None]
SMSO_KEY = KeyRef("SMSO-1")
#: Keys the S1SP installs at commissioning, per device credential role.
S1SP_KEYS: dict[str, KeyRef] = {
    "smso": KeyRef("S1SP", 1),
    "supplier": KeyRef("S1SP-SUPPLIER", 1),
    "network_operator": KeyRef("S1SP-NETWORK_OPERATOR", 1),
}


@dataclass
class RouteInstallation:
    """One rig's SMETS1 installation as the lead's lab process hands it to the route.

    ``installation`` is the migration type; ``master_keys_available`` False models an SMSO that did not
    hand over the installation's keys; ``commissioned`` True starts the installation as already migrated
    (inventory Commissioned, S1SP credentials installed) for packs that test SRVs only.
    """

    rig_id: str
    ch: CommsHub
    esme: Esme
    gsme: Gsme | None = None
    ppmid: Ppmid | None = None
    ihd: Ihd | None = None
    installation: InstallationType = "active"
    master_keys_available: bool = True
    commissioned: bool = False
    supplier: str = DEFAULT_USERS[0].user_id
    network_operator: str = DEFAULT_USERS[1].user_id


@dataclass(frozen=True)
class RetryStrategy:
    """Migration Error Handling and Retry Strategy: attempts before exclusion, simulated backoff."""

    max_attempts: int = 5
    backoff_s: float = 600.0


@dataclass(frozen=True)
class ServiceConfig:
    han_latency_s: float = 1.0  # simulated seconds per Instruction on the HAN
    wan_latency_s: float = 0.5  # simulated seconds per command to the CH itself
    gsme_timeout_wakes: int = 4  # give up on a queued GSME command after this many wake intervals
    #: How housekeeping (alerts, GSME queues, held requests, schedules) follows time: ``events`` — each
    #: device and held request wakes the route when due (labs.virtual.scheduler); ``poll`` — a pass over
    #: everything every ``tick_s`` real seconds (the former clock, kept for benchmarks to compare).
    clock: Literal["events", "poll"] = "events"
    tick_s: float = 0.01  # real seconds between polling passes; also a migration's wait between looks
    retry: RetryStrategy = field(default_factory=RetryStrategy)
    max_payload: int = MAX_PAYLOAD


@dataclass
class Installation:
    spec: RouteInstallation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    migrating: bool = False

    @property
    def rig_id(self) -> str:
        return self.spec.rig_id

    @property
    def ch(self) -> CommsHub:
        return self.spec.ch

    def devices(self) -> list[Device]:
        s = self.spec
        return [d for d in (s.ch, s.esme, s.gsme, s.ppmid, s.ihd) if d is not None]
