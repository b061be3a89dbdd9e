"""Build a :class:`VirtualDsp` from a lab's settings: the XSD, whom to trust, who signs, where to post.

Trust: every certificate named by ``trust`` (files or directories of ``*.pem``/``*.crt``/``*.cer``/
``*.der``), with the roles ``users`` gives its User ID, plus the virtual lab's own Users (their
certificates in the route's key directory, roles from the certificate). Signing: the DSP signs with
``sign_key``/``sign_cert`` when given (e.g. DCC Boxed's DSP test key, so the DCC's tool validates
without being told the certificate), else with a key it creates in the key directory, certified by the
virtual lab's CA; the S1SP's inner signatures use the virtual S1SP's key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from labs.virtual.s1sp.keys import issue_user, load_ca_key
from labs.virtual.s1sp.service import S1spService

from .service import DSP_ID, HOST, DspConfig, RetryPolicy, VirtualDsp, serve_dsp
from .xmlsig import Schema, SigningKey, TrustStore, XmlError, load_certificate, load_private_key, user_id_of

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")


class DspSetupError(Exception):
    """A DSP setting names a missing or unreadable file (one line for the lab engineer)."""


@dataclass
class DspSettings:
    xsd: Path
    trust: list[Path] = field(default_factory=list)
    #: User ID (EUI-64) -> DUIS roles (IS, GS, ED, GT, ...): SMKI certificates do not carry them.
    users: dict[str, list[str]] = field(default_factory=dict)
    receive_url: str | None = None
    sign_key: Path | None = None
    sign_cert: Path | None = None
    alert_user: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def _cert_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(
                p for p in path.iterdir() if p.suffix.lower() in CERT_SUFFIXES and "key" not in p.name
            )
        elif path.is_file():
            out.append(path)
        else:
            raise DspSetupError(f"DSP trust: {path} does not exist")
    return out


def build_dsp(service: S1spService, settings: DspSettings, keys_dir: Path) -> VirtualDsp:
    try:
        schema = Schema(settings.xsd)
    except XmlError as exc:
        raise DspSetupError(str(exc)) from None
    trust = TrustStore()
    roles = {k.upper(): v for k, v in settings.users.items()}
    for path in _cert_files(settings.trust):
        try:
            cert = load_certificate(path)
            trusted = trust.add(cert)
        except (ValueError, OSError) as exc:
            raise DspSetupError(f"DSP trust: {path}: {exc}") from None
        trust.add(cert, roles.get(trusted.user_id, ()))
    for name, path in service.keys.files.items():  # the virtual lab's own Users, roles from the cert
        if name.endswith(".cert"):
            cert = load_certificate(path)
            user = service.keys.trust.get(user_id_of(cert) or "")
            trust.add(cert, roles.get(user.user_id.upper(), user.roles) if user else ())
    try:
        dsp_signer = (
            SigningKey(load_private_key(settings.sign_key), load_certificate(settings.sign_cert))
            if settings.sign_key is not None and settings.sign_cert is not None
            else _own_key(service, keys_dir)
        )
    except (ValueError, OSError) as exc:
        raise DspSetupError(f"DSP signing key: {exc}") from None
    config = DspConfig(
        schema=schema,
        trust=trust,
        dsp_signer=dsp_signer,
        s1sp_signer=SigningKey(service.keys.s1sp_key, service.keys.s1sp_cert),
        receive_url=settings.receive_url,
        alert_user=settings.alert_user,
        retry=settings.retry,
    )
    return VirtualDsp(service, config)


def _own_key(service: S1spService, keys_dir: Path) -> SigningKey:
    """The DSP's key in ``keys_dir/dsp.*.pem``, created (certified by the lab CA) on first use."""
    key_file, cert_file = keys_dir / "dsp.key.pem", keys_dir / "dsp.cert.pem"
    if not key_file.exists() or not cert_file.exists():
        key, cert = issue_user(service.keys.ca_cert, load_ca_key(keys_dir), DSP_ID, ("DSP",))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_file.chmod(0o600)
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SigningKey(load_private_key(key_file), load_certificate(cert_file))


def _path(value: str) -> Path:
    return Path(os.path.expandvars(value)).expanduser()


def settings_from(spec: Any) -> DspSettings:
    """DspSettings from the lab file's ``route.dsp`` (``harness.lab.inventory.VirtualDspSpec``)."""
    xsd = _path(spec.xsd)
    if not xsd.is_file():
        raise DspSetupError(
            f"route.dsp.xsd: {xsd} does not exist (the DUIS XSD, from the DCC or @smartdcc/duis-sign-wrap)"
        )
    return DspSettings(
        xsd=xsd,
        trust=[_path(t) for t in spec.trust],
        users={k: list(v) for k, v in spec.users.items()},
        receive_url=spec.receive_url,
        sign_key=_path(spec.sign_key) if spec.sign_key else None,
        sign_cert=_path(spec.sign_cert) if spec.sign_cert else None,
    )


async def serve_for_lab(service: S1spService, spec: Any, keys_dir: Path, host: str = HOST) -> tuple[Any, str]:
    """Build and serve the DSP for ``dmct lab up``: (the asyncio server, its ``http://`` URL)."""
    dsp = build_dsp(service, settings_from(spec), keys_dir)
    server = await serve_dsp(dsp, host)
    return server, f"http://{host}:{server.sockets[0].getsockname()[1]}"
