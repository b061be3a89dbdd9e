"""Test key material of the virtual route: a CA, User certificates, the S1SP signing key, a trust store.

Real DCC Users sign critical requests with keys certified by the SMKI Organisation CA, and the S1SP
signs its responses. The virtual lab needs the same shape so the harness exercises real signing and
verification: at start the route loads its key material from ``keys_dir`` or generates it there, and
writes the Users' private keys and certificates and the S1SP certificate for the harness client.

**These are test credentials for the virtual lab only** (self-signed CA, no protection). A User's roles
are in its certificate subject as one ``OU`` attribute per role (IS, GS, ED, GT); its User ID is the CN.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

INDEX_FILE = "keys.json"
S1SP_ID = "S1SP-VIRTUAL"


@dataclass(frozen=True)
class UserSpec:
    name: str
    user_id: str
    roles: tuple[str, ...]
    #: The DCC User (organisation) this User ID belongs to, when it is not ``name``: the DCC issues a
    #: User ID per User Role, so one organisation may hold several (``keys.json``: ``party``).
    party: str | None = None


#: The Users the virtual lab creates: a supplier (import and gas), a network operator, a gas transporter,
#: and the supplier's User ID for its Gas Supplier role alone. The framed route states the role in each
#: request and signs as ``supplier``; a DUIS request names no role (the DSP acts in the User ID's), so
#: the duis route sends a request made in a stated role under the User ID issued for that role
#: (``device_drivers.duis.route.DuisRoute.user``). Appended last: the installation's registered
#: supplier and network operator are the first two.
DEFAULT_USERS: tuple[UserSpec, ...] = (
    UserSpec("supplier", "90-B3-D5-1F-30-01-00-01", ("IS", "GS")),
    UserSpec("network_operator", "90-B3-D5-1F-30-02-00-01", ("ED",)),
    UserSpec("gas_transporter", "90-B3-D5-1F-30-03-00-01", ("GT",)),
    UserSpec("supplier_gs", "90-B3-D5-1F-30-01-00-02", ("GS",), party="supplier"),
)


class KeyMaterialError(Exception):
    """Key files unreadable, inconsistent, or a certificate not issued by the lab CA."""


@dataclass(frozen=True)
class TrustedUser:
    user_id: str
    roles: frozenset[str]
    public_key: ec.EllipticCurvePublicKey


@dataclass
class TrustStore:
    """User certificates the route accepts, by User ID; each must be issued by the lab CA."""

    ca: x509.Certificate
    users: dict[str, TrustedUser] = field(default_factory=dict)

    def add(self, cert: x509.Certificate) -> TrustedUser:
        try:
            ca_key = self.ca.public_key()
            assert isinstance(ca_key, ec.EllipticCurvePublicKey)
            algorithm = cert.signature_hash_algorithm
            assert algorithm is not None
            ca_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        except (InvalidSignature, AssertionError) as exc:
            raise KeyMaterialError("certificate is not issued by the lab CA") from exc
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise KeyMaterialError("User keys must be ECDSA P-256")
        user_id = _attr(cert, NameOID.COMMON_NAME)[0]
        roles = frozenset(_attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME))
        trusted = TrustedUser(user_id, roles, key)
        self.users[user_id] = trusted
        return trusted

    def get(self, user_id: str) -> TrustedUser | None:
        return self.users.get(user_id)


@dataclass
class KeyMaterial:
    ca_cert: x509.Certificate
    s1sp_key: ec.EllipticCurvePrivateKey
    s1sp_cert: x509.Certificate
    trust: TrustStore
    files: dict[str, Path]

    def sign(self, data: bytes) -> str:
        """The S1SP's signature over ``data``: base64 of the DER ECDSA-SHA256 signature."""
        return base64.b64encode(self.s1sp_key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def verify(public_key: ec.EllipticCurvePublicKey, data: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def _name(cn: str, ous: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DMCT virtual lab")]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou) for ou in ous]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def issue_user(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, user_id: str, roles: tuple[str, ...]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new User key and certificate issued by the lab CA (tests use it for extra signers)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _issue(_name(user_id, roles), key, ca_cert.subject, ca_key, ca=False)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    if private:
        os.chmod(tmp, 0o600)
    tmp.replace(path)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyMaterialError(f"{path}: not an EC private key")
    return key


def load_or_create(keys_dir: Path, users: tuple[UserSpec, ...] = DEFAULT_USERS) -> KeyMaterial:
    """Load the key material in ``keys_dir`` (``keys.json`` index) or create it there."""
    index = keys_dir / INDEX_FILE
    if index.exists():
        try:
            return _load(keys_dir, json.loads(index.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyMaterialError(f"{index}: {exc}") from exc
    return _create(keys_dir, users)


def _create(keys_dir: Path, users: tuple[UserSpec, ...]) -> KeyMaterial:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("DMCT Virtual Lab Test CA")
    ca_cert = _issue(ca_name, ca_key, ca_name, ca_key, ca=True)
    s1sp_key = ec.generate_private_key(ec.SECP256R1())
    s1sp_cert = _issue(_name(S1SP_ID, ("S1SP",)), s1sp_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    _write(keys_dir / "ca.cert.pem", ca_cert.public_bytes(pem))
    _write(keys_dir / "ca.key.pem", _pem_key(ca_key), private=True)
    _write(keys_dir / "s1sp.cert.pem", s1sp_cert.public_bytes(pem))
    _write(keys_dir / "s1sp.key.pem", _pem_key(s1sp_key), private=True)
    entries: dict[str, dict[str, object]] = {}
    for spec in users:
        key, cert = issue_user(ca_cert, ca_key, spec.user_id, spec.roles)
        _write(keys_dir / "users" / f"{spec.name}.cert.pem", cert.public_bytes(pem))
        _write(keys_dir / "users" / f"{spec.name}.key.pem", _pem_key(key), private=True)
        entries[spec.name] = {
            "user_id": spec.user_id,
            "roles": list(spec.roles),
            "cert": f"users/{spec.name}.cert.pem",
            "key": f"users/{spec.name}.key.pem",
        }
        if spec.party is not None:
            entries[spec.name]["party"] = spec.party
    data: dict[str, object] = {
        "comment": "Test credentials of the DMCT virtual lab only.",
        "ca_cert": "ca.cert.pem",
        "ca_key": "ca.key.pem",
        "s1sp_cert": "s1sp.cert.pem",
        "s1sp_key": "s1sp.key.pem",
        "users": entries,
    }
    _write(keys_dir / INDEX_FILE, json.dumps(data, indent=1).encode())
    return _load(keys_dir, data)


def _load(keys_dir: Path, data: dict[str, object]) -> KeyMaterial:
    def path(rel: object) -> Path:
        return keys_dir / str(rel)

    ca_cert = x509.load_pem_x509_certificate(path(data["ca_cert"]).read_bytes())
    s1sp_cert = x509.load_pem_x509_certificate(path(data["s1sp_cert"]).read_bytes())
    s1sp_key = _load_key(path(data["s1sp_key"]))
    trust = TrustStore(ca_cert)
    users = data["users"]
    if not isinstance(users, dict):
        raise KeyMaterialError("keys.json: users is not a mapping")
    files = {"ca_cert": path(data["ca_cert"]), "s1sp_cert": path(data["s1sp_cert"])}
    for name, entry in users.items():
        trust.add(x509.load_pem_x509_certificate(path(entry["cert"]).read_bytes()))
        files[f"{name}.cert"] = path(entry["cert"])
        files[f"{name}.key"] = path(entry["key"])
    return KeyMaterial(ca_cert, s1sp_key, s1sp_cert, trust, files)


def load_ca_key(keys_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The lab CA's key (tests issue extra Users with it)."""
    data = json.loads((keys_dir / INDEX_FILE).read_text(encoding="utf-8"))
    return _load_key(keys_dir / str(data["ca_key"]))
