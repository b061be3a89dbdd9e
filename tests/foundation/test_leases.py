"""Rig leases: exclusive across workers and sessions, reclaimed when the holder dies, never when alive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.lab.leases import RigBusy, RigLease, lease_key
from harness.model.interchange import Outcome, iter_results
from tests.conftest import REPO, RunningLab, add_rig, run_pack, write_pack


def test_second_lease_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with RigLease("lab", "rig-1", "run-A", directory=tmp_path):
        with pytest.raises(RigBusy) as info:
            RigLease("lab", "rig-1", "run-B", directory=tmp_path).acquire(wait_s=0.2)
        message = str(info.value)
        assert "run run-A" in message and f"pid {os.getpid()}" in message and "alive" in message
    # released: now it can be had
    with RigLease("lab", "rig-1", "run-B", directory=tmp_path) as lease:
        assert lease.held and lease.holder() is not None and lease.holder().run == "run-B"  # type: ignore[union-attr]


def test_lease_waits_until_released(tmp_path: Path) -> None:
    holder = RigLease("lab", "rig-1", "run-A", directory=tmp_path).acquire()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from harness.lab.leases import RigLease\n"
            f"d=Path({str(tmp_path)!r}); print('waiting', flush=True); t=time.monotonic()\n"
            "l=RigLease('lab','rig-1','run-B',directory=d).acquire(10)\n"
            "print(round(time.monotonic()-t, 2)); l.release()",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "waiting"  # imports done
    time.sleep(1.0)
    holder.release()
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and 0.8 <= float(out) < 5, out


def test_killed_holder_is_reclaimed_within_seconds(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pathlib import Path; from harness.lab.leases import RigLease\n"
            f"RigLease('lab','rig-1','dead-run',directory=Path({str(tmp_path)!r})).acquire()\n"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    with pytest.raises(RigBusy, match="dead-run"):
        RigLease("lab", "rig-1", "run-B", directory=tmp_path).acquire(wait_s=0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    start = time.monotonic()
    lease = RigLease("lab", "rig-1", "run-B", directory=tmp_path).acquire(wait_s=5)
    assert time.monotonic() - start < 2.0
    assert lease.reclaimed_from is not None and lease.reclaimed_from.run == "dead-run"
    lease.release()


def test_live_holder_keeps_its_lease_past_the_stale_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.lab.leases as leases

    monkeypatch.setattr(leases, "HEARTBEAT_S", 0.1)
    with RigLease("lab", "rig-1", "run-A", directory=tmp_path) as lease:
        first = lease.holder()
        time.sleep(0.5)
        later = lease.holder()
        assert first is not None and later is not None and later.heartbeat > first.heartbeat
        with pytest.raises(RigBusy):
            RigLease("lab", "rig-1", "run-B", directory=tmp_path).acquire(wait_s=0.3)
        lease.check()


def test_removed_lock_file_is_noticed_as_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.lab.leases as leases
    from device_drivers.errors import LeaseLost

    monkeypatch.setattr(leases, "HEARTBEAT_S", 0.05)
    lease = RigLease("lab", "rig-1", "run-A", directory=tmp_path).acquire()
    lease.lock_path.unlink()
    time.sleep(0.3)
    with pytest.raises(LeaseLost, match="removed"):
        lease.check()
    lease.release()


# ------------------------------------------------------------------- the plugin with several rigs

TIMING_TEST = """
import json, os, time
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_uses_rig(i, rig, esme):
    start = time.time()
    esme.identity()
    time.sleep(0.15)
    with open(os.environ["TIMING_LOG"], "a") as log:
        log.write(json.dumps({{"worker": os.environ.get("PYTEST_XDIST_WORKER"), "rig": rig.id,
                              "start": start, "end": time.time()}}) + "\\n")
