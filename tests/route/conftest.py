"""A running virtual route per test: devices, S1SP service and TCP server in a background event loop.

The harness client is synchronous (pyserial), the route is asyncio, so the route runs in its own thread;
tests touch the device models only through :meth:`RouteLab.call`, which runs on the route's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from device_drivers.route import VirtualServiceRoute
from labs.virtual.clock import SimClock
from labs.virtual.devices import CommsHub, Esme, Gsme, Ihd, Ppmid, SupplyState, build_device, load_catalogue
from labs.virtual.devices.base import Device
from labs.virtual.faults import FaultInjector
from labs.virtual.s1sp import RouteInstallation, S1spService, ServiceConfig, build_service, serve_route

T = TypeVar("T")
START = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
#: Simulated seconds per real second: a 30-minute GSME wake interval passes in 0.25 s.
RATE = 7200.0


def device(
    clock: SimClock, model: str, fw: str, serial: str, defects: tuple[str, ...] = (), **kw: Any
) -> Device:
    return build_device(load_catalogue().model(model), fw, defects, clock, serial=serial, **kw)


@dataclass
class Rig:
    """What one rig's installation is made of (firmware and defects per role)."""

    rig_id: str = "rig-1"
    ch: tuple[str, str] = ("VCH-100", "2.1.0")
    esme: tuple[str, str] = ("VESME-1P", "1.4.2")
    gsme: tuple[str, str] | None = ("VGSME-U6", "1.2.0")
    ppmid: bool = True
    ihd: bool = True
    installation: str = "active"
    commissioned: bool = True
    master_keys_available: bool = True
    defects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    esme_settings: dict[str, Any] = field(default_factory=dict)

    def build(self, clock: SimClock) -> RouteInstallation:
        r, d = self.rig_id, self.defects
        ch = device(clock, *self.ch, f"{r}-CH", d.get("ch", ()))
        esme = device(clock, *self.esme, f"{r}-ESME", d.get("esme", ()), **self.esme_settings)
        gsme = device(clock, *self.gsme, f"{r}-GSME", d.get("gsme", ())) if self.gsme else None
        ppmid = device(clock, "VPPMID-1", "1.0.0", f"{r}-PPMID") if self.ppmid else None
        ihd = device(clock, "VIHD-1", "1.1.0", f"{r}-IHD") if self.ihd else None
        assert isinstance(ch, CommsHub) and isinstance(esme, Esme)
        assert gsme is None or isinstance(gsme, Gsme)
        assert ppmid is None or isinstance(ppmid, Ppmid)
        assert ihd is None or isinstance(ihd, Ihd)
        return RouteInstallation(
            r,
            ch,
            esme,
            gsme,
            ppmid,
            ihd,
            installation=self.installation,  # type: ignore[arg-type]
            master_keys_available=self.master_keys_available,
            commissioned=self.commissioned,
        )


class RouteLab:
    def __init__(
        self,
        keys_dir: Path,
        rigs: list[Rig],
        *,
        config: ServiceConfig | None = None,
        epcl: list[Any] | None = None,
        faults: FaultInjector | None = None,
        rate: float = RATE,
    ) -> None:
        self.keys_dir = keys_dir
        self.clock = SimClock(START, rate=rate)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.installations = [rig.build(self.clock) for rig in rigs]
        self.routes: list[VirtualServiceRoute] = []

        async def start() -> tuple[S1spService, asyncio.Server]:
            service = build_service(
                self.installations,
                clock=self.clock,
                keys_dir=keys_dir,
                epcl=epcl,
                config=config or ServiceConfig(tick_s=0.005),
            )
            return service, await serve_route(service, faults=faults)

        self.service, self.server = self.run(start())
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        result: T = self.run(wrapper())
        return result

    def inst(self, rig: str = "rig-1") -> RouteInstallation:
        return next(i for i in self.installations if i.rig_id == rig)

    def route(self, timeout: float = 10.0) -> VirtualServiceRoute:
        route = VirtualServiceRoute(self.url, self.keys_dir, timeout=timeout, poll_s=0.02)
        self.routes.append(route)
        return route.open()

    def close(self) -> None:
        for route in self.routes:
            if route.link.is_open:
                route.link._lost()  # skips pyserial's 0.3 s sleep on closing socket:// ports

        async def stop() -> None:
            self.server.close()
            await self.service.stop()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


# -- helpers for the DCO and security tests: a raw message to the gate, the ESME's supply ---------------
def supply(lab: RouteLab) -> SupplyState:
    return lab.call(lambda: lab.inst().esme.supply_state())


def send_raw(route: VirtualServiceRoute, msg: dict[str, Any]) -> dict[str, Any]:
    route.client.send(msg)
    return route.client.wait_final(msg["id"], 5)[-1]


def disable_msg(lab: RouteLab, route: VirtualServiceRoute, **kw: Any) -> dict[str, Any]:
    return route.client.request_message("7.2", lab.inst().esme.device_id, {}, user="supplier", **kw)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("route-keys")


@pytest.fixture
def make_lab(keys_dir: Path) -> Iterator[Callable[..., RouteLab]]:
    labs: list[RouteLab] = []

    def make(*rigs: Rig, **kw: Any) -> RouteLab:
        lab = RouteLab(keys_dir, list(rigs) or [Rig()], **kw)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.close()


@pytest.fixture
def lab(make_lab: Callable[..., RouteLab]) -> RouteLab:
    return make_lab(Rig())


@pytest.fixture
def route(lab: RouteLab) -> VirtualServiceRoute:
    return lab.route()
