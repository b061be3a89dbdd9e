"""Run every simulated device of a lab in one asyncio process (``dmct lab up``).

Each ``virtual://rig/device/interface`` link of the lab file gets a TCP listener on 127.0.0.1 with an
OS-chosen port; the mapping is written (atomically) to an endpoints file that the harness reads, and a
readiness line is printed. The process stops cleanly on SIGTERM/SIGINT and, when started with
``watch_stdin``, as soon as its parent closes our stdin — so a killed parent never leaves a lab behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.lab import DeviceSpec, Lab, RigSpec
from labs.virtual.clock import SimClock
from labs.virtual.esme import EsmeModel
from labs.virtual.iec62056_21 import serve_readout

HOST = "127.0.0.1"


@dataclass
class VirtualDevice:
    rig: str
    spec: DeviceSpec
    model: EsmeModel


def build_esme(rig: RigSpec, spec: DeviceSpec) -> EsmeModel:
    cfg = spec.virtual
    assert cfg is not None
    return EsmeModel(
        clock=SimClock(rate=cfg.clock_rate),
        model=spec.model,
        firmware_version=spec.firmware_version,
        serial=spec.serial or cfg.serial,
        manufacturer_flag=cfg.manufacturer_flag,
        load_w=cfg.load_w,
        tou_kwh=list(cfg.initial_kwh),
        defects=frozenset(cfg.defects),
    )


async def _start(lab: Lab) -> tuple[list[asyncio.Server], dict[str, str]]:
    servers: list[asyncio.Server] = []
    endpoints: dict[str, str] = {}
    for rig in lab.rigs:
        for spec in rig.devices:
            if spec.virtual is None:
                continue
            if spec.role != "esme":
                raise ValueError(f"rig {rig.id}: the virtual lab cannot simulate a {spec.role} yet")
            model = build_esme(rig, spec)
            for iface, link in spec.links.items():
                if iface != "optical" or not link.url.startswith("virtual://"):
                    continue
                handler = functools.partial(
                    serve_readout,
                    manufacturer_flag=model.manufacturer_flag,
                    identification=lambda m=model: m.model,  # type: ignore[misc]
                    datasets=model.readout,
                )
                server = await asyncio.start_server(handler, HOST, 0)
                servers.append(server)
                port = server.sockets[0].getsockname()[1]
                endpoints[link.url] = f"socket://{HOST}:{port}"
    return servers, endpoints


def write_endpoints(path: Path, lab: Lab, endpoints: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"lab": lab.lab, "pid": os.getpid(), "endpoints": endpoints}, indent=1))
    tmp.replace(path)


async def serve_lab(
    lab: Lab, endpoints_file: Path, *, watch_stdin: bool = False, out: TextIO = sys.stdout
) -> None:
    """Serve until a signal (or stdin EOF with ``watch_stdin``); always removes the endpoints file."""
    servers, endpoints = await _start(lab)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if watch_stdin:
        # A daemon thread, not the loop's executor: a blocked read must never delay shutdown.
        threading.Thread(target=_wait_stdin_eof, args=(loop, stop), daemon=True).start()
    try:
        write_endpoints(endpoints_file, lab, endpoints)
        print(
            f"dmct lab: ready lab={lab.lab} endpoints={endpoints_file} ({len(endpoints)} served)",
            file=out,
            flush=True,
        )
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        with contextlib.suppress(FileNotFoundError):
            endpoints_file.unlink()
        print(f"dmct lab: stopped lab={lab.lab}", file=out, flush=True)


def _wait_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.buffer.read(4096):
            pass
    loop.call_soon_threadsafe(stop.set)