"""


def _timing_pack(tmp_path: Path, n: int) -> Path:
    tests: list[str | dict[str, Any]] = [f"test_pack.py::test_uses_rig[{i}]" for i in range(n)]
    return write_pack(tmp_path, "timing", TIMING_TEST.format(n=n), tests)


def _overlaps(log: Path) -> tuple[list[dict[str, Any]], list[str]]:
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    problems = []
    for a in rows:
        for b in rows:
            if a is not b and a["rig"] == b["rig"] and a["start"] < b["end"] and b["start"] < a["end"]:
                problems.append(f"{a['worker']} and {b['worker']} overlapped on {a['rig']}")
    return rows, problems


@pytest.mark.parametrize("workers", [pytest.param(2, marks=pytest.mark.slow), 4])  # 2: `make slow`
def test_workers_never_share_a_rig_at_once(
    tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab], workers: int
) -> None:
    lab = lab_file(lambda d: add_rig(d, "rig-2"))
    running = virtual_lab(lab)
    log = tmp_path / "timing.jsonl"
    pack = _timing_pack(tmp_path, 8)
    out = run_pack(pack, tmp_path / "results", "r", lab=lab, endpoints=running.endpoints,
                   extra=("-n", str(workers), "--share-rigs"), env={"TIMING_LOG": str(log)})  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    rows, problems = _overlaps(log)
    assert len(rows) == 8 and problems == []
    assert {r["rig"] for r in rows} == {"rig-1", "rig-2"}, "tests of the entry spread over every rig"
    records = list(iter_results(tmp_path / "results" / "r" / "results.jsonl"))
    assert {r.extra["rig"] for r in records} == {"rig-1", "rig-2"}


@pytest.mark.slow  # `make slow` (in .ci/run): a whole xdist session; test_worker_cap.py keeps the rule
def test_more_workers_than_rigs_are_capped_at_the_rigs(
    tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab]
) -> None:
    """The standard packs order their tests per rig, so without --share-rigs `-n 4` on two rigs runs two
    workers, one per rig, and says so."""
    lab = lab_file(lambda d: add_rig(d, "rig-2"))
    running = virtual_lab(lab)
    log = tmp_path / "timing.jsonl"
    pack = _timing_pack(tmp_path, 6)
    out = run_pack(pack, tmp_path / "results", "capped", lab=lab, endpoints=running.endpoints,
                   extra=("-n", "4"), env={"TIMING_LOG": str(log)})  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 workers asked for but 2 usable rig(s): running 2" in out.stdout + out.stderr
    rows, problems = _overlaps(log)
    assert len(rows) == 6 and problems == []
    assert {r["worker"] for r in rows} <= {"gw0", "gw1"}
    facts = json.loads((tmp_path / "results" / "capped" / "run.json").read_text())
    assert facts["workers"] == 2


def test_auto_workers_is_one_per_rig(
    tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab]
) -> None:
    lab = lab_file(lambda d: (add_rig(d, "rig-2"), add_rig(d, "rig-3")))
    running = virtual_lab(lab)
    pack = _timing_pack(tmp_path, 3)
    out = run_pack(pack, tmp_path / "results", "auto", lab=lab, endpoints=running.endpoints,
                   extra=("-n", "auto"), env={"TIMING_LOG": str(tmp_path / "log.jsonl")})  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 workers" in out.stdout, out.stdout


def test_second_session_refuses_a_leased_rig_cleanly(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    running = virtual_lab()
    lease = RigLease(_instance_key(running), "rig-1", "someone-else").acquire()
    try:
        out = run_pack(REPO / "test_packs", tmp_path / "results", "refused", endpoints=running.endpoints,
                       extra=("--lease-wait", "0.5"))  # fmt: skip
    finally:
        lease.release()
    assert out.returncode == pytest.ExitCode.USAGE_ERROR, out.stdout + out.stderr
    assert "rig rig-1 is leased by run someone-else" in out.stderr
    assert "Traceback" not in out.stderr


def test_unhealthy_rig_is_taken_out_and_its_tests_blocked(
    tmp_path: Path, lab_file: Callable[..., Path]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"socket://127.0.0.1:{s.getsockname()[1]}"

    def edit(d: dict[str, Any]) -> None:
        esme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "esme")
        esme["links"]["optical"]["url"] = dead

    lab = lab_file(edit)
    out = run_pack(REPO / "test_packs", tmp_path / "results", "sick", lab=lab)
    assert out.returncode == 1, out.stdout + out.stderr
    records = list(iter_results(tmp_path / "results" / "sick" / "results.jsonl"))
    # the standard tests needed rig-1; the negative paths run on their own prepared rigs
    applicable = [
        r
        for r in records
        if not r.extra.get("not_applicable") and not r.test.startswith("test_negative_paths")
    ]
    assert applicable and all(r.outcome is Outcome.BLOCKED for r in applicable)
    # blocked by the rig's health check, or (session fixtures asking for the route first) by the
    # lab not running: infrastructure either way, never a product failure
    assert all(
        "failed its health check" in r.extra["reason"] or "is not served" in r.extra["reason"]
        for r in applicable
    ), applicable[0].extra
    facts = json.loads((tmp_path / "results" / "sick" / "run.json").read_text())
    assert "rig-1" in facts["rigs_out"] and facts["rigs"] == []


# ------------------------------------------------------------------- leases per lab instance (issue 17)


def _instance_key(running: RunningLab) -> str:
    """The lease namespace of the rigs this ``dmct lab up`` serves: the lab and its instance id."""
    runtime = json.loads(running.endpoints.read_text())
    assert len(runtime["instance"]) >= 8
    return lease_key(runtime["lab"], runtime["instance"])


def test_a_virtual_lab_s_rigs_belong_to_the_process_serving_them(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    """Another run's leases — host-wide on the lab name, or on another instance of the same lab —
    do not hold this private lab's rig-1: the session runs at once, without waiting."""
    first, second = virtual_lab(), virtual_lab()
    assert _instance_key(first) != _instance_key(second)
    held = [
        RigLease("virtual", "rig-1", "real-rigs").acquire(),
        RigLease(_instance_key(first), "rig-1", "first").acquire(),
    ]
    try:
        out = run_pack(_timing_pack(tmp_path, 1), tmp_path / "results", "own", endpoints=second.endpoints,
                       extra=("--lease-wait", "60"), env={"TIMING_LOG": str(tmp_path / "l")})  # fmt: skip
    finally:
        for lease in held:
            lease.release()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "waiting up to" not in out.stdout + out.stderr, out.stdout + out.stderr
    facts = json.loads((tmp_path / "results" / "own" / "run.json").read_text())
    assert "rig-1" in facts["rigs"] and facts["rigs_out"] == {} and facts["lease_waits"] == {}
    assert facts["lab_instance"] == json.loads(second.endpoints.read_text())["instance"]


