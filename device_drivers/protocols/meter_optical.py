"""A meter's optical port over DLMS/COSEM: typed reads and commands for ESME and GSME.

:class:`MeterOptical` wraps :class:`~device_drivers.protocols.dlms.DlmsOpticalClient` (HDLC + xDLMS on
any pyserial URL) and turns the object list documented in ``docs/virtual-lab.md`` into the calls a test
wants: ``import_registers()``, ``clock()``, ``supply_state()``, ``disconnect()``, ``event_log()`` ...
returning exact decimals in named units and aware datetimes. Its base :class:`DlmsPort` (association,
retries, error mapping, clock, firmware, displayed message) also serves the PPMID's and IHD's ``display``
interface (:mod:`device_drivers.protocols.display`).

**Written independently of the simulator.** The OBIS codes, unit codes and the COSEM date-time codec are
duplicated here on purpose and nothing is imported from ``labs``: a driver sharing the simulator's
tables could not catch the simulator's bugs, nor the simulator the driver's. Tests play the two against
each other (and the stock dlms-cosem client against both).

Errors follow the project taxonomy (:mod:`device_drivers.errors`): when nothing usable comes back
(connection refused or lost, timeout, broken frames: :class:`DlmsLinkError`) the operation is retried
under tenacity on a fresh connection and association (``attempts``/``backoff_s`` are constructor
arguments; every retry is noted in the transcript), and when the retries are exhausted the failure is
:class:`LinkDown`, :class:`LinkTimeout` or :class:`FrameError` — the test is *blocked*. When the meter
answers with an error (a Data-Access-Result, an Action-Result, a rejected association, an invalid APDU)
or with a value that contradicts the object list, it is :class:`OpticalDeviceError`, a
:class:`DeviceError` — the test *fails*; it is never retried, since asking again would only hide a
product failure.

Retrying repeats the whole operation. Every operation here is safe to repeat: reads, and commands that
move to an absolute state (disconnect, reconnect, set clock to a given time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Self, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from device_drivers.errors import DeviceError, FrameError, InfrastructureFault, LinkDown, LinkTimeout
from device_drivers.links import Link, resolve_url, rfc2217_options
from device_drivers.protocols.dlms_errors import DlmsDeviceError, DlmsLinkError
from device_drivers.transcript import Transcript

if TYPE_CHECKING:  # imported on first use (_session): dlms-cosem costs ~0.3 CPU-s to import
    from device_drivers.protocols.dlms import DlmsOpticalClient

__all__ = [
    "Balance",
    "DlmsPort",
    "Identity",
    "LogRecord",
    "MeterOptical",
    "OpticalDeviceError",
    "Registers",
    "SupplyStateName",
    "decode_cosem_datetime",
    "encode_cosem_datetime",
]

# -- the object list (docs/virtual-lab.md), kept here independently of labs/virtual/meter_objects.py ----
OBIS_CLOCK = "0.0.1.0.0.255"
OBIS_LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"
OBIS_SERIAL = "0.0.96.1.0.255"
OBIS_DEVICE_ID = "0.0.96.1.1.255"
OBIS_FIRMWARE = "1.0.0.2.0.255"
OBIS_IMPORT_TOTAL = "1.0.1.8.0.255"
OBIS_IMPORT_TOU = "1.0.1.8.{rate}.255"
OBIS_ACTIVE_POWER = "1.0.1.7.0.255"
OBIS_GAS_VOLUME = "7.0.3.0.0.255"
OBIS_DISCONNECT_CONTROL = "0.0.96.3.10.255"
OBIS_PAYMENT_MODE = "0.0.19.0.0.255"
OBIS_METER_BALANCE = "0.0.19.10.0.255"
OBIS_EMERGENCY_CREDIT = "0.0.19.10.1.255"
OBIS_EVENT_LOG = "0.0.99.98.0.255"
OBIS_SECURITY_LOG = "0.0.99.98.1.255"
OBIS_DISPLAYED_MESSAGE = "0.0.96.13.0.255"  # consumer message text: what the display shows (SRV 3.1)
OBIS_NOMINAL_VOLTAGE = "1.0.0.6.0.255"  # nominal voltage Un (ESME)
# Manufacturer-specific objects (0-0:96.50-99) the virtual meters serve for settings no standard object
# holds; a hardware model may put them elsewhere (docs/virtual-lab.md lists them).
OBIS_SUPPLIER_NAME = "0.0.96.50.0.255"  # SRV 3.4, UTF-8
OBIS_RANDOMISED_OFFSET_LIMIT = "0.0.96.50.1.255"  # SRV 6.2.2, seconds
OBIS_SUPPLY_TAMPER_STATE = "0.0.96.50.2.255"  # SRV 6.25: enum 0 unchanged, 1 locked
OBIS_LOAD_LIMIT_COUNTER = "0.0.96.50.3.255"  # load limiting events since the last SRV 6.4.2 reset
CLASS_DATA, CLASS_REGISTER, CLASS_PROFILE_GENERIC, CLASS_CLOCK, CLASS_DISCONNECT_CONTROL = 1, 3, 7, 8, 70
MAX_TOU_RATES = 48  # SMETS1 meters have at most 48 TOU registers
#: Blue Book unit codes the object list uses.
UNIT_M3, UNIT_W, UNIT_WH, UNIT_V, UNITLESS = 13, 27, 30, 35, 255
DATA_ACCESS_OBJECT_UNDEFINED = 4
INTEGER_ZERO = b"\x0f\x00"  # the integer(0) parameter of the disconnect control's methods

SupplyStateName = Literal["enabled", "disabled", "armed"]
TamperStateName = Literal["unchanged", "locked"]
_TAMPER_STATES: dict[int, TamperStateName] = {0: "unchanged", 1: "locked"}
PaymentModeName = Literal["credit", "prepayment"]
#: IC 70 control_state → SMETS1 supply state.
_SUPPLY_STATES: dict[int, SupplyStateName] = {0: "disabled", 1: "enabled", 2: "armed"}
_PAYMENT_MODES: dict[int, PaymentModeName] = {1: "credit", 2: "prepayment"}

T = TypeVar("T")


class Registers(NamedTuple):
    """Active import energy: the total register and the TOU rate registers, in ``unit`` (kWh)."""

    total: Decimal
    tou: tuple[Decimal, ...]
    unit: str


class Identity(NamedTuple):
    """What the meter says about itself (checked against the EPCL and the inventory)."""

    manufacturer_flag: str
    model: str
    serial: str
    device_id: str
    firmware_version: str


class Balance(NamedTuple):
    """Payment state: mode, meter balance and emergency credit remaining, in pence."""

    payment_mode: PaymentModeName
    balance_pence: Decimal
    emergency_credit_pence: Decimal


class LogRecord(NamedTuple):
    """One event- or security-log entry: when (the meter's clock) and the GBCS event/alert code."""

    at: datetime
    code: int


class OpticalDeviceError(DeviceError):
    """The meter answered with an error, or with a value that contradicts the object list.

    ``code``/``kind`` are the DLMS result (see :class:`DlmsDeviceError`: e.g. ``kind="action-result"``,
    ``code=3`` read-write-denied); ``kind="value"`` with ``code=-1`` when the answer arrived but is not
    what the object list says (wrong type, unit, or an impossible date).
    """

    def __init__(self, device: str, message: str, *, code: int, kind: str) -> None:
        super().__init__(device, message)
        self.code = code
        self.kind = kind


# -- COSEM date-time (12 octets), an independent codec ----------------------------------------------
_DEVIATION_UNSPECIFIED = -0x8000


def encode_cosem_datetime(when: datetime) -> bytes:
    """12-octet COSEM date-time of an aware datetime, sent as UTC (deviation 0).

    A naive datetime is refused: a meter's clock must never be set from an ambiguous time.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("set the meter clock from an aware datetime")
    utc = when.astimezone(UTC)
    return (
        utc.year.to_bytes(2, "big")
        + bytes([utc.month, utc.day, utc.isoweekday(), utc.hour, utc.minute, utc.second])
        + bytes([utc.microsecond // 10_000])
        + (0).to_bytes(2, "big", signed=True)
        + b"\x00"  # clock status: ok
    )


def decode_cosem_datetime(raw: bytes) -> datetime:
    """A fully specified 12-octet COSEM date-time → aware datetime.

    The deviation is minutes from local time to UTC (Blue Book: UTC+1 is -60). An unspecified deviation
    is read as UTC, which is what SMETS1 device time is. Wildcards raise :class:`ValueError`.
    """
    if len(raw) != 12:
        raise ValueError(f"a COSEM date-time has 12 octets, not {len(raw)}")
    year = int.from_bytes(raw[0:2], "big")
    month, day, _weekday, hour, minute, second, hundredths = raw[2:9]
    if year == 0xFFFF or 0xFF in (month, day, hour, minute, second):
        raise ValueError(f"date-time {raw.hex()} has unspecified fields")
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    zone = UTC if deviation == _DEVIATION_UNSPECIFIED else timezone(timedelta(minutes=-deviation))
    micro = 0 if hundredths == 0xFF else hundredths * 10_000
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


def _link_fault(device: str, what: str, exc: DlmsLinkError) -> InfrastructureFault:
    """Sort a link failure into the taxonomy by what the client reported."""
    text = str(exc)
    low = text.lower()
    if "timeout" in low or "timed out" in low:
        return LinkTimeout(device, f"{what}: {text}")
    if any(
        k in low for k in ("cannot open", "read failed", "write failed", "not open", "connection", "reset")
    ):
        return LinkDown(device, f"{what}: {text}")
    return FrameError(device, f"{what}: {text}")


def _no_wait(_state: RetryCallState) -> float:
    return 0.0


class DlmsPort:
    """A device's local DLMS/COSEM port (HDLC + xDLMS): association, retries, error mapping, typed reads.

    The common part of :class:`MeterOptical` (a meter's optical port) and
    :class:`~device_drivers.protocols.display.DisplayPort` (a PPMID's or IHD's display interface).

    ``url`` is any pyserial URL, or a ``virtual://`` URL resolved through ``endpoints`` (the virtual
    lab's endpoints file). A ``password`` selects an LLS association as the management client (client
    SAP 1): needed for SET and ACTION; without one the public client (SAP 16, no security) may only
    read. The association is opened on first use and kept until :meth:`close` (or the ``with`` block
    ends); after a link failure the next attempt opens a new one.

    Every byte goes to ``transcript`` (``Transcript.record(device, "tx"|"rx", data)``) and every retry is
    noted there. ``transcript`` is an attribute, so the harness can give each test its own.
    """

    def __init__(
        self,
        url: str,
        *,
        device: str,
        password: bytes | None = None,
        client_address: int | None = None,
        server_logical: int = 1,
        server_physical: int | None = None,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.05,
        backoff_max_s: float = 1.0,
        transcript: Transcript | None = None,
        endpoints: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.device = device
        self.url = rfc2217_options(resolve_url(url, endpoints or {}, device))
        self.password = password
        self.client_address = client_address if client_address is not None else (1 if password else 16)
        self.server_logical = server_logical
        self.server_physical = server_physical
        self.timeout = timeout
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.transcript = transcript
        self._sleep = sleep
        self._client: DlmsOpticalClient | None = None
        self._scalers: dict[str, tuple[int, int]] = {}

    @classmethod
    def from_link(cls, link: Link, *, password: bytes | None = None, **options: Any) -> Self:
        """The optical port behind a configured :class:`Link` (same URL, device name, timeout and
        transcript); the DLMS client opens the port itself, so the link need not be open."""
        options.setdefault("timeout", link.timeout)
        options.setdefault("transcript", link.transcript)
        return cls(link.resolved_url, device=link.device, password=password, **options)

    # -- session ------------------------------------------------------------------------------------
    def _on_bytes(self, direction: Literal["tx", "rx"], data: bytes) -> None:
        if self.transcript is not None:
            self.transcript.record(self.device, direction, data)

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.note(self.device, text)

    def _session(self) -> DlmsOpticalClient:
        if self._client is not None:
            return self._client
        from device_drivers.protocols.dlms import DlmsOpticalClient

        client = DlmsOpticalClient(
            self.url,
            client_address=self.client_address,
            server_logical=self.server_logical,
            server_physical=self.server_physical,
            password=self.password,
            timeout=self.timeout,
            on_bytes=self._on_bytes,
        )
        security = "LLS" if self.password else "no security"
        self._note(f"DLMS association to {self.url} as client {self.client_address} ({security})")
        client.connect()
        try:
            client.associate()
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._scalers.clear()
        if client is not None:
            client.close()

    def open(self) -> Self:
        """Connect and associate now (otherwise the first operation does it)."""
        self._call("associate", lambda _client: None)
        return self

    def close(self) -> None:
        """Release the association and close the port (best effort; never raises)."""
        if self._client is not None:
            self._drop()
            self._note("DLMS association closed")

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- retry and error mapping --------------------------------------------------------------------------
    def _attempt(self, fn: Callable[[DlmsOpticalClient], T]) -> T:
        try:
            return fn(self._session())
        except DlmsLinkError:
            self._drop()  # the client is unusable after a link error: reconnect on the next attempt
            raise

    def _note_retry(self, what: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self._note(f"retry {state.attempt_number}/{self.attempts - 1} of {what}: {exc}")

    def _call(self, what: str, fn: Callable[[DlmsOpticalClient], T], *, attempts: int | None = None) -> T:
        attempts = self.attempts if attempts is None else attempts
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.backoff_max_s)
            if self.backoff_s
            else _no_wait,
            retry=retry_if_exception_type(DlmsLinkError),
            before_sleep=lambda state: self._note_retry(what, state),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            result: T = retrying(self._attempt, fn)
        except DlmsLinkError as exc:
            fault = _link_fault(self.device, what, exc)
            self._note(f"{what} gave up after {attempts} attempt(s): {type(fault).__name__}: {exc}")
            raise fault from exc
        except DlmsDeviceError as exc:
            self._note(f"{what}: device answered {exc.kind} {exc.code}: {exc}")
            raise OpticalDeviceError(self.device, f"{what}: {exc}", code=exc.code, kind=exc.kind) from exc
        return result

    def _wrong(self, what: str, detail: str) -> OpticalDeviceError:
        return OpticalDeviceError(self.device, f"{what}: {detail}", code=-1, kind="value")

    # -- typed value helpers (run inside an attempt) -------------------------------------------------------
    def _integer(self, what: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(what, f"expected an integer, got {value!r}")
        return value

    def _octets(self, what: str, value: Any) -> bytes:
        if not isinstance(value, bytes):
            raise self._wrong(what, f"expected an octet-string, got {value!r}")
        return value

    def _text(self, what: str, value: Any) -> str:
        raw = self._octets(what, value)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self._wrong(what, f"not ASCII text: {raw.hex()}") from None

    def _datetime(self, what: str, value: Any) -> datetime:
        try:
            return decode_cosem_datetime(self._octets(what, value))
        except ValueError as exc:
            raise self._wrong(what, str(exc)) from None

    def _scaler_unit(self, client: DlmsOpticalClient, obis: str) -> tuple[int, int]:
        """Register attribute 3 (static by definition, so read once per association)."""
        cached = self._scalers.get(obis)
        if cached is not None:
            return cached
        what = f"scaler_unit of {obis}"
        value = client.get(CLASS_REGISTER, obis, 3)
        if not (isinstance(value, tuple) and len(value) == 2):
            raise self._wrong(what, f"expected structure {{scaler, unit}}, got {value!r}")
        result = (self._integer(what, value[0]), self._integer(what, value[1]))
        self._scalers[obis] = result
        return result

    def _register(self, client: DlmsOpticalClient, obis: str, unit: int) -> Decimal:
        """A register's value × 10^scaler, in ``unit`` (another unit is a device error)."""
        scaler, actual = self._scaler_unit(client, obis)
        if actual != unit:
            raise self._wrong(f"register {obis}", f"unit {actual}, expected {unit}")
        raw = self._integer(f"register {obis}", client.get(CLASS_REGISTER, obis, 2))
        return Decimal(raw).scaleb(scaler)

    def _text_utf8(self, what: str, value: Any) -> str:
        raw = self._octets(what, value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._wrong(what, f"not UTF-8 text: {raw.hex()}") from None

    # -- reads every local port answers ---------------------------------------------------------------------
    def clock(self) -> datetime:
        """The device's clock (0.0.1.0.0, attribute 2)."""
        return self._call("clock", lambda c: self._datetime("clock", c.get(CLASS_CLOCK, OBIS_CLOCK, 2)))

    def firmware_version(self) -> str:
        """Active firmware identifier (1.0.0.2.0) as the device reports it (SRV 11.2's answer)."""
        return self._call(
            "firmware version", lambda c: self._text("firmware", c.get(CLASS_DATA, OBIS_FIRMWARE, 2))
        )

    def displayed_message(self) -> str:
        """The message the device's display shows (0.0.96.13.0, SRV 3.1 Display Message's text); empty
        when it shows none."""
        return self._call(
            "displayed message",
            lambda c: self._text_utf8("displayed message", c.get(CLASS_DATA, OBIS_DISPLAYED_MESSAGE, 2)),
        )


class MeterOptical(DlmsPort):
    """One meter's optical port (ESME or GSME) with typed operations (see :class:`DlmsPort` for the
    association, retries and errors)."""

    # -- reads ------------------------------------------------------------------------------------------
    def import_registers(self) -> Registers:
        """Total and TOU active import energy (1.0.1.8.0, 1.0.1.8.1 ... up to the first undefined
        rate) in kWh, as SRV 4.1.1 reports them."""

        def read(client: DlmsOpticalClient) -> Registers:
            total = self._register(client, OBIS_IMPORT_TOTAL, UNIT_WH)
            tou: list[Decimal] = []
            for rate in range(1, MAX_TOU_RATES + 1):
                try:
                    tou.append(self._register(client, OBIS_IMPORT_TOU.format(rate=rate), UNIT_WH))
                except DlmsDeviceError as exc:
                    if exc.kind == "data-access-result" and exc.code == DATA_ACCESS_OBJECT_UNDEFINED:
                        break  # no more rates on this tariff
                    raise
            kwh = Decimal(1000)
            return Registers(total / kwh, tuple(v / kwh for v in tou), "kWh")

        return self._call("import registers", read)

    def gas_volume(self) -> Decimal:
        """The GSME's volume register (7.0.3.0.0) in m³."""
        return self._call("gas volume", lambda c: self._register(c, OBIS_GAS_VOLUME, UNIT_M3))

    def active_power(self) -> Decimal:
        """The ESME's instantaneous active import power (1.0.1.7.0) in W."""
        return self._call("active power", lambda c: self._register(c, OBIS_ACTIVE_POWER, UNIT_W))

    def supply_state(self) -> SupplyStateName:
        """Supply (contactor or valve) state from the disconnect control; its output_state must agree."""

        def read(client: DlmsOpticalClient) -> SupplyStateName:
            what = "supply state"
            control = self._integer(what, client.get(CLASS_DISCONNECT_CONTROL, OBIS_DISCONNECT_CONTROL, 3))
            # Two GETs are not one snapshot: the state may move between them (a load limit tripping, a
            # future-dated arm falling due). The control state is read again after the output; only a
            # pair taken while the control state stood still is judged (a few tries).
            for _ in range(3):
                output = client.get(CLASS_DISCONNECT_CONTROL, OBIS_DISCONNECT_CONTROL, 2)
                again = self._integer(what, client.get(CLASS_DISCONNECT_CONTROL, OBIS_DISCONNECT_CONTROL, 3))
                if again == control:
                    break
                control = again
            state = _SUPPLY_STATES.get(control)
            if state is None:
                raise self._wrong(what, f"control_state {control} is not 0, 1 or 2")
            if not isinstance(output, bool) or output != (state == "enabled"):
                raise self._wrong(what, f"output_state {output!r} contradicts control_state {control}")
            return state

        return self._call("supply state", read)

    def nominal_voltage(self) -> Decimal:
        """The ESME's nominal voltage (1.0.0.6.0) in V (SRV 6.2.1 reads the same setting)."""
        return self._call("nominal voltage", lambda c: self._register(c, OBIS_NOMINAL_VOLTAGE, UNIT_V))

    def supplier_name(self) -> str:
        """The supplier name SRV 3.4 set (project object 0.0.96.50.0, UTF-8; empty if never set)."""
        return self._call(
            "supplier name",
            lambda c: self._text_utf8("supplier name", c.get(CLASS_DATA, OBIS_SUPPLIER_NAME, 2)),
        )

    def randomised_offset_limit(self) -> int:
        """The ESME's randomised offset limit in seconds (project object 0.0.96.50.1; SRV 6.2.2)."""
        return self._call(
            "randomised offset limit",
            lambda c: self._integer(
                "randomised offset limit", c.get(CLASS_DATA, OBIS_RANDOMISED_OFFSET_LIMIT, 2)
            ),
        )

    def supply_tamper_state(self) -> TamperStateName:
        """The ESME's supply tamper state (project object 0.0.96.50.2; SRV 6.25 sets it)."""

        def read(client: DlmsOpticalClient) -> TamperStateName:
            code = self._integer("supply tamper state", client.get(CLASS_DATA, OBIS_SUPPLY_TAMPER_STATE, 2))
            state = _TAMPER_STATES.get(code)
            if state is None:
                raise self._wrong("supply tamper state", f"enum {code} is neither 0 nor 1")
            return state

        return self._call("supply tamper state", read)

    def load_limit_counter(self) -> int:
        """Load limiting events since SRV 6.4.2 last reset the counter (project object 0.0.96.50.3)."""
        return self._call(
            "load limit counter",
            lambda c: self._integer("load limit counter", c.get(CLASS_DATA, OBIS_LOAD_LIMIT_COUNTER, 2)),
        )

    def identity(self) -> Identity:
        """Manufacturer flag and model (from the logical device name), serial, device id, firmware."""

        def read(client: DlmsOpticalClient) -> Identity:
            name = self._text("logical device name", client.get(CLASS_DATA, OBIS_LOGICAL_DEVICE_NAME, 2))
            if len(name) < 4:
                raise self._wrong("logical device name", f"{name!r} is too short for FLAG id + model")
            return Identity(
                manufacturer_flag=name[:3],
                model=name[3:],
                serial=self._text("serial", client.get(CLASS_DATA, OBIS_SERIAL, 2)),
                device_id=self._text("device id", client.get(CLASS_DATA, OBIS_DEVICE_ID, 2)),
                firmware_version=self._text("firmware", client.get(CLASS_DATA, OBIS_FIRMWARE, 2)),
            )

        return self._call("identity", read)

    def payment_mode(self) -> PaymentModeName:
        """Credit or prepayment (0.0.19.0.0, enum 1 / 2)."""
        return self._call("payment mode", self._payment_mode)

    def _payment_mode(self, client: DlmsOpticalClient) -> PaymentModeName:
        code = self._integer("payment mode", client.get(CLASS_DATA, OBIS_PAYMENT_MODE, 2))
        mode = _PAYMENT_MODES.get(code)
        if mode is None:
            raise self._wrong("payment mode", f"enum {code} is neither 1 (credit) nor 2 (prepayment)")
        return mode

    def balance(self) -> Balance:
        """Payment mode, meter balance and emergency credit remaining (pence)."""

        def read(client: DlmsOpticalClient) -> Balance:
            return Balance(
                self._payment_mode(client),
                self._register(client, OBIS_METER_BALANCE, UNITLESS),
                self._register(client, OBIS_EMERGENCY_CREDIT, UNITLESS),
            )

        return self._call("balance", read)

    def event_log(self, since: datetime | None = None) -> list[LogRecord]:
        """The event log (0.0.99.98.0), oldest first; only entries at or after ``since`` if given."""
        return self._log("event log", OBIS_EVENT_LOG, since)

    def security_log(self, since: datetime | None = None) -> list[LogRecord]:
        """The security log (0.0.99.98.1), oldest first; only entries at or after ``since`` if given."""
        return self._log("security log", OBIS_SECURITY_LOG, since)

    def _log(self, what: str, obis: str, since: datetime | None) -> list[LogRecord]:
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime")

        def read(client: DlmsOpticalClient) -> list[LogRecord]:
            columns = client.get(CLASS_PROFILE_GENERIC, obis, 3)
            if not isinstance(columns, list) or not all(
                isinstance(c, tuple) and len(c) == 4 for c in columns
            ):
                raise self._wrong(what, f"capture_objects is not an array of definitions: {columns!r}")
            refs = [(c[0], c[1], c[2]) for c in columns]
            clock_ref = (CLASS_CLOCK, bytes(int(p) for p in OBIS_CLOCK.split(".")), 2)
            if clock_ref not in refs:
                raise self._wrong(what, "the clock's time is not a captured column")
            codes = [i for i, r in enumerate(refs) if r[0] == CLASS_DATA and r[2] == 2]
            if len(codes) != 1:
                raise self._wrong(what, f"expected one event-code column, found {len(codes)}")
            at_col, code_col = refs.index(clock_ref), codes[0]
            buffer = client.get(CLASS_PROFILE_GENERIC, obis, 2)
            if not isinstance(buffer, list):
                raise self._wrong(what, f"buffer is not an array: {buffer!r}")
            records = []
            for row in buffer:
                if not isinstance(row, tuple) or len(row) != len(refs):
                    raise self._wrong(what, f"row {row!r} does not match the {len(refs)} captured columns")
                at = self._datetime(what, row[at_col])
                if since is None or at >= since:
                    records.append(LogRecord(at, self._integer(what, row[code_col])))
            return records

        return self._call(what, read)

    # -- commands (need an LLS association) ---------------------------------------------------------------
    def set_clock(self, when: datetime) -> None:
        """SET the clock's time (aware datetime, sent as UTC)."""
        value = b"\x09\x0c" + encode_cosem_datetime(when)
        self._call("set clock", lambda c: c.set(CLASS_CLOCK, OBIS_CLOCK, 2, value))

    def shift_clock(self, seconds: int) -> None:
        """shift_time (IC 8 method 6): move the clock by ``seconds`` (a long, -900..900 in the Blue Book)
        relative to its own reading, so the step is exact however long the link takes - unlike
        :meth:`set_clock`, whose absolute time is stale by the link's latency (hours of device time on a
        lab clock running thousands of times fast). Sent once, never retried: a shift applied whose
        answer was lost would be applied twice."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not -900 <= seconds <= 900:
            raise ValueError(f"shift_time takes whole seconds from -900 to 900, not {seconds!r}")
        param = b"\x10" + seconds.to_bytes(2, "big", signed=True)
        self._call("shift clock", lambda c: c.action(CLASS_CLOCK, OBIS_CLOCK, 6, param), attempts=1)

    def disconnect(self) -> None:
        """remote_disconnect (IC 70 method 1): SMETS1 Disable Supply."""
        self._call(
            "disconnect",
            lambda c: c.action(CLASS_DISCONNECT_CONTROL, OBIS_DISCONNECT_CONTROL, 1, INTEGER_ZERO),
        )

    def reconnect(self) -> None:
        """remote_reconnect (IC 70 method 2): enable or arm supply, as the meter's control mode says."""
        self._call(
            "reconnect",
            lambda c: c.action(CLASS_DISCONNECT_CONTROL, OBIS_DISCONNECT_CONTROL, 2, INTEGER_ZERO),
        )
