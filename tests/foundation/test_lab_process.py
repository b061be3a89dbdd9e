"""``dmct lab up`` builds every device from the catalogue; what it cannot simulate is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO, RunningLab


def _unknown_gsme(d: dict[str, Any]) -> None:
    gsme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "gsme")
    gsme["model"] = "NO-SUCH-METER"
    d["dmcs"][0]["gsme"]["model"] = "NO-SUCH-METER"


def test_unknown_device_model_is_one_line(lab_file: Callable[..., Path], tmp_path: Path) -> None:
    lab = lab_file(_unknown_gsme)
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "lab", "up", str(lab), "--endpoints", str(tmp_path / "e.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "rigs[0].devices[2] (rig-1/gsme)" in out.stderr and "NO-SUCH-METER" in out.stderr
    assert not (tmp_path / "e.json").exists()


def test_gas_flow_instrument_reaches_the_gsme_model(virtual_lab: Callable[..., RunningLab]) -> None:
    from device_drivers.protocols.modbus import Instruments

    running = virtual_lab()
    with Instruments("virtual://rig-1/instruments/modbus", endpoints=running.endpoint_map()) as bank:
        bank.set_gas_flow(1500)
        assert abs(bank.read("gsme_measured_flow") - 1500) < 1  # type: ignore[operator]
        bank.power("gsme", False)
        assert bank.read("gsme_measured_flow") == 0
        bank.power("gsme", True)
