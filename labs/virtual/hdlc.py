"""HDLC (IEC 62056-46) for the server side of the virtual meters' optical port.

Three layers, all free of I/O so they can be driven by a TCP socket, a pty or a unit test:

* pure frame functions: :func:`crc16_x25`, :func:`encode_frame`, :func:`parse_frame`, HDLC parameter
  negotiation (:func:`parse_parameters`, :func:`encode_parameters`);
* :class:`FrameBuffer`: turns an arbitrary byte stream into frames, resynchronising after garbage,
  truncated frames and bad checksums (which HDLC says to drop silently);
* :class:`HdlcServerLink`: the secondary-station state machine (SNRM/UA, DISC/UA/DM, I-frame sequence
  numbers, RR, segmentation in both directions with window size 1), handing complete LLC-stripped
  APDUs to an :class:`ApduHandler`.

``dlms_cosem.hdlc`` is client-only (its parsers assume the peer is a server and its frame classes cannot
carry SNRM parameters or build DM/FRMR), so only the conventions are shared.  The CRC is computed here with
:func:`binascii.crc_hqx` on bit-reversed input: it is bit-for-bit the CRC-16/X.25 of ``dlms_cosem.crc``
(checked in the tests) but about 100 times faster, which matters with hundreds of simulated meters.
"""

from __future__ import annotations

import binascii
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

__all__ = [
    "DEFAULT_PARAMETERS",
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "ApduHandler",
    "FrameBuffer",
    "FrameKind",
    "HdlcFrame",
    "HdlcFrameError",
    "HdlcParameters",
    "HdlcServerLink",
    "ServerAddress",
    "crc16_x25",
    "decode_server_address",
    "encode_client_address",
    "encode_frame",
    "encode_server_address",
    "fcs",
    "negotiate",
    "parse_frame",
    "parse_parameters",
]

log = logging.getLogger(__name__)

FLAG = 0x7E
PF = 0x10  # poll/final bit in the control field
LLC_REQUEST = b"\xe6\xe6\x00"
LLC_RESPONSE = b"\xe6\xe7\x00"
MAX_FRAME_LENGTH = 0x7FF  # 11-bit length field

# U-frame control values without the P/F bit.
SNRM = 0x83
DISC = 0x43
UA = 0x63
DM = 0x0F
FRMR = 0x87
UI = 0x03

