"""``dmct lab up labs/virtual-duis.yaml`` serves the virtual DSP beside the framed route."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml
from lxml import etree

from tests.conftest import RunningLab

from .conftest import DuisTool, Receiver
from .test_dsp_conformance import NS, check_with_tool, code_of, request

LAB = Path(__file__).parents[2] / "labs" / "virtual-duis.yaml"
LAB_ESME = "00-1A-2B-FF-FE-00-00-02"
LAB_SUPPLIER = "90-B3-D5-1F-30-01-00-01"  # the virtual lab's own supplier User


def test_lab_up_serves_the_dsp_with_the_labs_own_keys(
    virtual_lab: Callable[[Path], RunningLab], duis_tool: DuisTool, tmp_path: Path
) -> None:
    receiver = Receiver()
    data = yaml.safe_load(LAB.read_text())
    data["route"]["dsp"]["xsd"] = str(duis_tool.xsd)
    data["route"]["dsp"]["receive_url"] = receiver.url
    lab_file = tmp_path / "virtual-duis.yaml"
    lab_file.write_text(yaml.safe_dump(data, sort_keys=False))
    running = virtual_lab(lab_file)
    published = json.loads(running.endpoints.read_text())
    dsp_url = published["endpoints"]["virtual://lab/route/dsp"]
    assert dsp_url.startswith("http://127.0.0.1:")
    assert published["endpoints"]["virtual://lab/route/s1sp"].startswith("socket://")  # for migration
    keys = Path(published["route_keys"])
    body = f"<sr:ReadInventory><sr:DeviceID>{LAB_ESME}</sr:DeviceID></sr:ReadInventory>"
    xml = request("8.2", body, user=LAB_SUPPLIER, device=LAB_ESME, counter=42)
    pem = keys / "users" / "supplier.key.pem"
    signed = duis_tool.sign(xml, as_cert=str(keys / "users" / "supplier.cert.pem"), as_key=pem)
    flipped = signed.replace(b":42</sr:RequestID>", b":43</sr:RequestID>", 1)

    def post(xml: bytes) -> tuple[int, str]:
        ask = urllib.request.Request(
            f"{dsp_url}/api/v1/serviceD", data=xml, headers={"Content-Type": "application/xml"}
        )
        with urllib.request.urlopen(ask, timeout=10) as answer:
            return answer.status, code_of(answer.read())

    # The lab's installation is not migrated yet: a request that passed the DSP/DCO gate (the lab
    # supplier's signature verified, its role eligible) meets the inventory status check, E14 -> E21.
    assert post(signed) == (200, "E21")
    # The same request altered after signing fails the signature check, E8 -> E2.
    assert post(flipped) == (200, "E2")
    # Both refusals are answered synchronously; the E8 one is alerted to the User as a DCC alert.
    posts = receiver.wait_for(lambda p: any(b"DCCAlertMessage" in x for x in p))
    alert = next(x for x in posts if b"DCCAlertMessage" in x)
    assert etree.fromstring(alert).findtext(".//sr:DCCAlertCode", namespaces=NS) == "N42"
    check_with_tool(duis_tool, [alert], keys)
    # The lab's own DSP key signs (no DCC Boxed key configured): a single-signature message would be
    # checked by the tool against dsp.cert.pem; the alert has the S1SP's inside, checked above.
    assert (keys / "dsp.cert.pem").is_file()
    receiver.server.shutdown()
