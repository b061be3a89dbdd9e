"""Benchmark of the simulator's clock: the polling clock against the event-driven one, side by side.

Not a pytest test.  Run from the repository root::

    .venv/bin/python bench/bench_clock.py                      # both clocks, 100 and 1,400 rigs
    .venv/bin/python bench/bench_clock.py --clocks events --big-rigs 400 --seconds 5

For each clock (``poll``: every model advanced every second and the route's housekeeping pass every
10 ms, as before issue 21; ``events``: one timer heap, each device woken when its next event is due,
``labs/virtual/scheduler.py``) it starts ``labs/virtual.yaml``'s standard rig as a real lab process
(``serve_lab``, as ``dmct lab up --rigs N`` does, with the clock chosen) and measures:

1. **idle CPU** of a ``--small-rigs`` (100) lab: the lab process's CPU time over ``--seconds`` with no
   client, as % of one core;
2. **start-up** of a ``--big-rigs`` (1,400) lab: from spawning the process to its readiness line;
3. **DLMS GET latency** on that lab under a paced load of ``--rate`` (2,000) GET/s spread over one
   meter per rig (each ESME's ``dlms`` port, associated as the LLS management client first): every
   meter GETs the energy register on its own fixed schedule (open loop, phases staggered), each answer
   checked; latency is request written → answer read, p50/p99/max over ``--seconds``. The lab's idle
   CPU at that size is reported too.

Goals (issue 21): idle CPU of a 100-rig lab < 2 % of a core; DLMS p99 at 2,000 GET/s over 1,400 rigs
< 10 ms. The load clients run in ``--client-procs`` processes so the client's own loop does not add
much to the latency it measures; on a shared machine, run it quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# A ``--serve`` process for ``--baseline``: the lab of that tree (a temporary worktree of the revision),
# imported ahead of this one.
TREE = os.environ.get("DMCT_BENCH_TREE")
if TREE:
    sys.path.insert(0, TREE)

from bench_lab import GET_OK, LAB, LabProcess, Meter, associate  # noqa: E402
from lean_dlms import GET_ENERGY, cpu_seconds, i_frame, read_frame  # noqa: E402

CLOCKS = ("poll", "events")


# -- the lab process, with the clock chosen ------------------------------------------------------------
def one_rig_lab(workdir: Path, tree: Path = REPO) -> Path:
    """``labs/virtual.yaml`` (of ``tree``: a baseline's own lab file, its schema may differ) with its
    first standard rig only (``rig-1``: CH, ESME, GSME, instruments) and the entry it serves, so ``N``
    rigs here means N rigs (3 N devices)."""
    import yaml

    data = yaml.safe_load((tree / LAB.relative_to(REPO)).read_text())
    rig = next(r for r in data["rigs"] if not r.get("prepared_for"))
    data["rigs"] = [rig]
    data["entries"] = [e for e in data["entries"] if e["id"] in rig.get("entries", [])]
    path = workdir / f"one-rig-lab-{abs(hash(str(tree)))}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class ClockLab(LabProcess):
    """``serve_lab`` in a subprocess (this script's ``--serve`` mode), stopped by closing its stdin."""

    def __init__(self, rigs: int, workdir: Path, clock: str, tree: Path = REPO, gc_mode: str = "lab") -> None:
        self.endpoints_file = workdir / f"clock-{clock}-{rigs}.endpoints.json"
        lab = one_rig_lab(workdir, tree)
        command = [sys.executable, __file__, "--serve", clock, str(lab), str(rigs), str(self.endpoints_file)]
        if tree != REPO:
            os.environ["DMCT_BENCH_TREE"] = str(tree)
        os.environ["DMCT_BENCH_GC"] = gc_mode
        try:
            self._start(command)
        finally:
            os.environ.pop("DMCT_BENCH_TREE", None)
            os.environ.pop("DMCT_BENCH_GC", None)


def serve(clock: str, lab_file: str, rigs: str, endpoints: str) -> None:
    from harness.lab.inventory import load_lab
    from labs.virtual.process import serve_lab

    _raise_fd_limit()
    if os.environ.get("DMCT_BENCH_GC") == "nofreeze":
        # The lab's start-up objects left in the collector's generations (serve_lab freezes them):
        # for comparing the pauses of full collections with and without.
        import gc

        gc.freeze = lambda: None
    _time_loop_callbacks(Path(endpoints).with_suffix(".loop.json"))
    mode: Any = clock  # "poll" or "events", checked by main()
    lab = load_lab(Path(lab_file))
    asyncio.run(serve_lab(lab, Path(endpoints), watch_stdin=True, rigs=int(rigs), clock=mode))


def _time_loop_callbacks(out: Path) -> None:
    """How long each event-loop callback holds the loop, in *thread CPU time* (so a machine shared with
    other work does not inflate it): between SIGUSR1 (start) and SIGUSR2 (stop, write ``out``). This
    is the figure the clock controls — a polling pass over 1,400 rigs is one long callback; the
    request latency a client sees adds queueing behind such callbacks and, on a busy machine, time
    the process was not scheduled at all."""
    import signal
    from asyncio import events

    durations: list[float] = []
    slowest: list[tuple[float, str]] = []  # the callbacks over 1 ms, for finding what blocks the loop
    recording = [False]
    run = events.Handle._run

    def timed(handle: events.Handle) -> None:
        if not recording[0]:
            run(handle)
            return
        t0 = time.thread_time()
        run(handle)
        spent = time.thread_time() - t0
        durations.append(spent)
        if spent > 0.001 and len(slowest) < 200:
            slowest.append((spent * 1000, repr(handle)[:160]))

    gc_report: list[list[tuple[int, float]]] = [[]]

    def start(*_: object) -> None:
        durations.clear()
        slowest.clear()
        gc_report[0].clear()
        recording[0] = True

    def stop(*_: object) -> None:
        recording[0] = False
        ms = sorted(d * 1000 for d in durations) or [0.0]
        out.write_text(
            json.dumps(
                {
                    "callbacks": len(durations),
                    "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
                    "p999_ms": ms[min(len(ms) - 1, int(0.999 * len(ms)))],
                    "max_ms": ms[-1],
                    "over_1ms": sum(1 for d in ms if d > 1.0),
                    "slowest": sorted(slowest, reverse=True)[:8],
                    "gc_runs": [sum(1 for g, _ in gc_report[0] if g == n) for n in range(3)],
                    "gc_max_ms": [max((t for g, t in gc_report[0] if g == n), default=0.0) for n in range(3)],
                }
            )
        )

    import gc

    collections: list[tuple[int, float]] = []  # (generation, CPU ms) of the collector's runs
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if not recording[0]:
            return
        if phase == "start":
            gc_started[0] = time.thread_time()
        else:
            collections.append((info["generation"], (time.thread_time() - gc_started[0]) * 1000))

    gc.callbacks.append(on_gc)
    gc_report[0] = collections
    events.Handle._run = timed  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def loop_window(lab: ClockLab, seconds: float) -> tuple[float, dict[str, Any]]:
    """Idle CPU % of a core over ``seconds``, and the loop-callback figures of the same window."""
    out = lab.endpoints_file.with_suffix(".loop.json")
    out.unlink(missing_ok=True)
    lab.proc.send_signal(signal.SIGUSR1)
    cpu = idle_cpu_percent(lab.pid, seconds)
    lab.proc.send_signal(signal.SIGUSR2)
    for _ in range(100):
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.05)
    return cpu, json.loads(out.read_text())


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def idle_cpu_percent(pid: int, seconds: float) -> float:
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)