_REVERSED_BITS = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (the HDLC FCS): reflected CRC-CCITT, init 0xFFFF, final xor 0xFFFF.

    ``crc_hqx`` is the non-reflected variant, so reflect the input bytes, run it, reflect the result.
    """
    crc = binascii.crc_hqx(data.translate(_REVERSED_BITS), 0xFFFF) ^ 0xFFFF
    return (_REVERSED_BITS[crc & 0xFF] << 8) | _REVERSED_BITS[crc >> 8]


def fcs(data: bytes) -> bytes:
    """HCS/FCS field as transmitted: least significant byte first."""
    return crc16_x25(data).to_bytes(2, "little")


class HdlcFrameError(ValueError):
    """Bytes between two flags are not a valid frame (bad format, address, HCS or FCS)."""


class FrameKind(enum.Enum):
    I = "I"  # noqa: E741 - the HDLC name
    RR = "RR"
    RNR = "RNR"
    SNRM = "SNRM"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    UI = "UI"
    UNKNOWN = "UNKNOWN"


_U_KINDS = {
    SNRM: FrameKind.SNRM,
    DISC: FrameKind.DISC,
    UA: FrameKind.UA,
    DM: FrameKind.DM,
    FRMR: FrameKind.FRMR,
    UI: FrameKind.UI,
}


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """A checked frame.  Addresses are kept as their raw encodings so replies can mirror them."""

    destination: bytes
    source: bytes
    control: int
    information: bytes = b""
    segmented: bool = False

    @property
    def kind(self) -> FrameKind:
        c = self.control
        if c & 0x01 == 0:
            return FrameKind.I
        if c & 0x03 == 0x01:
            return {0: FrameKind.RR, 1: FrameKind.RNR}.get((c >> 2) & 0x03, FrameKind.UNKNOWN)
        return _U_KINDS.get(c & ~PF & 0xFF, FrameKind.UNKNOWN)

    @property
    def poll_final(self) -> bool:
        return bool(self.control & PF)

    @property
    def send_sequence(self) -> int:
        """N(S) of an I-frame."""
        return (self.control >> 1) & 0x07

    @property
    def receive_sequence(self) -> int:
        """N(R) of an I or S frame."""
        return (self.control >> 5) & 0x07


# --------------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """HDLC server address: upper (logical device) and optional lower (physical device) part."""

    logical: int
    physical: int | None = None


def encode_client_address(client: int) -> bytes:
    """Client addresses are always one byte (7 bits, LSB marks the end)."""
    if not 0 <= client <= 0x7F:
        raise ValueError(f"client address out of range: {client}")
    return bytes([(client << 1) | 1])


def encode_server_address(address: ServerAddress, size: int | None = None) -> bytes:
    """Encode on 1, 2 or 4 bytes; by default the shortest form that can carry the values."""
    logical, physical = address.logical, address.physical
    if size is None:
        if physical is None:
            size = 1 if logical <= 0x7F else 2
        else:
            size = 2 if logical <= 0x7F and physical <= 0x7F else 4
    if size == 1:
        if physical is not None or logical > 0x7F:
            raise ValueError("one-byte server address carries a 7-bit logical address only")
        return bytes([(logical << 1) | 1])
    if size == 2:
        if logical > 0x7F or (physical or 0) > 0x7F:
            raise ValueError("two-byte server address carries 7-bit parts only")
        return bytes([logical << 1, ((physical or 0) << 1) | 1])
    if size == 4:
        lo, ph = logical, physical or 0
        if lo > 0x3FFF or ph > 0x3FFF:
            raise ValueError("four-byte server address carries 14-bit parts only")
        return bytes([(lo >> 7) << 1, (lo & 0x7F) << 1, (ph >> 7) << 1, ((ph & 0x7F) << 1) | 1])
    raise ValueError(f"server address size must be 1, 2 or 4, not {size}")


def decode_server_address(raw: bytes) -> ServerAddress:
    if len(raw) == 1:
        return ServerAddress(raw[0] >> 1)
    if len(raw) == 2:
        return ServerAddress(raw[0] >> 1, raw[1] >> 1)
    if len(raw) == 4:
        return ServerAddress(((raw[0] >> 1) << 7) | (raw[1] >> 1), ((raw[2] >> 1) << 7) | (raw[3] >> 1))
    raise HdlcFrameError(f"server address of {len(raw)} bytes")


def _read_address(content: bytes, pos: int) -> tuple[bytes, int]:
    for end in range(pos, min(pos + 4, len(content))):
        if content[end] & 0x01:
            raw = content[pos : end + 1]
            if len(raw) == 3:
                raise HdlcFrameError("three-byte address")
            return raw, end + 1
    raise HdlcFrameError("unterminated address")


# --------------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------------


def encode_frame(
    destination: bytes, source: bytes, control: int, information: bytes = b"", *, segmented: bool = False
) -> bytes:
    """Frame format type 3: flag, format+length, addresses, control, [HCS, information], FCS, flag."""
    header_len = 2 + len(destination) + len(source) + 1
    length = header_len + 2 + (len(information) + 2 if information else 0)
    if length > MAX_FRAME_LENGTH:
        raise ValueError(f"frame of {length} bytes exceeds the 11-bit length field")
    fmt = 0xA000 | (0x0800 if segmented else 0) | length
    header = fmt.to_bytes(2, "big") + destination + source + bytes([control])
    body = header + fcs(header) + information if information else header
    return b"\x7e" + body + fcs(body) + b"\x7e"


def parse_frame(content: bytes) -> HdlcFrame:
    """Check and split the bytes *between* the flags.  Raises :class:`HdlcFrameError`."""
    if len(content) < 7:
        raise HdlcFrameError("frame too short")
    if content[0] & 0xF0 != 0xA0:
        raise HdlcFrameError("not frame format type 3")
    length = ((content[0] & 0x07) << 8) | content[1]
    if length != len(content):
        raise HdlcFrameError(f"length field {length} but {len(content)} bytes")
    destination, pos = _read_address(content, 2)
    source, pos = _read_address(content, pos)
    if pos + 3 > len(content):
        raise HdlcFrameError("no control/FCS")
    control = content[pos]
    pos += 1
    if crc16_x25(content[:-2]) != int.from_bytes(content[-2:], "little"):
        raise HdlcFrameError("bad FCS")
    information = b""
    if len(content) > pos + 2:
        if len(content) < pos + 4:
            raise HdlcFrameError("information without HCS")
        if crc16_x25(content[:pos]) != int.from_bytes(content[pos : pos + 2], "little"):
            raise HdlcFrameError("bad HCS")
        information = content[pos + 2 : -2]
    return HdlcFrame(destination, source, control, information, bool(content[0] & 0x08))


class FrameBuffer:
    """Reassembles frames from a byte stream.

    DLMS HDLC has no byte stuffing: the length field delimits a frame, and 0x7E may occur inside it.
    A truncated or corrupt frame at the head of the buffer could therefore swallow the next good frame;
    to recover, whenever the head frame is incomplete the buffer is searched for a later flag that starts
    a complete frame with a valid FCS, and everything before it is dropped.  Invalid frames are counted
    and dropped silently, as HDLC prescribes.
    """

    def __init__(self, max_buffer: int = 8 * MAX_FRAME_LENGTH) -> None:
        self._buf = bytearray()
        self._max_buffer = max_buffer
        self.discarded = 0

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[HdlcFrame]:
        self._buf += data
        frames: list[HdlcFrame] = []
        while True:
            status = self._next(frames)
            if status is None:
                break
        if len(self._buf) > self._max_buffer:  # a stalled partial frame cannot grow without bound
            del self._buf[: len(self._buf) - MAX_FRAME_LENGTH - 2]
            self.discarded += 1
        return frames

    def _candidate(self, start: int) -> bytes | bool | None:
        """Frame content at ``start`` (a flag): bytes if complete, None if more data needed, False if
        impossible (bad format, too short, no closing flag)."""
        buf = self._buf
        if start + 3 > len(buf):
            return None
        if buf[start + 1] & 0xF0 != 0xA0:
            return False
        length = ((buf[start + 1] & 0x07) << 8) | buf[start + 2]
        if length < 7:
            return False
        end = start + 1 + length  # index of closing flag
        if end >= len(buf):
            return None
        if buf[end] != FLAG:
            return False
        return bytes(buf[start + 1 : end])

    def _next(self, out: list[HdlcFrame]) -> bool | None:
        buf = self._buf
        start = buf.find(FLAG)
        if start < 0:
            buf.clear()
            return None
        if start:
            del buf[:start]
            self.discarded += 1
        # Consecutive flags: the first one is fill, keep the last as the opening flag.
        while len(buf) > 1 and buf[1] == FLAG:
            del buf[0]
        cand = self._candidate(0)
        if cand is None:
            return self._resync_incomplete(out)
        if cand is False:
            del buf[0]
            self.discarded += 1
            return True
        assert isinstance(cand, bytes)
        del buf[: len(cand) + 1]  # keep the closing flag: it may open the next frame
        try:
            out.append(parse_frame(cand))
        except HdlcFrameError as exc:
            self.discarded += 1
            log.debug("discarding HDLC frame: %s", exc)
        return True

    def _resync_incomplete(self, out: list[HdlcFrame]) -> bool | None:
        buf = self._buf
        pos = buf.find(FLAG, 1)
        while pos >= 0:
            cand = self._candidate(pos)
            if isinstance(cand, bytes):
                try:
                    frame = parse_frame(cand)
                except HdlcFrameError:
                    pass
                else:
                    del buf[: pos + len(cand) + 1]
                    self.discarded += 1
                    out.append(frame)
                    return True
            pos = buf.find(FLAG, pos + 1)
        return None


# --------------------------------------------------------------------------------------------------
# Parameter negotiation (SNRM / UA information field)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """Link parameters from the sender's point of view (tx = what the sender transmits)."""

    max_info_tx: int = 128
    max_info_rx: int = 128
    window_tx: int = 1
    window_rx: int = 1


