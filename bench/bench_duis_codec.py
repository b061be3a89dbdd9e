"""Benchmark of the DUIS codec: what a DUIS message costs the harness, per message, in milliseconds.

Not a pytest test.  Run from the repository root::

    .venv/bin/python bench/bench_duis_codec.py                # keys and XSD from the DCC Boxed tool cache
    .venv/bin/python bench/bench_duis_codec.py --xsd PATH --n 500

Measured, each as the median over ``--n`` messages (one warm-up pass first):

* build: the unsigned ``sr:Request`` for an SRV (4.1.1, a read; 1.1.1, the largest body: a tariff);
* validate: the request against the DUIS XSD (lxml, compiled schema cached);
* sign: enveloped XML Signature, exclusive C14N, ECDSA P-256/SHA-256 (signxml);
* verify: the same signature checked against the trust store (signxml);
* receive: a DSP-signed SMETS1 response as the receive endpoint checks it (XSD, DSP signature, parse,
  nested S1SP signature), without HTTP;
* with ``--route N``: N SRV 7.4 round trips through the whole ``duis`` route (build, validate, sign, POST,
  I99, asynchronous S1SP-signed result posted to the receive endpoint, checked, correlated) against the
  tests' stub DSP in this process (``tests/duis/test_route.py``): the harness side's own ceiling, not a
  DSP's speed. Round trips over the virtual DSP, against the framed route, need labs/virtual's DSP.

Keys: ephemeral P-256 keys and self-signed certificates made here (the cost does not depend on whose key
it is). The XSD is the DCC's, from the DCC Boxed tool the tests fetch (``tests/duis/dcc_tool.py``) unless
``--xsd`` names one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from lxml import etree  # noqa: E402

from device_drivers.duis import signing, xsd  # noqa: E402
from device_drivers.duis.receiver import Checker  # noqa: E402
from device_drivers.duis.requests import build_request, to_bytes  # noqa: E402

USER = "90-B3-D5-1F-30-01-00-00"
DEVICE = "00-1A-2B-FF-FE-00-00-02"
TARIFF = {"rates": 2, "prices": [24.5, 12.25], "standing_charge": 45.0,
          "switches": [{"at": "00:00", "rate": 1}, {"at": "07:00", "rate": 2}]}  # fmt: skip


def identity(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def median_ms(fn: Callable[[int], Any], n: int) -> float:
    fn(0)
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i + 1)
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 3)


def smets1_response(rid: str, s1: tuple[Any, Any], dsp: tuple[Any, Any]) -> bytes:
    sr, ra = (
        "http://www.dccinterface.co.uk/ServiceUserGateway",
        "http://www.dccinterface.co.uk/ResponseAndAlert",
    )
    user, device, counter = rid.split(":")
    inner = etree.fromstring(
        f'<sr:SMETS1SignedResponse xmlns:sr="{sr}" xmlns:ra="{ra}" schemaVersion="5.1"><sr:SMETS1Response>'
        f"<sr:Header><ra:BusinessOriginatorID>{device}</ra:BusinessOriginatorID><ra:BusinessTargetID>{user}"
        f"</ra:BusinessTargetID><ra:OriginatorCounter>{counter}</ra:OriginatorCounter></sr:Header><sr:Body>"
        "<sr:ResponseMessage><ra:SMETSData><ra:ReadSupplyStatusRsp><ra:SupplyState>Enabled</ra:SupplyState>"
        "</ra:ReadSupplyStatusRsp></ra:SMETSData></sr:ResponseMessage></sr:Body></sr:SMETS1Response>"
        "</sr:SMETS1SignedResponse>"
    )
    signed_inner = etree.tostring(signing.sign(inner, *s1)).decode()
    outer = etree.fromstring(
        f'<sr:Response xmlns:sr="{sr}" xmlns:ra="{ra}" schemaVersion="5.1"><sr:Header><sr:RequestID>{rid}'
        f"</sr:RequestID><sr:ResponseID>{device}:{user}:{counter}</sr:ResponseID><sr:ResponseCode>I0"
        "</sr:ResponseCode><sr:ResponseDateTime>2026-12-06T12:00:00Z</sr:ResponseDateTime></sr:Header><sr:Body>"
        "<sr:SMETS1ResponseMessage><sr:ServiceReference>7.4</sr:ServiceReference><sr:ServiceReferenceVariant>"
        f"7.4</sr:ServiceReferenceVariant>{signed_inner}</sr:SMETS1ResponseMessage></sr:Body></sr:Response>"
    )
    return to_bytes(signing.sign(outer, *dsp))


def measure(
    srv: str, params: dict[str, Any], schema: Any, user: tuple[Any, Any], trust: signing.TrustStore, n: int
) -> dict[str, Any]:
    built = build_request(srv, originator=USER, target=DEVICE, counter=1, params=params)
    raw = to_bytes(signing.sign(built, *user))

    def build(i: int) -> object:
        return build_request(srv, originator=USER, target=DEVICE, counter=i + 1, params=params)

    def validate(i: int) -> object:
        return xsd.errors(schema, built)

    def sign(i: int) -> object:
        return signing.sign(built, *user)

    def verify(i: int) -> object:
        return signing.verify(etree.fromstring(raw), trust)

    return {
        "bytes_signed": len(raw),
        "build_ms": median_ms(build, n),
        "validate_ms": median_ms(validate, n),
        "sign_ms": median_ms(sign, n),
        "verify_ms": median_ms(verify, n),
    }


def route_round_trips(n: int) -> dict[str, Any]:
    import tempfile

    from tests.duis.dcc_tool import fetch
    from tests.duis.test_route import ESME, StubDsp, make_route

    dcc = fetch()
    dsp = StubDsp(dcc, delay_s=0.0)
    route = make_route(dcc, dsp, Path(tempfile.mkdtemp(prefix="duis-bench-")))
    dsp.receive_url = route.receiver.url
    try:
        route.submit("7.4", ESME, user="supplier", timeout=10)  # warm-up
        started = time.perf_counter()
        for _ in range(n):
            assert route.submit("7.4", ESME, user="supplier", timeout=10).ok
        elapsed = time.perf_counter() - started
    finally:
        route.close()
        dsp.close()
    return {"n": n, "per_second": round(n / elapsed, 1), "ms_each": round(elapsed / n * 1000, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="messages per measurement")
    ap.add_argument("--route", type=int, default=0, help="also time N round trips through the duis route")
    ap.add_argument(
        "--xsd", type=Path, help="DUIS XSD (default: the DCC Boxed tool cache, fetched if need be)"
    )
    args = ap.parse_args()
    if args.xsd is None:
        from tests.duis.dcc_tool import fetch

        args.xsd = fetch().xsd
    schema = xsd.schema(args.xsd)
    user, s1, dsp = identity("user"), identity("s1sp"), identity("dsp")
    trust_user = signing.TrustStore([user[1]])
    out: dict[str, Any] = {"n": args.n}
    for srv, params in (("4.1.1", {}), ("1.1.1", TARIFF)):
        out[srv] = measure(srv, params, schema, user, trust_user, args.n)
    checker = Checker(
        signing.TrustStore([dsp[1]]), signing.TrustStore([s1[1]]), str(args.xsd), lambda _: True
    )
    response = smets1_response(f"{USER}:{DEVICE}:5", s1, dsp)
    out["receive_smets1_response_ms"] = median_ms(lambda i: checker.check(response), args.n)
    out["receive_bytes"] = len(response)
    if args.route:
        out["route_round_trips"] = route_round_trips(args.route)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
