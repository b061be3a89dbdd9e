"""DLMS/COSEM client over HDLC for meters' optical ports (and the virtual lab's simulated ones).

The protocol work is done by the ``dlms-cosem`` client (``DlmsClient`` + ``HdlcTransport``); this module
adds what the harness needs around it:

* :class:`UrlSerialIO` - a dlms-cosem ``IoImplementation`` on any pyserial URL (``socket://host:port``,
  ``/dev/ttyUSB0``, ``rfc2217://...``).  dlms-cosem's own ``SerialIO`` only takes a device path, and its
  HDLC transport loops forever when a read times out (it keeps asking for more data), so every read here
  raises :class:`DlmsLinkError` on timeout instead.  Every byte is reported to an optional transcript
  callback ``on_bytes("tx" | "rx", data)``.
* :class:`DlmsOpticalClient` - connect / associate / get / set / action / release returning plain
  Python values, with two exception types a test can tell apart: :class:`DlmsLinkError` (nothing usable
  came back: refused, timeout, broken frames) and :class:`DlmsDeviceError` (the meter answered, with an
  error code; its subclass :class:`DlmsProtocolError` when the answer is not valid DLMS at all).

Values to SET or pass to ACTION are given already typed: raw A-XDR ``bytes`` or any object with a
``to_bytes()`` method (``labs.virtual.cosem`` values, or ``dlms_cosem.dlms_data`` classes - but note that
dlms-cosem 25.1 cannot encode ``BooleanData``/``NullData`` nor lengths above 255).
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import serial
from dlms_cosem import cosem as dlms_cosem_objects
from dlms_cosem import enumerations as dlms_enums
from dlms_cosem import exceptions as dlms_exceptions
from dlms_cosem import state as dlms_state
from dlms_cosem.client import DlmsClient
from dlms_cosem.io import HdlcTransport
from dlms_cosem.protocol import acse, xdlms
from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication

from device_drivers.links import close_port
from device_drivers.protocols.dlms_errors import DlmsDeviceError, DlmsLinkError, DlmsProtocolError

__all__ = [
    "DlmsDeviceError",
    "DlmsLinkError",
    "DlmsOpticalClient",
    "DlmsProtocolError",
    "UrlSerialIO",
    "decode_data",
    "parse_obis",
    "quiet_dlms_cosem_logging",
]

log = logging.getLogger(__name__)

Direction = Literal["tx", "rx"]
TranscriptCallback = Callable[[Direction, bytes], None]


class SupportsToBytes(Protocol):
    def to_bytes(self) -> bytes: ...


def quiet_dlms_cosem_logging(level: int = logging.WARNING) -> None:
    """dlms-cosem logs every frame through structlog, whose default configuration prints to stdout at
    all levels; that is slow and floods test output.  Filter it at ``level`` unless the application has
    configured structlog itself."""
    import structlog

    if not structlog.is_configured():
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


# --------------------------------------------------------------------------------------------------
# I/O adapter
# --------------------------------------------------------------------------------------------------


class UrlSerialIO:
    """dlms-cosem ``IoImplementation`` over ``serial.serial_for_url``.

    Reads are buffered (one blocking byte, then whatever is waiting) rather than byte by byte as
    pyserial's ``read_until`` does, which matters at socket speeds.  Each ``recv``/``recv_until`` call
    must complete within ``timeout`` seconds or raises :class:`DlmsLinkError`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        baudrate: int = 9600,
        on_bytes: TranscriptCallback | None = None,
        hdlc_framing: bool = True,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.baudrate = baudrate
        self.on_bytes = on_bytes
        self.port: Any = None
        self._rx = bytearray()
        self._socket_url = url.startswith("socket://")
        self.hdlc_framing = hdlc_framing
        self._owed_empty_reads = 0

    def connect(self) -> None:
        if self.port is not None:
            raise DlmsLinkError(f"{self.url}: already open")
        try:
            port = serial.serial_for_url(
                self.url, timeout=self.timeout, baudrate=self.baudrate, do_not_open=True
            )
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DlmsLinkError(f"{self.url}: cannot open: {exc}") from exc
        self.port = port
        self._rx.clear()
        self._owed_empty_reads = 0

    def disconnect(self) -> None:
        port, self.port = self.port, None
        if port is None:
            return
        try:
            close_port(port)  # socket://: without pyserial's 0.3 s close sleep
        except (serial.SerialException, OSError) as exc:
            log.debug("%s: error on close: %s", self.url, exc)

    def _open_port(self) -> Any:
        if self.port is None:
            raise DlmsLinkError(f"{self.url}: not open")
        return self.port

    def send(self, data: bytes) -> None:
        port = self._open_port()
        if self.on_bytes is not None:
            self.on_bytes("tx", bytes(data))
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DlmsLinkError(f"{self.url}: write failed: {exc}") from exc

    def _fill(self, deadline: float) -> None:
        port = self._open_port()
        if time.monotonic() >= deadline:
            raise DlmsLinkError(f"{self.url}: timeout after {self.timeout}s waiting for the device")
        try:
            if self._socket_url:
                port.timeout = max(0.001, deadline - time.monotonic())
            # Other backends keep their configured timeout: changing it reconfigures the port (a
            # tcsetattr, or a network round trip for rfc2217://), so a wait may overrun by one timeout.
            chunk = port.read(1)
            if chunk:
                chunk += self._read_available(port)
        except (serial.SerialException, OSError) as exc:
            raise DlmsLinkError(f"{self.url}: read failed: {exc}") from exc
        if not chunk:
            raise DlmsLinkError(f"{self.url}: timeout after {self.timeout}s waiting for the device")
        if self.on_bytes is not None:
            self.on_bytes("rx", bytes(chunk))
        self._rx += chunk

    def _read_available(self, port: Any) -> bytes:
        """Whatever has already arrived, without waiting."""
        if self._socket_url:
            # pyserial's socket:// in_waiting is only 0/1 (readable or not); a zero timeout makes
            # read() return everything the socket holds (settings are no-ops on this backend).
            port.timeout = 0
            return bytes(port.read(65536))
        data = b""
        while waiting := port.in_waiting:
            data += port.read(waiting)
        return data

    def recv(self, amount: int = 1) -> bytes:
        deadline = time.monotonic() + self.timeout
        while len(self._rx) < amount:
            self._fill(deadline)
        data = bytes(self._rx[:amount])
        del self._rx[:amount]
        return data

    def recv_until(self, end: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout
        if end == b"\x7e" and self.hdlc_framing:
            return self._recv_hdlc_frame(deadline)
        return self._take_through(end, 0, deadline)

    def _take_through(self, end: bytes, start: int, deadline: float) -> bytes:
        while (index := self._rx.find(end, start)) < 0:
            self._fill(deadline)
        stop = index + len(end)
        data = bytes(self._rx[:stop])
        del self._rx[:stop]
        return data

    def _recv_hdlc_frame(self, deadline: float) -> bytes:
        """Return a whole HDLC frame, delimited by its length field, to dlms-cosem's HdlcTransport.

        dlms-cosem reads "up to the next 0x7E", which is wrong when 0x7E occurs inside a frame (there is
        no byte stuffing in DLMS HDLC).  Interior flags in the middle heal themselves, but a frame whose
        last FCS byte is 0x7E (1 frame in 256) makes it wait for a flag that never comes.  Its parser
        advances one 0x7E per read, so after handing over a frame with k interior 0x7E bytes the next k
        reads return nothing, letting it reach the real closing flag without blocking.
        """
        if self._owed_empty_reads:
            self._owed_empty_reads -= 1
            return b""
        while not self._rx:
            self._fill(deadline)
        if self._rx[0] != 0x7E:
            return self._take_through(b"\x7e", 0, deadline)  # garbage before a flag: old behaviour
        while len(self._rx) > 1 and self._rx[1] == 0x7E:
            del self._rx[0]  # inter-frame fill flags
        while len(self._rx) < 3:
            self._fill(deadline)
        if self._rx[1] & 0xF0 != 0xA0:
            return self._take_through(b"\x7e", 1, deadline)
        end = 1 + (((self._rx[1] & 0x07) << 8) | self._rx[2])
        while len(self._rx) <= end:
            self._fill(deadline)
        if self._rx[end] != 0x7E:
            return self._take_through(b"\x7e", 1, deadline)
        frame = bytes(self._rx[: end + 1])
        del self._rx[: end + 1]
        if self._rx and self._rx[0] != 0x7E:
            self._rx[0:0] = b"\x7e"  # the closing flag was shared with the next frame
        self._owed_empty_reads = frame[1:-1].count(0x7E)
        return frame


# --------------------------------------------------------------------------------------------------
# Value decoding
# --------------------------------------------------------------------------------------------------


def parse_obis(obis: str | bytes) -> bytes:
    """``"1.0.1.8.0.255"``, ``"1-0:1.8.0*255"`` or 6 bytes → 6 bytes."""
    if isinstance(obis, bytes | bytearray):
        if len(obis) != 6:
            raise ValueError(f"OBIS code must be 6 bytes, got {len(obis)}")
        return bytes(obis)
    text = obis
    for sep in "-:*":
        text = text.replace(sep, ".")
    parts = text.split(".")
    if len(parts) == 5:
        parts.append("255")
    if len(parts) != 6 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise ValueError(f"not an OBIS code: {obis!r}")
    return bytes(int(p) for p in parts)


_FIXED = {
    15: (1, True),
    16: (2, True),
    5: (4, True),
    20: (8, True),
    17: (1, False),
    18: (2, False),
    6: (4, False),
    21: (8, False),
    22: (1, False),
    13: (1, True),
}
_RAW_FIXED = {25: 12, 26: 5, 27: 4}


def _length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    n = first & 0x7F
    if not 0 < n <= 4 or pos + 1 + n > len(data):
        raise ValueError("bad A-XDR length")
    return int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def _decode(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth > 16:
        raise ValueError("A-XDR nesting too deep")
    tag = data[pos]
    pos += 1
    if tag in _FIXED:
        size, signed = _FIXED[tag]
        if pos + size > len(data):
            raise ValueError("truncated integer")
        return int.from_bytes(data[pos : pos + size], "big", signed=signed), pos + size
    if tag in (1, 2):
        count, pos = _length(data, pos)
        if count > len(data) - pos:
            raise ValueError("element count exceeds data")
        items = []
        for _ in range(count):
            item, pos = _decode(data, pos, depth + 1)
            items.append(item)
        return (items if tag == 1 else tuple(items)), pos
    if tag in (0, 255):
        return None, pos
    if tag == 3:
        if pos >= len(data):
            raise ValueError("truncated boolean")
        return data[pos] != 0, pos + 1
    if tag in (9, 10, 12):
        n, pos = _length(data, pos)
        raw = data[pos : pos + n]
        if len(raw) != n:
            raise ValueError("truncated string")
        if tag == 9:
            return bytes(raw), pos + n
        return raw.decode("ascii" if tag == 10 else "utf-8"), pos + n
    if tag == 4:
        bits, pos = _length(data, pos)
        nbytes = (bits + 7) // 8
        raw = data[pos : pos + nbytes]
        if len(raw) != nbytes:
            raise ValueError("truncated bit-string")
        return "".join(f"{b:08b}" for b in raw)[:bits], pos + nbytes
    if tag in (23, 24):
        size = 4 if tag == 23 else 8
        raw = data[pos : pos + size]
        if len(raw) != size:
            raise ValueError("truncated float")
        return struct.unpack(">f" if tag == 23 else ">d", raw)[0], pos + size
    if tag in _RAW_FIXED:
        size = _RAW_FIXED[tag]
        raw = data[pos : pos + size]
        if len(raw) != size:
            raise ValueError("truncated date/time")
        return bytes(raw), pos + size
    raise ValueError(f"unsupported A-XDR type tag {tag}")


def decode_data(data: bytes) -> Any:
    """A-XDR ``Data`` → Python: integers/enums → int, boolean → bool, octet-string → bytes, visible and
    UTF-8 strings → str, array → list, structure → tuple, null → None, bit-string → "0101" str, floats →
    float, date-time/date/time (tags 25-27) → raw bytes.  Raises ValueError on malformed data."""
    try:
        value, pos = _decode(data, 0, 0)
    except IndexError as exc:
        raise ValueError("truncated A-XDR data") from exc
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} trailing bytes after A-XDR value")
    return value


def _ref(class_id: int, obis: str | bytes, index: int) -> str:
    """``3/1.0.1.8.0.255/2`` for messages."""
    text = ".".join(str(b) for b in obis) if isinstance(obis, bytes | bytearray) else obis
    return f"{class_id}/{text}/{index}"


def _encoded(value: bytes | SupportsToBytes) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes(value.to_bytes())


# --------------------------------------------------------------------------------------------------
# Convenience client
# --------------------------------------------------------------------------------------------------


class DlmsOpticalClient:
    """Blocking DLMS client for one meter, on the unmodified dlms-cosem client.

    ``client_address`` is the client SAP (16 = public client, lowest security; 1 = management client,
    usually LLS).  ``server_logical``/``server_physical`` form the HDLC server address (physical ``None``
    or 0 = one-byte address).  A ``password`` selects LLS, otherwise the association uses no security.

    As a context manager it connects (SNRM), associates, and on exit releases and disconnects.
    After a :class:`DlmsLinkError` the client is unusable until :meth:`close` and :meth:`connect`.
    """

    def __init__(
        self,
        url: str,
        *,
        client_address: int = 16,
        server_logical: int = 1,
        server_physical: int | None = None,
        password: bytes | None = None,
        timeout: float = 5.0,
        baudrate: int = 9600,
        max_pdu_size: int = 65535,
        on_bytes: TranscriptCallback | None = None,
        quiet_library_logging: bool = True,
    ) -> None:
        if quiet_library_logging:
            quiet_dlms_cosem_logging()
        self.url = url
        self.client_address = client_address
        self.server_logical = server_logical
        self.server_physical = server_physical
        self.password = password
        self.max_pdu_size = max_pdu_size
        self.io = UrlSerialIO(url, timeout=timeout, baudrate=baudrate, on_bytes=on_bytes)
        self._client: DlmsClient | None = None
        self._broken = False
        self.associated = False

    # -- plumbing -------------------------------------------------------------------------------

    def _new_client(self) -> DlmsClient:
        transport = HdlcTransport(
            client_logical_address=self.client_address,
            server_logical_address=self.server_logical,
            server_physical_address=self.server_physical,
            io=self.io,
            timeout=max(1, int(self.io.timeout)),
        )
        authentication: Any
        if self.password is not None:
            authentication = LowLevelSecurityAuthentication(secret=self.password)
        else:
            authentication = NoSecurityAuthentication()
        return DlmsClient(transport=transport, authentication=authentication, max_pdu_size=self.max_pdu_size)

    def _require(self) -> DlmsClient:
        if self._client is None:
            raise DlmsLinkError(f"{self.url}: not connected")
        if self._broken:
            raise DlmsLinkError(f"{self.url}: link failed earlier; close() and connect() again")
        return self._client

    def _link_failure(self, what: str, exc: BaseException) -> DlmsLinkError:
        self._broken = True
        if isinstance(exc, DlmsLinkError):
            return exc
        return DlmsLinkError(f"{self.url}: {what}: {type(exc).__name__}: {exc}")

    def _violation(self, what: str, detail: str) -> DlmsProtocolError:
        """Resynchronise dlms-cosem's state machine after a nonsensical answer; the link is fine."""
        if self._client is not None:
            connection = self._client.dlms_connection
            connection.clear_buffer()
            connection.state.current_state = (
                dlms_state.READY if self.associated else dlms_state.NO_ASSOCIATION
            )
        return DlmsProtocolError(f"{self.url}: {what}: {detail}")

    def _exchange(self, apdu: Any, what: str) -> Any:
        """Send one request APDU, return the parsed response APDU.

        dlms-cosem's state machine rejects an ExceptionResponse to SET/ACTION (and the device may send
        one to anything), so the raw response is inspected before the library parses it.
        """
        client = self._require()
        connection = client.dlms_connection
        try:
            request = connection.send(apdu)
        except dlms_exceptions.LocalDlmsProtocolError as exc:
            # e.g. GET before associate(): a bug in the calling code, not a device or link condition
            raise RuntimeError(f"{self.url}: {what} not allowed now: {exc}") from exc
        try:
            connection.receive_data(client.transport.send_request(request))
        except Exception as exc:  # serial/socket errors, timeouts, dlms-cosem HDLC errors
            raise self._link_failure(what, exc) from exc
        raw = bytes(connection.buffer)
        if raw[:1] == b"\xd8" and len(raw) >= 3:
            connection.clear_buffer()
            connection.state.current_state = (
                dlms_state.READY if self.associated else dlms_state.NO_ASSOCIATION
            )
            raise DlmsDeviceError(
                f"{what}: exception-response state-error {raw[1]} service-error {raw[2]}",
                code=raw[1] * 256 + raw[2],
                kind="exception-response",
            )
        try:
            return client.next_event()
        except Exception as exc:
            connection.clear_buffer()
            raise self._violation(what, f"unparseable response {raw[:32].hex()}: {exc}") from exc

    # -- link -----------------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the port and set up the HDLC connection (SNRM/UA)."""
        self._client = self._new_client()
        self._broken = False
        self.associated = False
        try:
            self._client.connect()
        except DlmsLinkError:
            self.io.disconnect()
            self._client = None
            raise
        except Exception as exc:
            self.io.disconnect()
            self._client = None
            raise DlmsLinkError(f"{self.url}: HDLC connect failed: {type(exc).__name__}: {exc}") from exc

    def disconnect(self) -> None:
        """DISC/UA and close the port; the port is closed even if the device does not answer."""
        client, self._client = self._client, None
        self.associated = False
        if client is None:
            return
        try:
            if not self._broken:
                client.disconnect()
        except Exception as exc:
            raise DlmsLinkError(f"{self.url}: HDLC disconnect failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.io.disconnect()

    def close(self) -> None:
        """Best effort release + disconnect; never raises."""
        try:
            if self.associated and not self._broken:
                self.release()
        except (DlmsLinkError, DlmsDeviceError) as exc:
            log.debug("%s: release on close failed: %s", self.url, exc)
        try:
            self.disconnect()
        except DlmsLinkError as exc:
            log.debug("%s: disconnect on close failed: %s", self.url, exc)
        finally:
            self.io.disconnect()

    def __enter__(self) -> DlmsOpticalClient:
        self.connect()
        try:
            self.associate()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- association ----------------------------------------------------------------------------

    def associate(self) -> None:
        """AARQ/AARE.  A rejection raises :class:`DlmsDeviceError` with ``kind="association"`` and the
        ACSE diagnostic as ``code`` (or ``kind="confirmed-service-error"`` when the xDLMS part failed)."""
        client = self._require()
        response = self._exchange(client.dlms_connection.get_aarq(), "associate")
        if not isinstance(response, acse.ApplicationAssociationResponse):
            raise self._violation("associate", f"expected AARE, got {type(response).__name__}")
        if response.result != dlms_enums.AssociationResult.ACCEPTED:
            content = response.user_information.content if response.user_information else None
            if isinstance(content, xdlms.ConfirmedServiceError):
                raise DlmsDeviceError(
                    f"association rejected: {content.error!r}",
                    code=int(content.error),
                    kind="confirmed-service-error",
                )
            diagnostic = response.result_source_diagnostics
            raise DlmsDeviceError(
                f"association rejected ({response.result.name}): {getattr(diagnostic, 'name', diagnostic)}",
                code=int(diagnostic),
                kind="association",
            )
        self.associated = True

    def release(self) -> None:
        """RLRQ/RLRE: end the association, keep the HDLC connection."""
        client = self._require()
        response = self._exchange(client.dlms_connection.get_rlrq(), "release")
        self.associated = False
        if not isinstance(response, acse.ReleaseResponse):
            raise self._violation("release", f"expected RLRE, got {type(response).__name__}")

    # -- services -------------------------------------------------------------------------------

    @staticmethod
    def _attribute(class_id: int, obis: str | bytes, attribute: int) -> Any:
        return dlms_cosem_objects.CosemAttribute(
            interface=class_id,
            instance=dlms_cosem_objects.Obis.from_bytes(parse_obis(obis)),
            attribute=attribute,
        )

    def get_raw(self, class_id: int, obis: str | bytes, attribute: int) -> bytes:
        """GET (normal, following block transfer if the device uses it); the A-XDR encoded value."""
        what = f"GET {_ref(class_id, obis, attribute)}"
        response = self._exchange(xdlms.GetRequestNormal(self._attribute(class_id, obis, attribute)), what)
        data = bytearray()
        while True:
            if isinstance(response, xdlms.GetResponseNormal):
                return bytes(response.data)
            if isinstance(response, xdlms.GetResponseNormalWithError | xdlms.GetResponseLastBlockWithError):
                raise DlmsDeviceError(f"{what}: {response.error.name}", code=int(response.error))
            if isinstance(response, xdlms.GetResponseLastBlock):
                return bytes(data + response.data)
            if isinstance(response, xdlms.GetResponseWithBlock):
                data += response.data
                request = xdlms.GetRequestNext(
                    invoke_id_and_priority=response.invoke_id_and_priority, block_number=response.block_number
                )
                response = self._exchange(request, what)
                continue
            raise self._violation(what, f"unexpected {type(response).__name__}")

    def get(self, class_id: int, obis: str | bytes, attribute: int) -> Any:
        """GET and decode with :func:`decode_data`."""
        raw = self.get_raw(class_id, obis, attribute)
        try:
            return decode_data(raw)
        except ValueError as exc:
            what = f"GET {_ref(class_id, obis, attribute)}"
            raise self._violation(what, f"undecodable value {raw[:32].hex()}: {exc}") from exc

    def set(self, class_id: int, obis: str | bytes, attribute: int, value: bytes | SupportsToBytes) -> None:
        what = f"SET {_ref(class_id, obis, attribute)}"
        request = xdlms.SetRequestNormal(self._attribute(class_id, obis, attribute), data=_encoded(value))
        response = self._exchange(request, what)
        if not isinstance(response, xdlms.SetResponseNormal):
            raise self._violation(what, f"unexpected {type(response).__name__}")
        if response.result != dlms_enums.DataAccessResult.SUCCESS:
            raise DlmsDeviceError(f"{what}: {response.result.name}", code=int(response.result))

    def action(
        self, class_id: int, obis: str | bytes, method: int, parameter: bytes | SupportsToBytes | None = None
    ) -> Any:
        """ACTION; returns the decoded return parameters, or None when the method returns none.

        dlms-cosem omits the parameter when it is empty, so a method that needs one must be given it
        (disconnect control's methods take ``integer(0)``, i.e. ``b"\\x0f\\x00"``).
        """
        what = f"ACTION {_ref(class_id, obis, method)}"
        descriptor = dlms_cosem_objects.CosemMethod(
            interface=class_id, instance=dlms_cosem_objects.Obis.from_bytes(parse_obis(obis)), method=method
        )
        data = None if parameter is None else _encoded(parameter)
        response = self._exchange(xdlms.ActionRequestNormal(cosem_method=descriptor, data=data), what)
        if isinstance(response, xdlms.ActionResponseNormalWithError):
            raise DlmsDeviceError(
                f"{what}: {response.error.name}", code=int(response.error), kind="action-result"
            )
        if not isinstance(response, xdlms.ActionResponseNormal | xdlms.ActionResponseNormalWithData):
            raise self._violation(what, f"unexpected {type(response).__name__}")
        if response.status != dlms_enums.ActionResultStatus.SUCCESS:
            raise DlmsDeviceError(
                f"{what}: {response.status.name}", code=int(response.status), kind="action-result"
            )
        if isinstance(response, xdlms.ActionResponseNormalWithData):
            try:
                return decode_data(bytes(response.data))
            except ValueError as exc:
                raise self._violation(what, f"undecodable return value: {exc}") from exc
        return None