DEFAULT_PARAMETERS = HdlcParameters()
_PARAM_IDS = {5: "max_info_tx", 6: "max_info_rx", 7: "window_tx", 8: "window_rx"}


def parse_parameters(info: bytes) -> HdlcParameters:
    """Parse the ``81 80 len {id len value}`` group; absent parameters keep their default."""
    if not info:
        return DEFAULT_PARAMETERS
    if len(info) < 3 or info[0] != 0x81 or info[1] != 0x80 or info[2] != len(info) - 3:
        raise HdlcFrameError("bad HDLC parameter group")
    values: dict[str, int] = {}
    pos = 3
    while pos < len(info):
        if pos + 2 > len(info):
            raise HdlcFrameError("truncated HDLC parameter")
        pid, plen = info[pos], info[pos + 1]
        raw = info[pos + 2 : pos + 2 + plen]
        if len(raw) != plen or plen not in (1, 2, 4):
            raise HdlcFrameError("bad HDLC parameter length")
        pos += 2 + plen
        name = _PARAM_IDS.get(pid)
        if name is not None:
            values[name] = int.from_bytes(raw, "big")
    params = replace(DEFAULT_PARAMETERS, **values)
    if min(params.max_info_tx, params.max_info_rx) < 32 or min(params.window_tx, params.window_rx) < 1:
        raise HdlcFrameError(f"unacceptable HDLC parameters {params}")
    return params


