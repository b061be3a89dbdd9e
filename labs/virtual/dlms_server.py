"""DLMS/COSEM server (IEC 62056-5-3 over IEC 62056-46 HDLC) for the virtual lab's optical ports.

One asyncio process serves many simulated meters: each :class:`DlmsEndpoint` (object model, HDLC
address, LLS password) listens on its own loopback TCP port, and every accepted connection gets its own
:class:`~labs.virtual.hdlc.HdlcServerLink` and :class:`DlmsSession`, so a misbehaving client can only
ever break its own connection.

Layering, so each part can be tested without sockets:

* :class:`DlmsSession` - application layer, sans-I/O: one APDU in, one APDU out.  ACSE (AARQ/AARE,
  RLRQ/RLRE) is parsed and built with ``dlms_cosem.protocol.acse`` / ``xdlms``; GET/SET/ACTION requests
  and responses are parsed and encoded here because dlms-cosem 25.1 is client-only (its
  ``GetResponseNormal.to_bytes()`` is broken, set/action responses with data are missing) and the hot path
  should not allocate attrs objects.
* :class:`DlmsServerProtocol` - asyncio glue: bytes in, bytes out, idle timeout, transcript hook.
* :func:`serve_dlms` / :func:`serve_endpoint` - the embeddable API; :class:`DlmsServerThread` runs them
  in a background thread for synchronous callers (pytest, the harness CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import threading
import tty
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from dlms_cosem import enumerations as dlms_enums
from dlms_cosem.protocol import acse, xdlms
from dlms_cosem.protocol.xdlms.conformance import Conformance

from labs.virtual.cosem import (
    AccessContext,
    AuthLevel,
    AxdrDecodeError,
    CosemError,
    CosemModel,
    CosemValue,
    DataAccessResult,
    SelectiveAccess,
    decode,
    decode_at,
)
from labs.virtual.cosem.association import (
    ASSOCIATION_LN,
    ASSOCIATION_LN_CLASS,
    LN_CIPHERING_OID,
    MECHANISM_IDS,
    MECHANISM_OID_PREFIX,
    SAP_ASSIGNMENT,
    SECURITY_SETUP,
    AssociationView,
    SecuritySetupView,
    read_association,
)
from labs.virtual.cosem.axdr import OctetString
from labs.virtual.cosem.security import (
    SC_AUTHENTICATED_ENCRYPTED,
    DecipherError,
    SecurityKeys,
    gmac_challenge,
    protect,
    unprotect,
    verify_gmac_challenge,
)
from labs.virtual.cosem.simple_model import CosemObject
from labs.virtual.hdlc import DEFAULT_PARAMETERS, HdlcParameters, HdlcServerLink, ServerAddress

__all__ = [
    "SUPPORTED_CONFORMANCE",
    "DlmsEndpoint",
    "DlmsServerProtocol",
    "DlmsServerThread",
    "DlmsSession",
    "DlmsStats",
    "serve_dlms",
    "serve_dlms_on_fd",
    "serve_endpoint",
]

log = logging.getLogger(__name__)

TranscriptCallback = Callable[[Literal["tx", "rx"], bytes], None]

# xDLMS APDU tags
AARQ, AARE, RLRQ, RLRE = 0x60, 0x61, 0x62, 0x63
GET_REQUEST, SET_REQUEST, ACTION_REQUEST = 0xC0, 0xC1, 0xC3
GET_RESPONSE, SET_RESPONSE, ACTION_RESPONSE = 0xC4, 0xC5, 0xC7
EXCEPTION_RESPONSE = 0xD8
GLO_INITIATE_REQUEST, GLO_INITIATE_RESPONSE = 0x21, 0x28
#: Green Book global-ciphering tags: glo-get/set/action-request -> the plain request, and the plain
#: response -> its glo-...-response.
GLO_REQUESTS = {0xC8: GET_REQUEST, 0xC9: SET_REQUEST, 0xCB: ACTION_REQUEST}
GLO_RESPONSES = {GET_RESPONSE: 0xCC, SET_RESPONSE: 0xCD, ACTION_RESPONSE: 0xCF}

# ExceptionResponse codes (state-error, service-error)
SERVICE_NOT_ALLOWED, SERVICE_UNKNOWN = 1, 2
OPERATION_NOT_POSSIBLE, SERVICE_NOT_SUPPORTED, OTHER_REASON, PDU_TOO_LONG = 1, 2, 3, 4
DECIPHERING_ERROR, INVOCATION_COUNTER_ERROR = 5, 6

LN_NO_CIPHERING = 1  # application-context-name id for logical-name referencing without ciphering
LN_CIPHERING = 3  # ... with ciphering: the context of an HLS-GMAC association
HLS_GMAC_OID = MECHANISM_OID_PREFIX + bytes([MECHANISM_IDS[AuthLevel.HLS]])  # mechanism 5
#: AARE user-information for a glo-initiateRequest that does not decipher (or replays its invocation
#: counter): xDLMS ConfirmedServiceError, initiateError, application-reference, deciphering-error.
DECIPHERING_FAILED = bytes([0x0E, 0x01, 0x00, 0x06])
MIN_PDU = 12  # smallest client-max-receive-pdu-size we accept (a GET response header needs it)

SUPPORTED_CONFORMANCE = Conformance(
    get=True,
    set=True,
    action=True,
    selective_access=True,
    multiple_references=True,  # GET with list
    block_transfer_with_get_or_read=True,
)


class _Malformed(ValueError):
    """A request APDU does not follow its A-XDR definition."""


@dataclass(slots=True)
class DlmsStats:
    """Counters per endpoint, for tests and the benchmark (mutated on the event loop only)."""

    connections: int = 0
    requests: int = 0
    associations: int = 0
    rejected_associations: int = 0
    dropped_frames: int = 0
    internal_errors: int = 0


@dataclass(slots=True)
class SecurityCounters:
    """Invocation counters of one server (Green Book: a receiver accepts each sender's IC only once and
    increasing, across associations; the server's own IC never repeats)."""

    server: int = 0
    #: client system title -> the last IC received from it
    last_received: dict[bytes, int] = field(default_factory=dict)

    def next_server(self) -> int:
        self.server += 1
        return self.server

    def accept(self, system_title: bytes, ic: int) -> int | None:
        """Record ``ic``; ``None`` if fresh, else the lowest IC the server would accept."""
        last = self.last_received.get(system_title)
        if last is not None and ic <= last:
            return last + 1
        self.last_received[system_title] = ic
        return None


@dataclass(frozen=True, slots=True)
class DlmsEndpoint:
    """One simulated meter's optical port.

    ``associations`` maps each client SAP to the one authentication mechanism its association uses
    (Green Book: each client SAP has its own association); by default the public client 16 without
    security (if ``allow_no_security``) and the management client 1 with LLS (if a ``password`` is set).
    ``password`` is the LLS secret; ``security`` the keys and system title of an HLS-GMAC association
    (security suite 0; every APDU on it authenticated and encrypted).  ``physical_address=None``
    answers to any lower HDLC address.  ``max_pdu_size`` is both the server-max-receive-pdu-size
    announced in the AARE and the cap on response APDUs (longer GET responses use block transfer).
    ``hdlc`` holds the largest HDLC parameters the server accepts in SNRM negotiation.
    """

    model: CosemModel
    password: bytes | None = None
    logical_address: int = 1
    physical_address: int | None = None
    allow_no_security: bool = True
    max_pdu_size: int = 1024
    hdlc: HdlcParameters = DEFAULT_PARAMETERS
    inactivity_timeout: float | None = 120.0
    associations: Mapping[int, AuthLevel] | None = None
    security: SecurityKeys | None = None
    counters: SecurityCounters = field(default_factory=SecurityCounters)
    #: COSEM logical device name for the SAP assignment object (defaults to ``name``).
    logical_device_name: bytes | None = None
    name: str = "dlms"
    on_bytes: TranscriptCallback | None = None
    stats: DlmsStats = field(default_factory=DlmsStats)
    #: Lab hooks: ``on_connection(transport, opened)`` may refuse a new connection by returning False
    #: (a device without power); ``send(write, data)`` replaces ``write(data)`` (fault injection).
    on_connection: Callable[[asyncio.BaseTransport, bool], bool] | None = None
    send: Callable[[Callable[[bytes], Any], bytes], None] | None = None


PUBLIC_CLIENT, MANAGEMENT_CLIENT = 16, 1
#: answered by the session itself (they describe the association, not the meter)
_ASSOCIATION_OBJECTS = frozenset((ASSOCIATION_LN, SAP_ASSIGNMENT, SECURITY_SETUP))


def client_associations(endpoint: DlmsEndpoint) -> Mapping[int, AuthLevel]:
    """Client SAP -> mechanism of its association (see :class:`DlmsEndpoint`)."""
    if endpoint.associations is not None:
        return endpoint.associations
    default: dict[int, AuthLevel] = {}
    if endpoint.allow_no_security:
        default[PUBLIC_CLIENT] = AuthLevel.NONE
    if endpoint.password is not None:
        default[MANAGEMENT_CLIENT] = AuthLevel.LLS
    return default


def _conformance_bits(conformance: Conformance) -> str:
    """The conformance block as 24 bits, Green Book bit 0 first (dlms-cosem numbers from the end)."""
    bits = ["0"] * 24
    for name, position in Conformance.conformance_bit_position.items():
        if getattr(conformance, name):
            bits[23 - position] = "1"
    return "".join(bits)


# --------------------------------------------------------------------------------------------------
# Pure encoders for responses
# --------------------------------------------------------------------------------------------------


def exception_response(state_error: int, service_error: int) -> bytes:
    return bytes([EXCEPTION_RESPONSE, state_error, service_error])


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _get_data_result(result: bytes | int) -> bytes:
    """Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }."""
    if isinstance(result, bytes):
        return b"\x00" + result
    return bytes([1, result])


def _block_response(invoke: int, last: bool, block: int, raw: bytes | int) -> bytes:
    head = bytes([GET_RESPONSE, 2, invoke, 1 if last else 0]) + block.to_bytes(4, "big")
    if isinstance(raw, int):
        return head + bytes([1, raw])
    return head + b"\x00" + _length(len(raw)) + raw


# --------------------------------------------------------------------------------------------------
# Request parsing helpers
# --------------------------------------------------------------------------------------------------


def _descriptor(apdu: bytes, pos: int) -> tuple[int, bytes, int, int]:
    """Cosem-Attribute/Method-Descriptor: class-id (2), instance-id (6), attribute/method id (Integer8)."""
    if pos + 9 > len(apdu):
        raise _Malformed("truncated descriptor")
    class_id = int.from_bytes(apdu[pos : pos + 2], "big")
    index = int.from_bytes(apdu[pos + 8 : pos + 9], "big", signed=True)
    return class_id, apdu[pos + 2 : pos + 8], index, pos + 9


def _selection(apdu: bytes, pos: int) -> tuple[SelectiveAccess | None, int]:
    if pos >= len(apdu):
        raise _Malformed("missing access-selection flag")
    flag = apdu[pos]
    pos += 1
    if flag == 0:
        return None, pos
    if flag != 1 or pos >= len(apdu):
        raise _Malformed("bad access-selection")
    selector = apdu[pos]
    try:
        params, pos = decode_at(apdu, pos + 1)
    except AxdrDecodeError as exc:
        raise _Malformed(f"access parameters: {exc}") from exc
    return SelectiveAccess(selector, params), pos


def _length_at(apdu: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(apdu):
        raise _Malformed("truncated quantity")
    first = apdu[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if not 0 < count <= 2 or pos + 1 + count > len(apdu):
        raise _Malformed("bad quantity")
    return int.from_bytes(apdu[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _ber_fields(data: bytes) -> dict[int, bytes]:
    """Top-level TLVs of an ACSE APDU body (single-byte tags, short or long lengths)."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise _Malformed("truncated BER field")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if first & 0x80:
            count = first & 0x7F
            if not 0 < count <= 2 or pos + count > len(data):
                raise _Malformed("bad BER length")
            first = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + first > len(data):
            raise _Malformed("BER field overruns APDU")
        fields[tag] = data[pos : pos + first]
        pos += first
    return fields


def _acse_body(apdu: bytes) -> bytes:
    if len(apdu) < 2:
        raise _Malformed("ACSE APDU too short")
    n, pos = _length_at(apdu, 1)
    if pos + n != len(apdu):
        raise _Malformed("ACSE length mismatch")
    return apdu[pos:]


def _context_id(aarq_fields: dict[int, bytes]) -> int | None:
    """application-context-name [1] = OBJECT IDENTIFIER 2.16.756.5.8.1.x: return x."""
    name = aarq_fields.get(0xA1)
    prefix = b"\x06\x07\x60\x85\x74\x05\x08\x01"
    if name is None or len(name) != 9 or not name.startswith(prefix):
        return None
    return name[8]


def _negotiate_conformance(proposed: Conformance) -> Conformance:
    return Conformance(
        **{
            name: bool(getattr(proposed, name)) and bool(getattr(SUPPORTED_CONFORMANCE, name))
            for name in Conformance.conformance_bit_position
        }
    )


# --------------------------------------------------------------------------------------------------
# Application layer
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Ciphered:
    """An HLS-GMAC association: whose APDUs are protected, and the HLS exchange's challenges."""

    client_title: bytes
    keys: SecurityKeys
    ctos: bytes  # the client's challenge (AARQ)
    stoc: bytes  # the server's (AARE)
    pending: bool = True  # until the client's f(StoC) verified (pass 3)


@dataclass(slots=True)
class _LongGet:
    invoke: int
    raw: bytes
    offset: int
    block: int


class DlmsSession:
    """Association state machine and service dispatch for one HDLC connection (sans-I/O).

    Implements :class:`labs.virtual.hdlc.ApduHandler`.  Never raises: malformed or unsupported APDUs get
    an ExceptionResponse, model errors the matching Data-Access-Result / Action-Result, and unexpected
    exceptions from the model other-reason (logged with traceback).
    """

    def __init__(self, endpoint: DlmsEndpoint) -> None:
        self.endpoint = endpoint
        self.client_address: int | None = None
        self.ctx: AccessContext | None = None  # set while associated
        self.conformance = SUPPORTED_CONFORMANCE
        self.client_max_pdu = endpoint.max_pdu_size
        self._long_get: _LongGet | None = None
        self._associations = client_associations(endpoint)
        self._ciphered: _Ciphered | None = None

    @property
    def associated(self) -> bool:
        return self.ctx is not None

    # -- ApduHandler --------------------------------------------------------------------------

    def link_reset(self, client_address: int | None = None) -> None:
        self.client_address = client_address
        self.ctx = None
        self._long_get = None
        self._ciphered = None

    def handle_apdu(self, apdu: bytes) -> bytes | None:
        if not apdu:
            return None
        self.endpoint.stats.requests += 1
        tag = apdu[0]
        try:
            if tag == AARQ:
                return self._aarq(apdu)
            if tag == RLRQ:
                return self._rlrq(apdu)
            if tag in GLO_REQUESTS:
                return self._glo(apdu)
            if tag not in (GET_REQUEST, SET_REQUEST, ACTION_REQUEST):
                return exception_response(SERVICE_UNKNOWN, SERVICE_NOT_SUPPORTED)
            if not self.associated or self._ciphered is not None:
                # An HLS-GMAC association takes protected APDUs only (its security policy).
                return exception_response(SERVICE_NOT_ALLOWED, OPERATION_NOT_POSSIBLE)
            return self._service(apdu)
        except _Malformed as exc:
            log.debug("%s: malformed APDU %s: %s", self.endpoint.name, apdu[:32].hex(), exc)
            return exception_response(SERVICE_NOT_ALLOWED, OTHER_REASON)
        except Exception:
            self.endpoint.stats.internal_errors += 1
            log.exception("%s: internal error on APDU %s", self.endpoint.name, apdu[:32].hex())
            return exception_response(SERVICE_NOT_ALLOWED, OTHER_REASON)

    def _service(self, apdu: bytes) -> bytes:
        """A GET, SET or ACTION request (plain, or deciphered by :meth:`_glo`) on an association."""
        if len(apdu) > self.endpoint.max_pdu_size:
            return exception_response(SERVICE_NOT_ALLOWED, PDU_TOO_LONG)
        tag = apdu[0]
        if tag == GET_REQUEST:
            return self._get(apdu)
        self._long_get = None  # any other service aborts a long GET
        if tag == SET_REQUEST:
            return self._set(apdu)
        return self._action(apdu)

    def _glo(self, apdu: bytes) -> bytes:
        """A glo-ciphered request (Green Book 9.2.7.2): decipher with the client's system title, refuse
        a replayed invocation counter, serve the plain request, cipher the response with the server's
        own system title and next invocation counter. A failure is answered by a plain
        ExceptionResponse: deciphering-error, or invocation-counter-error with the lowest IC the server
        would accept."""
        ciphered = self._ciphered
        if not self.associated or ciphered is None:
            return exception_response(SERVICE_NOT_ALLOWED, OPERATION_NOT_POSSIBLE)
        size, pos = _length_at(apdu, 1)
        if pos + size != len(apdu):
            raise _Malformed("ciphered APDU length mismatch")
        try:
            _, ic, plain = unprotect(apdu[pos:], ciphered.client_title, ciphered.keys)
        except DecipherError as exc:
            log.debug("%s: %s", self.endpoint.name, exc)
            return exception_response(SERVICE_NOT_ALLOWED, DECIPHERING_ERROR)
        expected = self.endpoint.counters.accept(ciphered.client_title, ic)
        if expected is not None:
            return bytes([EXCEPTION_RESPONSE, SERVICE_NOT_ALLOWED, INVOCATION_COUNTER_ERROR]) + (
                expected & 0xFFFFFFFF
            ).to_bytes(4, "big")
        if not plain or plain[0] != GLO_REQUESTS[apdu[0]]:
            return exception_response(SERVICE_NOT_ALLOWED, DECIPHERING_ERROR)
        response = self._service(plain)
        if response[0] not in GLO_RESPONSES:
            return response  # an ExceptionResponse goes out plain
        return self._protect(GLO_RESPONSES[response[0]], response)

    def _protect(self, tag: int, apdu: bytes) -> bytes:
        keys = self.endpoint.security
        assert keys is not None
        ic = self.endpoint.counters.next_server()
        body = protect(SC_AUTHENTICATED_ENCRYPTED, keys.system_title, ic, keys, apdu)
        return bytes([tag]) + _length(len(body)) + body

    # -- ACSE -----------------------------------------------------------------------------------

    def _aare(
        self,
        result: int,
        diagnostic: int,
        *,
        mechanism: int | None = None,
        user_information: Any = None,
    ) -> bytes:
        aare = acse.ApplicationAssociationResponse(
            result=dlms_enums.AssociationResult(result),
            result_source_diagnostics=dlms_enums.AcseServiceUserDiagnostics(diagnostic),
            authentication=dlms_enums.AuthenticationMechanism(mechanism) if mechanism else None,
            user_information=acse.UserInformation(content=user_information) if user_information else None,
        )
        out: bytes = aare.to_bytes()
        return out

    def _reject(
        self, diagnostic: int, initiate_error: int | None = None, *, transient: bool = False
    ) -> bytes:
        self.endpoint.stats.rejected_associations += 1
        info = None
        if initiate_error is not None:
            info = xdlms.ConfirmedServiceError(dlms_enums.InitiateError(initiate_error))
        return self._aare(2 if transient else 1, diagnostic, user_information=info)

    def _aarq(self, apdu: bytes) -> bytes:
        diag = dlms_enums.AcseServiceUserDiagnostics
        try:
            fields = _ber_fields(_acse_body(apdu))
        except _Malformed:
            return self._reject(diag.NO_REASON_GIVEN)
        context = _context_id(fields)
        if context not in (LN_NO_CIPHERING, LN_CIPHERING):
            return self._reject(diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        if self.associated:
            # An AA already exists on this connection; the client must release it first.
            return self._reject(diag.NO_REASON_GIVEN, transient=True)
        required = self._associations.get(self.client_address if self.client_address is not None else -1)
        if required == AuthLevel.HLS and self.endpoint.security is not None:
            return self._aarq_hls(fields, context)
        if context != LN_NO_CIPHERING:
            return self._reject(diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        try:
            aarq = acse.ApplicationAssociationRequest.from_bytes(apdu)
        except Exception as exc:  # dlms-cosem raises ValueError, IndexError, KeyError, ...
            log.debug("%s: unparseable AARQ %s: %s", self.endpoint.name, apdu.hex(), exc)
            return self._reject(diag.NO_REASON_GIVEN)

        mechanism = int(aarq.authentication or 0)
        ep = self.endpoint
        # Green Book 9.3 (COSEM-OPEN): the client SAP selects the association, and the association its
        # one mechanism. No association for this SAP: rejected-permanent, no-reason-given. A mechanism
        # name other than the association's: not-recognised; none where one is needed: required;
        # a wrong LLS secret: authentication-failure.
        if required is None:
            return self._reject(diag.NO_REASON_GIVEN)
        if mechanism != required:
            if mechanism == AuthLevel.NONE:
                return self._reject(diag.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
            return self._reject(diag.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED)
        if mechanism == AuthLevel.LLS:
            given = bytes(aarq.authentication_value or b"")
            if ep.password is None or not hmac.compare_digest(given, ep.password):
                return self._reject(diag.AUTHENTICATION_FAILED)
        elif mechanism != AuthLevel.NONE:  # HLS on a SAP without keys: not a mechanism it serves
            return self._reject(diag.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED)

        request = aarq.user_information.content
        if not isinstance(request, xdlms.InitiateRequest):
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.OTHER)
        refused = self._initiate(request, AuthLevel(mechanism))
        if refused is not None:
            return refused
        response = xdlms.InitiateResponse(
            negotiated_conformance=self.conformance, server_max_receive_pdu_size=ep.max_pdu_size
        )
        return self._aare(0, diag.NULL, mechanism=mechanism or None, user_information=response)

    def _initiate(self, request: xdlms.InitiateRequest, level: AuthLevel) -> bytes | None:
        """Negotiate the xDLMS context of an accepted AARQ and open the association; or the AARE that
        refuses it (Green Book: InitiateError in the user-information)."""
        diag = dlms_enums.AcseServiceUserDiagnostics
        ep = self.endpoint
        if request.proposed_dlms_version_number < 6:
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.DLMS_VERSION_TOO_LOW)
        client_pdu = request.client_max_receive_pdu_size or 0xFFFF
        if client_pdu < MIN_PDU:
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.PDU_SIZE_TOO_SHORT)
        conformance = _negotiate_conformance(request.proposed_conformance)
        if not (conformance.get or conformance.set or conformance.action):
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.INCOMPATIBLE_CONFORMANCE)

        self.conformance = conformance
        self.client_max_pdu = client_pdu
        self.ctx = AccessContext(
            client_address=self.client_address if self.client_address is not None else 0, mechanism=level
        )
        ep.stats.associations += 1
        log.debug("%s: associated client %s with %s", ep.name, self.client_address, level.name)
        return None

    def _aarq_hls(self, fields: dict[int, bytes], context: int | None) -> bytes:
        """COSEM-OPEN with HLS-GMAC (Green Book 9.2.7.4, mechanism 5) on a ciphered context.

        Pass 1: the AARQ carries the client's system title (calling-AP-title), its challenge CtoS and a
        glo-initiateRequest (authenticated and encrypted with the global unicast key). Pass 2: the AARE
        is accepted with diagnostic authentication-required, carries the server's system title, its
        challenge StoC and a glo-initiateResponse; the association stays pending until the client
        proves the keys in pass 3 (:meth:`_reply_to_hls`). A glo-initiateRequest that does not
        decipher, or replays an invocation counter, is refused: rejected-permanent, no-reason-given,
        ConfirmedServiceError initiateError / application-reference / deciphering-error."""
        diag = dlms_enums.AcseServiceUserDiagnostics
        keys = self.endpoint.security
        assert keys is not None
        if context != LN_CIPHERING:
            return self._reject(diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        mechanism = fields.get(0x8B)
        if mechanism is None:
            return self._reject(diag.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
        if mechanism != HLS_GMAC_OID:
            return self._reject(diag.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED)
        title, ctos, initiate = fields.get(0xA6, b""), fields.get(0xAC, b""), fields.get(0xBE, b"")
        if len(title) != 10 or title[:2] != b"\x04\x08":
            return self._reject(diag.NO_REASON_GIVEN)  # no client system title: nothing to decipher with
        client_title = title[2:]
        if len(ctos) < 2 or ctos[0] != 0x80 or not 8 <= ctos[1] == len(ctos) - 2 <= 64:
            return self._reject(diag.AUTHENTICATION_FAILED)
        ctos = ctos[2:]
        if len(initiate) < 4 or initiate[0] != 0x04 or initiate[2] != GLO_INITIATE_REQUEST:
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.OTHER)
        try:
            size, pos = _length_at(initiate, 3)
        except _Malformed:
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.OTHER)
        try:
            _, ic, plain = unprotect(initiate[pos : pos + size], client_title, keys)
        except DecipherError as exc:
            log.debug("%s: AARQ from %s: %s", self.endpoint.name, client_title.hex(), exc)
            return self._reject_deciphering()
        if self.endpoint.counters.accept(client_title, ic) is not None:
            log.debug("%s: AARQ from %s replays IC %d", self.endpoint.name, client_title.hex(), ic)
            return self._reject_deciphering()
        try:
            request = xdlms.InitiateRequest.from_bytes(plain)
        except Exception:
            return self._reject(diag.NO_REASON_GIVEN, dlms_enums.InitiateError.OTHER)
        refused = self._initiate(request, AuthLevel.HLS)
        if refused is not None:
            return refused
        self._ciphered = _Ciphered(client_title, keys, ctos, os.urandom(16))
        response: bytes = xdlms.InitiateResponse(
            negotiated_conformance=self.conformance, server_max_receive_pdu_size=self.endpoint.max_pdu_size
        ).to_bytes()
        user_information = self._protect(GLO_INITIATE_RESPONSE, response)
        stoc = self._ciphered.stoc
        body = (
            b"\xa1\x09\x06\x07" + LN_CIPHERING_OID
            + b"\xa2\x03\x02\x01\x00"  # result: accepted
            + b"\xa3\x05\xa1\x03\x02\x01" + bytes([diag.AUTHENTICATION_REQUIRED])
            + b"\xa4\x0a\x04\x08" + keys.system_title  # responding-AP-title
            + b"\x88\x02\x07\x80"  # responder-acse-requirements: authentication
            + b"\x89\x07" + HLS_GMAC_OID  # mechanism-name
            + b"\xaa" + _length(len(stoc) + 2) + b"\x80" + _length(len(stoc)) + stoc
            + b"\xbe" + _length(len(user_information) + 2)
            + b"\x04" + _length(len(user_information)) + user_information
        )  # fmt: skip
        return bytes([AARE]) + _length(len(body)) + body

    def _reject_deciphering(self) -> bytes:
        self.endpoint.stats.rejected_associations += 1
        diag = dlms_enums.AcseServiceUserDiagnostics
        user_information = b"\xbe\x06\x04\x04" + DECIPHERING_FAILED
        body = (
            b"\xa1\x09\x06\x07" + LN_CIPHERING_OID
            + b"\xa2\x03\x02\x01\x01"  # result: rejected-permanent
            + b"\xa3\x05\xa1\x03\x02\x01" + bytes([diag.NO_REASON_GIVEN])
            + user_information
        )  # fmt: skip
        return bytes([AARE]) + _length(len(body)) + body

    def _reply_to_hls(self, parameter: CosemValue | None) -> bytes | int:
        """Pass 3 and 4 of HLS-GMAC: ACTION reply_to_HLS_authentication (Association LN method 1) with
        f(StoC) = SC || IC || GMAC(SC || AK || StoC) under the client's system title. Verified: the
        association is established and the answer is f(CtoS) under the server's system title and next
        invocation counter. Not verified: read-write-denied, and the association is not established
        (the client has to start again with a new AARQ)."""
        ciphered = self._ciphered
        assert ciphered is not None
        answer = parameter.value if isinstance(parameter, OctetString) else b""
        try:
            verify_gmac_challenge(bytes(answer), ciphered.client_title, ciphered.keys, ciphered.stoc)
        except DecipherError as exc:
            log.debug("%s: HLS pass 3 from %s: %s", self.endpoint.name, ciphered.client_title.hex(), exc)
            self.ctx = None
            self._ciphered = None
            self.endpoint.stats.rejected_associations += 1
            return DataAccessResult.READ_WRITE_DENIED
        ciphered.pending = False
        keys = ciphered.keys
        reply = gmac_challenge(keys.system_title, self.endpoint.counters.next_server(), keys, ciphered.ctos)
        return OctetString(reply).to_bytes()

    def _rlrq(self, apdu: bytes) -> bytes:
        try:
            fields = _ber_fields(_acse_body(apdu))
        except _Malformed:
            fields = {}
        self.ctx = None
        self._long_get = None
        self._ciphered = None
        body = b"\x80\x01\x00"  # reason: normal
        if 0xBE in fields:
            # The RLRQ carried an InitiateRequest: answer with the negotiated InitiateResponse.
            response = xdlms.InitiateResponse(
                negotiated_conformance=self.conformance,
                server_max_receive_pdu_size=self.endpoint.max_pdu_size,
            )
            user_info: bytes = acse.UserInformation(content=response).to_bytes()
            body += b"\xbe" + _length(len(user_info)) + user_info
        return bytes([RLRE]) + _length(len(body)) + body

    # -- GET ------------------------------------------------------------------------------------

    @property
    def _response_limit(self) -> int:
        return min(self.client_max_pdu, self.endpoint.max_pdu_size)

    def _read(
        self, class_id: int, obis: bytes, attribute: int, selector: SelectiveAccess | None
    ) -> bytes | int:
        """Encoded Data or a Data-Access-Result code."""
        if selector is not None and not self.conformance.selective_access:
            return DataAccessResult.OTHER_REASON
        if self._ciphered is not None and self._ciphered.pending:
            return DataAccessResult.READ_WRITE_DENIED  # HLS: nothing before the client's f(StoC)
        try:
            if obis in _ASSOCIATION_OBJECTS:
                if selector is not None:
                    return DataAccessResult.OTHER_REASON
                return self._association(class_id, obis, attribute).to_bytes()
            value = self.endpoint.model.get(class_id, obis, attribute, self.ctx, selector)
            if not isinstance(value, CosemValue):
                raise TypeError(f"model returned {type(value).__name__}, not a CosemValue")
            return value.to_bytes()
        except CosemError as exc:
            return int(exc.code)
        except Exception:
            self.endpoint.stats.internal_errors += 1
            log.exception("%s: model.get(%d, %s, %d)", self.endpoint.name, class_id, obis.hex(), attribute)
            return DataAccessResult.OTHER_REASON

    def _association(self, class_id: int, obis: bytes, attribute: int) -> CosemValue:
        """The association's own objects (:mod:`labs.virtual.cosem.association`), answered here: they
        describe this connection, not the meter."""
        ctx = self.ctx
        assert ctx is not None
        model = self.endpoint.model
        objects: Iterable[CosemObject] = model if isinstance(model, Iterable) else ()
        view = AssociationView(
            client_sap=ctx.client_address,
            server_sap=self.endpoint.logical_address,
            mechanism=ctx.mechanism,
            conformance=_conformance_bits(self.conformance),
            max_receive_pdu=self.endpoint.max_pdu_size,
            max_send_pdu=self.client_max_pdu,
            pending=self._ciphered is not None and self._ciphered.pending,
            security=self._security_view(),
        )
        name = self.endpoint.logical_device_name or self.endpoint.name.encode()[:16]
        return read_association(class_id, obis, attribute, view, objects, name)

    def _security_view(self) -> SecuritySetupView | None:
        keys = self.endpoint.security
        if keys is None or AuthLevel.HLS not in self._associations.values():
            return None
        client = self._ciphered.client_title if self._ciphered is not None else b""
        return SecuritySetupView(keys.system_title, client)

    def _respond_get(self, invoke: int, normal: bytes, raw: bytes) -> bytes:
        """Send ``normal`` if it fits the client's PDU size, else start a block transfer of ``raw``."""
        limit = self._response_limit
        if len(normal) <= limit:
            return normal
        if not self.conformance.block_transfer_with_get_or_read:
            if normal[1] == 1:  # get-response-normal: report the failure for that attribute
                return bytes([GET_RESPONSE, 1, invoke]) + _get_data_result(DataAccessResult.OTHER_REASON)
            return exception_response(SERVICE_NOT_ALLOWED, PDU_TOO_LONG)
        self._long_get = _LongGet(invoke, raw, 0, 0)
        return self._next_block()

    def _next_block(self) -> bytes:
        lg = self._long_get
        assert lg is not None
        size = max(1, self._response_limit - 12)
        chunk = lg.raw[lg.offset : lg.offset + size]
        lg.offset += len(chunk)
        lg.block += 1
        last = lg.offset >= len(lg.raw)
        if last:
            self._long_get = None
        return _block_response(lg.invoke, last, lg.block, chunk)

    def _get(self, apdu: bytes) -> bytes:
        if len(apdu) < 3:
            raise _Malformed("short GET")
        kind, invoke = apdu[1], apdu[2]
        if kind == 2:  # get-request-next
            if len(apdu) != 7:
                raise _Malformed("get-request-next length")
            block = int.from_bytes(apdu[3:7], "big")
            lg = self._long_get
            if lg is None:
                return _block_response(invoke, True, block, DataAccessResult.NO_LONG_GET_IN_PROGRESS)
            if block != lg.block:
                self._long_get = None
                return _block_response(invoke, True, block, DataAccessResult.DATA_BLOCK_NUMBER_INVALID)
            return self._next_block()
        self._long_get = None
        if not self.conformance.get:
            return exception_response(SERVICE_NOT_ALLOWED, SERVICE_NOT_SUPPORTED)
        if kind == 1:
            class_id, obis, attribute, pos = _descriptor(apdu, 3)
            selector, pos = _selection(apdu, pos)
            if pos != len(apdu):
                raise _Malformed("trailing bytes in GET")
            result = self._read(class_id, obis, attribute, selector)
            normal = bytes([GET_RESPONSE, 1, invoke]) + _get_data_result(result)
            return self._respond_get(invoke, normal, result if isinstance(result, bytes) else b"")
        if kind == 3:
            if not self.conformance.multiple_references:
                return exception_response(SERVICE_NOT_ALLOWED, SERVICE_NOT_SUPPORTED)
            count, pos = _length_at(apdu, 3)
            results = []
            for _ in range(count):
                class_id, obis, attribute, pos = _descriptor(apdu, pos)
                selector, pos = _selection(apdu, pos)
                results.append(_get_data_result(self._read(class_id, obis, attribute, selector)))
            if pos != len(apdu):
                raise _Malformed("trailing bytes in GET with list")
            raw = _length(count) + b"".join(results)
            return self._respond_get(invoke, bytes([GET_RESPONSE, 3, invoke]) + raw, raw)
        return exception_response(SERVICE_NOT_ALLOWED, SERVICE_NOT_SUPPORTED)

    # -- SET ------------------------------------------------------------------------------------

    def _set(self, apdu: bytes) -> bytes:
        if len(apdu) < 3:
            raise _Malformed("short SET")
        kind, invoke = apdu[1], apdu[2]
        if kind != 1 or not self.conformance.set:
            return exception_response(SERVICE_NOT_ALLOWED, SERVICE_NOT_SUPPORTED)
        class_id, obis, attribute, pos = _descriptor(apdu, 3)
        selector, pos = _selection(apdu, pos)
        result: int = DataAccessResult.SUCCESS
        try:
            value = decode(apdu[pos:])
        except AxdrDecodeError:
            result = DataAccessResult.TYPE_UNMATCHED
        else:
            if selector is not None:
                result = DataAccessResult.OTHER_REASON
            else:
                result = self._write(class_id, obis, attribute, value)
        return bytes([SET_RESPONSE, 1, invoke, result])

    def _write(self, class_id: int, obis: bytes, attribute: int, value: CosemValue) -> int:
        if obis == SECURITY_SETUP and self._security_view() is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if obis in _ASSOCIATION_OBJECTS or (self._ciphered is not None and self._ciphered.pending):
            return DataAccessResult.READ_WRITE_DENIED  # object_list says read-only / no access
        try:
            self.endpoint.model.set(class_id, obis, attribute, value, self.ctx)
        except CosemError as exc:
            return int(exc.code)
        except Exception:
            self.endpoint.stats.internal_errors += 1
            log.exception("%s: model.set(%d, %s, %d)", self.endpoint.name, class_id, obis.hex(), attribute)
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS

    # -- ACTION ---------------------------------------------------------------------------------

    def _action(self, apdu: bytes) -> bytes:
        if len(apdu) < 3:
            raise _Malformed("short ACTION")
        kind, invoke = apdu[1], apdu[2]
        if kind != 1 or not self.conformance.action:
            return exception_response(SERVICE_NOT_ALLOWED, SERVICE_NOT_SUPPORTED)
        class_id, obis, method, pos = _descriptor(apdu, 3)
        if pos >= len(apdu):
            raise _Malformed("missing method-invocation-parameters flag")
        parameter: CosemValue | None = None
        head = bytes([ACTION_RESPONSE, 1, invoke])
        if apdu[pos] == 1:
            try:
                parameter = decode(apdu[pos + 1 :])
            except AxdrDecodeError:
                return head + bytes([DataAccessResult.TYPE_UNMATCHED, 0])
        elif apdu[pos] != 0 or pos + 1 != len(apdu):
            raise _Malformed("bad method-invocation-parameters")
        if self._ciphered is not None and self._ciphered.pending:
            if (class_id, obis, method) != (ASSOCIATION_LN_CLASS, ASSOCIATION_LN, 1):
                return head + bytes([DataAccessResult.READ_WRITE_DENIED, 0])
            reply = self._reply_to_hls(parameter)
            if isinstance(reply, int):
                return head + bytes([reply, 0])
            return head + b"\x00\x01\x00" + reply
        if obis == SECURITY_SETUP and self._security_view() is None:
            return head + bytes([DataAccessResult.OBJECT_UNDEFINED, 0])
        if obis in _ASSOCIATION_OBJECTS:
            return head + bytes([DataAccessResult.READ_WRITE_DENIED, 0])  # no method is offered
        try:
            returned = self.endpoint.model.action(class_id, obis, method, parameter, self.ctx)
            encoded = None if returned is None else returned.to_bytes()
        except CosemError as exc:
            return head + bytes([int(exc.code), 0])
        except Exception:
            self.endpoint.stats.internal_errors += 1
            log.exception("%s: model.action(%d, %s, %d)", self.endpoint.name, class_id, obis.hex(), method)
            return head + bytes([DataAccessResult.OTHER_REASON, 0])
        if encoded is None:
            return head + b"\x00\x00"
        return head + b"\x00\x01\x00" + encoded


# --------------------------------------------------------------------------------------------------
# asyncio glue
# --------------------------------------------------------------------------------------------------


class DlmsServerProtocol(asyncio.Protocol):
    """One client connection: bytes → HDLC link → DLMS session → bytes.

    Any unexpected exception closes this connection only; the listening server and other connections
    are unaffected.
    """

    def __init__(
        self,
        endpoint: DlmsEndpoint,
        registry: set[DlmsServerProtocol] | None = None,
        *,
        persistent: bool = False,
    ) -> None:
        self.endpoint = endpoint
        #: A serial port (pty) is never "closed" by the meter: at the inactivity time-out the HDLC link
        #: goes back to the disconnected state and the port keeps listening for the next SNRM.
        self.persistent = persistent
        self.registry = registry
        self.session = DlmsSession(endpoint)
        self.link = HdlcServerLink(
            ServerAddress(endpoint.logical_address, endpoint.physical_address),
            self.session,
            limits=endpoint.hdlc,
            max_apdu=0xFFFF,  # the session answers pdu-too-long above max_pdu_size
            on_frame_dropped=self._frame_dropped,
        )
        self.transport: asyncio.BaseTransport | None = None
        self._write: Callable[[bytes], Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_activity = 0.0
        self._idle_handle: asyncio.TimerHandle | None = None

    def _frame_dropped(self, reason: str) -> None:
        self.endpoint.stats.dropped_frames += 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        hook = self.endpoint.on_connection
        if hook is not None and not hook(transport, True):
            transport.close()
            return
        self.transport = transport
        self._write = getattr(transport, "write", None)
        if self.registry is not None:
            self.registry.add(self)
        self.endpoint.stats.connections += 1
        self._loop = loop = asyncio.get_running_loop()
        if self.endpoint.inactivity_timeout:
            self._last_activity = loop.time()
            self._idle_handle = loop.call_later(self.endpoint.inactivity_timeout, self._check_idle)

    def _check_idle(self) -> None:
        timeout = self.endpoint.inactivity_timeout
        if self.transport is None or not timeout:
            return
        loop = asyncio.get_running_loop()
        remaining = self._last_activity + timeout - loop.time()
        if remaining <= 0:
            if self.persistent:
                log.debug("%s: idle session ended; the port stays served", self.endpoint.name)
                self.link.disconnect()
                self._last_activity = loop.time()
                self._idle_handle = loop.call_later(timeout, self._check_idle)
                return
            log.debug("%s: closing idle connection", self.endpoint.name)
            self.transport.close()
            return
        self._idle_handle = loop.call_later(remaining, self._check_idle)

    def data_received(self, data: bytes) -> None:
        ep = self.endpoint
        if ep.on_bytes is not None:
            ep.on_bytes("rx", data)
        if self._idle_handle is not None and self._loop is not None:
            self._last_activity = self._loop.time()
        try:
            replies = self.link.receive(data)
        except Exception:
            ep.stats.internal_errors += 1
            log.exception("%s: internal error, dropping this connection", ep.name)
            if self.transport is not None:
                self.transport.close()
            return
        if replies and self._write is not None:
            out = replies[0] if len(replies) == 1 else b"".join(replies)
            if ep.on_bytes is not None:
                ep.on_bytes("tx", out)
            if ep.send is not None:
                ep.send(self._write, out)
            else:
                self._write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.endpoint.on_connection is not None and self.transport is not None:
            self.endpoint.on_connection(self.transport, False)
        if self._idle_handle is not None:
            self._idle_handle.cancel()
        self.transport = None
        self.session.link_reset(None)
        if self.registry is not None:
            self.registry.discard(self)


def _check_loopback(host: str) -> None:
    """The lab's simulated meters must never be reachable from another machine.  Names (even
    "localhost") are refused so that no resolver configuration can widen the exposure."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"DLMS simulator may only listen on a loopback address, not {host!r}")


async def serve_endpoint(
    endpoint: DlmsEndpoint,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    registry: set[DlmsServerProtocol] | None = None,
) -> asyncio.Server:
    """Listen for DLMS/HDLC clients of ``endpoint``; ``port=0`` picks a free port (see ``sockets``).

    Live connections are added to ``registry`` if given, so an owner can close them on shutdown
    (``Server.close()`` only stops listening).
    """
    _check_loopback(host)
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: DlmsServerProtocol(endpoint, registry), host, port)


async def serve_dlms(
    model: CosemModel,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    password: bytes | None,
    logical_address: int = 1,
    physical_address: int | None = None,
    allow_no_security: bool = True,
    max_pdu_size: int = 1024,
    hdlc: HdlcParameters = DEFAULT_PARAMETERS,
    inactivity_timeout: float | None = 120.0,
    name: str = "dlms",
    on_bytes: TranscriptCallback | None = None,
) -> asyncio.Server:
    """Serve one simulated meter's optical port on a loopback TCP port.

    ``password`` is keyword-only and required so that "no LLS" is always a deliberate choice.
    The port actually bound is ``server.sockets[0].getsockname()[1]``.
    """
    endpoint = DlmsEndpoint(
        model=model,
        password=password,
        logical_address=logical_address,
        physical_address=physical_address,
        allow_no_security=allow_no_security,
        max_pdu_size=max_pdu_size,
        hdlc=hdlc,
        inactivity_timeout=inactivity_timeout,
        name=name,
        on_bytes=on_bytes,
    )
    return await serve_endpoint(endpoint, host, port)


class _FdWriter(asyncio.Protocol):
    pass


async def serve_dlms_on_fd(endpoint: DlmsEndpoint, fd: int) -> Callable[[], None]:
    """Serve ``endpoint`` on a character device fd, typically the master side of a pty, so a client
    can use the slave path like a real serial port.  Returns a function that stops serving (the caller
    keeps ownership of ``fd``).
    """
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):  # not a tty: nothing to configure
        tty.setraw(fd)
    protocol = DlmsServerProtocol(endpoint, persistent=True)
    read_file = os.fdopen(os.dup(fd), "rb", buffering=0)
    write_file = os.fdopen(os.dup(fd), "wb", buffering=0)
    write_transport, _ = await loop.connect_write_pipe(_FdWriter, write_file)
    read_transport, _ = await loop.connect_read_pipe(lambda: protocol, read_file)
    protocol._write = write_transport.write

    def stop() -> None:
        read_transport.close()
        write_transport.close()

    return stop


# --------------------------------------------------------------------------------------------------
# Background thread for synchronous callers
# --------------------------------------------------------------------------------------------------


class DlmsServerThread:
    """An event loop in a daemon thread serving any number of endpoints.

    For pytest and synchronous harness code::

        with DlmsServerThread() as lab:
            port = lab.add(model, password=b"12345678")
            ... connect to socket://127.0.0.1:{port} ...
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="dlms-server", daemon=True)
        self._servers: list[asyncio.Server] = []
        self._connections: set[DlmsServerProtocol] = set()
        self.endpoints: list[DlmsEndpoint] = []

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> DlmsServerThread:
        self._thread.start()
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop (models are not thread-safe) and return its result."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result()

    def add_endpoint(self, endpoint: DlmsEndpoint, host: str = "127.0.0.1", port: int = 0) -> int:
        future: Future[asyncio.Server] = asyncio.run_coroutine_threadsafe(
            serve_endpoint(endpoint, host, port, registry=self._connections), self.loop
        )
        server = future.result()
        self._servers.append(server)
        self.endpoints.append(endpoint)
        port_bound: int = server.sockets[0].getsockname()[1]
        return port_bound

    def add(
        self,
        model: CosemModel,
        *,
        password: bytes | None,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> int:
        """Serve ``model``; ``options`` are :class:`DlmsEndpoint` fields.  Returns the TCP port."""
        return self.add_endpoint(DlmsEndpoint(model=model, password=password, **options), host, port)

    def add_many(self, endpoints: Sequence[DlmsEndpoint]) -> list[int]:
        return [self.add_endpoint(ep) for ep in endpoints]

    def stop(self) -> None:
        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            for protocol in list(self._connections):
                if protocol.transport is not None:
                    protocol.transport.close()
            for server in self._servers:
                await server.wait_closed()
            await asyncio.sleep(0)  # let connection_lost callbacks run

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        self.loop.close()

    def __enter__(self) -> DlmsServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def iter_stats(self) -> Iterator[DlmsStats]:
        return (ep.stats for ep in self.endpoints)