# -- the paced load ------------------------------------------------------------------------------------
async def paced_meter(
    meter: Meter,
    interval: float,
    phase: float,
    start: asyncio.Event,
    window: list[float],
    out: list[float],
    associated: list[int],
) -> None:
    """Associate, then GET once every ``interval`` seconds from ``phase`` on, recording latencies."""
    name = meter[0]
    reader, writer = await associate(meter)
    try:
        associated[0] += 1
        frames = [i_frame(k, k, GET_ENERGY) for k in range(8)]
        await start.wait()
        loop = asyncio.get_running_loop()
        due = window[1] + phase
        k = 1
        while due < window[0]:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            writer.write(frames[k & 7])
            frame = await read_frame(reader)
            out.append(time.perf_counter() - sent)
            if GET_OK not in frame:
                raise RuntimeError(f"{name}: unexpected answer {frame.hex()}")
            k += 1
            due += interval
    finally:
        writer.close()


async def paced_clients(meters: list[Meter], rate: float, seconds: float, barrier: Any) -> list[float]:
    """Every meter at ``rate / len(all meters)`` GET/s, phases spread at random; returns latencies (s)."""
    interval = barrier.total_meters / rate
    phases = random.Random(barrier.offset)
    start = asyncio.Event()
    window = [0.0, 0.0]  # stop, start (loop time)
    latencies: list[float] = []
    associated = [0]
    tasks = [
        asyncio.create_task(
            paced_meter(m, interval, interval * phases.random(), start, window, latencies, associated)
        )
        for m in meters
    ]
    while associated[0] < len(meters):
        for task in tasks:
            if task.done():
                task.result()  # a meter that could not associate
        await asyncio.sleep(0.01)
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    loop = asyncio.get_running_loop()
    window[1] = loop.time() + 0.2
    window[0] = window[1] + seconds
    start.set()
    await asyncio.gather(*tasks)
    return latencies


