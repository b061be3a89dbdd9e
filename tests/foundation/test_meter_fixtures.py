"""The esme/gsme fixtures reach the virtual meters' DLMS optical ports through the plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness.interchange import Outcome, iter_results
from tests.conftest import REPO, VIRTUAL_LAB, RunningLab

PACK_TEST = """
def test_esme_dlms(esme):
    assert esme.optical.firmware_version() == "1.4.2"
    assert esme.optical.supply_state() == "enabled"
    total, *_ = esme.optical.import_registers()
    assert total > 0
    esme.optical.disconnect()
    try:
        assert esme.optical.supply_state() == "disabled"
    finally:
        esme.optical.reconnect()
    assert esme.optical.supply_state() in ("armed", "enabled")

def test_gsme_dlms(gsme):
    assert gsme.optical.firmware_version() == "3.0.1"
    assert gsme.optical.gas_volume() >= 0
    assert gsme.optical.clock().year >= 2026
"""


def test_meter_fixtures_over_dlms(tmp_path: Path, virtual_lab: Callable[..., RunningLab]) -> None:
    running = virtual_lab()
    pack = tmp_path / "meters"
    pack.mkdir()
    (pack / "pack.yaml").write_text(
        "id: meters\nname: m\nversion: '1'\ncapability_release: IOC\ntests:\n"
        "  - {id: test_m.py::test_esme_dlms, roles: [esme]}\n"
        "  - {id: test_m.py::test_gsme_dlms, roles: [gsme]}\n"
    )
    (pack / "test_m.py").write_text(PACK_TEST)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(pack), "--lab", str(VIRTUAL_LAB),
         "--lab-endpoints", str(running.endpoints), "--results-dir", str(tmp_path / "r"), "--run-id", "m"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=os.environ,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    records = list(iter_results(tmp_path / "r" / "m" / "results.jsonl"))
    assert len(records) == 2 and {r.outcome for r in records} == {Outcome.PASSED}
    transcripts = "".join(p.read_text() for p in (tmp_path / "r" / "m" / "transcripts").rglob("*.jsonl"))
    assert "DLMS association" in transcripts and "rig-1/gsme" in transcripts
