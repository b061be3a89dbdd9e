"""The meters' optical-port object list: COSEM objects over the ESME and GSME behaviour models.

:class:`MeterObjects` implements :class:`~labs.virtual.cosem.CosemModel` for the DLMS/HDLC server
(:mod:`labs.virtual.dlms_server`) on top of a :class:`~labs.virtual.devices.meter.Meter`. Every value is
computed by calling the behaviour model on each request, so it is live: the model catches up with its
clock first (energy, TOU switches, credit thresholds, alerts), and the seeded defects of the model's
firmware show through the optical port exactly as they would on the service route.

Why an adapter rather than a second model: the behaviour lives in one place (``labs/virtual/devices``);
this module only decides *where* each quantity appears in the COSEM object space, in which A-XDR type,
with which scaler and unit, and who may write it. The object list is documented in
``docs/virtual-lab.md``; :data:`OBJECT_LIST` is the same table as data.

Access: anyone may read (the public client, no security); SET and ACTION need an LLS association, as
on a SMETS1 meter's optical port. A model rejection (:class:`DeviceCommandError`) becomes the
Data-Access-Result / Action-Result in :data:`REJECT_RESULTS`; a value the model cannot represent in its
wire type is a simulator bug and reaches the server as an ordinary exception (other-reason, logged).

The driver side (the harness's optical-port driver) keeps its own copy of the OBIS codes on
purpose: a simulator sharing the driver's tables could not catch the driver's bugs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from labs.virtual.cosem import (
    AccessContext,
    Array,
    Attribute,
    Boolean,
    CosemError,
    CosemValue,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    HardwareFault,
    Integer,
    Long,
    LongUnsigned,
    Method,
    Null,
    ObjectUnavailable,
    ObjectUndefined,
    OctetString,
    OtherReason,
    ReadWriteDenied,
    SelectiveAccess,
    SimpleCosemModel,
    Structure,
    TemporaryFailure,
    TypeUnmatched,
    Unsigned,
    cosem_to_datetime,
    datetime_to_cosem,
    parse_obis,
)
from labs.virtual.devices.alerts import LogEntry
from labs.virtual.devices.errors import DeviceCommandError, RejectCode
from labs.virtual.devices.esme import Esme
from labs.virtual.devices.gsme import Gsme
from labs.virtual.devices.meter import Meter, SupplyState
from labs.virtual.devices.prepay import PaymentMode

__all__ = [
    "CLOCK",
    "DEVICE_ID",
    "DISCONNECT_CONTROL",
    "DISPLAYED_MESSAGE",
    "EMERGENCY_CREDIT",
    "EVENT_CODE",
    "EVENT_LOG",
    "FIRMWARE",
    "GAS_VOLUME",
    "IMPORT_TOTAL",
    "INSTANTANEOUS_POWER",
    "LOAD_LIMIT_COUNTER",
    "LOGICAL_DEVICE_NAME",
    "MAX_TOU_REGISTERS",
    "METER_BALANCE",
    "NOMINAL_VOLTAGE",
    "OBJECT_LIST",
    "PAYMENT_MODE",
    "RANDOMISED_OFFSET_LIMIT",
    "REJECT_RESULTS",
    "SECURITY_EVENT_CODE",
    "SECURITY_LOG",
    "SERIAL_NUMBER",
    "SUPPLIER_NAME",
    "SUPPLY_TAMPER_STATE",
    "EsmeObjects",
    "GsmeObjects",
    "MeterObjects",
    "ObjectInfo",
    "meter_objects",
    "tou_register",
]

# -- OBIS codes (IEC 62056-6-1; choices for the payment objects explained in docs/virtual-lab.md) ---------
CLOCK = "0.0.1.0.0.255"
LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"
SERIAL_NUMBER = "0.0.96.1.0.255"  # Device ID 1: manufacturing (serial) number
DEVICE_ID = "0.0.96.1.1.255"  # Device ID 2: the device's EUI-64 (SMETS1 device identifier)
FIRMWARE = "1.0.0.2.0.255"  # active firmware identifier
IMPORT_TOTAL = "1.0.1.8.0.255"  # active import energy, total; 1.0.1.8.e.255 = TOU rate e
INSTANTANEOUS_POWER = "1.0.1.7.0.255"  # active import power, instantaneous (ESME)
GAS_VOLUME = "7.0.3.0.0.255"  # gas volume, forward, unconverted (GSME)
DISCONNECT_CONTROL = "0.0.96.3.10.255"
PAYMENT_MODE = "0.0.19.0.0.255"  # at the Blue Book Account object's code; served as class 1
METER_BALANCE = "0.0.19.10.0.255"  # at the Blue Book Credit object codes; served as class 3
EMERGENCY_CREDIT = "0.0.19.10.1.255"
EVENT_LOG = "0.0.99.98.0.255"  # standard event log (profile generic)
SECURITY_LOG = "0.0.99.98.1.255"  # security / fraud-detection event log (profile generic)
EVENT_CODE = "0.0.96.11.0.255"  # last code written to the event log
SECURITY_EVENT_CODE = "0.0.96.11.1.255"  # last code written to the security log
#: Consumer message text (IEC 62056-6-1 0-0:96.13.0): what the display shows of SRV 3.1 Display Message.
DISPLAYED_MESSAGE = "0.0.96.13.0.255"
NOMINAL_VOLTAGE = "1.0.0.6.0.255"  # nominal voltage Un (ESME; SRV 6.2.1)
# Project choices in the manufacturer-specific range 0-0:96.50-99 (IEC 62056-6-1): settings an SRV
# changes or reads that no standard object holds, so a pack can check them on the meter's own port.
SUPPLIER_NAME = "0.0.96.50.0.255"  # SRV 3.4 Update Supplier Name, UTF-8
RANDOMISED_OFFSET_LIMIT = "0.0.96.50.1.255"  # SRV 6.2.2, seconds (ESME)
SUPPLY_TAMPER_STATE = "0.0.96.50.2.255"  # SRV 6.25: enum 0 unchanged, 1 locked (ESME)
LOAD_LIMIT_COUNTER = "0.0.96.50.3.255"  # load limiting events since SRV 6.4.2 last reset it (ESME)

#: TOU registers 1.0.1.8.1.255 ... 1.0.1.8.48.255 exist up to the model's current number of rates.
MAX_TOU_REGISTERS = 48

# Blue Book unit codes
UNIT_M3, UNIT_W, UNIT_WH, UNIT_V, UNITLESS = 13, 27, 30, 35, 255

# Payment mode enum (the coding of the Account object's payment_mode)
PAYMENT_CREDIT, PAYMENT_PREPAYMENT = 1, 2

# Disconnect control control_state (IC 70)
DISCONNECTED, CONNECTED, READY_FOR_RECONNECTION = 0, 1, 2
_CONTROL_STATE = {
    SupplyState.DISABLED: DISCONNECTED,
    SupplyState.ENABLED: CONNECTED,
    SupplyState.ARMED: READY_FOR_RECONNECTION,
}
#: Control modes whose remote_reconnect connects directly (SRV 7.1 enable); the others arm (SRV 7.3).
_DIRECT_RECONNECT_MODES = frozenset({2, 4, 6})

#: Model rejection → Data-Access-Result / Action-Result (the two enumerations share these numbers).
REJECT_RESULTS: Mapping[RejectCode, type[CosemError]] = {
    RejectCode.NOT_POWERED: TemporaryFailure,
    RejectCode.INVALID_STATE: TemporaryFailure,
    RejectCode.UNREACHABLE: TemporaryFailure,
    RejectCode.WAN_UNAVAILABLE: TemporaryFailure,
    RejectCode.CONTACTOR_FAULT: HardwareFault,
    RejectCode.NOT_SUPPORTED: ObjectUnavailable,
    RejectCode.BAD_SIGNATURE: ReadWriteDenied,
    RejectCode.UNKNOWN_CREDENTIAL: ReadWriteDenied,
}


def _rejection(exc: DeviceCommandError) -> CosemError:
    """The COSEM error for a model rejection; codes without an entry are other-reason (250)."""
    return REJECT_RESULTS.get(exc.code, OtherReason)(str(exc))


def tou_register(rate: int) -> str:
    """OBIS code of TOU import register ``rate`` (1-based)."""
    if not 1 <= rate <= MAX_TOU_REGISTERS:
        raise ValueError(f"TOU rate must be 1..{MAX_TOU_REGISTERS}")
    return f"1.0.1.8.{rate}.255"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One row of the documented object list."""

    obis: str
    class_id: int
    name: str
    roles: tuple[str, ...]
    attributes: str
    access: str


