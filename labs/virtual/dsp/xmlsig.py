"""DUIS XML on the DSP side: safe parsing, XSD validation, XML Signature, the Users' trust store.

DUIS messages are XML Signature enveloped signatures over the whole document (``Reference URI=""``):
exclusive C14N, ECDSA P-256 with SHA-256, and a ``KeyInfo`` naming the signer's certificate by issuer
and serial number only (``X509IssuerSerial``), as the DCC Boxed signing tool produces them. The DSP
finds the certificate in its trust store by serial number, as DCC Boxed does. Canonicalisation and
signatures are signxml's, parsing and XSD validation lxml's: nothing here hand-rolls either.

Like the DCC Boxed tool, whitespace-only text between elements is dropped when a message is parsed,
so a pretty-printed copy of a compactly signed message still verifies.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

DS = "http://www.w3.org/2000/09/xmldsig#"
SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA = "http://www.dccinterface.co.uk/ResponseAndAlert"
#: x500UniqueIdentifier: where SMKI Organisation certificates carry the holder's EUI-64.
UNIQUE_IDENTIFIER = x509.ObjectIdentifier("2.5.4.45")


class XmlError(Exception):
    """A message that is not well-formed XML, carries a DTD, or fails the XSD."""


class SignatureError(Exception):
    """A message whose signature is missing, malformed, by an unknown signer or does not verify."""

    def __init__(self, message: str, *, unknown_signer: bool = False) -> None:
        super().__init__(message)
        self.unknown_signer = unknown_signer


def _parser() -> etree.XMLParser:
    # No DTDs, no entities, no network: a request is untrusted input (XXE, billion laughs).
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True, huge_tree=False
    )


def parse(data: bytes) -> etree._Element:
    """The document element of ``data``; refuses anything with a DOCTYPE."""
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise XmlError(f"not well-formed XML: {exc}") from None
    if getattr(tree.docinfo, "doctype", ""):
        raise XmlError("a DOCTYPE is not allowed in a DUIS message")
    return tree.getroot()


class Schema:
    """The DUIS XSD (with the MMC and XML Signature schemas it imports from the same directory)."""

    def __init__(self, path: Path) -> None:
        try:
            # The XML Signature schema names a DTD; schemas come from the lab, not from the wire.
            parser = etree.XMLParser(no_network=True, load_dtd=True, resolve_entities=False)
            doc = etree.parse(str(path), parser)
            # The DCC's file names hold spaces, which libxml2 skips in a schemaLocation: point each
            # import at its file by an escaped file URI instead.
            for imp in doc.getroot().iter("{http://www.w3.org/2001/XMLSchema}import"):
                loc = imp.get("schemaLocation")
                if loc and "://" not in loc:
                    imp.set("schemaLocation", (path.parent / unquote(loc)).resolve().as_uri())
            self._schema = etree.XMLSchema(doc)
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise XmlError(f"{path}: cannot load the DUIS XSD: {exc}") from None
        self.path = path

    def check(self, root: etree._Element) -> None:
        if not self._schema.validate(root):
            errors = list(self._schema.error_log)  # type: ignore[call-overload]  # iterable at run time
            err = errors[-1] if errors else None
            raise XmlError(f"XSD: line {err.line}: {err.message}" if err else "XSD validation failed")


@dataclass(frozen=True)
class TrustedCert:
    user_id: str
    cert: x509.Certificate
    roles: frozenset[str]


def user_id_of(cert: x509.Certificate) -> str | None:
    """The holder's EUI-64: x500UniqueIdentifier (SMKI) or, for the virtual lab's certificates, the CN."""
    for attr in cert.subject.get_attributes_for_oid(UNIQUE_IDENTIFIER):
        raw = attr.value if isinstance(attr.value, bytes) else str(attr.value).encode()
        body = raw[1:] if len(raw) == 9 else raw  # a DER BIT STRING keeps its unused-bits octet
        if len(body) == 8:
            return "-".join(f"{b:02X}" for b in body)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value).upper() if cns else None


def load_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """A PEM or DER (PKCS#8, as DCC Boxed ships them) EC private key."""
    data = path.read_bytes()
    key = (
        serialization.load_pem_private_key(data, None)
        if data.lstrip().startswith(b"-----")
        else serialization.load_der_private_key(data, None)
    )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


@dataclass
class TrustStore:
    """User certificates the DSP accepts signatures from, found by serial number; roles by User ID."""

    by_serial: dict[int, TrustedCert] = field(default_factory=dict)

    def add(self, cert: x509.Certificate, roles: Iterable[str] = ()) -> TrustedCert:
        user_id = user_id_of(cert)
        if user_id is None:
            raise ValueError(f"certificate {cert.serial_number} names no User (no EUI-64, no CN)")
        trusted = TrustedCert(user_id, cert, frozenset(roles))
        self.by_serial[cert.serial_number] = trusted
        return trusted

    def users(self) -> set[str]:
        return {t.user_id for t in self.by_serial.values()}


@dataclass(frozen=True)
class SigningKey:
    """Who signs what the DSP (or the S1SP) sends: the key and the certificate KeyInfo names."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _key_info(cert: x509.Certificate) -> etree._Element:
    info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    data = etree.SubElement(info, f"{{{DS}}}X509Data")
    serial = etree.SubElement(data, f"{{{DS}}}X509IssuerSerial")
    etree.SubElement(serial, f"{{{DS}}}X509IssuerName").text = cert.issuer.rfc4514_string()
    etree.SubElement(serial, f"{{{DS}}}X509SerialNumber").text = str(cert.serial_number)
    return info


def sign(root: etree._Element, signer: SigningKey) -> etree._Element:
    """``root`` with an enveloped signature appended as its last child (a new tree)."""
    xml_signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    xml_signer.namespaces = {"ds": DS}
    signed: etree._Element = xml_signer.sign(
        copy.deepcopy(root), key=signer.key, key_info=_key_info(signer.cert)
    )
    return signed


_CONFIG = SignatureConfiguration(
    require_x509=False,
    location="./",  # the document element's own signature, not one nested inside it
    signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    expect_references=1,
)


def signer_serial(root: etree._Element) -> int:
    sig = root.find(f"{{{DS}}}Signature")
    if sig is None:
        raise SignatureError("the message is not signed")
    serials = sig.findall(
        f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509IssuerSerial/{{{DS}}}X509SerialNumber"
    )
    if len(serials) != 1 or not (serials[0].text or "").strip().isdigit():
        raise SignatureError("the signature names no certificate serial number (X509IssuerSerial)")
    return int((serials[0].text or "").strip())


def verify_with(root: etree._Element, cert: x509.Certificate) -> None:
    """Check the document element's enveloped signature against ``cert``'s key. The one reference
    must be ``URI=""`` (the whole document): a signature over a part leaves the rest unprotected."""
    uris = [r.get("URI") for r in root.findall(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference")]
    if uris != [""]:
        raise SignatureError(
            f'the signature must have one reference to the whole message (URI=""), not {uris}'
        )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    try:
        result = XMLVerifier().verify(copy.deepcopy(root), x509_cert=pem, expect_config=_CONFIG)
    except (InvalidSignature, InvalidInput) as exc:
        raise SignatureError(f"signature does not verify: {exc}") from None
    if isinstance(result, list):  # one reference expected; signxml returns a list otherwise
        raise SignatureError("signature has more than one reference")
    if result.signed_xml is None or result.signed_xml.tag != root.tag:
        raise SignatureError("the signature does not cover the whole message")


def verify(root: etree._Element, trust: TrustStore) -> TrustedCert:
    """The trusted signer of ``root``'s enveloped signature (raises :class:`SignatureError`)."""
    serial = signer_serial(root)
    trusted = trust.by_serial.get(serial)
    if trusted is None:
        raise SignatureError(f"no trusted certificate with serial number {serial}", unknown_signer=True)
    verify_with(root, trusted.cert)
    return trusted


def to_bytes(root: etree._Element) -> bytes:
    """Compact UTF-8 with an XML declaration (what the DSP posts)."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
