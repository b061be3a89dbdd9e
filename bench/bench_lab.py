"""Benchmark of a whole virtual lab: ``dmct lab up labs/virtual.yaml --rigs 100`` under DLMS load.

Not a pytest test.  Run from the repository root::

    .venv/bin/python bench/bench_lab.py                       # 100 rigs, both clients, 10 s each
    .venv/bin/python bench/bench_lab.py --rigs 20 --seconds 5 --clients lean

What it measures, against one real lab process (300 devices, 100 Modbus banks and the service route):

1. **startup**: from spawning ``dmct lab up`` to its readiness line;
2. **memory**: the lab's VmRSS after start and after each load run; memory per rig is the difference
   to a one-rig lab's RSS, divided by the extra rigs;
3. **DLMS throughput**: every ESME and GSME ``dlms`` endpoint (200 meters) is associated as the LLS
   management client (password from the lab file), then client processes GET the energy register
   1.0.1.8.0.255 attribute 2 in a loop for ``--seconds``; every answer is checked and the successful
   GETs per second are summed.  Two client kinds:

   * ``driver`` — the project's :class:`device_drivers.protocols.dlms.DlmsOpticalClient` (dlms-cosem),
     one thread per meter: the harness's real code path, bound by the clients' own CPU;
   * ``lean`` — pre-built HDLC I-frames over asyncio, replies checked with :mod:`labs.virtual.hdlc`:
     cheap on the client side, so its figure is **the lab server's** throughput.

The lab process's CPU share during each run is printed too (100 % = one core: it is one asyncio loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from driver_load import threaded_driver_reads  # noqa: E402
from lean_dlms import aarq_bytes, cpu_seconds, get_loop, i_frame, read_frame, rss_kib, snrm  # noqa: E402

LAB = REPO / "labs" / "virtual.yaml"
#: GET-Response-Normal, invoke-id 1, Data, double-long-unsigned.
GET_OK = bytes.fromhex("c401c10006")

Meter = tuple[str, int, bytes]  # name, port, LLS password


def standard_lab(workdir: Path) -> Path:
    """``labs/virtual.yaml`` with its standard rig only (the rigs prepared for negative paths would
    skew the per-rig figures): ``--rigs N`` then means N rigs."""
    import yaml

    data = yaml.safe_load(LAB.read_text())
    data["rigs"] = [r for r in data["rigs"] if not r.get("prepared_for")]
    path = workdir / "standard-lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- the lab process -------------------------------------------------------------------------------------
class LabProcess:
    """``dmct lab up`` as a subprocess, stopped by closing its stdin (``--exit-with-stdin``)."""

    def __init__(self, rigs: int, workdir: Path) -> None:
        self.endpoints_file = workdir / f"bench-{rigs}.endpoints.json"
        lab = standard_lab(workdir)
        command = [sys.executable, "-m", "harness.cli", "lab", "up", str(lab), "--rigs", str(rigs)]
        command += ["--endpoints", str(self.endpoints_file), "--exit-with-stdin"]
        self._start(command)

    def _start(self, command: list[str]) -> None:
        """Run ``command`` (a lab server), wait for its ready line, and read the endpoints it published
        to ``self.endpoints_file``; ``startup_s`` is the time to ready."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        self.startup_s = time.monotonic() - t0
        if not line.startswith("dmct lab: ready"):
            self.stop()
            raise RuntimeError(f"lab failed to start: {line!r}")
        self.ready_line = line.strip()
        self.published: dict[str, Any] = json.loads(self.endpoints_file.read_text())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def meters(self) -> list[Meter]:
        """Every ``dlms`` link of the (expanded) lab file, with its served port and LLS password."""
        import yaml

        lab_file = Path(self.published.get("lab_file") or standard_lab(self.endpoints_file.parent))
        data = yaml.safe_load(lab_file.read_text())
        out: list[Meter] = []
        for rig in data["rigs"]:
            for device in rig["devices"]:
                link = device.get("links", {}).get("dlms")
                if link is None:
                    continue
                served = self.published["endpoints"][link["url"]]
                port = int(served.rsplit(":", 1)[1])
                out.append((f"{rig['id']}/{device['role']}", port, str(link.get("password", "")).encode()))
        return out

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- lean client -------------------------------------------------------------------------------------------
async def associate(meter: Meter) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``meter``'s DLMS port, SNRM and AARQ (LLS); the connection, closed again if refused."""
    name, port, password = meter
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(snrm())
        await read_frame(reader)
        writer.write(i_frame(0, 0, aarq_bytes(password)))
        if b"\xa2\x03\x02\x01\x00" not in await read_frame(reader):  # association-result accepted
            raise RuntimeError(f"{name}: association refused")
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def lean_meter(meter: Meter, ready: asyncio.Event, counts: list[int]) -> None:
    """SNRM, AARQ (LLS), then GET the energy register until cancelled; every answer checked."""
    reader, writer = await associate(meter)
    counts[1] += 1
    await get_loop(reader, writer, GET_OK, counts, ready, meter[0])


