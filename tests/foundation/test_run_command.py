"""``dmct run`` end to end: lab up, packs in parallel, verdict, report — and no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.model.interchange import Outcome, iter_results
from tests.conftest import REPO, write_pack

DMCT = [sys.executable, "-m", "harness.cli"]


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def _wait_gone(text: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = _processes_mentioning(text)
        if not left:
            return []
        time.sleep(0.1)
    return _processes_mentioning(text)


# `make slow` (in .ci/run): the whole default entry; make test keeps the seeded-defect `dmct run` below
@pytest.mark.slow
def test_run_default_entry_end_to_end(tmp_path: Path) -> None:
    """The main job: both full packs on two copies of the default rig, in parallel, then the verdict."""
    results = tmp_path / "results"
    run_id = "e2e-run"
    proc = subprocess.run(
        [*DMCT, "run", "--lab", str(REPO / "labs/virtual.yaml"), "--rigs", "2", "-n", "2",
         "--results-dir", str(results), "--run-id", run_id],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = results / run_id
    records = list(iter_results(run / "results.jsonl"))
    assert {r.pack for r in records} == {"srvt", "dormant-mt"}
    standard_rigs = {
        r.extra["rig"] for r in records if "rig" in r.extra and not r.test.startswith("test_neg")
    }
    assert standard_rigs == {"rig-1", "rig-1.2"}
    executed = [r for r in records if r.outcome.executed]
    assert executed and all(r.outcome is Outcome.PASSED for r in executed), [
        (r.test, r.outcome, r.extra.get("reason")) for r in executed if r.outcome is not Outcome.PASSED
    ]
    # Only tests needing a device the DMC lacks are left out (N/A, planned out of the entry); the MT
    # negative paths ran on the rigs the lab prepared for them.
    left = [r for r in records if not r.outcome.executed]
    assert all(r.extra.get("not_applicable") for r in left), left
    negatives = [r for r in executed if r.test.startswith("test_negative_paths.py::")]
    assert len(negatives) == 6 and all(r.extra["rig"].startswith("rig-") for r in negatives)
    verdict = json.loads((run / "verdict.json").read_text())
    entry = verdict["entries"]["EPCL-VDMC1-D"]
    assert entry["failed"] == 0 and entry["executed"] == entry["planned"] == len(executed)
    assert entry["status"] == "successful", entry["reasons"]
    assert "EPCL-VDMC1-D" in proc.stdout and "successful" in proc.stdout
    assert f"report: {run / 'report.md'}" in proc.stdout.replace("\n", "") or "report.md" in proc.stdout
    report = (run / "report.md").read_text()
    assert "20.34 (a)" in report and "successful" in report
    assert _wait_gone(run_id) == []


def test_run_with_seeded_defect_fails_and_verdict_shows_it(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    text = (REPO / "labs/virtual.yaml").read_text()
    lab.write_text(text.replace("load_w: 2000,", "load_w: 2000, defects: [wrong_firmware_reported],"))
    results = tmp_path / "results"
    # The MT pack alone (it holds the test the defect fails; the SRVT pack would only add run time): the
    # verdict must count the failure, not merely miss the other pack's tests.
    proc = subprocess.run(
        [*DMCT, "run", "--lab", str(lab), "-n", "0", "--results-dir", str(results), "--run-id", "defect",
         "--pack", str(REPO / "test_packs" / "dormant_migration")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    outcomes = {r.test: r.outcome for r in iter_results(results / "defect" / "results.jsonl")}
    assert outcomes["test_device_testing.py::test_esme_identity_matches_epcl_entry"] is Outcome.FAILED
    entry = json.loads((results / "defect" / "verdict.json").read_text())["entries"]["EPCL-VDMC1-D"]
    assert entry["failed"] >= 1 and entry["status"] != "successful", entry


def test_run_bad_lab_is_one_line(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("lab: x\n")
    proc = subprocess.run([*DMCT, "run", "--lab", str(lab)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and str(lab) in proc.stderr


SLOW_TEST = (
    "import os, pathlib, time\n\ndef test_slow():\n"
    "    marker = os.environ.get('DMCT_TEST_RUNNING')\n"
    "    if marker:\n        pathlib.Path(marker).touch()\n"
    "    time.sleep(60)\n"
)


def _start_run(
    pack: Path, tmp_path: Path, run_id: str, *, workers: int, start_new_session: bool = False
) -> subprocess.Popen[bytes]:
    """``dmct run`` of a slow pack in the background, its output piped for the test to follow; the slow
    test touches ``tmp_path/running`` once it runs."""
    env = {**os.environ, "DMCT_TEST_RUNNING": str(tmp_path / "running")}
    return subprocess.Popen(
        [*DMCT, "run", "--lab", str(REPO / "labs/virtual.yaml"), "-n", str(workers), "--results-dir",
         str(tmp_path / "results"), "--run-id", run_id, "--pack", str(pack)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=start_new_session,
        env=env,
    )  # fmt: skip


def test_interrupt_leaves_no_process_behind(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, "slow", SLOW_TEST, ["test_pack.py::test_slow"])
    run_id = "interrupted-run"
    proc = _start_run(pack, tmp_path, run_id, workers=2, start_new_session=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "dmct run ended before starting the packs"
        if b"dmct run:" in line:
            break
    # Interrupt only once the slow test runs (pytest and its workers are up): a fixed sleep raced
    # xdist's start-up on a loaded machine.
    running = tmp_path / "running"
    while not running.exists() and time.monotonic() < deadline + 60:
        time.sleep(0.1)
    assert running.exists(), "the slow test never started"
    assert len(_processes_mentioning(run_id)) >= 3, "expected dmct run, the lab and pytest"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    rest = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == 130
    # One line says so (issue 18); no asyncio tracebacks, no "Fatal Python error" from the lab's shutdown.
    assert (
        "dmct run: interrupted: " in rest and "Traceback" not in rest and "Fatal Python error" not in rest
    ), rest
    assert _wait_gone(run_id) == []


def test_killed_run_takes_lab_and_pytest_down(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, "slow", SLOW_TEST, ["test_pack.py::test_slow"])
    run_id = "killed-run"
    proc = _start_run(pack, tmp_path, run_id, workers=0)
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "dmct run ended before starting the packs"
        if b"dmct run:" in line:
            break
    time.sleep(1.0)
    proc.kill()
    proc.wait()
    assert _wait_gone(run_id) == []


def test_lab_that_cannot_start_is_one_line(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    text = (REPO / "labs/virtual.yaml").read_text()
    lab.write_text(text.replace("model: VGSME-G4", "model: NO-SUCH-GSME"))
    proc = subprocess.run(
        [*DMCT, "run", "--lab", str(lab), "--results-dir", str(tmp_path / "r")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "NO-SUCH-GSME" in proc.stderr
    assert "did not become ready" in proc.stderr
