"""Lab instruments over Modbus: power relays, the ESME load source and the GSME flow source.

A rig's instruments are whatever the lab bought — a relay board, a programmable load, a flow rig — so
nothing here hard-codes addresses: a lab file describes each instrument as a **register map** of named
points (:class:`InstrumentMap`), and :class:`Instruments` reads and writes those points by name. The
role-level calls a test wants (``power_cycle("gsme")``, ``set_load(2000)``, ``measured_power()``) are
written against a handful of *well-known point names* (:data:`POWER_POINT`, :data:`LOAD_SETPOINT`, ...);
a map need only define the points its rig actually has. :data:`DEFAULT_MAP` is the map the virtual lab's
instrument bank (``labs.virtual.instruments``) serves; ``docs/instruments.md`` documents it.

Transport: Modbus TCP (``tcp://host:port`` or a bare ``host[:port]``) on pymodbus's
:class:`~pymodbus.client.ModbusTcpClient`, or Modbus RTU over any pyserial URL (``/dev/ttyUSB0``,
``rfc2217://host:port``, ``socket://host:port``) on :class:`~pymodbus.client.ModbusSerialClient`.
pymodbus 3.16's serial client opens its port with ``write_timeout=``, which pyserial's ``rfc2217://``
handler rejects (``NotImplementedError``, swallowed and logged by pymodbus, so ``connect()`` merely
returns ``False``); :class:`_UrlSerialClient` opens the URL itself, setting ``write_timeout`` only where
the handler supports it, and opens real device paths exclusively.

Errors follow the project's taxonomy (:mod:`device_drivers.errors`): a refused or lost connection is
:class:`LinkDown`, no answer is :class:`LinkTimeout` (both infrastructure: the test is *blocked*), a
garbled answer is :class:`FrameError`; a Modbus *exception response* is the instrument answering, so it
is a :class:`ModbusExceptionAnswer` (a :class:`DeviceError`) — except the gateway codes 0x0A/0x0B, which
mean the instrument behind a gateway never answered, and so are :class:`LinkTimeout`. Transport faults
and "busy" answers are retried under tenacity (attempts and backoff are constructor arguments); each
retry, and a summary of every request and response, goes to the optional transcript, and the raw
Modbus frames go there too, through pymodbus's ``trace_packet`` hook.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, cast

import serial
from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from device_drivers.errors import DeviceError, FrameError, InfrastructureFault, LinkDown, LinkTimeout
from device_drivers.links import close_port, resolve_url
from device_drivers.transcript import Transcript
from specifications.instrument_map import (
    DEFAULT_MAP,
    SERIAL_PREFIXES,
    SPEC,
    TCP_URL,
    TYPE_WIDTH,
    InstrumentMap,
    InstrumentsConfig,
    Point,
    PointKind,
    PointType,
)

# The register-map schema is a shared specification; re-exported here for the driver's users.
__all__ = [
    "DEFAULT_MAP",
    "TYPE_WIDTH",
    "InstrumentMap",
    "Instruments",
    "InstrumentsConfig",
    "ModbusExceptionAnswer",
    "Point",
    "decode",
    "encode",
]

Value = bool | int | float

_STRUCT: dict[PointType, str] = {"uint16": "H", "int16": "h", "uint32": "I", "int32": "i", "float32": "f"}

# -- well-known point names: what the role-level calls read and write ------------------------------
_NAMES: dict[str, str] = SPEC["well_known"]
#: Relay coil powering a device: ``POWER_POINT.format(role="gsme")`` → ``"gsme_power"`` (on = powered).
POWER_POINT = _NAMES["power"]
LOAD_SETPOINT = _NAMES["load_setpoint"]  # W drawn through the ESME by the load source
MEASURED_POWER = _NAMES["measured_power"]  # W actually flowing (0 when supply or meter is off)
LOAD_CURRENT = _NAMES["load_current"]  # discrete: load current detected
GAS_FLOW_SETPOINT = _NAMES["gas_flow_setpoint"]  # l/h pushed through the GSME by the flow rig
MEASURED_GAS_FLOW = _NAMES["measured_gas_flow"]  # l/h actually flowing (0 when the valve is closed)
MAP_VERSION = _NAMES["map_version"]  # read-only identity register; also what probe() reads

#: Modbus exception codes, for messages (Modbus Application Protocol v1.1b3, section 7).
EXCEPTION_NAMES: dict[int, str] = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}
_GATEWAY_CODES = frozenset({0x0A, 0x0B})
_BUSY_CODES = frozenset({0x05, 0x06})


# == encoding ========================================================================================
def encode(point: Point, value: Value) -> list[int] | bool:
    """Engineering value → the registers (or bit) to write. Out-of-type values are a ``ValueError``."""
    if point.type == "bool":
        return bool(value)
    raw: float | int = value / point.scale
    if point.type != "float32":
        raw = round(raw)
    try:
        data = struct.pack(">" + _STRUCT[point.type], raw)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {point.type} (scale {point.scale:g}): {exc}") from None
    regs = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return regs[::-1] if point.word_order == "little" else regs


def decode(point: Point, raw: list[int] | list[bool]) -> Value:
    """Registers (or bit) as read → engineering value (``int`` when unscaled, else ``float``)."""
    if point.type == "bool":
        return bool(raw[0])
    regs = [int(r) for r in raw[: point.width]]
    if point.word_order == "little":
        regs.reverse()
    number: int | float = struct.unpack(
        ">" + _STRUCT[point.type], b"".join(r.to_bytes(2, "big") for r in regs)
    )[0]
    if point.type == "float32":
        return float(number) * point.scale
    return number if point.scale == 1 else number * point.scale


# == errors ==========================================================================================
class ModbusExceptionAnswer(DeviceError):
    """The instrument answered with a Modbus exception response: ``code`` says which (1 = illegal
    function, 2 = illegal data address, 3 = illegal data value, 4 = server device failure, ...)."""

    def __init__(self, device: str, operation: str, code: int):
        self.code = code
        self.operation = operation
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        super().__init__(device, f"{operation}: Modbus exception {code:#04x} ({name})")


class _Busy(ModbusExceptionAnswer):
    """Exception 5/6: the instrument is alive but asks us to come back — worth retrying."""


# == the RTU-over-pyserial-URL client ================================================================
class _UrlSerialClient(ModbusSerialClient):
    """pymodbus's sync serial client, opening any pyserial URL the way :class:`~device_drivers.links.Link`
    does. Why: its stock ``connect()`` passes ``write_timeout=`` to ``serial_for_url``, and pyserial's
    ``rfc2217://`` handler raises ``NotImplementedError`` for any non-``None`` write timeout — pymodbus
    swallows that, so the symptom is just "Failed to connect". It also forces ``exclusive=True`` on every
    URL; exclusivity only means something on a local port."""

    _open_error: str = ""  # why the last open failed, for the LinkDown message

    def connect(self) -> bool:
        if self.socket:
            return True
        url = str(self.comm_params.host)
        timeout = self.comm_params.timeout_connect
        try:
            port = serial.serial_for_url(
                url,
                do_not_open=True,
                timeout=timeout,
                baudrate=self.comm_params.baudrate,
                bytesize=self.comm_params.bytesize,
                parity=self.comm_params.parity,
                stopbits=self.comm_params.stopbits,
            )
            if not url.startswith("rfc2217://"):
                port.write_timeout = timeout
            if url.startswith("/dev/") or url.upper().startswith("COM"):
                port.exclusive = True
            # Before open(): on an open rfc2217 port every setting change renegotiates with the server.
            port.inter_byte_timeout = self.inter_byte_timeout or None
            port.open()
        except (serial.SerialException, OSError, ValueError, NotImplementedError) as exc:
            self._open_error = str(exc)
            self.socket = None
            return False
        self.socket = port
        return True

    def close(self) -> None:
        """Close the port; ``socket://`` without pyserial's 0.3 s close sleep (:func:`close_port`)."""
        if self.socket:
            close_port(self.socket)
        self.socket = None


