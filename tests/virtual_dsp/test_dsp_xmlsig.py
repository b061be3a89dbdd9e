"""The DSP's signature checks refuse what they must (fast, no JVM; the DCC tool covers interoperability)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from labs.virtual.dsp.xmlsig import DS, SignatureError, SigningKey, TrustStore, XmlError, parse, sign, verify

DOC = b'<a:Request xmlns:a="urn:x"><a:Body id="b"><a:V>1</a:V></a:Body></a:Request>'


def signer(cn: str) -> SigningKey:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return SigningKey(key, cert)


def test_signed_message_verifies_and_any_change_or_stranger_is_refused() -> None:
    alice, mallory = signer("90-B3-D5-1F-30-01-00-00"), signer("90-B3-D5-1F-30-09-00-00")
    trust = TrustStore()
    trust.add(alice.cert, ["IS"])
    signed = sign(parse(DOC), alice)
    assert verify(signed, trust).user_id == "90-B3-D5-1F-30-01-00-00"
    changed = etree.fromstring(etree.tostring(signed).replace(b">1<", b">2<"))
    with pytest.raises(SignatureError, match="does not verify"):
        verify(changed, trust)
    with pytest.raises(SignatureError) as stranger:
        verify(sign(parse(DOC), mallory), trust)
    assert stranger.value.unknown_signer
    with pytest.raises(SignatureError, match="not signed"):
        verify(parse(DOC), trust)


def test_a_signature_over_part_of_the_message_is_refused() -> None:
    alice = signer("90-B3-D5-1F-30-01-00-00")
    trust = TrustStore()
    trust.add(alice.cert)
    signed = sign(parse(DOC), alice)
    ref = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference")
    assert ref is not None
    ref.set("URI", "#b")
    with pytest.raises(SignatureError, match="whole message"):
        verify(signed, trust)


def test_doctype_and_garbage_are_not_parsed() -> None:
    with pytest.raises(XmlError, match="DOCTYPE"):
        parse(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    with pytest.raises(XmlError, match="well-formed"):
        parse(b"<a>")
