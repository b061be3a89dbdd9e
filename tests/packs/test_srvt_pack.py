"""The SRVT pack against the virtual lab: green on the clean default DMC, and able to fail.

* the whole pack on the default virtual DMC (``labs/virtual.yaml``, zero injected latency, ``-n 2``)
  passes, every planned test is executed (not applicable only where the DMC lacks the role), and it
  runs within the time goal (under 2 minutes);
* with a seeded defect (``labs/virtual/devices/catalogue.yaml``) put on a device of the lab file, the
  tests that should catch it fail.

The lead's meta-test covers defect detection across both packs; this one keeps the pack honest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.interchange import Outcome, ResultRecord, iter_results
from harness.packs import PackManifest
from harness.yamlio import load_model
from tests.conftest import REPO, VIRTUAL_LAB, RunningLab

PACK = REPO / "test_packs" / "service_reference_variant"
TIME_GOAL_S = 120.0


def run_pack(
    lab: Path, running: RunningLab, results: Path, run_id: str, *selection: str, workers: int = 2
) -> tuple[subprocess.CompletedProcess[str], dict[str, ResultRecord], float]:
    targets = [f"{PACK}/{s}" for s in selection] or [str(PACK)]
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *targets, "--lab", str(lab),
         "--lab-endpoints", str(running.endpoints), "--results-dir", str(results), "--run-id", run_id,
         "-n", str(workers)],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=os.environ,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    records = {r.test: r for r in iter_results(results / run_id / "results.jsonl")}
    return out, records, elapsed


def test_srvt_pack_passes_on_the_default_virtual_dmc(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    running = virtual_lab()
    out, records, elapsed = run_pack(VIRTUAL_LAB, running, tmp_path / "r", "srvt-clean")
    planned = load_model(PackManifest, PACK / "pack.yaml")
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
    print(f"\nSRVT pack on the default virtual DMC: {len(records)} tests in {elapsed:.1f} s -n 2 ({summary})")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert sorted(records) == sorted(planned.test_ids), "executed tests differ from the plan"
    not_passed = {t: r for t, r in records.items() if r.outcome is not Outcome.PASSED}
    assert all(r.extra.get("not_applicable") for r in not_passed.values()), {
        t: (r.outcome, r.extra.get("reason")) for t, r in not_passed.items()
    }
    # Not applicable only where VDMC1 lacks the role (it has no IHD to decommission).
    assert set(not_passed) <= {"test_srv.py::test_positive[8.3-inventory]"}, sorted(not_passed)
    assert elapsed < TIME_GOAL_S, f"the SRVT pack took {elapsed:.1f} s (goal {TIME_GOAL_S:g} s)"


def _with_defects(role: str, *defects: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        devices = data["rigs"][0]["devices"]
        rate = next(d["virtual"]["clock_rate"] for d in devices if d.get("virtual", {}).get("clock_rate"))
        device = next(d for d in devices if d["role"] == role)
        config = device.setdefault("virtual", {})
        config.setdefault("clock_rate", rate)  # the lab's clock rate is its first device's
        config["defects"] = [*config.get("defects", []), *defects]

    return edit


# (device role, seeded defect, pack tests that must fail because of it)
DEFECTS = [
    ("esme", "supply_state_unchanged_by_disable", ["test_srv.py::test_positive[7.2-esme]"]),
    ("esme", "register_runs_backwards", ["test_srv.py::test_positive[4.1.1-esme]"]),
    ("esme", "ignores_future_dating", ["test_srv.py::test_future_dated[1.2.1-esme]"]),
    ("esme", "accepts_duplicate_utrn", ["test_negative.py::test_duplicate_utrn_rejected[esme]"]),
    ("esme", "load_limit_ignored", ["test_srv.py::test_positive[6.4.1-esme]"]),
    ("esme", "clock_drifts", ["test_srv.py::test_positive[6.11-esme]"]),
    ("gsme", "arm_enables_immediately", ["test_srv.py::test_positive[7.3-gsme]"]),
    ("gsme", "rejects_valid_utrn", ["test_srv.py::test_positive[2.2-gsme]"]),
    ("esme", "tou_rate_misapplied", ["test_srv.py::test_positive[4.1.2-esme]"]),
    ("gsme", "supply_state_unchanged_by_disable", ["test_srv.py::test_positive[7.2-gsme]"]),
]


@pytest.mark.parametrize(("role", "defect", "catchers"), DEFECTS, ids=[f"{r}-{d}" for r, d, _ in DEFECTS])
def test_srvt_pack_catches_seeded_defect(
    role: str,
    defect: str,
    catchers: list[str],
    tmp_path: Path,
    lab_file: Callable[..., Path],
    virtual_lab: Callable[..., RunningLab],
) -> None:
    lab = lab_file(_with_defects(role, defect))
    running = virtual_lab(lab)
    out, records, _ = run_pack(lab, running, tmp_path / "r", "srvt-defect", *catchers, workers=1)
    assert set(records) == set(catchers), out.stdout[-4000:] + out.stderr[-2000:]
    missed = {t: r.outcome for t, r in records.items() if r.outcome is not Outcome.FAILED}
    assert not missed, f"{role} defect {defect} not caught: {missed}\n{out.stdout[-4000:]}"