_BOTH = ("esme", "gsme")
#: The documented object list (the same table as in docs/virtual-lab.md).
OBJECT_LIST: tuple[ObjectInfo, ...] = (
    ObjectInfo(
        CLOCK, 8, "clock", _BOTH, "2 time, 3 time_zone, 4 status, 8 dst_enabled, 9 clock_base; m6", "2 rw"
    ),
    ObjectInfo(LOGICAL_DEVICE_NAME, 1, "COSEM logical device name", _BOTH, "2 value", "r"),
    ObjectInfo(SERIAL_NUMBER, 1, "meter serial number", _BOTH, "2 value", "r"),
    ObjectInfo(DEVICE_ID, 1, "device identifier (EUI-64)", _BOTH, "2 value", "r"),
    ObjectInfo(FIRMWARE, 1, "active firmware identifier", _BOTH, "2 value", "r"),
    ObjectInfo(IMPORT_TOTAL, 3, "active import energy, total", _BOTH, "2 value, 3 scaler_unit", "r"),
    ObjectInfo("1.0.1.8.e.255", 3, "active import energy, TOU rate e", _BOTH, "2 value, 3 scaler_unit", "r"),
    ObjectInfo(INSTANTANEOUS_POWER, 3, "active import power", ("esme",), "2 value, 3 scaler_unit", "r"),
    ObjectInfo(GAS_VOLUME, 3, "gas volume", ("gsme",), "2 value, 3 scaler_unit", "r"),
    ObjectInfo(
        DISCONNECT_CONTROL, 70, "supply (contactor / valve)", _BOTH, "2, 3, 4 control_mode; m1, m2", "m1 m2 x"
    ),
    ObjectInfo(PAYMENT_MODE, 1, "payment mode", _BOTH, "2 value", "r"),
    ObjectInfo(METER_BALANCE, 3, "meter balance", _BOTH, "2 value, 3 scaler_unit", "r"),
    ObjectInfo(EMERGENCY_CREDIT, 3, "emergency credit remaining", _BOTH, "2 value, 3 scaler_unit", "r"),
    ObjectInfo(EVENT_LOG, 7, "event log", _BOTH, "2 buffer, 3 capture_objects, 4, 5, 6, 7, 8; m1", "m1 x"),
    ObjectInfo(SECURITY_LOG, 7, "security log", _BOTH, "2 buffer, 3 capture_objects, 4, 5, 6, 7, 8", "r"),
    ObjectInfo(EVENT_CODE, 1, "last event code", _BOTH, "2 value", "r"),
    ObjectInfo(SECURITY_EVENT_CODE, 1, "last security event code", _BOTH, "2 value", "r"),
    ObjectInfo(DISPLAYED_MESSAGE, 1, "message on the meter's display (SRV 3.1)", _BOTH, "2 value", "r"),
    ObjectInfo(SUPPLIER_NAME, 1, "supplier name (SRV 3.4)", _BOTH, "2 value", "r"),
    ObjectInfo(NOMINAL_VOLTAGE, 3, "nominal voltage (SRV 6.2.1)", ("esme",), "2 value, 3 scaler_unit", "r"),
    ObjectInfo(
        RANDOMISED_OFFSET_LIMIT, 1, "randomised offset limit, s (SRV 6.2.2)", ("esme",), "2 value", "r"
    ),
    ObjectInfo(SUPPLY_TAMPER_STATE, 1, "supply tamper state (SRV 6.25)", ("esme",), "2 value", "r"),
    ObjectInfo(LOAD_LIMIT_COUNTER, 1, "load limit counter (SRV 6.4.2)", ("esme",), "2 value", "r"),
)

