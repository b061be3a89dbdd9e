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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lxml import etree

from labs.virtual.devices import Esme
from labs.virtual.devices.alerts import SUPPLY_ARMED_LOAD_LIMIT

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
    """The responses (not alerts) whose header names the request with this counter."""
    out = []
    for xml in posts:
        rid = etree.fromstring(xml).findtext("sr:Header/sr:RequestID", namespaces=NS) or ""
        if rid.endswith(f":{counter}"):
            out.append(xml)
    return out


def inner_of(xml: bytes) -> bytes | None:
    root = etree.fromstring(xml)
    inner = root.find(".//sr:SMETS1SignedResponse", NS)
    inner = inner if inner is not None else root.find(".//sr:S1SPAlert", NS)
    return None if inner is None else etree.tostring(inner)


def representatives(messages: list[bytes]) -> list[bytes]:
    """One message of each shape (body kind, response code, alert code): the tool's JVM takes a
    second or more per message, and messages of one shape differ only in values."""
    seen: dict[tuple[str, str, str], bytes] = {}
    for xml in messages:
        root = etree.fromstring(xml)
        body = root.find("sr:Body", NS)
        key = (
            etree.QName(body[0]).localname if body is not None and len(body) else "",
            root.findtext("sr:Header/sr:ResponseCode", namespaces=NS) or "",
            (root.findtext(".//sr:DCCAlertCode", namespaces=NS) or "")
            + (root.findtext(".//ra:GBCSHexAlertCode", namespaces=NS) or ""),
        )
        seen.setdefault(key, xml)
    return list(seen.values())


def check_with_tool(tool: DuisTool, messages: list[bytes], keys: Path) -> None:
    """Messages of every shape pass the tool's Validate; their inner S1SP-signed elements pass on
    their own against the S1SP's certificate (the tool skips signatures of a message that has two)."""
    assert messages
    posts = representatives(messages)
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
    assert isinstance(esme, Esme)
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


def test_refusals_get_their_codes_are_not_executed_and_are_alerted(
    dsp_lab: DspLab, duis_tool: DuisTool, tmp_path: Path
) -> None:
    """Flipped byte -> E2 (route E8), wrong signer -> E2, unknown signer -> E3 (E9), replay -> E19
    (E10), ineligible role -> E4 (E7), XSD-invalid -> HTTP 400 E1; none reaches the device, and each
    DCO-gate refusal is a DCC alert to the User (the framed route's security log, N42)."""
    esme = dsp_lab.dsp.service.devices[ESME][1]
    assert isinstance(esme, Esme)
    disable = request("7.2", "<sr:DisableSupply/>", counter=6001)
    with ThreadPoolExecutor(2) as pool:
        good_f = pool.submit(duis_tool.sign, disable)
        role_f = pool.submit(
            duis_tool.sign, request("7.2", "<sr:DisableSupply/>", user=NETWORK_OPERATOR, counter=6004)
        )
        wrong_f = pool.submit(
            duis_tool.sign,
            request("7.2", "<sr:DisableSupply/>", counter=6002),
            as_cert="xml-sign-90B3D51F30020000-ds.pem",  # the network operator's (trusted) key
            as_key=duis_tool.pem_key("xml-sign-90B3D51F30020000-ds.key", tmp_path),
        )
        unknown_f = pool.submit(
            duis_tool.sign,
            request("7.2", "<sr:DisableSupply/>", counter=6003),
            as_cert="xml-sign-00DB123456780004-ds.pem",  # a DCC Boxed key the DSP does not trust
            as_key=duis_tool.pem_key("xml-sign-00DB123456780004-ds.key", tmp_path),
        )
        good, role, wrong, unknown = (f.result() for f in (good_f, role_f, wrong_f, unknown_f))
    at = good.index(b"<ds:SignatureValue>") + len(b"<ds:SignatureValue>") + 5
    flipped = good[:at] + (b"A" if good[at : at + 1] != b"A" else b"B") + good[at + 1 :]  # one byte
    invalid = request("7.2", "<sr:DisableSupply/>", counter=6005).replace(
        "<sr:CommandVariant>1", "<sr:CommandVariant>x"
    )
    answers = {
        "flipped": dsp_lab.post(flipped),
        "wrong signer": dsp_lab.post(wrong),
        "unknown signer": dsp_lab.post(unknown),
        "role": dsp_lab.post(role),
        "xsd-invalid": dsp_lab.post(invalid.encode()),
        "not xml": dsp_lab.post(b"\\x00 not xml"),
        "good": dsp_lab.post(good),
        "replay": dsp_lab.post(good),
    }
    got = {k: (status, code_of(xml)) for k, (status, xml) in answers.items()}
    assert got == {
        "flipped": (200, "E2"),
        "wrong signer": (200, "E2"),
        "unknown signer": (200, "E3"),
        "role": (200, "E4"),
        "xsd-invalid": (400, "E1"),
        "not xml": (400, "E1"),
        "good": (200, "I99"),
        "replay": (200, "E19"),
    }
    # Five DCO-gate refusals (E8 twice, E9, E7, E10), each alerted; the good request answered once.
    posts = dsp_lab.receiver.wait_for(
        lambda p: kinds(p).count("DCCAlertMessage") >= 5 and responses_to(p, 6001), timeout=15
    )
    alerts = [x for x in posts if kinds([x]) == ["DCCAlertMessage"]]
    codes = [etree.fromstring(a).findtext(".//sr:DCCAlertCode", namespaces=NS) for a in alerts]
    assert codes.count("N42") == 5, codes
    assert len(responses_to(posts, 6001)) == 1  # the replay was not executed a second time
    log = dsp_lab.dsp.service.security_log
    assert sorted(e["code"] for e in log) == ["E10", "E7", "E8", "E8", "E9"]
    assert dsp_lab.call(lambda: esme.supply.value) == "disabled"  # by the one good request only
    check_with_tool(duis_tool, [a[1] for a in answers.values()] + posts, dsp_lab.keys)