def test_a_wait_is_said_on_the_console_and_in_the_report(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    """Another session holds rig-1 of this lab until this one says on the console that it waits;
    then the holder goes away, the session leases the rig, says so, and the report names the wait."""
    from harness.reports.run_summary import judge_run

    running = virtual_lab()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom harness.lab.leases import RigLease\n"
         "lease = RigLease(sys.argv[1], 'rig-1', 'someone-else').acquire()\nprint('held', flush=True)\n"
         "time.sleep(120)", _instance_key(running)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(_timing_pack(tmp_path, 1)),
                "--lab", str(running.lab), "--results-dir", str(tmp_path / "results"), "--run-id", "waited",
                "--lab-endpoints", str(running.endpoints), "--lease-wait", "60"]  # fmt: skip
        session = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TIMING_LOG": str(tmp_path / "log.jsonl")},
        )  # fmt: skip
        assert session.stdout is not None
        console = ""
        while "waiting up to 60 s" not in console:
            line = session.stdout.readline()
            assert line, console
            console += line
    finally:
        holder.kill()  # the kernel frees its lock at once
        holder.wait(10)
    rest, _ = session.communicate(timeout=120)
    console += rest
    assert session.returncode == 0, console
    assert "dmct: rig rig-1 is leased by run someone-else" in console
    assert "dmct: rig rig-1 leased after it waited" in console
    run_dir = tmp_path / "results" / "waited"
    facts = json.loads((run_dir / "run.json").read_text())
    assert (
        facts["lease_waits"]["rig-1"].startswith("waited ")
        and "run someone-else" in facts["lease_waits"]["rig-1"]
    )
    assert 0 <= float(facts["lease_waits"]["rig-1"].split()[1]) < 60
    report = judge_run(run_dir).report_path.read_text()
    assert "- Waited for: rig-1: waited" in report


def test_real_rigs_keep_host_wide_leases(lab_file: Callable[..., Path]) -> None:
    from harness.lab.inventory import load_lab
    from harness.plugin.state import rig_lease_key

    def edit(d: dict[str, Any]) -> None:
        esme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "esme")
        esme["links"]["dlms"]["url"] = "socket://127.0.0.1:7001"

    from types import SimpleNamespace

    virtual = load_lab(lab_file())
    real = load_lab(lab_file(edit, name="real.yaml"))
    run: Any = SimpleNamespace(lab=virtual, lab_instance="abc123def456")
    assert rig_lease_key(run, virtual.rigs[0]) == f"{virtual.lab}@abc123def456"
    run.lab = real  # a rig with one real link is real hardware: one lease per host, whoever serves the rest
    assert rig_lease_key(run, real.rigs[0]) == real.lab
