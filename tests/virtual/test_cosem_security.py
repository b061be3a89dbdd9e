"""Security suite 0 framing (labs/virtual/cosem/security.py) against the Green Book's worked example,
and the refusals the DLMS server builds on (wrong key, tampering, a malformed HLS answer)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labs.virtual.cosem.security import (
    SC_AUTHENTICATED,
    SC_AUTHENTICATED_ENCRYPTED,
    DecipherError,
    SecurityKeys,
    gmac_challenge,
    protect,
    unprotect,
    verify_gmac_challenge,
)

# The Green Book's example keys, system title and invocation counter, and its plain APDU: a
# get-request-normal for the clock's time (class 8, 0.0.1.0.0.255, attribute 2).
KEYS = SecurityKeys(
    authentication_key=bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"),
    encryption_key=bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
    system_title=bytes.fromhex("4D4D4D0000BC614E"),
)
IC = 0x01234567
APDU = bytes.fromhex("C0010000080000010000FF0200")


def test_authenticated_encrypted_apdu_is_the_green_books_example() -> None:
    protected = protect(SC_AUTHENTICATED_ENCRYPTED, KEYS.system_title, IC, KEYS, APDU)
    assert protected.hex().upper() == "3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"
    assert unprotect(protected, KEYS.system_title, KEYS) == (0x30, IC, APDU)


def test_authenticated_only_apdu_travels_in_clear_with_its_tag() -> None:
    protected = protect(SC_AUTHENTICATED, KEYS.system_title, IC, KEYS, APDU)
    assert protected[5:-12] == APDU and len(protected) == 5 + len(APDU) + 12
    assert unprotect(protected, KEYS.system_title, KEYS) == (0x10, IC, APDU)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: p[:-1] + bytes([p[-1] ^ 1]),  # tag
        lambda p: p[:7] + bytes([p[7] ^ 1]) + p[8:],  # ciphertext
        lambda p: p[:1] + (IC + 1).to_bytes(4, "big") + p[5:],  # invocation counter (in the IV)
        lambda p: bytes([0x20]) + p[1:],  # no authentication: not served
        lambda p: bytes([0x31]) + p[1:],  # another security suite
        lambda p: p[:10],  # truncated
    ],
)
def test_anything_spoiled_does_not_decipher(spoil: object) -> None:
    protected = protect(SC_AUTHENTICATED_ENCRYPTED, KEYS.system_title, IC, KEYS, APDU)
    with pytest.raises(DecipherError):
        unprotect(spoil(protected), KEYS.system_title, KEYS)  # type: ignore[operator]


def test_wrong_keys_or_system_title_do_not_decipher() -> None:
    protected = protect(SC_AUTHENTICATED_ENCRYPTED, KEYS.system_title, IC, KEYS, APDU)
    other = bytes(16)
    for keys in (
        SecurityKeys(other, KEYS.encryption_key, KEYS.system_title),
        SecurityKeys(KEYS.authentication_key, other, KEYS.system_title),
    ):
        with pytest.raises(DecipherError):
            unprotect(protected, KEYS.system_title, keys)
    with pytest.raises(DecipherError):
        unprotect(protected, b"MMM\x00\x00\x00\x00\x01", KEYS)


def test_hls_gmac_challenge_answer() -> None:
    """f(StoC) = SC 0x10 || IC || GMAC(SC || AK || StoC): verified under the sender's system title and
    the same challenge only."""
    challenge = bytes(range(16))
    answer = gmac_challenge(KEYS.system_title, 7, KEYS, challenge)
    assert answer[:5] == b"\x10\x00\x00\x00\x07" and len(answer) == 17
    assert verify_gmac_challenge(answer, KEYS.system_title, KEYS, challenge) == 7
    with pytest.raises(DecipherError):
        verify_gmac_challenge(answer, KEYS.system_title, KEYS, challenge[::-1])
    with pytest.raises(DecipherError):
        verify_gmac_challenge(answer[:-1], KEYS.system_title, KEYS, challenge)
    with pytest.raises(DecipherError):
        verify_gmac_challenge(b"\x30" + answer[1:], KEYS.system_title, KEYS, challenge)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tag=st.sampled_from([0x60, 0xC8, 0xC9, 0xCB, 0xC0]),
    body=st.binary(max_size=120),
    aarq_fields=st.lists(
        st.tuples(st.sampled_from([0xA1, 0xA6, 0x8A, 0x8B, 0xAC, 0xBE]), st.binary(max_size=30)), max_size=6
    ),
)
def test_hls_session_answers_garbage_without_internal_errors(
    tag: int, body: bytes, aarq_fields: list[tuple[int, bytes]]
) -> None:
    """Whatever arrives on an HLS-GMAC SAP (truncated AARQ fields, spoiled ciphered APDUs) gets an
    answer (AARE or ExceptionResponse) and never an internal error."""
    from labs.virtual.cosem import AuthLevel, SimpleCosemModel
    from labs.virtual.dlms_server import DlmsEndpoint, DlmsSession

    endpoint = DlmsEndpoint(SimpleCosemModel(), associations={48: AuthLevel.HLS}, security=KEYS)
    session = DlmsSession(endpoint)
    session.link_reset(48)
    if tag == 0x60:
        fields = b"\xa1\x09\x06\x07\x60\x85\x74\x05\x08\x01\x03" + b"".join(
            bytes([t, len(v)]) + v for t, v in aarq_fields
        )
        apdu = bytes([0x60, len(fields)]) + fields if len(fields) < 0x80 else b"\x60\x00"
    else:
        apdu = bytes([tag, len(body)]) + body if len(body) < 0x80 else bytes([tag]) + body
    answer = session.handle_apdu(apdu)
    assert answer and answer[0] in (0x61, 0xD8, 0xC4)
    assert endpoint.stats.internal_errors == 0