async def lean_clients(meters: list[Meter], seconds: float, barrier: Any) -> tuple[int, int]:
    counts = [0, 0]  # GETs, associations
    ready = asyncio.Event()
    tasks = [asyncio.create_task(lean_meter(m, ready, counts)) for m in meters]
    while counts[1] < len(meters):
        for task in tasks:
            if task.done():
                task.result()
        await asyncio.sleep(0.01)
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    ready.set()
    await asyncio.sleep(seconds)
    gets = counts[0]
    for task in tasks:
        if task.done():
            task.result()  # a meter that failed during the run
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return gets, counts[1]


# -- the project's driver client ----------------------------------------------------------------------------
def driver_clients(meters: list[Meter], seconds: float, barrier: Any) -> tuple[int, int]:
    targets = [(name, port, password, lambda v: isinstance(v, int)) for name, port, password in meters]
    return threaded_driver_reads(targets, seconds, barrier)


def client_process(kind: str, meters: list[Meter], seconds: float, barrier: Any, results: Any) -> None:
    try:
        if kind == "lean":
            results.put(asyncio.run(lean_clients(meters, seconds, barrier)))
        else:
            results.put(driver_clients(meters, seconds, barrier))
    except BaseException as exc:
        barrier.abort()
        results.put(repr(exc))


def load_run(lab: LabProcess, kind: str, seconds: float, procs: int) -> dict[str, Any]:
    meters = lab.meters()
    slices = [meters[i::procs] for i in range(procs)]
    barrier = multiprocessing.Barrier(procs + 1)
    results: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=client_process, args=(kind, part, seconds, barrier, results))
        for part in slices
    ]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=120)  # every meter associated
    cpu0, t0 = cpu_seconds(lab.pid), time.monotonic()
    gets = assocs = 0
    for _ in workers:
        answer = results.get(timeout=seconds + 120)
        if isinstance(answer, str):
            raise RuntimeError(f"{kind} client failed: {answer}")
        gets, assocs = gets + answer[0], assocs + answer[1]
    cpu1, t1 = cpu_seconds(lab.pid), time.monotonic()
    for worker in workers:
        worker.join()
    return {
        "client": kind,
        "meters": len(meters),
        "associations": assocs,
        "gets": gets,
        "gets_per_s": gets / seconds,
        "lab_cpu_percent": 100 * (cpu1 - cpu0) / (t1 - t0),
        "rss_after_kib": rss_kib(lab.pid),
    }


# -- report ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rigs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--client-procs", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--clients", default="driver,lean", help="comma-separated: driver, lean")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args()
    kinds = [k for k in args.clients.split(",") if k]
    if not set(kinds) <= {"driver", "lean"}:
        parser.error("--clients takes driver and/or lean")

    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        one = LabProcess(1, Path(tmp))
        time.sleep(1.0)
        one_rss = rss_kib(one.pid)
        one.stop()

        lab = LabProcess(args.rigs, Path(tmp))
        try:
            time.sleep(1.0)  # settle: first tick of every model
            start_rss = rss_kib(lab.pid)
            runs = [load_run(lab, kind, args.seconds, args.client_procs) for kind in kinds]
        finally:
            lab.stop()

    per_rig = (start_rss - one_rss) / max(1, args.rigs - 1)
    figures: dict[str, Any] = {
        "rigs": args.rigs,
        "devices": 3 * args.rigs,
        "served": len(lab.published["endpoints"]),
        "startup_s": lab.startup_s,
        "rss_one_rig_mib": one_rss / 1024,
        "rss_after_start_mib": start_rss / 1024,
        "rss_per_rig_kib": per_rig,
        "client_processes": args.client_procs,
        "seconds": args.seconds,
        "runs": runs,
    }
    print(f"virtual lab benchmark: {args.rigs} rigs ({3 * args.rigs} devices), {os.cpu_count()} CPUs")
    print(f"  ready line            {lab.ready_line[:100]}")
    rows = [
        ("startup to readiness", f"{lab.startup_s:.2f} s", f"one-rig lab: {one.startup_s:.2f} s"),
        ("RSS, one-rig lab", f"{one_rss / 1024:.1f} MiB", ""),
        ("RSS after start", f"{start_rss / 1024:.1f} MiB", f"{len(lab.published['endpoints'])} endpoints"),
        ("memory per rig", f"{per_rig:.0f} KiB", "(RSS after start - one-rig RSS) / (rigs - 1)"),
    ]
    for run in runs:
        server = " <- the server's figure" if run["client"] == "lean" else " (client-bound)"
        rows.append(
            (
                f"DLMS GET/s, {run['client']} client",
                f"{run['gets_per_s']:.0f}",
                f"{run['meters']} meters, {args.client_procs} procs, lab CPU {run['lab_cpu_percent']:.0f} %"
                + server,
            )
        )
        loaded = (run["rss_after_kib"] - one_rss) / max(1, args.rigs - 1)
        rows.append(
            (
                f"RSS after {run['client']} load",
                f"{run['rss_after_kib'] / 1024:.1f} MiB",
                f"{loaded:.0f} KiB/rig",
            )
        )
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")
    if args.json:
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
