"""The duis route end to end against a stub DSP: sign, post, acknowledgement, asynchronous SMETS1 result
at the route's receive endpoint, alerts, errors, and two route processes sharing one endpoint.

The stub DSP is test scaffolding, not the virtual DSP of labs/virtual: it checks each request against
the DUIS XSD and the User's signature, answers I99 (or I0 for serviceD), then posts a DSP-signed
SMETS1 response carrying an S1SP-signed payload, as DCC Boxed would."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from device_drivers.duis import responses, signing, xsd
from device_drivers.duis.requests import SR_NS, to_bytes
from device_drivers.duis.route import DuisRoute
from device_drivers.errors import LinkDown
from device_drivers.route import RouteError, load_route
from tests.duis import messages as M
from tests.duis.dcc_tool import DSP, S1SP, SUPPLIER, DccTool

ESME = "00-1A-2B-FF-FE-00-00-02"
GSME = "00-1A-2B-FF-FE-00-00-03"


class StubDsp:
    def __init__(self, dcc: DccTool, tls: ssl.SSLContext | None = None, delay_s: float = 0.05):
        self.delay_s = delay_s
        self.dcc = dcc
        self.schema = xsd.schema(dcc.xsd)
        self.users = signing.TrustStore([signing.load_cert(dcc.cert(SUPPLIER).read_bytes())])
        self.key = signing.load_key(dcc.key(DSP).read_bytes())
        self.cert = signing.load_cert(dcc.cert(DSP).read_bytes())
        self.s1_key = signing.load_key(dcc.key(S1SP).read_bytes())
        self.s1_cert = signing.load_cert(dcc.cert(S1SP).read_bytes())
        self.receive_url = ""
        self.requests: list[etree._Element] = []
        self.refuse_with: str | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, answer = stub.handle(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def sign(self, text: str) -> bytes:
        return to_bytes(signing.sign(etree.fromstring(text.encode()), self.key, self.cert))

    def handle(self, path: str, body: bytes) -> tuple[int, bytes]:
        root = etree.fromstring(body)
        if xsd.errors(self.schema, root):
            return 400, b"XSD"
        signing.verify(root, self.users)
        self.requests.append(root)
        rid = root.findtext(f"{{{SR_NS}}}Header/{{{SR_NS}}}RequestID") or ""
        srv = root.findtext(f"{{{SR_NS}}}Header/{{{SR_NS}}}ServiceReferenceVariant") or ""
        if self.refuse_with:
            return 200, self.sign(M.error(rid, self.refuse_with, srv))
        if path == "/api/v1/serviceD":
            return 200, self.sign(M.gbcs_response(rid, srv))
        threading.Timer(self.delay_s, self.post_result, args=(rid,)).start()
        return 200, self.sign(M.acknowledgement(rid, srv))

    def post_result(self, rid: str) -> None:
        inner = signing.sign(etree.fromstring(M.smets1_signed_response(rid, "Armed").encode()), self.s1_key,
                             self.s1_cert)  # fmt: skip
        for text in (M.smets1_response(rid, etree.tostring(inner).decode()),
                     M.device_alert(rid.split(":")[1], SUPPLIER, 9, "8F66")):  # fmt: skip
            req = urllib.request.Request(self.receive_url, data=self.sign(text), method="POST",
                                         headers={"Content-Type": "application/xml"})  # fmt: skip
            try:
                urllib.request.urlopen(req, timeout=5).close()
            except OSError:
                return  # the test ended and its route closed the endpoint: nothing is waiting for it

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dsp(dcc: DccTool) -> Iterator[StubDsp]:
    stub = StubDsp(dcc)
    yield stub
    stub.close()


def make_route(
    dcc: DccTool, dsp: StubDsp, tmp_path: Path, port: int = 0, tls: dict[str, str] | None = None
) -> DuisRoute:
    settings = {
        "xsd": str(dcc.xsd),
        "receive": f"127.0.0.1:{port}/duis",
        "users": [
            {
                "name": "supplier",
                "role": "IS",
                "eui": SUPPLIER,
                "key": str(dcc.key(SUPPLIER)),
                "cert": str(dcc.cert(SUPPLIER)),
            }
        ],
        "dsp_certs": [str(dcc.cert(DSP))],
        "s1sp_certs": [str(dcc.cert(S1SP))],
        "counter_dir": str(tmp_path / "counters"),
        "spool_dir": str(tmp_path / "spool"),
        "tls": tls or {},
    }
    route = load_route("duis", url=dsp.url, duis=settings, device_types={ESME: "esme", GSME: "gsme"})
    assert isinstance(route, DuisRoute)
    route.open()
    return route


def test_submit_waits_for_the_smets1_result_and_alerts_arrive(
    dcc: DccTool, dsp: StubDsp, tmp_path: Path
) -> None:
    route = make_route(dcc, dsp, tmp_path)
    dsp.receive_url = route.receiver.url
    try:
        result = route.submit("7.4", ESME, user="supplier", role="IS", timeout=10)
        assert result.ok and result.acknowledged and result.final
        assert result.result == {"payload": "ReadSupplyStatusRsp", "SupplyState": "Armed", "supply": "armed"}
        alert = route.wait_alerts(lambda a: a.code == "0x8F66", timeout=5)[0]
        assert (alert.kind, alert.device) == ("device", ESME)
        first = route.submit("7.2", ESME, user="supplier", wait=False)
        assert first.code == "I99" and not first.final
        assert route.wait_result(first.request_id, timeout=10).ok
        non_device = route.submit("8.2", ESME, user="supplier")
        assert non_device.ok and not non_device.acknowledged
        rids = [r.findtext(f"{{{SR_NS}}}Header/{{{SR_NS}}}RequestID") or "" for r in dsp.requests]
        counters = [int(rid.split(":")[2]) for rid in rids]
        assert counters == sorted(counters) and len(set(counters)) == len(counters)
    finally:
        route.close()


def test_an_e_code_raises_route_error_and_a_gas_meter_gets_the_gas_body(
    dcc: DccTool, dsp: StubDsp, tmp_path: Path
) -> None:
    route = make_route(dcc, dsp, tmp_path)
    dsp.receive_url = route.receiver.url
    dsp.refuse_with = "E3"
    try:
        with pytest.raises(RouteError) as err:
            route.submit("1.2.1", GSME, {"prices": [7.0], "standing_charge": 28.0}, user="supplier")
        assert err.value.code == "E9"  # DUIS E3 (signer) is the route's E9 (device_drivers/duis/codes.py)
        tariff = {"prices": [7.0], "standing_charge": 28.0}
        refused = route.submit("1.2.1", GSME, tariff, user="supplier", check=False)
        assert (refused.code, refused.responses[0]["duis_code"]) == ("E9", "E3")
        body = dsp.requests[-1].find(f"{{{SR_NS}}}Body")
        assert body is not None and body.find(f".//{{{SR_NS}}}GasPriceElements") is not None
    finally:
        route.close()


def test_two_route_processes_share_one_endpoint(dcc: DccTool, dsp: StubDsp, tmp_path: Path) -> None:
    """xdist workers: the second route cannot bind the port, yet gets its result through the spool."""
    first = make_route(dcc, dsp, tmp_path)
    second = make_route(dcc, dsp, tmp_path, port=first.receiver.port)
    dsp.receive_url = first.receiver.url
    try:
        assert first.receiver.serving and not second.receiver.serving
        result = second.submit("7.4", ESME, user="supplier", timeout=10)
        assert result.ok and result.result["SupplyState"] == "Armed"
    finally:
        second.close()
        first.close()


def test_migration_needs_a_named_adapter(dcc: DccTool, dsp: StubDsp, tmp_path: Path) -> None:
    route = make_route(dcc, dsp, tmp_path)
    try:
        with pytest.raises(LinkDown, match="migration"):
            route.migrate("rig-1", user="supplier")
    finally:
        route.close()


def test_unknown_user_is_bad_input(dcc: DccTool, dsp: StubDsp, tmp_path: Path) -> None:
    route = make_route(dcc, dsp, tmp_path)
    try:
        with pytest.raises(ValueError, match="no user 'network_operator'"):
            route.submit("7.4", ESME, user="network_operator")
    finally:
        route.close()
    assert responses.SUCCESS == "I0"


def _tls_files(tmp_path: Path) -> dict[str, Path]:
    """A test CA, the DSP's TLS server certificate (127.0.0.1) and the User's TLS client certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def issue(name: str, key: Any, issuer: Any, issuer_key: Any, ca: bool = False, ip: bool = False) -> Any:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        b = (x509.CertificateBuilder().subject_name(subject)
             .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))  # fmt: skip
        if ip:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            b = b.add_extension(san, critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    out: dict[str, Path] = {}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test TLS CA")])
    ca = issue("test TLS CA", ca_key, ca_name, ca_key, ca=True)
    for who, ip in (("server", True), ("client", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue(who, key, ca_name, ca_key, ip=ip)
        out[f"{who}_cert"] = tmp_path / f"{who}.pem"
        out[f"{who}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{who}_key"] = tmp_path / f"{who}.key"
        pkcs8 = serialization.PrivateFormat.PKCS8
        out[f"{who}_key"].write_bytes(
            key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
        )
    out["ca"] = tmp_path / "ca.pem"
    out["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return out


def test_https_with_a_client_certificate(dcc: DccTool, tmp_path: Path) -> None:
    files = _tls_files(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files["server_cert"], files["server_key"])
    server.load_verify_locations(files["ca"])
    server.verify_mode = ssl.CERT_REQUIRED  # the DSP admits only Users with a client certificate
    stub = StubDsp(dcc, tls=server)
    tls = {
        "client_cert": str(files["client_cert"]),
        "client_key": str(files["client_key"]),
        "ca": str(files["ca"]),
    }
    route = make_route(dcc, stub, tmp_path / "with", tls=tls)
    anonymous = make_route(dcc, stub, tmp_path / "without", tls={"ca": str(files["ca"])})
    try:
        assert stub.url.startswith("https://")
        assert route.submit("8.2", ESME, user="supplier").ok
        with pytest.raises(LinkDown):
            anonymous.submit("8.2", ESME, user="supplier")
    finally:
        route.close()
        anonymous.close()
        stub.close()


def test_the_transcript_holds_the_signed_request_and_what_came_back(
    dcc: DccTool, dsp: StubDsp, tmp_path: Path
) -> None:
    from device_drivers.transcript import Transcript

    route = make_route(dcc, dsp, tmp_path)
    dsp.receive_url = route.receiver.url
    route.transcript = Transcript()
    try:
        route.submit("7.4", ESME, user="supplier", timeout=10)
        entries = route.transcript.entries
        tx = [e for e in entries if e.direction == "tx"]
        rx = [e for e in entries if e.direction == "rx"]
        assert len(tx) == 1 and b"<sr:ReadSupplyStatus/>" in tx[0].data and b"ds:Signature" in tx[0].data
        assert any(b"I99" in e.data for e in rx) and any(b"SMETS1ResponseMessage" in e.data for e in rx)
    finally:
        route.close()


def test_what_duis_cannot_say_is_not_sent_and_what_the_srv_forbids_is_refused(
    dcc: DccTool, dsp: StubDsp, tmp_path: Path
) -> None:
    from device_drivers.duis.requests import RequestBuildError
    from device_drivers.route import RouteCannotExpress

    route = make_route(dcc, dsp, tmp_path)
    try:
        # DUIS has no form for it: the test that asks is not applicable on this route (nothing sent)
        with pytest.raises(RouteCannotExpress, match="DUIS XSD") as exc:
            route.submit("6.22", ESME, {"alerts": [{"code": "0x8F66", "send": False}]}, user="supplier")
        assert isinstance(exc.value.__cause__, RequestBuildError) and exc.value.route == "duis"
        with pytest.raises(RouteCannotExpress, match="15"):  # a supplier name over DUIS's 15 characters
            route.submit("3.4", ESME, {"name": "A supplier name too long"}, user="supplier")
        assert dsp.requests == []
        # What the SRV itself does not allow (the negative tests' malformed values, an SRV DUIS does not
        # define) goes as given, signed, and the DSP's schema check refuses it: E6 / E4 for the packs.
        refused = route.submit("99.9", ESME, user="supplier", check=False)
        assert (refused.code, refused.responses[-1]["duis_code"]) == ("E4", "HTTP400"), refused
        refused = route.submit("2.2", ESME, {"utrn": "12345"}, user="supplier", check=False)
        assert (refused.code, refused.responses[-1]["duis_code"]) == ("E6", "HTTP400"), refused
        assert dsp.requests == []  # the stub DSP refused both before acting
    finally:
        route.close()


def test_a_role_a_multi_role_user_id_cannot_be_asked_for(dcc: DccTool, dsp: StubDsp, tmp_path: Path) -> None:
    """DUIS names no role: a User ID holding IS and GS acts as IS to an ESME and as GS to a GSME at the
    DSP, so "act as GS towards the ESME" cannot be said (not applicable), whereas a role the target
    implies, or a User ID with one role, is fine."""
    import dataclasses

    from device_drivers.route import RouteCannotExpress

    route = make_route(dcc, dsp, tmp_path)
    try:
        route.users = [dataclasses.replace(u, role="", roles=("IS", "GS")) for u in route.users]
        assert route.user("supplier", "IS", ESME).eui == SUPPLIER
        assert route.user("supplier", "GS", GSME).eui == SUPPLIER
        with pytest.raises(RouteCannotExpress, match="acts as IS, not GS"):
            route.user("supplier", "GS", ESME)
        with pytest.raises(RouteCannotExpress, match="does not hold role NO"):
            route.user("supplier", "NO", ESME)
    finally:
        route.close()


def test_a_stated_role_goes_under_the_user_id_issued_for_it(
    dcc: DccTool, dsp: StubDsp, tmp_path: Path
) -> None:
    """The DCC issues a User ID per User Role: with the supplier's GS User ID listed under the same name,
    "act as GS towards the ESME" is sent under it (for the DSP to refuse), while a request in no stated
    role still goes under a User ID holding the role its target implies."""
    import dataclasses

    gs_id = "90-B3-D5-1F-30-01-00-09"
    route = make_route(dcc, dsp, tmp_path)
    try:
        both = dataclasses.replace(route.users[0], role="", roles=("IS", "GS"))
        gas = dataclasses.replace(route.users[0], role="GS", roles=(), eui=gs_id)
        route.users = [both, gas]
        assert route.user("supplier", "GS", ESME).eui == gs_id
        assert route.user("supplier", "GS", GSME).eui == gs_id
        assert route.user("supplier", "IS", ESME).eui == SUPPLIER
        assert route.user("supplier", None, ESME).eui == SUPPLIER
        # one User ID per role only (a real lab): no stated role picks the one the target implies
        route.users = [dataclasses.replace(both, role="IS", roles=()), gas]
        assert route.user("supplier", None, GSME).eui == gs_id
        assert route.user("supplier", None, ESME).eui == SUPPLIER
    finally:
        route.close()
