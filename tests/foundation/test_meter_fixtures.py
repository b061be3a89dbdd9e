"""The esme/gsme fixtures reach the virtual meters' DLMS optical ports through the plugin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.model.interchange import Outcome, iter_results
from tests.conftest import RunningLab, run_pack, write_pack

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
    pack = write_pack(tmp_path, "meters", PACK_TEST, [
        {"id": "test_pack.py::test_esme_dlms", "roles": ["esme"]},
        {"id": "test_pack.py::test_gsme_dlms", "roles": ["gsme"]},
    ])  # fmt: skip
    out = run_pack(pack, tmp_path / "r", "m", endpoints=running.endpoints, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    records = list(iter_results(tmp_path / "r" / "m" / "results.jsonl"))
    assert len(records) == 2 and {r.outcome for r in records} == {Outcome.PASSED}
    transcripts = "".join(p.read_text() for p in (tmp_path / "r" / "m" / "transcripts").rglob("*.jsonl"))
    assert "DLMS association" in transcripts and "rig-1/gsme" in transcripts
