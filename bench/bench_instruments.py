"""Benchmark (not a test): Modbus request rate against one process serving 100 rigs' instrument banks.

Why: ``dmct lab up --rigs 100`` serves every rig's instrument bank from one asyncio process, alongside
the device simulators; this measures what that process sustains on loopback and what a bank costs in
memory. The server runs in a child process (so the clients do not share its GIL); client processes
drive the real driver (:class:`device_drivers.protocols.modbus.Instruments`) round-robin over all rigs,
mixing reads of the live measured power (which calls into the plant) with setpoint writes.

    .venv/bin/python bench/bench_instruments.py [--rigs 100] [--clients 4] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _serve(rigs: int) -> None:
    from labs.virtual.instruments import FakePlant, serve_banks

    before = _rss_kib(os.getpid())
    banks = await serve_banks({f"rig-{i}": FakePlant() for i in range(rigs)})
    after = _rss_kib(os.getpid())
    print(json.dumps({"ports": [b.port for b in banks.values()], "rss_before": before, "rss_after": after}))
    sys.stdout.flush()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


def _client(ports: list[int], seconds: float, offset: int, out: mp.Queue[tuple[int, int]]) -> None:
    from device_drivers.protocols.modbus import Instruments

    drivers = [Instruments(f"tcp://127.0.0.1:{p}", timeout=2.0) for p in ports]
    done = errors = 0
    deadline = time.perf_counter() + seconds
    i = offset
    while time.perf_counter() < deadline:
        ins = drivers[i % len(drivers)]
        try:
            if i % 4 == 0:
                ins.set_load(float(i % 5000))
            else:
                ins.measured_power()
            done += 1
        except Exception:
            errors += 1
        i += 1
    for ins in drivers:
        ins.close()
    out.put((done, errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rigs", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.rigs)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        ports: list[int] = ready["ports"]
        queue: mp.Queue[tuple[int, int]] = mp.Queue()
        workers = [
            mp.Process(target=_client, args=(ports, args.seconds, k * 7, queue)) for k in range(args.clients)
        ]
        start = time.perf_counter()
        for w in workers:
            w.start()
        results = [queue.get() for _ in workers]
        elapsed = time.perf_counter() - start
        for w in workers:
            w.join()
        rss_loaded = _rss_kib(server.pid)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    per_rig = (ready["rss_after"] - ready["rss_before"]) / args.rigs
    print(
        f"instrument banks: {args.rigs} rigs in one process, {args.clients} client processes, "
        f"{elapsed:.1f} s\n"
        f"  requests: {done} ok, {errors} errors -> {done / elapsed:,.0f} Modbus requests/s aggregate "
        f"(25% writes, 75% reads of live measured power)\n"
        f"  server RSS: {ready['rss_before'] / 1024:.1f} MiB idle -> {ready['rss_after'] / 1024:.1f} MiB "
        f"with banks ({per_rig:.0f} KiB per rig) -> {rss_loaded / 1024:.1f} MiB under load"
    )


if __name__ == "__main__":
    main()