# == the driver ======================================================================================


class Instruments:
    """The instrument bank of one rig, driven by point name through a :class:`InstrumentMap`.

    Synchronous on purpose: tests and role drivers are synchronous, one bank is only ever used by the
    test holding the rig's lease, and the sync clients' timeouts are easy to reason about.
    """

    def __init__(
        self,
        url: str,
        map: InstrumentMap | None = None,
        *,
        device_id: int = 1,
        timeout: float = 1.0,
        attempts: int = 3,
        backoff: float = 0.05,
        backoff_max: float = 1.0,
        framer: Literal["auto", "tcp", "rtu"] = "auto",
        baudrate: int = 19200,
        parity: str = "N",
        bytesize: int = 8,
        stopbits: int = 1,
        transcript: Transcript | None = None,
        device: str = "instruments",
        endpoints: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.device = device
        self.url = url
        self.resolved_url = resolve_url(url, endpoints or {}, device)
        self.map = map if map is not None else DEFAULT_MAP
        self.device_id = device_id
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.transcript = transcript
        self._sleep = sleep
        self.framer = self._pick_framer(self.resolved_url, framer)
        trace = self._trace_packet if transcript is not None else None
        self._client: ModbusTcpClient | ModbusSerialClient
        if self.framer == "rtu":
            # retries=0: tenacity does the retrying, so every retry is visible in the transcript.
            self._client = _UrlSerialClient(
                self.resolved_url, framer=FramerType.RTU, baudrate=baudrate, parity=parity,
                bytesize=bytesize, stopbits=stopbits, timeout=timeout, retries=0, trace_packet=trace,
            )  # fmt: skip
        else:
            host, port = self._host_port(self.resolved_url)
            self._client = ModbusTcpClient(host, port=port, timeout=timeout, retries=0, trace_packet=trace)

    @classmethod
    def from_config(
        cls,
        config: InstrumentsConfig,
        *,
        transcript: Transcript | None = None,
        device: str = "instruments",
        endpoints: Mapping[str, str] | None = None,
    ) -> Instruments:
        return cls(
            config.url, config.map, device_id=config.device_id, timeout=config.timeout,
            attempts=config.attempts, backoff=config.backoff, framer=config.framer,
            baudrate=config.baudrate, parity=config.parity, bytesize=config.bytesize,
            stopbits=config.stopbits, transcript=transcript, device=device, endpoints=endpoints,
        )  # fmt: skip

    # -- life cycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        """Close the client (it reconnects on the next request). pymodbus's ``close`` is untyped."""
        client: Any = self._client
        client.close()

    def __enter__(self) -> Instruments:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- role-level calls ------------------------------------------------------------------------
    def power(self, role: str, on: bool) -> None:
        """Switch the relay feeding ``role``'s device (on = powered)."""
        self.write(POWER_POINT.format(role=role), on)

    def is_powered(self, role: str) -> bool:
        return bool(self.read(POWER_POINT.format(role=role)))

    def power_cycle(self, role: str, off_s: float = 1.0) -> None:
        """Power ``role``'s device off for ``off_s`` seconds, then on: the device reboots.

        If switching back on fails the relay is left off; the raised fault says so, so the test is
        blocked rather than running on against a dead device.
        """
        self.power(role, False)
        self._note(f"{role} powered off for {off_s:g} s")
        self._sleep(off_s)
        try:
            self.power(role, True)
        except InfrastructureFault as fault:
            raise type(fault)(self.device, f"{role} may be left UNPOWERED: {fault}") from fault

    def set_load(self, watts: float) -> None:
        self.write(LOAD_SETPOINT, watts)

    def measured_power(self) -> float:
        return float(self.read(MEASURED_POWER))

    def set_gas_flow(self, lph: float) -> None:
        self.write(GAS_FLOW_SETPOINT, lph)

    def measured_gas_flow(self) -> float:
        return float(self.read(MEASURED_GAS_FLOW))

    def probe(self) -> str:
        """One cheap read proving the bank answers (for ``dmct lab check``): the map version if the map
        has one, else the first point."""
        name = MAP_VERSION if MAP_VERSION in self.map else next(iter(self.map.points))
        return f"{name}={self.read(name)}"

    def snapshot(self) -> dict[str, Value]:
        """Every point's current value: evidence for a report, one request per point."""
        return {name: self.read(name) for name in self.map.points}

    # -- point access ----------------------------------------------------------------------------
    def point(self, name: str) -> Point:
        try:
            return self.map[name]
        except KeyError:
            known = ", ".join(sorted(self.map.points))
            raise KeyError(
                f"{self.device}: the register map has no point {name!r} (it has: {known})"
            ) from None

    def read(self, name: str) -> Value:
        point = self.point(name)
        unit = self.device_id
        op = f"read {name} ({point.kind} {point.address}, {point.width})"
        client = self._client
        calls: dict[PointKind, Callable[[], ModbusPDU]] = {
            "coil": lambda: client.read_coils(point.address, count=1, device_id=unit),
            "discrete": lambda: client.read_discrete_inputs(point.address, count=1, device_id=unit),
            "holding": lambda: client.read_holding_registers(
                point.address, count=point.width, device_id=unit
            ),
            "input": lambda: client.read_input_registers(point.address, count=point.width, device_id=unit),
        }
        response = self._execute(op, calls[point.kind])
        raw: list[int] | list[bool] = (
            list(response.bits) if point.type == "bool" else list(response.registers)
        )
        if len(raw) < point.width:
            raise FrameError(self.device, f"{op}: short answer {raw!r}")
        value = decode(point, raw)
        self._note(
            f"{op} -> {_fmt(value)}{' ' + point.unit if point.unit else ''} (raw {list(raw[: point.width])})"
        )
        return value

    def write(self, name: str, value: Value) -> None:
        point = self.point(name)
        if not point.writable:
            # A configuration error, not an instrument answer: refuse before touching the wire.
            raise PermissionError(f"{self.device}: point {name!r} is read-only in the register map")
        encoded = encode(point, value)
        unit = self.device_id
        client = self._client
        op = f"write {name}={_fmt(value)} ({point.kind} {point.address})"
        call: Callable[[], ModbusPDU]
        if isinstance(encoded, bool):
            call = lambda: client.write_coil(point.address, encoded, device_id=unit)  # noqa: E731
        elif len(encoded) == 1:
            call = lambda: client.write_register(point.address, encoded[0], device_id=unit)  # noqa: E731
        else:
            # One request for all the point's registers, so no reader ever sees half a 32-bit value.
            call = lambda: client.write_registers(point.address, encoded, device_id=unit)  # noqa: E731
        self._execute(op, call)
        self._note(f"{op} ok (raw {encoded})")

    # -- plumbing --------------------------------------------------------------------------------
    def _execute(self, op: str, call: Callable[[], ModbusPDU]) -> ModbusPDU:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=self.backoff_max)
            if self.backoff
            else _no_wait,
            retry=retry_if_exception_type((InfrastructureFault, _Busy)),
            before_sleep=lambda state: self._note_retry(op, state),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, op, call)
        except _Busy as exc:
            # Still busy after every attempt: the instrument's own answer, so a DeviceError.
            raise ModbusExceptionAnswer(self.device, op, exc.code) from None

    def _attempt(self, op: str, call: Callable[[], ModbusPDU]) -> ModbusPDU:
        self._note(f"request: {op} unit={self.device_id}")
        try:
            response = call()
        except ConnectionException as exc:
            self._drop()
            raise LinkDown(self.device, f"{op}: {self._where()}: {self._connect_reason(exc)}") from None
        except ModbusIOException as exc:
            # No (usable) answer. Close, so a late answer cannot be mistaken for the next request's.
            self._drop()
            raise LinkTimeout(
                self.device, f"{op}: no answer within {self.timeout:g} s ({_short(exc)})"
            ) from None
        except ModbusException as exc:
            self._drop()
            raise FrameError(self.device, f"{op}: {_short(exc)}") from None
        except OSError as exc:
            self._drop()
            raise LinkDown(self.device, f"{op}: {self._where()}: {exc}") from None
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            self._note(f"response: {op}: exception {code:#04x} ({EXCEPTION_NAMES.get(code, '?')})")
            if code in _GATEWAY_CODES:
                raise LinkTimeout(
                    self.device,
                    f"{op}: {EXCEPTION_NAMES[code]} (exception {code:#04x}; "
                    f"is unit id {self.device_id} right?)",
                )
            if code in _BUSY_CODES:
                raise _Busy(self.device, op, code)
            raise ModbusExceptionAnswer(self.device, op, code)
        return response

    def _connect_reason(self, exc: ConnectionException) -> str:
        reason = getattr(self._client, "_open_error", "")
        return f"cannot open: {reason}" if reason else _short(exc)

    def _where(self) -> str:
        return (
            self.resolved_url
            if self.framer == "rtu"
            else "modbus tcp://{}:{}".format(*self._host_port(self.resolved_url))
        )

    def _note_retry(self, op: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self._note(f"retry {state.attempt_number}/{self.attempts - 1} of {op}: {exc}")

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.note(self.device, text)

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if self.transcript is not None and data:
            self.transcript.record(self.device, "tx" if sending else "rx", data)
        return data

    @staticmethod
    def _pick_framer(url: str, framer: str) -> Literal["tcp", "rtu"]:
        if framer in ("tcp", "rtu"):
            return cast(Literal["tcp", "rtu"], framer)
        if url.startswith(SERIAL_PREFIXES) or re.fullmatch(r"COM\d+", url, re.IGNORECASE):
            return "rtu"
        return "tcp"

    @staticmethod
    def _host_port(url: str) -> tuple[str, int]:
        """``tcp://h:p``, ``h:p``, ``h`` (port 502); ``socket://h:p`` when the framer is forced to tcp."""
        bare = url.removeprefix("socket://")
        match = TCP_URL.match(bare)
        if not match:
            raise ValueError(f"not a Modbus TCP address: {url!r} (expected tcp://host:port or host[:port])")
        return match.group(1).strip("[]"), int(match.group(2) or 502)


def _no_wait(state: RetryCallState) -> float:
    return 0.0


def _fmt(value: Value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _short(exc: BaseException) -> str:
    text = str(exc).replace("Modbus Error: ", "").strip()
    return text.splitlines()[0] if text else type(exc).__name__