_TOU_PREFIX = parse_obis(IMPORT_TOTAL)[:4]


def _tou_rate(obis: bytes) -> int | None:
    """The rate of a TOU register code (1.0.1.8.e.255, e >= 1), else None."""
    if len(obis) == 6 and obis[:4] == _TOU_PREFIX and obis[5] == 255 and obis[4] >= 1:
        return obis[4]
    return None


def _scaled(value: float, scaler: int) -> int:
    """A physical value as the integer a register holding it with ``scaler`` carries (nearest)."""
    return round(value * 10.0 ** (-scaler))


def _integer_zero(parameter: CosemValue | None) -> None:
    """Disconnect-control methods take ``integer(0)`` (an absent parameter is tolerated)."""
    if parameter is not None and not isinstance(parameter, Integer | Null):
        raise TypeUnmatched("method parameter must be integer(0)")


def _as_utc(raw: bytes) -> datetime:
    """A 12-octet COSEM date-time from a client; device time is UTC, so an unspecified deviation is UTC."""
    try:
        when = cosem_to_datetime(raw)
    except ValueError as exc:
        raise TypeUnmatched(f"date-time: {exc}") from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _capture_object(class_id: int, obis: str, attribute: int) -> Structure:
    """capture_object_definition: {class_id, logical_name, attribute_index, data_index}."""
    return Structure(
        [LongUnsigned(class_id), OctetString(parse_obis(obis)), Integer(attribute), LongUnsigned(0)]
    )


