"""Benchmark of the DLMS/HDLC simulator: one server process, many simulated meters, clients elsewhere.

Not a pytest test.  Run from the repository root::

    .venv/bin/python bench/bench_dlms.py                      # 300 meters, lean asyncio clients, 10 s
    .venv/bin/python bench/bench_dlms.py --client dlms-cosem  # the real client stack, in threads

The server process serves ``--devices`` endpoints (a :class:`SimpleCosemModel` each, on its own loopback
port).  Client processes (``--client-procs``) open one connection per meter, associate with LLS, then
GET the energy register in a loop for ``--seconds``; every response is checked.  Printed: aggregate
GET/s, associations, and the server's RSS per meter (idle and with all connections associated).

``lean`` clients send pre-built frames and parse replies with :mod:`labs.virtual.hdlc`, so they measure
the server; ``dlms-cosem`` clients use :class:`device_drivers.protocols.dlms.DlmsOpticalClient` and
mostly measure dlms-cosem's client-side cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from driver_load import threaded_driver_reads  # noqa: E402
from lean_dlms import ENERGY, aarq_bytes, cpu_seconds, get_loop, i_frame, read_frame, rss_kib, snrm  # noqa: E402

from labs.virtual.cosem import (  # noqa: E402 - needs the sys.path entry above
    DoubleLongUnsigned,
    OctetString,
    SimpleCosemModel,
)
from labs.virtual.dlms_server import DlmsEndpoint, serve_endpoint  # noqa: E402

PASSWORD = b"12345678"


def energy_of(index: int) -> int:
    return 10_000 + index


def build_model(index: int) -> SimpleCosemModel:
    model = SimpleCosemModel()
    model.add_register(ENERGY, DoubleLongUnsigned(energy_of(index)), unit=30)
    model.add_register("1.0.2.8.0.255", DoubleLongUnsigned(0), unit=30)
    model.add_clock()
    model.add_disconnect_control()
    model.add_data("0.0.96.1.0.255", OctetString(f"BENCH-{index:05d}".encode()))
    return model


# -- server process ---------------------------------------------------------------------------------


async def serve(devices: int) -> None:
    baseline = rss_kib(os.getpid())
    servers = []
    ports = []
    for i in range(devices):
        endpoint = DlmsEndpoint(
            model=build_model(i), password=PASSWORD, name=f"meter{i}", inactivity_timeout=None
        )
        server = await serve_endpoint(endpoint)
        servers.append(server)
        ports.append(server.sockets[0].getsockname()[1])
    print(json.dumps({"ports": ports, "baseline_rss_kib": baseline}), flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stop.set)  # parent closes our stdin to stop us
    await stop.wait()


# -- lean client ------------------------------------------------------------------------------------


async def lean_meter(port: int, index: int, ready: asyncio.Event, counts: list[int]) -> None:
    """One meter: SNRM, AARQ, then GET the energy register until cancelled."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(snrm())
    await read_frame(reader)
    writer.write(i_frame(0, 0, aarq_bytes(PASSWORD)))
    aare = await read_frame(reader)
    if b"\xa2\x03\x02\x01\x00" not in aare:  # result: accepted
        raise RuntimeError(f"association refused by meter {index}")
    counts[1] += 1
    expected = b"\xc4\x01\xc1\x00" + DoubleLongUnsigned(energy_of(index)).to_bytes()
    await get_loop(reader, writer, expected, counts, ready, f"meter {index}")


async def lean_clients(work: list[tuple[int, int]], seconds: float, barrier: Any) -> tuple[int, int]:
    counts = [0, 0]  # GETs, associations
    ready = asyncio.Event()
    tasks = [asyncio.create_task(lean_meter(port, idx, ready, counts)) for port, idx in work]
    while counts[1] < len(work):
        failed = [t for t in tasks if t.done()]
        if failed:
            failed[0].result()
        await asyncio.sleep(0.01)
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    ready.set()
    await asyncio.sleep(seconds)
    gets = counts[0]
    for task in tasks:
        if task.done():
            task.result()  # surface a failed meter
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return gets, counts[1]


def client_process(
    mode: str, work: list[tuple[int, int]], seconds: float, barrier: Any, results: Any
) -> None:
    if mode == "lean":
        gets, assocs = asyncio.run(lean_clients(work, seconds, barrier))
    else:
        gets, assocs = threaded_dlms_cosem_clients(work, seconds, barrier)
    results.put((gets, assocs))


# -- dlms-cosem client ------------------------------------------------------------------------------


def threaded_dlms_cosem_clients(work: list[tuple[int, int]], seconds: float, barrier: Any) -> tuple[int, int]:
    def right(index: int) -> Callable[[object], bool]:
        return lambda value: value == energy_of(index)

    targets = [(f"meter {index}", port, PASSWORD, right(index)) for port, index in work]
    return threaded_driver_reads(targets, seconds, barrier)


# -- orchestration ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--client", choices=["lean", "dlms-cosem"], default="lean")
    parser.add_argument("--client-procs", type=int, default=1)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.devices))
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--devices", str(args.devices)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        info = json.loads(server.stdout.readline())
        ports: list[int] = info["ports"]
        idle_rss = rss_kib(server.pid)
        work = [(port, i) for i, port in enumerate(ports)]
        slices = [work[i :: args.client_procs] for i in range(args.client_procs)]
        barrier = multiprocessing.Barrier(args.client_procs + 1)
        results: Any = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(
                target=client_process, args=(args.client, s, args.seconds, barrier, results)
            )
            for s in slices
        ]
        t0 = time.monotonic()
        for p in procs:
            p.start()
        barrier.wait()  # all client processes started; associations are in flight
        time.sleep(min(1.0, args.seconds / 2))
        busy_rss = rss_kib(server.pid)
        cpu0 = cpu_seconds(server.pid)
        gets = assocs = 0
        for _ in procs:
            g, a = results.get(timeout=args.seconds + 120)
            gets += g
            assocs += a
        cpu1 = cpu_seconds(server.pid)
        for p in procs:
            p.join()
        wall = time.monotonic() - t0
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)

    baseline = info["baseline_rss_kib"]
    report = {
        "devices": args.devices,
        "client": args.client,
        "client_processes": args.client_procs,
        "seconds": args.seconds,
        "associations": assocs,
        "gets": gets,
        "gets_per_second": round(gets / args.seconds),
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / max(args.seconds, 1e-9)),
        "server_rss_baseline_mib": round(baseline / 1024, 1),
        "server_rss_idle_mib": round(idle_rss / 1024, 1),
        "server_rss_busy_mib": round(busy_rss / 1024, 1),
        "server_rss_per_device_idle_kib": round((idle_rss - baseline) / args.devices, 1),
        "server_rss_per_device_busy_kib": round((busy_rss - baseline) / args.devices, 1),
        "wall_seconds": round(wall, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
