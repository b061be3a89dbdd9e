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


def test_misuse_over_duis(route, esme):
    # The misuse API makes real DUIS messages the virtual DSP refuses with its codes (E2, E3, E19),
    # mapped to the route's (E8, E9, E10); each refusal is in the simulated lab's security log, under
    # the DUIS RequestID, and alerted as a DUIS DCC alert naming it. Nothing reaches the meter.
    from device_drivers.route import MISUSE, SECURITY_LOG, TAMPER
    assert route.supports(MISUSE) and route.supports(SECURITY_LOG) and route.supports(TAMPER)
    if route.submit("4.1.1", ESME, {}, user="supplier", role="IS", check=False).code == "E14":
        assert route.migrate("rig-1", user="supplier").migrated
    route.submit("7.1", ESME, {}, user="supplier", role="IS")
    log = route.security_log()
    mark = log[-1].entry_id if log else 0
    want = {"unsigned": ("E8", "E2"), "corrupt_signature": ("E8", "E2"), "tampered": ("E8", "E2"),
            "unknown_signer": ("E9", "E3")}
    sent = {}
    for how, (code, duis) in want.items():
        crafted = route.craft("7.2", ESME, {}, user="supplier", misuse=how)
        answer = route.send_crafted(crafted, timeout=20)
        assert (answer.code, answer.responses[-1]["duis_code"]) == (code, duis), (how, answer)
        sent[crafted.request_id] = code
    genuine = route.craft("7.4", ESME, {}, user="supplier")
    assert route.send_crafted(genuine, timeout=20).ok
    replay = route.send_crafted(genuine, timeout=20)
    assert (replay.code, replay.responses[-1]["duis_code"]) == ("E10", "E19"), replay
    sent[genuine.request_id] = "E10"
    assert route.submit("7.4", ESME, {}, user="supplier", role="IS").result["supply"] == "enabled"
    logged = {e.request_id: e.code for e in route.security_log(after=mark)}
    assert logged == sent, logged
    alerts = route.wait_alerts(lambda a: a.kind == "dcc" and a.request_id in sent, 20, count=len(sent))
    assert {a.request_id for a in alerts} == set(sent)


def test_invalid_requests_over_duis(route, esme):
    # Values the SRV does not allow go to the DSP as given (signed, XSD-invalid): its schema validation
    # refuses them (DUIS E1, HTTP 400), read as the route's E6 (E4 for an SRV DUIS does not define);
    # 6.15.2 is valid DUIS and reaches the S1SP, which refuses it for SMETS1 (E13). What DUIS has no form
    # for although the SRV allows it (a 20-character supplier name) is not sent.
    from datetime import UTC, datetime, timedelta
    from device_drivers.route import RouteCannotExpress
    later = datetime.now(UTC) + timedelta(hours=1)
    cases = [("1.5", {"delta": "lots"}, None, "E6", "E1"), ("1.5", {}, None, "E6", "E1"),
             ("2.2", {"utrn": "12345"}, None, "E6", "E1"), ("7.2", {"at_once": True}, None, "E6", "E1"),
             ("7.2", {}, later, "E6", "E1"), ("99.1", {}, None, "E4", "E1"),
             ("6.15.2", {}, None, "E13", "E13")]
    for srv, params, fd, code, duis in cases:
        r = route.submit(srv, ESME, params, user="supplier", role="IS", future_date=fd, check=False)
        assert (r.code, r.responses[0]["duis_code"]) == (code, duis), (srv, params, r)
    assert route.submit("7.4", ESME, {}, user="supplier", role="IS").result["supply"] == "enabled"
    try:
        route.submit("3.4", ESME, {"name": "x" * 20}, user="supplier", role="IS")
        raise AssertionError("a 20-character supplier name was sent")
    except RouteCannotExpress:
        pass
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
    pack = write_pack(tmp_path, "interop", PACK_TEST, [
        {"id": "test_pack.py::test_device_srvs_over_duis", "roles": ["esme"]},
        {"id": "test_pack.py::test_misuse_over_duis", "roles": ["esme"]},
        {"id": "test_pack.py::test_invalid_requests_over_duis", "roles": ["esme"]},
    ])  # fmt: skip
    out = run_pack(pack, tmp_path / "r", "interop", lab=lab, endpoints=running.endpoints, timeout=180,
                   env={"XDG_STATE_HOME": str(tmp_path / "state")})  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    records = list(iter_results(tmp_path / "r" / "interop" / "results.jsonl"))
    assert [r.outcome for r in records] == [Outcome.PASSED] * 3