class MeterObjects(SimpleCosemModel):
    """The optical-port object list of one meter (ESME or GSME), live over its behaviour model.

    ``control_mode`` is the disconnect control's mode (IC 70 attribute 4): with 2, 4 or 6
    ``remote_reconnect`` enables supply (SRV 7.1), with 1, 3 or 5 it arms it (SRV 7.3) and the customer
    then presses the button; 0 refuses both methods. ``control_mode_writable`` lets an LLS client change
    it. ``manufacturer_flag`` is the 3-letter FLAG id that starts the logical device name.
    ``enable_supply`` is the model's SRV 7.1 (each meter type has its own; the GSME's refuses).
    """

    def __init__(
        self,
        meter: Meter,
        *,
        control_mode: int,
        control_mode_writable: bool,
        manufacturer_flag: str,
        enable_supply: Callable[[], None],
    ) -> None:
        super().__init__()
        if not 0 <= control_mode <= 6:
            raise ValueError("control_mode must be 0..6")
        if len(manufacturer_flag) != 3 or not manufacturer_flag.isascii():
            raise ValueError("manufacturer_flag is three ASCII letters")
        self.meter = meter
        self._enable_supply = enable_supply
        self.control_mode = control_mode
        self.manufacturer_flag = manufacturer_flag
        self._add_identity()
        self._add_clock()
        self._add_energy()
        self._add_disconnect_control(control_mode_writable)
        self._add_payment()
        self._add_log(EVENT_LOG, EVENT_CODE, meter.event_log, lambda: meter.alerter.event_log.maxlen)
        self._add_log(
            SECURITY_LOG, SECURITY_EVENT_CODE, meter.security_log, lambda: meter.alerter.security_log.maxlen
        )
        self._add_display()

    # -- CosemModel: model rejections become COSEM results, TOU registers follow the tariff ---------
    def _check_tou(self, obis: bytes | str) -> None:
        rate = _tou_rate(obis if isinstance(obis, bytes) else parse_obis(obis))
        if rate is not None and rate > len(self.meter.registers().tou_kwh):
            raise ObjectUndefined(f"no TOU register {rate}: the tariff has fewer rates")

    def get(
        self,
        class_id: int,
        obis: bytes | str,
        attribute: int,
        ctx: AccessContext | None = None,
        selector: SelectiveAccess | None = None,
    ) -> CosemValue:
        try:
            self._check_tou(obis)
            return super().get(class_id, obis, attribute, ctx, selector)
        except DeviceCommandError as exc:
            raise _rejection(exc) from exc

    def set(
        self,
        class_id: int,
        obis: bytes | str,
        attribute: int,
        value: CosemValue,
        ctx: AccessContext | None = None,
    ) -> None:
        try:
            self._check_tou(obis)
            super().set(class_id, obis, attribute, value, ctx)
        except DeviceCommandError as exc:
            raise _rejection(exc) from exc

    def action(
        self,
        class_id: int,
        obis: bytes | str,
        method: int,
        parameter: CosemValue | None,
        ctx: AccessContext | None = None,
    ) -> CosemValue | None:
        try:
            self._check_tou(obis)
            return super().action(class_id, obis, method, parameter, ctx)
        except DeviceCommandError as exc:
            raise _rejection(exc) from exc

    # -- objects ---------------------------------------------------------------------------------
    def _add_identity(self) -> None:
        meter = self.meter
        name = (self.manufacturer_flag + meter.model).encode("ascii", "replace")[:16]
        self.add_data(LOGICAL_DEVICE_NAME, OctetString(name))
        self.add_data(SERIAL_NUMBER, lambda: OctetString(meter.serial.encode("ascii", "replace")))
        self.add_data(DEVICE_ID, lambda: OctetString(meter.device_id.encode("ascii", "replace")))
        # firmware_version is the *reported* version (wrong with the wrong_firmware_reported defect)
        self.add_data(FIRMWARE, lambda: OctetString(meter.firmware_version.encode("ascii", "replace")))

    def _add_display(self) -> None:
        """The text SRV 3.1 put on the meter's display, so a test can see whether it arrived (the route
        answers Display Message with no data either way). UTF-8, empty while nothing is shown; the
        model replaces it with each new message. Read-only: only the route writes the display."""
        meter = self.meter

        def shown() -> CosemValue:
            meter.advance()
            return OctetString((meter.last_message or "").encode("utf-8"))

        self.add_data(DISPLAYED_MESSAGE, shown)
        self.add_data(SUPPLIER_NAME, lambda: OctetString(meter.supplier_name.encode("utf-8")))

    def _add_clock(self) -> None:
        meter = self.meter

        def get_time() -> CosemValue:
            return OctetString(datetime_to_cosem(meter.device_time()))

        def set_time(value: CosemValue) -> None:
            if not isinstance(value, OctetString) or len(value.value) != 12:
                raise TypeUnmatched("clock time is a 12-octet octet-string")
            meter.set_clock(_as_utc(value.value))

        def shift_time(parameter: CosemValue | None) -> None:
            if not isinstance(parameter, Long):
                raise TypeUnmatched("shift_time takes a long (seconds)")
            meter.shift_clock(timedelta(seconds=parameter.value))
            return None

        # Device time is UTC with no DST (docs/virtual-devices.md): time_zone 0, DST disabled.
        self.add_object(
            8,
            CLOCK,
            {
                2: Attribute(get_time, set_time),
                3: Attribute(lambda: Long(0)),
                4: Attribute(lambda: Unsigned(0)),
                8: Attribute(lambda: Boolean(False)),
                9: Attribute(lambda: Enum(1)),  # internal crystal
            },
            {6: Method(shift_time)},
        )

    def _register(self, obis: str, value: Callable[[], CosemValue], scaler: int, unit: int) -> None:
        scaler_unit = _scaler_unit(scaler, unit)
        self.add_object(3, obis, {2: Attribute(value), 3: Attribute(lambda: scaler_unit)})

    def _add_energy(self) -> None:
        meter = self.meter
        # Wh, scaler 0: whole watt-hours in a double-long-unsigned, rounded to the nearest Wh.
        self._register(
            IMPORT_TOTAL,
            lambda: DoubleLongUnsigned(_scaled(meter.registers().total_kwh * 1000, 0)),
            0,
            UNIT_WH,
        )
        for rate in range(1, MAX_TOU_REGISTERS + 1):

            def tou(index: int = rate - 1) -> CosemValue:
                values = meter.registers().tou_kwh
                if index >= len(values):
                    raise ObjectUndefined(f"no TOU register {index + 1}")
                return DoubleLongUnsigned(_scaled(values[index] * 1000, 0))

            self._register(tou_register(rate), tou, 0, UNIT_WH)

    def _add_disconnect_control(self, writable: bool) -> None:
        meter = self.meter

        def set_mode(value: CosemValue) -> None:
            if not isinstance(value, Enum):
                raise TypeUnmatched("control_mode is an enum")
            if value.value > 6:
                raise OtherReason("control_mode must be 0..6")
            self.control_mode = value.value

        def check_mode() -> None:
            if self.control_mode == 0:
                raise TemporaryFailure("control_mode 0: the supply cannot be switched remotely")

        def remote_disconnect(parameter: CosemValue | None) -> None:
            _integer_zero(parameter)
            check_mode()
            meter.disable_supply()  # SRV 7.2
            return None

        def remote_reconnect(parameter: CosemValue | None) -> None:
            _integer_zero(parameter)
            check_mode()
            state = meter.supply_state()
            if self.control_mode in _DIRECT_RECONNECT_MODES:
                if state is not SupplyState.ENABLED:
                    self._enable_supply()  # SRV 7.1 (a GSME refuses: not_supported)
            elif state is SupplyState.DISABLED:
                meter.arm_supply()  # SRV 7.3: ready_for_reconnection until the customer presses
            # Blue Book IC 70: a method with no transition from the current state changes nothing.
            return None

        self.add_object(
            70,
            DISCONNECT_CONTROL,
            {
                2: Attribute(lambda: Boolean(meter.supply_state() is SupplyState.ENABLED)),
                3: Attribute(lambda: Enum(_CONTROL_STATE[meter.supply_state()])),
                4: Attribute(lambda: Enum(self.control_mode), set_mode if writable else None),
            },
            {1: Method(remote_disconnect), 2: Method(remote_reconnect)},
        )

    def _add_payment(self) -> None:
        meter = self.meter

        def mode() -> CosemValue:
            values = meter.prepay_values()
            return Enum(PAYMENT_PREPAYMENT if values.mode is PaymentMode.PREPAYMENT else PAYMENT_CREDIT)

        self.add_data(PAYMENT_MODE, mode)
        # pence (GBP), whole pence, signed: a credit-mode balance goes negative
        self._register(
            METER_BALANCE, lambda: DoubleLong(_scaled(meter.prepay_values().balance, 0)), 0, UNITLESS
        )
        self._register(
            EMERGENCY_CREDIT,
            lambda: DoubleLong(_scaled(meter.prepay_values().emergency_credit_remaining, 0)),
            0,
            UNITLESS,
        )

    def _add_log(
        self,
        obis: str,
        code_obis: str,
        entries: Callable[[], list[LogEntry]],
        capacity: Callable[[], int | None],
    ) -> None:
        """Profile generic (IC 7) over one of the model's logs: rows are {date-time, event code}."""
        columns = Array([_capture_object(8, CLOCK, 2), _capture_object(1, code_obis, 2)])

        def rows() -> list[Structure]:
            return [_row(e) for e in entries()]

        def buffer() -> CosemValue:
            return Array(rows())

        def selective(access: SelectiveAccess) -> CosemValue:
            return Array(_select(entries(), columns, access))

        def last_code() -> CosemValue:
            log = entries()
            return LongUnsigned(log[-1].code if log else 0)

        methods: dict[int, Method] = {}
        if obis == EVENT_LOG:

            def reset(parameter: CosemValue | None) -> None:
                _integer_zero(parameter)
                self.meter.clear_event_log()  # SRV 3.3: logs 0x8F52 in the security log
                return None

            methods[1] = Method(reset)
        no_sort_object = Structure([LongUnsigned(0), OctetString(bytes(6)), Integer(0), LongUnsigned(0)])
        self.add_object(
            7,
            obis,
            {
                2: Attribute(buffer, selective_getter=selective),
                3: Attribute(lambda: columns),
                4: Attribute(lambda: DoubleLongUnsigned(0)),  # capture_period 0: captured on events
                5: Attribute(lambda: Enum(1)),  # sort_method fifo
                6: Attribute(lambda: no_sort_object),
                7: Attribute(lambda: DoubleLongUnsigned(len(entries()))),
                8: Attribute(lambda: DoubleLongUnsigned(capacity() or 0)),
            },
            methods,
        )
        self.add_data(code_obis, last_code)


