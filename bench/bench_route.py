"""Benchmark of the service route: SRV round trips through route + CH + meter, and the harness's share.

Not a pytest test.  Run from the repository root::

    .venv/bin/python bench/bench_route.py              # 2000 round trips per measurement
    .venv/bin/python bench/bench_route.py --n 5000

The virtual route runs in a background event loop (as in ``dmct lab up``) with zero injected HAN/WAN
latency. Measured, one request in flight at a time, on 127.0.0.1:

* ``harness``  — :class:`device_drivers.route.VirtualServiceRoute.submit`: sign with the User's key,
  frame, pyserial ``socket://`` link, route (DSP/DCO checks, CH, meter), S1SP signature verified.
* ``raw``      — the same signed request frames, pre-built, sent on a plain socket; the answer frame
  is read but not verified: the route's and models' cost without the harness's.
* ``echo``     — a raw socket echo server on the same loop returning the same bytes: the transport floor.

Harness-side overhead per request = harness − raw.  Run for SRV 4.1.1 (non-critical read) and SRV 7.2
(critical: the DCO gate verifies the User's ECDSA signature and the meter checks the S1SP credential).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from device_drivers.protocols.service_route import encode_frame  # noqa: E402
from device_drivers.route import VirtualServiceRoute  # noqa: E402
from labs.virtual.clock import SimClock  # noqa: E402
from labs.virtual.devices import CommsHub, Esme, build_device, load_catalogue  # noqa: E402
from labs.virtual.s1sp import RouteInstallation, ServiceConfig, build_service, serve_route  # noqa: E402


class Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return bytes(out)


def _read_frame(sock: socket.socket) -> bytes:
    head = _recv_exact(sock, 8)
    length = struct.unpack(">I", head[4:8])[0]
    body = _recv_exact(sock, length + 4)
    if b'"type":"alert"' in body[:length]:
        return _read_frame(sock)
    return head + body


def timed(n: int, fn: Callable[[int], object]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def summary(name: str, samples: list[float]) -> dict[str, float]:
    mean = statistics.fmean(samples)
    p50 = statistics.median(samples)
    p99 = sorted(samples)[int(len(samples) * 0.99) - 1]
    rate = f"{1 / mean:9.0f} req/s"
    print(
        f"  {name:<8} {rate}   mean {mean * 1e6:8.1f} us   p50 {p50 * 1e6:8.1f} us   p99 {p99 * 1e6:8.1f} us"
    )
    return {"mean": mean, "p50": p50}


def bench_srv(srv: str, n: int, route: VirtualServiceRoute, device: str, port: int, echo_port: int) -> None:
    print(f"SRV {srv} on the ESME ({'critical' if srv == '7.2' else 'non-critical'}):")
    for _ in range(50):  # warm-up
        route.submit(srv, device, user="supplier")
    harness = timed(n, lambda i: route.submit(srv, device, user="supplier"))
    frames = [encode_frame(route.client.request_message(srv, device, {}, user="supplier")) for _ in range(n)]
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def raw_rt(i: int) -> None:
        raw.sendall(frames[i])
        answer = _read_frame(raw)
        assert b'"code":"I0"' in answer, answer[:200]

    raw_samples = timed(n, raw_rt)
    echo = socket.create_connection(("127.0.0.1", echo_port))
    echo.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def echo_rt(i: int) -> None:
        echo.sendall(frames[i])
        _recv_exact(echo, len(frames[i]))

    echo_samples = timed(n, echo_rt)
    h = summary("harness", harness)
    r = summary("raw", raw_samples)
    e = summary("echo", echo_samples)
    overhead = (h["p50"] - r["p50"]) * 1e6
    print(f"  harness-side overhead per request (p50): {overhead:.1f} us (sign, frame, pyserial, verify)")
    print(f"  route + CH + meter per request over the echo floor (p50): {(r['p50'] - e['p50']) * 1e6:.1f} us")
    print(f"  request frame {len(frames[0])} bytes")
    raw.close()
    echo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    n = args.n
    keys_dir = Path(tempfile.mkdtemp(prefix="bench-route-keys-"))
    clock = SimClock(rate=1.0)
    cat = load_catalogue()
    ch = build_device(cat.model("VCH-100"), "2.1.0", (), clock, serial="B-CH")
    esme = build_device(cat.model("VESME-1P"), "1.4.2", (), clock, serial="B-ESME")
    assert isinstance(ch, CommsHub) and isinstance(esme, Esme)
    inst = RouteInstallation("rig-1", ch, esme, commissioned=True)
    loop = Loop()

    async def start() -> tuple[Any, int, int]:
        service = build_service(
            [inst], clock=clock, keys_dir=keys_dir, config=ServiceConfig(han_latency_s=0.0, wan_latency_s=0.0)
        )
        server = await serve_route(service)

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                writer.write(data)

        echo_server = await asyncio.start_server(echo, "127.0.0.1", 0)
        return service, server.sockets[0].getsockname()[1], echo_server.sockets[0].getsockname()[1]

    service, port, echo_port = loop.run(start())
    route = VirtualServiceRoute(f"socket://127.0.0.1:{port}", keys_dir, timeout=5.0, poll_s=0.05).open()
    print(f"service route benchmark: {n} round trips each, zero injected latency, loopback")
    for srv in ("4.1.1", "7.2"):
        bench_srv(srv, n, route, esme.device_id, port, echo_port)
    route.link._lost()  # skip pyserial's 0.3 s close sleep
    print(f"route handled {service.handled} messages")


if __name__ == "__main__":
    main()