def encode_parameters(params: HdlcParameters) -> bytes:
    body = bytearray()
    for pid, name in _PARAM_IDS.items():
        value: int = getattr(params, name)
        # Window sizes are conventionally sent on 4 bytes, frame sizes on the fewest bytes.
        size = 4 if pid >= 7 else (1 if value <= 0xFF else 2)
        body += bytes([pid, size]) + value.to_bytes(size, "big")
    return bytes([0x81, 0x80, len(body)]) + bytes(body)


def negotiate(proposed: HdlcParameters, limits: HdlcParameters) -> HdlcParameters:
    """Server's parameters (its own point of view) from the client's proposal and the server's limits."""
    return HdlcParameters(
        max_info_tx=min(proposed.max_info_rx, limits.max_info_tx),
        max_info_rx=min(proposed.max_info_tx, limits.max_info_rx),
        window_tx=min(proposed.window_rx, limits.window_tx),
        window_rx=min(proposed.window_tx, limits.window_rx),
    )


# --------------------------------------------------------------------------------------------------
# Server link state machine
# --------------------------------------------------------------------------------------------------


class ApduHandler(Protocol):
    """The layer above HDLC (the DLMS association)."""

    def handle_apdu(self, apdu: bytes) -> bytes | None:
        """Return the response APDU, or None when the request has no response."""

    def link_reset(self, client_address: int | None) -> None:
        """The HDLC connection was established by ``client_address`` (SNRM) or released (``None``):
        any association is gone."""


