"""The receive endpoint under bad input: every refusal is a 4xx and one log line, nothing crashes, and
a retried post of an accepted message is not delivered twice (issue 15, "Done when")."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from device_drivers.duis import signing
from device_drivers.duis.receiver import Checker, Receiver, Spool
from device_drivers.duis.requests import to_bytes
from tests.duis import messages as M
from tests.duis.dcc_tool import DSP, SUPPLIER, DccTool
from tests.duis.test_conformance import post

DEVICE = "00-1A-2B-FF-FE-00-00-02"
RID = f"{SUPPLIER}:{DEVICE}:5000"


@pytest.fixture
def endpoint(dcc: DccTool, tmp_path: Path) -> Iterator[Receiver]:
    dsp = signing.TrustStore([signing.load_cert(dcc.cert(DSP).read_bytes())])
    spool = Spool(tmp_path / "spool")
    spool.register(RID)
    r = Receiver(Checker(dsp, None, str(dcc.xsd), spool.known), spool, host="127.0.0.1", port=0,
                 path="/duis", max_body=64 * 1024, read_timeout_s=0.5)  # fmt: skip
    assert r.try_bind()
    yield r
    r.close()


def signed(dcc: DccTool, text: str, who: str = DSP) -> bytes:
    key = signing.load_key(dcc.key(who).read_bytes())
    cert = signing.load_cert(dcc.cert(who).read_bytes())
    return to_bytes(signing.sign(etree.fromstring(text.encode()), key, cert))


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "dmct.duis.receiver" and r.levelno >= logging.WARNING
    ]


def test_bad_input_gets_4xx_and_one_log_line_each(
    dcc: DccTool, endpoint: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dmct.duis.receiver")
    good = M.gbcs_response(RID)
    cases = {
        "not XML": (b"this is not XML <", 400),
        "XSD-invalid": (signed(dcc, good.replace(">I0<", ">X7<")), 400),
        "unsigned": (good.encode(), 400),
        "wrong signer": (signed(dcc, good, who=SUPPLIER), 400),
        "unknown RequestID": (signed(dcc, M.gbcs_response(f"{SUPPLIER}:{DEVICE}:5001")), 400),
        "entity expansion": (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><a>&x;&x;</a>', 400),
    }
    for name, (body, status) in cases.items():
        before = len(refusals(caplog))
        assert post(endpoint.url, body) == status, name
        lines = refusals(caplog)[before:]
        assert len(lines) == 1, (name, lines)
    assert post(endpoint.url, signed(dcc, good), ctype="text/plain") == 415
    assert endpoint.accepted == 0
    assert post(endpoint.url, signed(dcc, good)) == 204  # still serving, and a good message gets in
    assert endpoint.accepted == 1


def test_oversize_is_refused_before_reading(endpoint: Receiver) -> None:
    assert post(endpoint.url, b"<a>" + b"x" * (endpoint.max_body + 10) + b"</a>") == 413


def test_slow_sender_gets_408_and_the_endpoint_keeps_serving(
    dcc: DccTool, endpoint: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dmct.duis.receiver")
    with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as s:
        s.sendall(
            b"POST /duis HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            b"Content-Length: 1000\r\n\r\n<a>"
        )
        started = time.monotonic()
        answer = s.recv(200)
        assert answer.startswith(b"HTTP/1.0 408") or answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 5
    assert any("too slow" in line for line in refusals(caplog))
    with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as s:
        s.sendall(b"POST /duis HTTP/1.1\r\nHost: x\r\n")  # and then nothing: the headers never end
        assert s.recv(200).split(b" ")[1] == b"408"
    assert sum("too slow" in line for line in refusals(caplog)) == 2
    assert post(endpoint.url, signed(dcc, M.gbcs_response(RID))) == 204


def test_a_retried_post_is_not_delivered_twice(dcc: DccTool, endpoint: Receiver) -> None:
    delivered: list[object] = []
    endpoint.on_message = delivered.append
    body = signed(dcc, M.gbcs_response(RID))
    assert post(endpoint.url, body) == 204
    assert post(endpoint.url, body) == 204  # the DSP retries after a lost answer: still 2xx
    assert len(delivered) == 1
    assert len(endpoint.spool.since(0, set())) == 1
    # The same message signed anew (another signature value) is still the same message.
    assert post(endpoint.url, signed(dcc, M.gbcs_response(RID))) == 204
    assert len(endpoint.spool.since(0, set())) == 1
