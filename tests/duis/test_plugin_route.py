"""The plugin builds the duis route from a lab file (settings, paths relative to the lab file, device
types) and a pack test reaches the DSP through the ``route`` fixture — here the tests' stub DSP."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.model.interchange import Outcome, iter_results
from tests.conftest import run_pack, write_pack
from tests.duis.dcc_tool import DSP, S1SP, SUPPLIER, DccTool
from tests.duis.test_route import StubDsp

PACK_TEST = """
GSME = "00-1A-2B-FF-FE-00-00-03"

def test_read_supply_over_duis(route):
    result = route.submit("7.4", "00-1A-2B-FF-FE-00-00-02", {}, user="supplier", role="IS")
    assert result.ok and result.acknowledged, result
    assert result.result["supply"] == "armed", result

def test_gas_body_for_the_gsme(route):
    tariff = {"prices": [7.0], "standing_charge": 28.0}  # DUIS needs a standing charge (1.2.1)
    assert route.submit("1.2.1", GSME, tariff, user="supplier", role="IS").ok
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_pack_runs_over_the_duis_route(dcc: DccTool, tmp_path: Path, lab_file: Callable[..., Path]) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    for who in (SUPPLIER, DSP, S1SP):
        shutil.copy(dcc.cert(who), keys / dcc.cert(who).name)
    shutil.copy(dcc.key(SUPPLIER), keys / dcc.key(SUPPLIER).name)
    key = dcc.key(SUPPLIER)
    dsp = StubDsp(dcc)
    port = free_port()
    dsp.receive_url = f"http://127.0.0.1:{port}/duis"

    def edit(data: dict[str, Any]) -> None:
        data["route"] = {
            "kind": "duis",
            "url": dsp.url,
            "duis": {
                "xsd": str(dcc.xsd),
                "receive": f"127.0.0.1:{port}/duis",
                "users": [{"name": "supplier", "role": "IS", "eui": SUPPLIER, "key": f"keys/{key.name}",
                           "cert": f"keys/{dcc.cert(SUPPLIER).name}"}],
                "dsp_certs": [f"keys/{dcc.cert(DSP).name}"],
                "s1sp_certs": [f"keys/{dcc.cert(S1SP).name}"],
                "counter_dir": str(tmp_path / "counters"),
                "spool_dir": str(tmp_path / "spool"),
            },
        }  # fmt: skip

    lab = lab_file(edit)
    assert lab.parent == keys.parent  # the key paths above are relative to the lab file
    planned: list[str | dict[str, Any]] = [
        "test_pack.py::test_read_supply_over_duis",
        "test_pack.py::test_gas_body_for_the_gsme",
    ]
    pack = write_pack(tmp_path, "duispack", PACK_TEST, planned)
    try:
        out = run_pack(pack, tmp_path / "r", "duis", lab=lab, timeout=120)
    finally:
        dsp.close()
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    records = list(iter_results(tmp_path / "r" / "duis" / "results.jsonl"))
    assert {r.outcome for r in records} == {Outcome.PASSED} and len(records) == 2
    assert any(r.find(".//{http://www.dccinterface.co.uk/ServiceUserGateway}GasPriceElements") is not None
               for r in dsp.requests)  # fmt: skip
    transcript = "".join(p.read_text() for p in (tmp_path / "r" / "duis" / "transcripts").rglob("*.jsonl"))
    assert "duis-route" in transcript
