"""Faults said plainly (issue 18): a worker that dies mid-test is *blocked* on the console as in the
journal; a lab that dies mid-run and an interrupted run each end with one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.cli.run import _journal_state, _LabWatch
from harness.model.interchange import Outcome, iter_results
from tests.conftest import RunningLab, run_pack, write_pack

CRASH = """
import os, signal

def test_fine():
    pass

def test_worker_dies():
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_crashed_worker_s_test_is_blocked_on_the_console_and_in_the_journal(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    running = virtual_lab()
    pack = write_pack(tmp_path, "crash", CRASH, ["test_pack.py::test_fine", "test_pack.py::test_worker_dies"])
    out = run_pack(pack, tmp_path / "r", "crash", endpoints=running.endpoints, extra=("-n", "1"), timeout=180)
    records = {r.test: r for r in iter_results(tmp_path / "r" / "crash" / "results.jsonl")}
    assert records["test_pack.py::test_worker_dies"].outcome is Outcome.BLOCKED
    assert records["test_pack.py::test_fine"].outcome is Outcome.PASSED
    summary = out.stdout.strip().splitlines()[-1]
    assert "1 passed, 1 blocked" in summary and "failed" not in summary, out.stdout[-3000:]
    assert "FAILED" not in out.stdout and out.returncode == 1, out.stdout[-3000:]


def _line(test: str, outcome: str, at: datetime) -> str:
    stamp = at.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return json.dumps({"entry": "E1", "pack": "p", "test": test, "outcome": outcome, "at": stamp})


def test_a_lab_that_dies_is_one_line_counting_the_tests_it_blocked(tmp_path: Path) -> None:
    lab = subprocess.Popen([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    watch = _LabWatch(lab)  # type: ignore[arg-type]
    deadline = time.monotonic() + 30
    while watch.died is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watch.died is not None
    before, after = watch.died - timedelta(seconds=5), watch.died + timedelta(seconds=1)
    journal = tmp_path / "results.jsonl"
    journal.write_text(
        "\n".join([_line("a", "passed", before), _line("b", "blocked", before), _line("c", "blocked", after),
                   _line("d", "blocked", after), _line("e", "passed", after)]) + "\n"
    )  # fmt: skip
    line = watch.describe(journal)
    assert line == f"the virtual lab stopped at {watch.died:%H:%M:%S}Z (killed by signal 9): 2 tests blocked"


def test_a_lab_stopped_by_the_run_is_not_a_death() -> None:
    lab = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    watch = _LabWatch(lab)  # type: ignore[arg-type]
    watch.stopping = True
    lab.wait(30)
    time.sleep(0.1)
    assert watch.died is None


def test_an_interrupted_run_says_what_its_journal_holds(tmp_path: Path) -> None:
    run = tmp_path / "r1"
    assert _journal_state(run, "r1") == "no results were journalled"
    run.mkdir()
    now = datetime.now(UTC)
    (run / "results.jsonl").write_text(_line("a", "passed", now) + "\n" + _line("b", "failed", now) + "\n")
    assert _journal_state(run, "r1") == (
        f"the journal has 2 results; verdict in progress: dmct verdict --run {run}, "
        "or continue with dmct run --run-id r1 --resume"
    )