class _Barrier:
    """A multiprocessing barrier plus where this client's meters sit among all (for the phases)."""

    def __init__(self, barrier: Any, total_meters: int, offset: int) -> None:
        self.barrier, self.total_meters, self.offset = barrier, total_meters, offset

    def wait(self) -> None:
        self.barrier.wait(timeout=300)


def client_process(
    meters: list[Meter], rate: float, seconds: float, barrier: Any, total: int, offset: int, results: Any
) -> None:
    try:
        _raise_fd_limit()
        results.put(asyncio.run(paced_clients(meters, rate, seconds, _Barrier(barrier, total, offset))))
    except BaseException as exc:
        barrier.abort()
        results.put(repr(exc))


def paced_run(lab: ClockLab, rate: float, seconds: float, procs: int) -> dict[str, Any]:
    meters = [m for m in lab.meters() if m[0].endswith("/esme")]  # one meter per rig
    slices = [meters[i::procs] for i in range(procs)]
    barrier = multiprocessing.Barrier(procs + 1)
    results: Any = multiprocessing.Queue()
    workers = []
    offset = 0
    for part in slices:
        workers.append(
            multiprocessing.Process(
                target=client_process, args=(part, rate, seconds, barrier, len(meters), offset, results)
            )
        )
        offset += len(part)
    for worker in workers:
        worker.start()
    barrier.wait(timeout=300)  # every meter associated
    lab.proc.send_signal(signal.SIGUSR1)  # the loop figures cover the paced GETs, not the associations
    cpu0, t0 = cpu_seconds(lab.pid), time.monotonic()
    latencies: list[float] = []
    for _ in workers:
        answer = results.get(timeout=seconds + 300)
        if isinstance(answer, str):
            raise RuntimeError(f"paced client failed: {answer}")
        latencies += answer
    cpu1, t1 = cpu_seconds(lab.pid), time.monotonic()
    for worker in workers:
        worker.join()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return {
        "meters": len(meters),
        "gets": len(ms),
        "gets_per_s": len(ms) / seconds,
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
        "max_ms": ms[-1],
        "lab_cpu_percent": 100 * (cpu1 - cpu0) / (t1 - t0),
    }


# -- report ----------------------------------------------------------------------------------------------
def measure_idle(
    clock: str, args: argparse.Namespace, workdir: Path, tree: Path, gc_mode: str = "lab"
) -> float:
    """One idle-CPU window of a ``--small-rigs`` lab (for the interleaved ``--repeat`` runs)."""
    small = ClockLab(args.small_rigs, workdir, clock, tree, gc_mode)
    try:
        time.sleep(args.settle)
        return idle_cpu_percent(small.pid, args.seconds)
    finally:
        small.stop()


