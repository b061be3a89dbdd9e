"""Green Book security suite 0 for the DLMS server: AES-GCM-128 protected xDLMS APDUs and HLS-GMAC.

DLMS UA 1000-2 (Green Book), security suite 0: every protected APDU is ``SH || C || T`` where the
security header SH is the security control byte SC (bit 4 authentication, bit 5 encryption, bits 0-3
the suite) and the 4-byte invocation counter IC; the GCM initialisation vector is the sender's 8-byte
system title followed by IC; the additional authenticated data is ``SC || AK`` (``SC || AK || APDU``
when only authenticated); T is the GCM tag truncated to 12 bytes. HLS-GMAC (authentication mechanism
5) processes a challenge as ``f(challenge) = SC || IC || GMAC(SC || AK || challenge)`` with SC = 0x10.

AES-GCM itself comes from ``cryptography``; this module only frames it. It is pure (no I/O, no state):
the DLMS server keeps the counters.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "SC_AUTHENTICATED",
    "SC_AUTHENTICATED_ENCRYPTED",
    "DecipherError",
    "SecurityKeys",
    "gmac_challenge",
    "protect",
    "unprotect",
    "verify_gmac_challenge",
]

SECURITY_SUITE_0 = 0x00
SC_AUTHENTICATION, SC_ENCRYPTION = 0x10, 0x20
SC_AUTHENTICATED = SC_AUTHENTICATION | SECURITY_SUITE_0
SC_AUTHENTICATED_ENCRYPTED = SC_AUTHENTICATION | SC_ENCRYPTION | SECURITY_SUITE_0
TAG_LENGTH = 12  # Green Book: the authentication tag is the leftmost 12 octets of the GCM tag
SYSTEM_TITLE_LENGTH = 8
HEADER_LENGTH = 5  # SC + IC


class DecipherError(ValueError):
    """A protected APDU or challenge answer that does not verify (wrong key, tampered, malformed)."""


@dataclass(frozen=True, slots=True)
class SecurityKeys:
    """One server's suite-0 keys: authentication key AK and global unicast encryption key (both 16
    octets), and its own system title (8 octets: manufacturer FLAG id, then 5 octets of its own)."""

    authentication_key: bytes
    encryption_key: bytes
    system_title: bytes

    def __post_init__(self) -> None:
        if len(self.authentication_key) != 16 or len(self.encryption_key) != 16:
            raise ValueError("security suite 0 keys are 16 octets (AES-128)")
        if len(self.system_title) != SYSTEM_TITLE_LENGTH:
            raise ValueError("a system title is 8 octets")


def _gcm(key: bytes, system_title: bytes, ic: int, tag: bytes | None = None) -> Cipher[modes.GCM]:
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise DecipherError("a system title is 8 octets")
    iv = system_title + ic.to_bytes(4, "big")
    return Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=TAG_LENGTH))


def protect(sc: int, system_title: bytes, ic: int, keys: SecurityKeys, apdu: bytes) -> bytes:
    """``SC || IC || C || T`` for ``apdu`` sent by ``system_title`` with invocation counter ``ic``."""
    header = bytes([sc]) + ic.to_bytes(4, "big")
    encryptor = _gcm(keys.encryption_key, system_title, ic).encryptor()
    if sc & SC_ENCRYPTION:
        encryptor.authenticate_additional_data(bytes([sc]) + keys.authentication_key)
        body = encryptor.update(apdu)
    else:
        encryptor.authenticate_additional_data(bytes([sc]) + keys.authentication_key + apdu)
        body = apdu
    encryptor.finalize()
    return header + body + encryptor.tag[:TAG_LENGTH]


def unprotect(data: bytes, system_title: bytes, keys: SecurityKeys) -> tuple[int, int, bytes]:
    """(SC, IC, APDU) of ``SC || IC || C || T`` from ``system_title``; DecipherError if it does not
    verify or uses anything but suite 0 with authentication."""
    if len(data) < HEADER_LENGTH + TAG_LENGTH:
        raise DecipherError("protected APDU too short")
    sc, ic = data[0], int.from_bytes(data[1:5], "big")
    if sc & 0x0F != SECURITY_SUITE_0 or not sc & SC_AUTHENTICATION or sc & 0xC0:
        raise DecipherError(f"security control {sc:#04x}: only suite 0 with authentication is served")
    body, tag = data[HEADER_LENGTH:-TAG_LENGTH], data[-TAG_LENGTH:]
    decryptor = _gcm(keys.encryption_key, system_title, ic, tag).decryptor()
    try:
        if sc & SC_ENCRYPTION:
            decryptor.authenticate_additional_data(bytes([sc]) + keys.authentication_key)
            apdu = decryptor.update(body)
        else:
            decryptor.authenticate_additional_data(bytes([sc]) + keys.authentication_key + body)
            apdu = body
        decryptor.finalize()
    except InvalidTag as exc:
        raise DecipherError("authentication tag does not verify") from exc
    return sc, ic, apdu


def gmac_challenge(system_title: bytes, ic: int, keys: SecurityKeys, challenge: bytes) -> bytes:
    """HLS-GMAC ``f(challenge) = SC || IC || GMAC`` as computed by the party owning ``system_title``."""
    protected = protect(SC_AUTHENTICATED, system_title, ic, keys, challenge)
    return protected[:HEADER_LENGTH] + protected[-TAG_LENGTH:]


def verify_gmac_challenge(answer: bytes, system_title: bytes, keys: SecurityKeys, challenge: bytes) -> int:
    """Check ``answer`` = f(``challenge``) from ``system_title``; its IC, or DecipherError."""
    if len(answer) != HEADER_LENGTH + TAG_LENGTH or answer[0] != SC_AUTHENTICATED:
        raise DecipherError("f(challenge) is SC 0x10, a 4-octet IC and a 12-octet tag")
    _, ic, _ = unprotect(answer[:HEADER_LENGTH] + challenge + answer[HEADER_LENGTH:], system_title, keys)
    return ic
