"""XML Signature of DUIS messages, as DCC Boxed makes it (signxml; no hand-written C14N).

Enveloped signature over the whole document (``Reference URI=""``), exclusive C14N, ECDSA P-256 with
SHA-256, digest SHA-256, and a ``KeyInfo`` holding only ``X509IssuerSerial`` (issuer DN as RFC 4514,
serial in decimal). The verifier therefore picks the certificate from a trust store by issuer and serial
and never trusts a certificate carried in the message.

DCC Boxed's tool canonicalises after dropping whitespace-only text nodes: sign compact XML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

DS_NS = "http://www.w3.org/2000/09/xmldsig#"


class SignatureRefused(ValueError):
    """The message carries no valid signature of a trusted signer (the reason says which)."""


def load_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM or DER (PKCS#8 or SEC1), as DCC Boxed and labs store them."""
    try:
        key = serialization.load_pem_private_key(data, None) if b"-----BEGIN" in data else \
            serialization.load_der_private_key(data, None)  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("DUIS signing keys are ECDSA P-256")
    return key


def load_cert(data: bytes) -> x509.Certificate:
    return (
        x509.load_pem_x509_certificate(data)
        if b"-----BEGIN" in data
        else x509.load_der_x509_certificate(data)
    )


def load_certs(paths: Iterable[str | Path]) -> list[x509.Certificate]:
    return [load_cert(Path(p).read_bytes()) for p in paths]


def issuer_serial(cert: x509.Certificate) -> tuple[str, int]:
    return cert.issuer.rfc4514_string(), cert.serial_number


def _key_info(cert: x509.Certificate) -> etree._Element:
    ki = etree.Element(f"{{{DS_NS}}}KeyInfo", nsmap={"ds": DS_NS})
    xis = etree.SubElement(etree.SubElement(ki, f"{{{DS_NS}}}X509Data"), f"{{{DS_NS}}}X509IssuerSerial")
    name, serial = issuer_serial(cert)
    etree.SubElement(xis, f"{{{DS_NS}}}X509IssuerName").text = name
    etree.SubElement(xis, f"{{{DS_NS}}}X509SerialNumber").text = str(serial)
    return ki


def _signer() -> XMLSigner:
    return XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )


def sign(root: etree._Element, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> etree._Element:
    """``root`` with an enveloped ``ds:Signature`` appended as its last child (a new tree)."""
    signed: etree._Element = _signer().sign(root, key=key, key_info=_key_info(cert))
    return signed


@dataclass(frozen=True)
class Verified:
    root: etree._Element  # the document as signed (signature removed by signxml: the signed data)
    signer: x509.Certificate


class TrustStore:
    """Certificates a verifier accepts, found by the ``X509IssuerSerial`` a signature names."""

    def __init__(self, certs: Iterable[x509.Certificate]):
        self._by_id: Mapping[tuple[str, int], x509.Certificate] = {issuer_serial(c): c for c in certs}

    def __len__(self) -> int:
        return len(self._by_id)

    def find(self, signature: etree._Element) -> x509.Certificate:
        name = signature.findtext(f".//{{{DS_NS}}}X509IssuerName")
        serial = signature.findtext(f".//{{{DS_NS}}}X509SerialNumber")
        if name is None or serial is None or not serial.strip().isdigit():
            raise SignatureRefused("signature names no X509IssuerSerial")
        wanted = (x509.Name.from_rfc4514_string(name.strip()).rfc4514_string(), int(serial.strip()))
        cert = self._by_id.get(wanted)
        if cert is None:
            raise SignatureRefused(f"signer not trusted (issuer {name.strip()!r}, serial {serial.strip()})")
        return cert


def own_signature(root: etree._Element) -> etree._Element:
    """The enveloped ``ds:Signature`` child of ``root`` (not a nested one, e.g. the S1SP's)."""
    sig = root.find(f"{{{DS_NS}}}Signature")
    if sig is None:
        raise SignatureRefused("message is not signed")
    return sig


def verify(root: etree._Element, trust: TrustStore) -> Verified:
    """Check the enveloped signature of ``root`` against the trusted signer it names.

    Raises :class:`SignatureRefused` (unsigned, unknown signer, digest or signature mismatch)."""
    cert = trust.find(own_signature(root))
    # location "./": this document's own enveloped signature, not a nested one (a SMETS1 response
    # carries the S1SP's signature inside the DSP's message, and it comes first in document order).
    config = SignatureConfiguration(location="./", expect_references=1)
    try:
        result = XMLVerifier().verify(root, x509_cert=cert, expect_config=config)
    except (InvalidSignature, InvalidInput) as exc:
        raise SignatureRefused(f"signature does not verify: {exc}") from None
    signed = result.signed_xml if not isinstance(result, list) else result[0].signed_xml
    if signed is None:
        raise SignatureRefused("signature covers nothing")
    return Verified(signed, cert)
