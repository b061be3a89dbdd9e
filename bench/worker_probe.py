"""Where an xdist worker's start-up goes (not a test; loaded by bench/bench_parallel.py with ``-p``).

With ``DMCT_PROBE_DIR`` set, every pytest process of the session (controller and workers) appends one
JSON line to ``$DMCT_PROBE_DIR/probe.jsonl`` at each of: configured, first test started (workers only:
a worker's start-up is everything before it: interpreter, imports, plugin configure, collection),
session finished, unconfigured. Each line has the CPU seconds of the process so far
(``time.process_time``), the wall seconds since the process started (``/proc/self/stat``) and the
time (``at``), so the processes' timelines line up. With ``DMCT_PROBE_PROFILE`` also set, each worker runs
under cProfile from this module's import (``-p`` plugins load before the entry-point plugins) to its
first test and dumps ``worker-<id>.prof`` there.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

_DIR = os.environ.get("DMCT_PROBE_DIR")
_profile: Any = None
if _DIR and os.environ.get("DMCT_PROBE_PROFILE") and os.environ.get("PYTEST_XDIST_WORKER"):
    import cProfile

    _profile = cProfile.Profile()
    _profile.enable()


def _since_start() -> float:
    """Wall seconds since this process started (field 22 of /proc/self/stat, in clock ticks)."""
    stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    started = int(stat[19]) / os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - started


def _write(event: str) -> None:
    if not _DIR:
        return
    line = {
        "event": event,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "controller"),
        "cpu_s": round(time.process_time(), 3),
        "wall_s": round(_since_start(), 3),
        "at": round(time.time(), 3),
    }
    with open(Path(_DIR) / "probe.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


_started = False


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    """A worker's first test begins: its start-up is over (the controller sees workers' logstarts too,
    so only workers record this one)."""
    global _started
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if _started or worker is None:
        return
    _started = True
    if _profile is not None:
        _profile.disable()
        _profile.dump_stats(str(Path(str(_DIR)) / f"worker-{worker}.prof"))
    _write("first_test")


@pytest.hookimpl(trylast=True)
def pytest_configure() -> None:
    _write("configured")


def pytest_sessionfinish() -> None:
    _write("session_end")


def pytest_unconfigure() -> None:
    _write("unconfigured")