class HdlcServerLink:
    """Secondary station of one HDLC connection (one client on one byte stream).

    Sans-I/O: :meth:`receive` takes bytes from the wire and returns bytes to write.  Supported:
    SNRM with parameter negotiation, DISC, I-frames with N(S)/N(R) checking, RR, segmentation of long
    APDUs in both directions (window size 1: each segment is acknowledged by an RR/I-frame), repetition
    of the last response when the client retransmits a frame whose answer was lost.  Frames for
    another server address are ignored (multi-drop behaviour); frames with bad HCS/FCS are dropped.
    """

    def __init__(
        self,
        address: ServerAddress,
        handler: ApduHandler,
        *,
        limits: HdlcParameters = DEFAULT_PARAMETERS,
        max_apdu: int = 0xFFFF,
        on_frame_dropped: Callable[[str], None] | None = None,
    ) -> None:
        self.address = address
        self.handler = handler
        self.limits = limits
        self.max_apdu = max_apdu
        self._on_dropped = on_frame_dropped
        self.frames = FrameBuffer()
        self.connected = False
        self.params = DEFAULT_PARAMETERS
        self._client: bytes = b""
        self._own: bytes = b""  # our address as the client used it, mirrored in replies
        self._vs = 0  # V(S): sequence number of our next I-frame
        self._vr = 0  # V(R): sequence number we expect next from the client
        self._rx_segments = bytearray()
        self._tx_pending: list[bytes] = []  # information fields of segments not yet sent
        self._last_sent: bytes | None = None  # last I-frame, for retransmission

    @property
    def client_address(self) -> int | None:
        """Address of the connected client (one byte, LSB is the extension bit)."""
        return self._client[0] >> 1 if self.connected and self._client else None

    # -- helpers ------------------------------------------------------------------------------

    def _addressed_to_us(self, frame: HdlcFrame) -> bool:
        try:
            dest = decode_server_address(frame.destination)
        except HdlcFrameError:
            return False
        if dest.logical != self.address.logical:
            return False
        # A one-byte address carries no physical part: accept it as "this device".
        own = self.address.physical
        return dest.physical is None or own is None or dest.physical == own

    def _u(self, control: int, info: bytes = b"") -> bytes:
        return encode_frame(self._client, self._own, control | PF, info)

    def _rr(self) -> bytes:
        return encode_frame(self._client, self._own, 0x01 | PF | (self._vr << 5))

    def _send_next_segment(self) -> bytes:
        info = self._tx_pending.pop(0)
        more = bool(self._tx_pending)
        control = (self._vs << 1) | PF | (self._vr << 5)
        frame = encode_frame(self._client, self._own, control, info, segmented=more)
        self._vs = (self._vs + 1) & 7
        self._last_sent = frame
        return frame

    def _dropped(self, reason: str) -> None:
        log.debug("HDLC frame ignored: %s", reason)
        if self._on_dropped is not None:
            self._on_dropped(reason)

    def _reset(self) -> None:
        self._vs = self._vr = 0
        self._rx_segments.clear()
        self._tx_pending.clear()
        self._last_sent = None
        self.handler.link_reset(self.client_address)

    def disconnect(self) -> None:
        """Go to the disconnected state as at the inactivity time-out (IEC 62056-46 6.4.4.3.3): the
        association is gone, half-received frames are dropped, and the next SNRM starts afresh."""
        if self.connected:
            self.connected = False
            self._reset()
        self.frames = FrameBuffer()

    # -- entry point --------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        before = self.frames.discarded
        for frame in self.frames.feed(data):
            reply = self._on_frame(frame)
            if reply is not None:
                out.append(reply)
        for _ in range(self.frames.discarded - before):
            self._dropped("malformed frame or garbage")
        return out

    def _on_frame(self, frame: HdlcFrame) -> bytes | None:
        if not self._addressed_to_us(frame):
            self._dropped("not addressed to this server")
            return None
        if len(frame.source) != 1:
            self._dropped("client address must be one byte")
            return None
        kind = frame.kind
        if kind is FrameKind.SNRM:
            return self._on_snrm(frame)
        if not self.connected:
            if kind is FrameKind.UI:
                return None
            # Disconnected mode: answer polls (including DISC) with DM.
            if frame.poll_final:
                self._client, self._own = frame.source, frame.destination
                return self._u(DM)
            return None
        if frame.source != self._client:
            self._dropped("frame from a client that is not connected")
            return None
        if kind is FrameKind.DISC:
            self.connected = False
            self._reset()
            return self._u(UA)
        if kind is FrameKind.I:
            return self._on_information(frame)
        if kind is FrameKind.RR:
            return self._on_rr(frame)
        if kind in (FrameKind.RNR, FrameKind.UI):
            return None
        return self._u(FRMR) if frame.poll_final else None

    def _on_snrm(self, frame: HdlcFrame) -> bytes:
        self._client, self._own = frame.source, frame.destination
        try:
            proposed = parse_parameters(frame.information)
        except HdlcFrameError as exc:
            self._dropped(str(exc))
            if self.connected:
                self.connected = False
                self._reset()
            return self._u(DM)
        self.params = negotiate(proposed, self.limits)
        self.connected = True
        self._reset()
        return self._u(UA, encode_parameters(self.params))

    def _on_information(self, frame: HdlcFrame) -> bytes | None:
        ns = frame.send_sequence
        if ns != self._vr:
            if ns == (self._vr - 1) & 7 and self._last_sent is not None and not self._tx_pending:
                return self._last_sent  # our answer was lost: repeat it, do not re-execute
            self._dropped(f"N(S)={ns} but V(R)={self._vr}")
            return self._rr() if frame.poll_final else None
        self._vr = (self._vr + 1) & 7
        self._tx_pending.clear()  # a new request aborts any unfinished segmented response
        if len(frame.information) > self.params.max_info_rx:
            self._dropped("information field longer than negotiated")
        self._rx_segments += frame.information
        if len(self._rx_segments) > self.max_apdu + len(LLC_REQUEST):
            self._rx_segments.clear()
            self._dropped("request APDU too long")
            return self._rr()
        if frame.segmented:
            return self._rr() if frame.poll_final else None
        request = bytes(self._rx_segments)
        self._rx_segments.clear()
        if not request.startswith(LLC_REQUEST):
            self._dropped("missing LLC header")
            return self._rr() if frame.poll_final else None
        response = self.handler.handle_apdu(request[len(LLC_REQUEST) :])
        if response is None:
            return self._rr() if frame.poll_final else None
        data = LLC_RESPONSE + response
        size = self.params.max_info_tx
        self._tx_pending = [data[i : i + size] for i in range(0, len(data), size)]
        return self._send_next_segment()

    def _on_rr(self, frame: HdlcFrame) -> bytes | None:
        nr = frame.receive_sequence
        if self._tx_pending:
            if nr == self._vs:
                return self._send_next_segment()
            if self._last_sent is not None:
                return self._last_sent  # the client did not get our last segment
        elif nr == (self._vs - 1) & 7 and self._last_sent is not None:
            return self._last_sent  # the final frame of our last response was lost
        if frame.poll_final:
            return self._rr()
        return None
