"""The harness's duis route against the virtual DSP of labs/virtual (written independently of this
codec: they share only the DUIS XSD): device SRVs, their S1SP-signed results, device alerts and
refusals round-trip through both implementations with the packs' own vocabulary; migration (not a
DUIS service) goes through the framed route the virtual lab still serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness.model.interchange import Outcome, iter_results
from tests.conftest import REPO, RunningLab, run_pack, write_pack
from tests.duis.dcc_tool import DccTool

PACK_TEST = """
ESME = "00-1A-2B-FF-FE-00-00-02"

def test_device_srvs_over_duis(route, esme):
    from device_drivers.route import RouteError
    try:
        read = route.submit("4.1.1", ESME, {}, user="supplier", role="IS")
        raise AssertionError(f"a dormant installation's meter answered before migration: {read}")
    except RouteError as exc:
        assert exc.code == "E14" and exc.response["duis_code"] == "E21", exc  # not commissioned yet
    migrated = route.migrate("rig-1", user="supplier")  # not DUIS: delegated to the framed route
    assert migrated.migrated, migrated
    read = route.submit("4.1.1", ESME, {}, user="supplier", role="IS")
    assert read.ok and read.acknowledged, read
    assert read.result, read
    route.submit("7.2", ESME, {}, user="supplier", role="IS")
    assert route.submit("7.4", ESME, {}, user="supplier", role="IS").result["supply"] in ("disabled", "armed")
    route.submit("7.1", ESME, {}, user="supplier", role="IS")
    assert route.submit("7.4", ESME, {}, user="supplier", role="IS").result["supply"] == "enabled"
    assert route.submit("11.2", ESME, {}, user="supplier", role="IS").result["firmware_version"] == "1.4.2"
"""


def test_duis_route_meets_the_virtual_dsp(
    dcc: DccTool, tmp_path: Path, virtual_lab: Callable[[Path], RunningLab]
) -> None:
    data: dict[str, Any] = yaml.safe_load((REPO / "labs" / "virtual-duis.yaml").read_text())
    data["route"]["dsp"]["xsd"] = str(dcc.xsd)
    port = __import__("tests.duis.test_plugin_route", fromlist=["free_port"]).free_port()
    data["route"]["dsp"]["receive_url"] = f"http://127.0.0.1:{port}/duis"
    lab = tmp_path / "virtual-duis.yaml"
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    running = virtual_lab(lab)
    pack = write_pack(tmp_path, "interop", PACK_TEST, [{"id": "test_pack.py::test_device_srvs_over_duis",
                                                        "roles": ["esme"]}])  # fmt: skip
    out = run_pack(pack, tmp_path / "r", "interop", lab=lab, endpoints=running.endpoints, timeout=180,
                   env={"XDG_STATE_HOME": str(tmp_path / "state")})  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    records = list(iter_results(tmp_path / "r" / "interop" / "results.jsonl"))
    assert [r.outcome for r in records] == [Outcome.PASSED]
