"""Conformance with the DCC's own tooling (the DCC Boxed signing tool, ``@smartdcc/duis-sign-wrap``):

* every request the harness builds, for every SRV the packs use (electricity, gas and future-dated
  variants), signed by the harness with the DCC Boxed test supplier key, passes the tool's ``Validate``
  (DUIS XSD and XML Signature); a request with one changed byte does not (the oracle can fail);
* every response and alert signed by the tool's ``Sign`` (as the DSP, with DCC Boxed's DSP key) is
  accepted by the harness's receive endpoint (204), and the same message with one flipped byte is
  refused (400).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from device_drivers.duis import responses, signing
from device_drivers.duis.receiver import Checker, Receiver, Spool
from device_drivers.duis.requests import to_bytes
from tests.duis import messages as M
from tests.duis.dcc_tool import DSP, S1SP, SUPPLIER, DccTool
from tests.duis.test_codec import _all_requests

DEVICE = "00-1A-2B-FF-FE-00-00-02"


def test_every_request_signed_by_the_harness_passes_dcc_validate(dcc: DccTool, tmp_path: Path) -> None:
    key = signing.load_key(dcc.key(SUPPLIER).read_bytes())
    cert = signing.load_cert(dcc.cert(SUPPLIER).read_bytes())
    files = []
    for name, root in _all_requests(dcc.cert(SUPPLIER)):
        f = tmp_path / f"{name}.xml"
        f.write_bytes(to_bytes(signing.sign(root, key, cert)))
        files.append(f)
    spoiled = tmp_path / "spoiled.xml"
    spoiled.write_bytes(files[0].read_bytes().replace(b"<sr:CommandVariant>1<", b"<sr:CommandVariant>5<"))
    unsigned = tmp_path / "unsigned.xml"
    unsigned.write_bytes(to_bytes(_all_requests(dcc.cert(SUPPLIER))[0][1]))
    results = dcc.validate_many([*files, spoiled, unsigned])
    assert len(files) >= 77
    failed = {f.name: results.get(f) for f in files if results.get(f) != "SUCCESS"}
    assert not failed, failed
    assert results[spoiled] == "VALIDATION_FAIL"
    assert results[unsigned] == "VALIDATION_FAIL"


def post(url: str, body: bytes, ctype: str = "application/xml") -> int:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/" + url.split("//", 1)[1].split("/", 1)[1], body, {"Content-Type": ctype})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def endpoint(dcc: DccTool, tmp_path: Path) -> Iterator[Receiver]:
    dsp = signing.TrustStore([signing.load_cert(dcc.cert(DSP).read_bytes())])
    s1sp = signing.TrustStore([signing.load_cert(dcc.cert(S1SP).read_bytes())])
    spool = Spool(tmp_path / "spool")
    receiver = Receiver(Checker(dsp, s1sp, str(dcc.xsd), spool.known), spool, host="127.0.0.1", port=0,
                        path="/duis")  # fmt: skip
    assert receiver.try_bind()
    yield receiver
    receiver.close()


def flip(raw: bytes) -> bytes:
    """One byte of the signed content changed (a digit of the ResponseDateTime)."""
    i = raw.index(b"2026-12-06T12")
    return raw[:i] + b"2027" + raw[i + 4 :]


def test_responses_signed_by_dcc_tool_are_accepted_and_a_flipped_byte_is_refused(
    dcc: DccTool, endpoint: Receiver, tmp_path: Path
) -> None:
    rids = [f"{SUPPLIER}:{DEVICE}:{1_000 + i}" for i in range(4)]
    for rid in rids:
        endpoint.spool.register(rid)
    # The S1SP signs its SMETS1 response as a document of its own; the tool signs only messages whose
    # XSD allows them unsigned, so the harness's signer makes that inner signature (with DCC Boxed's key).
    s1_key = signing.load_key(dcc.key(S1SP).read_bytes())
    s1_cert = signing.load_cert(dcc.cert(S1SP).read_bytes())
    inner = etree.fromstring(M.smets1_signed_response(rids[3]).encode())
    inner_signed = etree.tostring(signing.sign(inner, s1_key, s1_cert)).decode()
    texts = {
        "gbcs-response": M.gbcs_response(rids[0]),
        "error-response": M.error(rids[1], "E3"),
        "dcc-alert": M.dcc_alert(rids[2], DSP),
        "device-alert": M.device_alert(DEVICE, SUPPLIER, 77),
    }
    files = []
    for name, text in texts.items():
        f = tmp_path / f"{name}.xml"
        f.write_text(text)
        files.append(f)
    signed = dcc.sign_many(files, DSP)
    for f in files:
        assert post(endpoint.url, signed[f]) == 204, f.name
    assert endpoint.accepted == len(files)
    for f in files:
        assert post(endpoint.url, flip(signed[f])) == 400, f.name
    assert endpoint.accepted == len(files)
    kinds = sorted(responses.parse(etree.fromstring(raw)).kind for _, raw in endpoint.spool.since(0, set()))
    assert kinds == sorted(["response", "response", "dcc_alert", "device_alert"])

    # A SMETS1 response nests the S1SP's signature. The tool's Sign strips every existing ds:Signature
    # before signing and its Validate skips the signature check of a message holding two, so here the
    # tool is the XSD oracle only; both signatures are made with DCC Boxed's keys by the harness signer.
    dsp_key = signing.load_key(dcc.key(DSP).read_bytes())
    dsp_cert = signing.load_cert(dcc.cert(DSP).read_bytes())
    outer = to_bytes(signing.sign(etree.fromstring(M.smets1_response(rids[3], inner_signed).encode()),
                                  dsp_key, dsp_cert))  # fmt: skip
    nested = tmp_path / "smets1-response.xml"
    nested.write_bytes(outer)
    assert dcc.validate_many([nested])[nested] == "SUCCESS"
    assert post(endpoint.url, flip(outer)) == 400
    rogue = signing.sign(inner, dsp_key, dsp_cert)  # the inner response signed by someone not the S1SP
    forged = to_bytes(signing.sign(etree.fromstring(M.smets1_response(rids[3], etree.tostring(rogue).decode())
                                                    .encode()), dsp_key, dsp_cert))  # fmt: skip
    assert post(endpoint.url, forged) == 400
    assert post(endpoint.url, outer) == 204
    message = responses.parse(etree.fromstring(endpoint.spool.since(0, set())[-1][1]))
    assert message.kind == responses.SMETS1_RESPONSE and message.smets1 is not None
    assert message.smets1.payload == "ReadSupplyStatusRsp"
    assert message.data == {"SupplyState": "Disabled"}
