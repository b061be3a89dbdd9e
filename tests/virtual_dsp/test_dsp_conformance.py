"""The virtual DSP against the DCC Boxed signing tool (the independent oracle).

Requests are signed by the tool's ``Sign`` (DCC Boxed's test supplier key, looked up from the
RequestID's originator); every message the DSP posts must pass the tool's ``Validate``: the DUIS XSD
and, for a message with one signature, the XML Signature by the DCC Boxed DSP certificate. For SMETS1
responses and S1SP alerts (two signatures: the S1SP's inside, the DSP's outside) the tool checks the
XSD only, so the inner S1SP-signed element is also validated on its own against the S1SP certificate.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lxml import etree

from .conftest import ESME, GSME, NETWORK_OPERATOR, SUPPLIER, DspLab, DuisTool

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA = "http://www.dccinterface.co.uk/ResponseAndAlert"
NS = {"sr": SR, "ra": RA}


def request(
    srv: str, body: str, *, device: str = ESME, user: str = SUPPLIER, counter: int = 1000, variant: int = 1
) -> str:
    ref = ".".join(srv.split(".")[:2])
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="{SR}" schemaVersion="5.1">'
        f"<sr:Header><sr:RequestID>{user}:{device}:{counter}</sr:RequestID>"
        f"<sr:CommandVariant>{variant}</sr:CommandVariant><sr:ServiceReference>{ref}</sr:ServiceReference>"
        f"<sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant></sr:Header>"
        f"<sr:Body>{body}</sr:Body></sr:Request>"
    )


def code_of(xml: bytes) -> str:
    return etree.fromstring(xml).findtext("sr:Header/sr:ResponseCode", namespaces=NS) or ""


def outcome_of(xml: bytes) -> dict[str, object]:
    item = etree.fromstring(xml).find(".//ra:GBCSData[@name='dmct-s1sp-outcome']", NS)
    assert item is not None and item.text
    data = json.loads(base64.b64decode(item.text))
    assert isinstance(data, dict)
    return data


def responses_to(posts: list[bytes], counter: int) -> list[bytes]:
    return [p for p in posts if f":{counter}</sr:RequestID>".encode() in p]


def check_with_tool(tool: DuisTool, xml: bytes, tmp: Path) -> None:
    """The tool's Validate passes; an inner S1SP-signed element passes on its own with the S1SP cert."""
    rc, err = tool.validate(xml)
    assert rc == 0, err
    root = etree.fromstring(xml)
    inner = root.find(".//sr:SMETS1SignedResponse", NS)
    if inner is None:
        inner = root.find(".//sr:S1SPAlert", NS)
    if inner is not None:
        rc, err = tool.validate(etree.tostring(inner), tmp / "s1sp.cert.pem")
        assert rc == 0 and "passed signature check" in err, err


def test_signed_read_is_acknowledged_executed_and_answered_with_a_valid_smets1_response(
    dsp_lab: DspLab, duis_tool: DuisTool
) -> None:
    signed = duis_tool.sign(request("4.1.1", "<sr:ReadInstantaneousImportRegisters/>", counter=5001))
    esme = dsp_lab.dsp.service.devices[ESME][1]
    before = dsp_lab.call(lambda: esme.registers().total_kwh)
    status, answer = dsp_lab.post(signed)
    assert status == 200 and code_of(answer) == "I99", answer
    rc, err = duis_tool.validate(answer)  # the unsigned acknowledgement is XSD-valid DUIS
    assert rc == 0, err
    posts = dsp_lab.receiver.wait_for(lambda p: responses_to(p, 5001))
    response = responses_to(posts, 5001)[0]
    assert code_of(response) == "I0"
    outcome = outcome_of(response)
    # The read reached the ESME model: the register lies between what it held before and after.
    after = dsp_lab.call(lambda: esme.registers().total_kwh)
    assert outcome["srv"] == "4.1.1" and outcome["device"] == ESME
    result = outcome["result"]
    assert isinstance(result, dict) and before <= result["total_kwh"] <= after
    check_with_tool(duis_tool, response, dsp_lab.keys)