def _row(entry: LogEntry) -> Structure:
    return Structure([OctetString(datetime_to_cosem(entry.at)), LongUnsigned(entry.code)])


def _select(entries: Sequence[LogEntry], columns: Array, access: SelectiveAccess) -> list[Structure]:
    """Selective access to a log buffer: range_descriptor (1, by date-time) or entry_descriptor (2)."""
    params = access.parameters
    if not isinstance(params, Structure):
        raise TypeUnmatched("selective access parameters are a structure")
    items = params.items
    if access.selector == 1:
        if len(items) != 4 or not all(isinstance(i, OctetString) for i in items[1:3]):
            raise TypeUnmatched("range_descriptor: {restricting_object, from, to, selected_values}")
        if items[0].to_python() != columns.items[0].to_python():
            raise OtherReason("range_descriptor: only the clock column can restrict a log")
        start = _as_utc(items[1].to_python())
        end = _as_utc(items[2].to_python())
        picked = [e for e in entries if start <= e.at <= end]
        selected = items[3]
        wanted = [c.to_python() for c in selected.items] if isinstance(selected, Array) else []
        captured = [c.to_python() for c in columns.items]
        if any(c not in captured for c in wanted):
            raise OtherReason("range_descriptor: selected_values names an object that is not captured")
        keep = [i for i, c in enumerate(captured) if not wanted or c in wanted]
        return [Structure([_row(e).items[i] for i in keep]) for e in picked]
    if access.selector == 2:
        if len(items) != 4 or not all(isinstance(i, DoubleLongUnsigned | LongUnsigned) for i in items):
            raise TypeUnmatched("entry_descriptor: {from_entry, to_entry, from_value, to_value}")
        first, last, first_col, last_col = (int(i.to_python()) for i in items)
        last = last or len(entries)
        last_col = last_col or len(columns.items)
        if first < 1 or first_col < 1 or first > last or first_col > last_col:
            raise OtherReason("entry_descriptor out of range")
        return [Structure(_row(e).items[first_col - 1 : last_col]) for e in entries[first - 1 : last]]
    raise OtherReason(f"selective access {access.selector} is not supported")


