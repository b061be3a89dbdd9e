"""The state of a running virtual lab: its devices, servers and endpoints, shared by the lab process and
the control API.

Why a module of its own: the lab process (:mod:`labs.virtual.process`) builds and serves this state and
the control API (:mod:`labs.virtual.control`) changes it; both need the types, and neither should import
the other's code for them (the process starts the control server, so the control API importing the
process would be a cycle).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.lab.inventory import DeviceSpec, Lab
from labs.virtual.clock import SimClock
from labs.virtual.devices.base import Device
from labs.virtual.faults import FaultInjector, FaultLog

if TYPE_CHECKING:
    from labs.virtual.s1sp import S1spService
    from labs.virtual.scheduler import EventScheduler


@dataclass
class VirtualDevice:
    """One simulated device: its behaviour model, fault injector and open connections."""

    name: str  # "<rig>/<role>"
    spec: DeviceSpec
    model: Device
    faults: FaultInjector
    connections: set[asyncio.StreamWriter | asyncio.BaseTransport] = field(default_factory=set)
    powered: bool = True

    def admit(self, connection: asyncio.StreamWriter | asyncio.BaseTransport) -> bool:
        """Accept a new connection unless the device is unpowered or its link is faulted down."""
        if self.faults.config.disconnect or not self.powered:
            self.faults.log.add(
                self.name, "disconnect", "refused: " + ("no power" if not self.powered else "fault")
            )
            return False
        self.connections.add(connection)
        return True

    def on_dlms_connection(self, transport: asyncio.BaseTransport, opened: bool) -> bool:
        if opened:
            return self.admit(transport)
        self.connections.discard(transport)
        return True

    def cut(self) -> None:
        """Drop every open connection (a disconnect fault or a reboot)."""
        for writer in list(self.connections):
            writer.close()
        self.connections.clear()


@dataclass
class VirtualLab:
    """Everything a running virtual lab holds: the lab file, its devices, servers and endpoints."""

    lab: Lab
    devices: dict[str, VirtualDevice]
    log: FaultLog
    clock: SimClock = field(default_factory=SimClock)
    servers: list[asyncio.Server] = field(default_factory=list)
    route_keys: Path | None = None
    pty: bool = False
    ptys: dict[str, str] = field(default_factory=dict)  # virtual URL -> /dev/pts/N
    closers: list[Callable[[], object]] = field(default_factory=list)
    banks: list[Any] = field(default_factory=list)  # InstrumentBank (pymodbus is imported lazily)
    endpoints: dict[str, str] = field(default_factory=dict)
    control: str = ""
    #: Names this serving process among every virtual lab on the host: its rigs are its own, so rig
    #: leases are keyed by it (two runs each serving a private lab never wait for each other).
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    route: S1spService | None = None  # the virtual S1SP/DCO, for the control API's route faults
    #: How the simulated devices follow time: ``events`` — one timer heap, each device woken when its
    #: next event is due (labs.virtual.scheduler); ``poll`` — every model advanced every second and the
    #: route's housekeeping every 10 ms (the former clock, kept for benchmarks to compare with).
    clock_mode: Literal["events", "poll"] = "events"
    scheduler: EventScheduler | None = None
