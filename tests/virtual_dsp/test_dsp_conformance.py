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


def inner_of(xml: bytes) -> bytes | None:
    root = etree.fromstring(xml)
    inner = root.find(".//sr:SMETS1SignedResponse", NS)
    inner = inner if inner is not None else root.find(".//sr:S1SPAlert", NS)
    return None if inner is None else etree.tostring(inner)


def check_with_tool(tool: DuisTool, posts: list[bytes], keys: Path) -> None:
    """Every post passes the tool's Validate; every inner S1SP-signed element passes on its own
    against the S1SP's certificate (the tool skips signatures of a message that has two)."""
    assert posts
    for (rc, err), xml in zip(tool.validate_all(posts), posts, strict=True):
        assert rc == 0, f"{err}\n{xml!r}"
    inners = [i for i in map(inner_of, posts) if i is not None]
    for rc, err in tool.validate_all(inners, keys / "s1sp.cert.pem"):
        assert rc == 0 and "passed signature check" in err, err


def kinds(posts: list[bytes]) -> list[str]:
    out = []
    for xml in posts:
        body = etree.fromstring(xml).find("sr:Body", NS)
        assert body is not None
        out.append(etree.QName(body[0]).localname)
    return out


def test_signed_requests_are_acknowledged_executed_and_answered_with_valid_smets1_responses(
    dsp_lab: DspLab, duis_tool: DuisTool
) -> None:
    esme = dsp_lab.dsp.service.devices[ESME][1]
    signed = [
        duis_tool.sign(request("4.1.1", "<sr:ReadInstantaneousImportRegisters/>", counter=5001)),
        duis_tool.sign(request("7.2", "<sr:DisableSupply/>", counter=5002)),  # critical
        duis_tool.sign(request("11.2", "<sr:ReadFirmwareVersion/>", device=GSME, counter=5003)),
    ]
    before = dsp_lab.call(lambda: esme.registers().total_kwh)
    answers = [dsp_lab.post(xml) for xml in signed]
    assert [(status, code_of(xml)) for status, xml in answers] == [(200, "I99")] * 3
    posts = dsp_lab.receiver.wait_for(lambda p: all(responses_to(p, c) for c in (5001, 5002, 5003)))
    read, disable, firmware = (responses_to(posts, c)[0] for c in (5001, 5002, 5003))
    assert [code_of(x) for x in (read, disable, firmware)] == ["I0", "I0", "I0"]
    # The read reached the ESME model: the register lies between what it held before and after.
    after = dsp_lab.call(lambda: esme.registers().total_kwh)
    result = outcome_of(read)["result"]
    assert isinstance(result, dict) and before <= result["total_kwh"] <= after
    # The critical Disable Supply was executed on the device.
    assert dsp_lab.call(lambda: esme.supply.value) == "disabled"
    # The GSME's firmware version is the one the model runs.
    fw = outcome_of(firmware)["result"]
    gsme = dsp_lab.dsp.service.devices[GSME][1]
    assert isinstance(fw, dict) and fw["firmware_version"] == gsme.firmware_version
    check_with_tool(duis_tool, [answers[0][1], *posts], dsp_lab.keys)
