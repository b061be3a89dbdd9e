"""``dmct lab up`` builds every device from the catalogue; what it cannot simulate is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


def test_pty_option_serves_dlms_and_the_readout_on_pseudo_terminals(tmp_path: Path) -> None:
    import json

    from device_drivers.links import Link
    from device_drivers.protocols.iec62056_21 import ReadoutClient
    from device_drivers.protocols.meter_optical import MeterOptical

    endpoints = tmp_path / "e.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "lab", "up", str(REPO / "labs/virtual.yaml"), "--pty",
         "--endpoints", str(endpoints), "--exit-with-stdin"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"dmct lab: ready")
        ptys = json.loads(endpoints.read_text())["ptys"]
        path = ptys["virtual://rig-1/esme/dlms"]
        assert path.startswith("/dev/pts/")
        with MeterOptical(path, device="esme-over-pty", timeout=3.0) as meter:
            assert meter.firmware_version() == "1.4.2"
        readout = ptys["virtual://rig-1/esme/optical"]  # the IEC 62056-21 readout too
        assert readout.startswith("/dev/pts/") and readout != path
        for session in (1, 2):  # sessions follow one another on the same port
            with Link(readout, device=f"esme-readout-{session}", timeout=3.0) as link:
                data = ReadoutClient(link).readout()
            firmware = data.get("0.2.0")
            assert data.identification == "VESME-1P" and firmware and firmware.value == "1.4.2", data
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def test_control_api_han_and_wan_faults(virtual_lab: Callable[..., RunningLab]) -> None:
    from labs.virtual.control import LabControl

    running = virtual_lab()
    with LabControl(running.endpoints) as control:
        control.call({"op": "han", "device": "rig-1/ch", "lost": ["rig-1/gsme"]})
        control.call({"op": "wan", "device": "rig-1/ch", "connected": False})
        with pytest.raises(RuntimeError, match="not a comms hub"):
            control.call({"op": "wan", "device": "rig-1/esme", "connected": False})
        kinds = [(e["device"], e["kind"]) for e in control.log()]
    assert ("rig-1/ch", "han") in kinds and ("rig-1/ch", "wan") in kinds
