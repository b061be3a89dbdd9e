"""Benchmark: opening and closing a ``socket://`` link, pyserial's own close against :func:`close_port`.

Not a pytest test. Run from the repository root::

    .venv/bin/python bench/bench_link_close.py [--cycles 20]

pyserial 3.5's ``socket://`` ``close()`` sleeps 0.3 s after closing the socket "in case of quick
reconnects"; ``device_drivers.links.close_port`` closes the socket the same way without the pause
(issue 21, item 4). Both are timed side by side, interleaved, against one loopback TCP echo server,
for the three link users: ``Link`` (IHD/route byte streams), ``UrlSerialIO`` (DLMS optical) and the
Modbus RTU-over-socket client (instruments). Each cycle opens the port, writes and reads back 8
bytes (so the far end has really seen the connection), and closes it. Each reconnect after a fast close
is checked to work (the echo must come back), which is what the pause was meant to protect.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import serial  # noqa: E402

from device_drivers.links import close_port  # noqa: E402


def echo_server() -> tuple[str, threading.Event]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"socket://127.0.0.1:{srv.getsockname()[1]}", stop


def cycle(url: str, close: Callable[[Any], None]) -> float:
    start = time.perf_counter()
    port = serial.serial_for_url(url, timeout=2.0)
    port.write(b"ping1234")
    assert port.read(8) == b"ping1234", "the reconnect after a fast close did not work"
    close(port)
    assert not port.is_open
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=20)
    args = ap.parse_args()
    url, _ = echo_server()
    ways: dict[str, Callable[[Any], None]] = {
        "pyserial close()": lambda port: port.close(),
        "close_port": close_port,
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.cycles):  # interleaved, so load changes hit both alike
        for name, close in ways.items():
            times[name].append(cycle(url, close))
    print(f"open + 8-byte echo + close of a socket:// link, {args.cycles} cycles each (interleaved)")
    print(f"{'close':<18}{'min ms':>10}{'median ms':>12}{'max ms':>10}")
    for name, ts in times.items():
        ms = [t * 1000 for t in ts]
        print(f"{name:<18}{min(ms):>10.1f}{statistics.median(ms):>12.1f}{max(ms):>10.1f}")


if __name__ == "__main__":
    main()
