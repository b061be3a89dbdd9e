"""``dmct duis``: build and check DUIS messages by hand (lab engineers, DCC Boxed sessions).

``dmct duis request`` prints a signed Service Request for an SRV (the body the duis route would send);
``dmct duis verify`` checks a request or response file — DUIS XSD (``--xsd``) and XML Signature
against the given certificate(s) — and prints one line. See docs/protocols/duis.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError

ORDER = 80


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("duis", help="build or verify DUIS messages")
    duis = parser.add_subparsers(dest="duis_command", metavar="ACTION", required=True)

    req = duis.add_parser("request", help="print a signed DUIS Service Request")
    req.add_argument("--srv", required=True, help="Service Reference Variant, e.g. 4.1.1")
    req.add_argument("--device", required=True, help="target EUI-64")
    req.add_argument("--user", required=True, help="the User's EUI-64 (RequestID originator)")
    req.add_argument("--key", required=True, type=Path, help="the User's XML signing key (PEM or DER)")
    req.add_argument("--cert", required=True, type=Path, help="the User's XML signing certificate")
    req.add_argument("--params", default="{}", help="SRV parameters as a JSON object (the packs' names)")
    req.add_argument("--future-date", help="ISO date-time with zone: the future-dated variant")
    req.add_argument("--fuel", choices=("electricity", "gas"), default="electricity",
                     help="the target's fuel, for bodies with both branches")  # fmt: skip
    req.add_argument("--counter", type=int, help="RequestID counter (default: the route's counter store)")
    req.add_argument("--xsd", type=Path, help="DUIS XSD: validate the request before printing it")
    req.set_defaults(func=_request)

    ver = duis.add_parser("verify", help="check a DUIS message file: XSD and signature, one line")
    ver.add_argument("file", type=Path)
    ver.add_argument("--cert", required=True, type=Path, action="append",
                     help="a trusted signer's certificate (repeatable)")  # fmt: skip
    ver.add_argument("--s1sp-cert", type=Path, action="append", default=[],
                     help="S1SP certificate: also verify a nested SMETS1 response / S1SP alert")  # fmt: skip
    ver.add_argument("--xsd", type=Path, help="DUIS XSD to validate against")
    ver.set_defaults(func=_verify)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DmctInputError(str(path), f"cannot read the {what}: {exc.strerror or exc}") from None


def _schema(path: Path | None) -> Any:
    if path is None:
        return None
    from device_drivers.duis import xsd

    try:
        return xsd.schema(path)
    except xsd.SchemaUnavailable as exc:
        raise DmctInputError(str(path), str(exc).split(": ", 1)[-1], field="--xsd") from None


def _request(args: argparse.Namespace) -> int:
    from device_drivers.duis import requests, signing, xsd
    from device_drivers.duis.counters import CounterStore
    from device_drivers.duis.ids import eui

    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise DmctInputError("--params", f"not JSON: {exc.msg}") from None
    if not isinstance(params, dict):
        raise DmctInputError("--params", "must be a JSON object")
    future = None
    if args.future_date:
        try:
            future = datetime.fromisoformat(args.future_date)
        except ValueError:
            raise DmctInputError("--future-date", f"not an ISO date-time: {args.future_date!r}") from None
    try:
        key = signing.load_key(_read(args.key, "key"))
        cert = signing.load_cert(_read(args.cert, "certificate"))
    except ValueError as exc:
        raise DmctInputError("--key/--cert", str(exc)) from None
    try:
        user = eui(args.user)
        counter = args.counter if args.counter is not None else CounterStore().next(user)
        root = requests.build_request(
            args.srv, originator=user, target=args.device, counter=counter, params=params, fuel=args.fuel,
            future_date=future,
        )  # fmt: skip
    except (ValueError, KeyError) as exc:
        raise DmctInputError(f"SRV {args.srv}", str(exc).strip('"')) from None
    schema = _schema(args.xsd)
    if schema is not None:
        problems = xsd.errors(schema, root)
        if problems:
            raise DmctInputError(f"SRV {args.srv}", f"request not valid against the DUIS XSD: {problems[0]}")
    sys.stdout.write(requests.to_bytes(signing.sign(root, key, cert)).decode() + "\n")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from lxml import etree

    from device_drivers.duis import responses, signing, xsd
    from device_drivers.duis.receiver import safe_parser

    raw = _read(args.file, "message")
    try:
        trust = signing.TrustStore([signing.load_cert(_read(p, "certificate")) for p in args.cert])
        s1sp = signing.TrustStore([signing.load_cert(_read(p, "certificate")) for p in args.s1sp_cert])
    except ValueError as exc:
        raise DmctInputError("--cert", f"not a certificate: {exc}") from None
    schema = _schema(args.xsd)
    name = args.file.name
    try:
        root = etree.fromstring(raw, safe_parser())
    except etree.XMLSyntaxError as exc:
        print(f"FAIL {name}: not XML: {exc}")
        return 1
    if schema is not None:
        problems = xsd.errors(schema, root)
        if problems:
            print(f"FAIL {name}: not valid against the DUIS XSD: {problems[0]}")
            return 1
    try:
        signer = signing.verify(root, trust).signer
    except signing.SignatureRefused as exc:
        print(f"FAIL {name}: {exc}")
        return 1
    what = etree.QName(root).localname
    detail = ""
    if what == "Response" or what == "S1SPAlert":
        try:
            message = responses.parse(root)
            detail = f" {message.kind} {message.code} {message.request_id or ''}".rstrip()
            if len(s1sp):
                inner = responses.verify_inner(message, s1sp)
                if inner is not None:
                    detail += f"; S1SP signature by {inner.signer.subject.rfc4514_string()} ok"
        except responses.NotDuis as exc:
            print(f"FAIL {name}: {exc}")
            return 1
        except signing.SignatureRefused as exc:
            print(f"FAIL {name}: S1SP {exc}")
            return 1
    elif what == "Request":
        ns = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
        detail = (f" SRV {root.findtext('sr:Header/sr:ServiceReferenceVariant', namespaces=ns)}"
                  f" {root.findtext('sr:Header/sr:RequestID', namespaces=ns)}")  # fmt: skip
    checked = "XSD and signature" if schema is not None else "signature (no --xsd)"
    print(f"OK {name}: {what}{detail}; {checked} ok, signed by {signer.subject.rfc4514_string()}")
    return 0