class EsmeObjects(MeterObjects):
    """An ESME's optical port. ``control_mode`` 4 by default: remote_reconnect enables supply (SRV
    7.1); an LLS client may set mode 3 to make it arm instead (SRV 7.3)."""

    def __init__(self, esme: Esme, *, control_mode: int = 4) -> None:
        super().__init__(
            esme,
            control_mode=control_mode,
            control_mode_writable=True,
            manufacturer_flag=esme.manufacturer_flag,
            enable_supply=esme.enable_supply,
        )
        self.esme = esme
        self._register(INSTANTANEOUS_POWER, lambda: DoubleLong(_scaled(esme.measured_power(), 0)), 0, UNIT_W)
        self._register(NOMINAL_VOLTAGE, lambda: LongUnsigned(esme.behaviour.nominal_voltage_v), 0, UNIT_V)
        self.add_data(RANDOMISED_OFFSET_LIMIT, lambda: LongUnsigned(esme.behaviour.randomised_offset_limit_s))
        self.add_data(SUPPLY_TAMPER_STATE, lambda: Enum(int(esme.supply_tamper_state == "locked")))

        def counter() -> CosemValue:
            esme.advance()
            return LongUnsigned(min(esme.load_limit_counter, 0xFFFF))

        self.add_data(LOAD_LIMIT_COUNTER, counter)