def measure(
    clock: str, args: argparse.Namespace, workdir: Path, tree: Path = REPO, gc_mode: str = "lab"
) -> dict[str, Any]:
    figures: dict[str, Any] = {"clock": clock, "gc": gc_mode}
    small = ClockLab(args.small_rigs, workdir, clock, tree, gc_mode)
    try:
        time.sleep(args.settle)
        figures["small_startup_s"] = small.startup_s
        figures["small_idle_cpu_percent"], figures["small_idle_loop"] = loop_window(small, args.seconds)
    finally:
        small.stop()
    if args.big_rigs <= 0:
        return figures
    big = ClockLab(args.big_rigs, workdir, clock, tree, gc_mode)
    try:
        figures["big_startup_s"] = big.startup_s
        time.sleep(args.settle)
        figures["big_idle_cpu_percent"], figures["big_idle_loop"] = loop_window(big, args.seconds)
        figures["load"] = paced_run(big, args.rate, args.seconds, args.client_procs)
        big.proc.send_signal(signal.SIGUSR2)
        time.sleep(0.5)
        figures["load_loop"] = json.loads(big.endpoints_file.with_suffix(".loop.json").read_text())
    finally:
        big.stop()
    return figures


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clocks", default="poll,events", help="comma-separated: poll, events")
    parser.add_argument("--small-rigs", type=int, default=100)
    parser.add_argument("--big-rigs", type=int, default=1400)
    parser.add_argument("--rate", type=float, default=2000.0, help="GET/s over all meters of the big lab")
    parser.add_argument("--seconds", type=float, default=10.0, help="each measurement window")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after readiness before measuring")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run the lab of this git revision (a temporary worktree), as one more column per clock",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="idle-CPU windows of the small lab per column, interleaved (min and median reported)",
    )
    parser.add_argument(
        "--gc",
        default="lab",
        help="comma-separated: lab (the lab's own collector settings: start-up frozen) and/or nofreeze "
        "(gc.freeze() made a no-op in the lab process), one column each",
    )
    args = parser.parse_args()
    gc_modes = [g for g in args.gc.split(",") if g]
    if not set(gc_modes) <= {"lab", "nofreeze"}:
        parser.error("--gc takes lab and/or nofreeze")
    clocks = [c for c in args.clocks.split(",") if c]
    if not set(clocks) <= set(CLOCKS):
        parser.error("--clocks takes poll and/or events")

    with tempfile.TemporaryDirectory(prefix="bench-clock-") as tmp:
        trees = {"": REPO}
        if args.baseline:
            base = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(base), args.baseline], cwd=REPO, check=True
            )
            trees[f"@{args.baseline[:7]}"] = base
        try:
            columns = [
                (clock, label, tree, gc_mode)
                for clock in clocks
                for label, tree in trees.items()
                for gc_mode in gc_modes
            ]
            results = [measure(clock, args, Path(tmp), tree, gc_mode) for clock, _, tree, gc_mode in columns]
            idle: list[list[float]] = [[r["small_idle_cpu_percent"]] for r in results]
            for _ in range(args.repeat - 1):  # interleaved: noise hits every column alike
                for k, (clock, _, tree, gc_mode) in enumerate(columns):
                    idle[k].append(measure_idle(clock, args, Path(tmp), tree, gc_mode))
            for r, windows in zip(results, idle, strict=True):
                r["small_idle_cpu_percent"] = statistics.median(windows)
                r["small_idle_cpu_percent_min"] = min(windows)
                r["small_idle_cpu_windows"] = windows
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, check=False)
        clocks = [f"{clock}{label}{'' if g == 'lab' else '+' + g}" for clock, label, _, g in columns]

    print(
        f"simulator clock benchmark: {args.small_rigs} and {args.big_rigs} rigs, {args.rate:g} GET/s paced, "
        f"{args.seconds:g} s windows"
    )
    rows = [
        (
            f"idle CPU, {args.small_rigs} rigs (% of a core, median)",
            "small_idle_cpu_percent",
            "{:.2f}",
            "< 2",
        ),
        (f"idle CPU, {args.small_rigs} rigs (% of a core, min)", "small_idle_cpu_percent_min", "{:.2f}", ""),
        (f"start-up, {args.big_rigs} rigs (s)", "big_startup_s", "{:.1f}", ""),
        (f"idle CPU, {args.big_rigs} rigs (% of a core)", "big_idle_cpu_percent", "{:.1f}", ""),
        (f"DLMS GET/s achieved, {args.big_rigs} rigs", "load.gets_per_s", "{:.0f}", f"{args.rate:g}"),
        ("DLMS GET p50 (ms)", "load.p50_ms", "{:.2f}", ""),
        ("DLMS GET p99 (ms)", "load.p99_ms", "{:.2f}", "< 10"),
        ("DLMS GET max (ms)", "load.max_ms", "{:.1f}", ""),
        ("lab CPU under load (% of a core)", "load.lab_cpu_percent", "{:.0f}", ""),
        (
            f"longest loop callback, idle {args.small_rigs} rigs (CPU ms)",
            "small_idle_loop.max_ms",
            "{:.2f}",
            "",
        ),
        (
            f"longest loop callback, idle {args.big_rigs} rigs (CPU ms)",
            "big_idle_loop.max_ms",
            "{:.2f}",
            "< 1",
        ),
        ("loop callbacks > 1 ms, idle big lab", "big_idle_loop.over_1ms", "{:d}", "0"),
        ("longest loop callback under load (CPU ms)", "load_loop.max_ms", "{:.2f}", ""),
        ("loop callback p99.9 under load (CPU ms)", "load_loop.p999_ms", "{:.3f}", ""),
    ]

    def value(figures: dict[str, Any], path: str) -> Any:
        for part in path.split("."):
            figures = figures[part]
        return figures

    width = max(len(r[0]) for r in rows)
    print(f"  {'':<{width}}  " + "".join(f"{c:>16}" for c in clocks) + f"  {'goal':>8}")
    for label, path, fmt, goal in rows:
        if args.big_rigs <= 0 and not path.startswith("small_"):
            continue
        cells = "".join(f"{fmt.format(value(r, path)):>16}" for r in results)
        print(f"  {label:<{width}}  {cells}  {goal:>8}")
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
