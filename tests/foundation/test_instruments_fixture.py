"""Instruments through the plugin fixture against the virtual lab: relays, load, and what the meter sees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.model.interchange import Outcome, iter_results
from tests.conftest import RunningLab, run_pack, write_pack

PACK_TEST = """
import time
import pytest
from device_drivers.errors import InfrastructureFault

def test_load_drives_measured_power_and_energy(instruments, esme):
    instruments.set_load(3000)
    assert abs(instruments.measured_power() - 3000) < 0.5
    first = esme.read_import_registers().total
    time.sleep(0.3)
    second = esme.read_import_registers().total
    # 3 kW at 3600x simulated time: ~0.25 kWh per real 0.3 s
    assert second - first > 0.1

def test_power_off_takes_the_meter_off_the_air(instruments, esme):
    instruments.power("esme", False)
    try:
        assert instruments.measured_power() == 0
        assert not instruments.is_powered("esme")
        with pytest.raises(InfrastructureFault):
            esme.identity()
    finally:
        instruments.power("esme", True)
    assert esme.identity().firmware_version == "1.4.2"

def test_power_cycle(instruments, esme):
    instruments.power_cycle("esme", off_s=0.1)
    assert instruments.is_powered("esme")
    assert esme.identity().model == "VESME-1P"
"""


def test_instruments_fixture_against_virtual_lab(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    running = virtual_lab()
    names = [
        "test_load_drives_measured_power_and_energy",
        "test_power_off_takes_the_meter_off_the_air",
        "test_power_cycle",
    ]
    pack = write_pack(tmp_path, "instr", PACK_TEST, [f"test_pack.py::{n}" for n in names])
    out = run_pack(pack, tmp_path / "r", "i", endpoints=running.endpoints, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    records = list(iter_results(tmp_path / "r" / "i" / "results.jsonl"))
    assert {r.outcome for r in records} == {Outcome.PASSED} and len(records) == 3
    transcripts = list((tmp_path / "r" / "i" / "transcripts").rglob("*.jsonl"))
    assert any("rig-1/instruments" in p.read_text() for p in transcripts)