class GsmeObjects(MeterObjects):
    """A GSME's optical port. The valve is never opened remotely (SRV 7.1 is electricity only), so the
    disconnect control is fixed in mode 3: remote_reconnect arms the valve."""

    def __init__(self, gsme: Gsme, *, manufacturer_flag: str = "DMC") -> None:
        super().__init__(
            gsme,
            control_mode=3,
            control_mode_writable=False,
            manufacturer_flag=manufacturer_flag,
            enable_supply=gsme.enable_supply,
        )
        self.gsme = gsme
        # m³ with scaler -3: litres in a double-long-unsigned
        self._register(GAS_VOLUME, lambda: DoubleLongUnsigned(_scaled(gsme.volume(), -3)), -3, UNIT_M3)


def meter_objects(
    meter: Meter, *, esme_control_mode: int = 4, manufacturer_flag: str = "DMC"
) -> MeterObjects:
    """The object list for ``meter``'s role (what a lab process serves on its optical port).

    ``manufacturer_flag`` is used for a GSME only (an ESME model carries its own)."""
    if isinstance(meter, Esme):
        return EsmeObjects(meter, control_mode=esme_control_mode)
    if isinstance(meter, Gsme):
        return GsmeObjects(meter, manufacturer_flag=manufacturer_flag)
    raise TypeError(f"no optical-port object list for {type(meter).__name__}")


@functools.lru_cache(maxsize=256)
def _scaler_unit(scaler: int, unit: int) -> Structure:
    """A register's scaler_unit (immutable, so shared): a large lab builds thousands of registers."""
    return Structure([Integer(scaler), Enum(unit)])