def test_posts_are_retried_until_the_user_accepts_them(dsp_lab: DspLab, duis_tool: DuisTool) -> None:
    """The receive endpoint answers 503 twice, then 204: the response arrives once, after 3 attempts."""
    dsp_lab.receiver.statuses = [503, 503]
    signed = duis_tool.sign(request("11.2", "<sr:ReadFirmwareVersion/>", counter=7001))
    status, answer = dsp_lab.post(signed)
    assert (status, code_of(answer)) == (200, "I99")
    posts = dsp_lab.receiver.wait_for(lambda p: responses_to(p, 7001))
    assert len(responses_to(posts, 7001)) == 1 and dsp_lab.receiver.hits >= 3
    delivery = next(d for d in dsp_lab.dsp.deliveries if d.request_id and d.request_id.endswith(":7001"))
    deadline = time.monotonic() + 5
    while delivery.status != 204 and time.monotonic() < deadline:  # the DSP reads the answer after us
        time.sleep(0.02)
    assert (delivery.attempts, delivery.status) == (3, 204)


def test_device_alerts_are_posted_as_smets1_device_alert_messages(
    dsp_lab: DspLab, duis_tool: DuisTool
) -> None:
    """A meter event (0x8F33, supply armed by load limiting) reaches the User as a DSP-signed
    SMETS1ResponseMessage whose S1SP-signed inner body is a DeviceAlertMessage with that code."""
    esme = dsp_lab.dsp.service.devices[ESME][1]
    assert isinstance(esme, Esme)
    dsp_lab.call(lambda: esme.alerter.raise_alert(SUPPLY_ARMED_LOAD_LIMIT))
    posts = dsp_lab.receiver.wait_for(lambda p: "SMETS1ResponseMessage" in kinds(p))
    alert = etree.fromstring(posts[0])
    assert alert.findtext(".//ra:GBCSHexAlertCode", namespaces=NS) == "8F33"
    assert alert.findtext(".//ra:BusinessOriginatorID", namespaces=NS) == ESME
    assert outcome_of(posts[0])["kind"] == "device"
    check_with_tool(duis_tool, posts[:1], dsp_lab.keys)


def test_oversize_request_is_refused_without_a_crash(dsp_lab: DspLab, duis_tool: DuisTool) -> None:
    status, _ = dsp_lab.post(b"<x>" + b"a" * (2 << 20) + b"</x>")
    assert status == 413
    signed = duis_tool.sign(request("11.2", "<sr:ReadFirmwareVersion/>", counter=8001))
    assert code_of(dsp_lab.post(signed)[1]) == "I99"  # the DSP still serves
