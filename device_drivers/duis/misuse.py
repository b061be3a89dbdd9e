"""DUIS requests spoiled as a misusing party would send them, for the packs' security misuse tests.

SEC Appendix AK 6.3 (b): the SRVT pack shows that misused critical SRVs are refused and change nothing.
Over DUIS the DSP checks every request's XML Signature against the Users' certificates it trusts and
its RequestID counter (strictly increasing per User), so the misuse is made of real DUIS messages:

* ``unsigned``: the request without ``ds:Signature`` (the XSD makes it optional: the DSP, not the
  schema, refuses it — DUIS E2);
* ``corrupt_signature``: signed, then one bit of ``ds:SignatureValue`` flipped (E2);
* ``tampered``: signed, then the RequestID's counter raised by one — the signed content changed in
  transit, as someone re-using a captured request as a fresh one would (E2);
* ``unknown_signer``: signed by a throwaway P-256 key whose self-signed certificate no trust store holds,
  the RequestID naming :data:`device_drivers.route.UNKNOWN_USER` as originator (E3).

A genuine request posted a second time is the replay (E19); it needs nothing here. The route maps these
DUIS codes to the route codes the packs check (:mod:`.codes`: E2 → E8, E3 → E9, E19 → E10).
"""

from __future__ import annotations

import base64
import copy
import functools
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from device_drivers.duis import signing
from device_drivers.duis.requests import SR_NS

KINDS = ("unsigned", "corrupt_signature", "tampered", "unknown_signer")


@functools.cache
def unknown_signer() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 key and a self-signed certificate with a random serial number: no DSP trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dmct unknown signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _request_id(root: etree._Element) -> etree._Element:
    found = root.find(f"{{{SR_NS}}}Header/{{{SR_NS}}}RequestID")
    if found is None or not found.text:
        raise ValueError("the request has no RequestID")
    return found


def corrupt_signature(signed: etree._Element) -> etree._Element:
    """A copy of ``signed`` whose signature value has its last bit flipped (still valid base64)."""
    out = copy.deepcopy(signed)
    value = out.find(f"{{{signing.DS_NS}}}Signature/{{{signing.DS_NS}}}SignatureValue")
    if value is None or not value.text:
        raise ValueError("the request is not signed")
    raw = bytearray(base64.b64decode("".join(value.text.split())))
    raw[-1] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    return out


def tamper(signed: etree._Element) -> etree._Element:
    """A copy of ``signed`` whose RequestID counter is one higher than the one that was signed."""
    out = copy.deepcopy(signed)
    rid = _request_id(out)
    head, _, counter = (rid.text or "").rpartition(":")
    rid.text = f"{head}:{int(counter) + 1}"
    return out


def spoil(
    root: etree._Element,
    misuse: str | None,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
) -> etree._Element:
    """The request ``root`` (unsigned, built for its originator) as ``misuse`` says; None: signed by
    ``key``/``cert`` and left as it is (send it twice for a replay)."""
    if misuse not in (None, *KINDS):
        raise ValueError(f"unknown misuse {misuse!r} (known: {', '.join(KINDS)})")
    if misuse == "unsigned":
        return copy.deepcopy(root)
    if misuse == "unknown_signer":
        key, cert = unknown_signer()
    signed = signing.sign(root, key, cert)
    if misuse == "corrupt_signature":
        return corrupt_signature(signed)
    if misuse == "tampered":
        return tamper(signed)
    return signed
