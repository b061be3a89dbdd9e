""":class:`SimpleCosemModel`: a dictionary-backed :class:`~.model.CosemModel`, the building block of the
virtual lab's object lists.

Objects are registered with helpers for the interface classes the SMETS1 DMCT scenarios need (data,
register, clock, disconnect control); values may be callables so a simulator can compute them live
from its own state. Access rights are checked per association, as a real meter's public and
password-protected clients see different things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .axdr import (
    Boolean,
    CosemValue,
    Enum,
    Integer,
    Long,
    Null,
    OctetString,
    Structure,
    Unsigned,
    _IntegerValue,
    to_cosem,
)
from .date_time import cosem_to_datetime, datetime_to_cosem
from .interface_classes import ClockObject, ControlState, DisconnectControl
from .model import AccessContext, AuthLevel, SelectiveAccess
from .obis import obis_to_str, parse_obis
from .results import ObjectClassInconsistent, ObjectUndefined, OtherReason, ReadWriteDenied, TypeUnmatched

Getter = Callable[[], CosemValue]
Setter = Callable[[CosemValue], None]
MethodHandler = Callable[[CosemValue | None], CosemValue | None]


@dataclass(slots=True)
class Attribute:
    """One attribute: how to read it, how (whether) to write it, and who may do either.

    ``setter=None`` makes the attribute read-only for everyone.  Levels are minimum authentication
    mechanisms: by default anyone may read and only an LLS (or better) association may write, which is
    how the public client of a SMETS1 meter behaves.
    """

    getter: Getter
    setter: Setter | None = None
    read_level: AuthLevel = AuthLevel.NONE
    write_level: AuthLevel = AuthLevel.LLS
    selective_getter: Callable[[SelectiveAccess], CosemValue] | None = None


@dataclass(slots=True)
class Method:
    handler: MethodHandler
    level: AuthLevel = AuthLevel.LLS


@dataclass(slots=True)
class CosemObject:
    class_id: int
    logical_name: bytes
    attributes: dict[int, Attribute] = field(default_factory=dict)
    methods: dict[int, Method] = field(default_factory=dict)

    @property
    def obis(self) -> str:
        return obis_to_str(self.logical_name)


def _stored(initial: CosemValue, *, check_type: bool = True) -> tuple[Getter, Setter]:
    """A getter/setter pair over one stored value; SET must keep the A-XDR type (else type-unmatched)."""
    cell = [initial]

    def get() -> CosemValue:
        return cell[0]

    def put(value: CosemValue) -> None:
        if check_type and type(value) is not type(cell[0]):
            raise TypeUnmatched(f"expected {type(cell[0]).__name__}, got {type(value).__name__}")
        cell[0] = value

    return get, put


def _value_getter(value: CosemValue | Callable[[], Any]) -> Getter:
    if isinstance(value, CosemValue):
        return lambda: value
    if callable(value):
        source = value
        return lambda: to_cosem(source())
    raise TypeError(f"value must be a CosemValue or a callable, got {value!r}")


def _require_integer_zero(parameter: CosemValue | None) -> None:
    """Disconnect-control methods take ``integer(0)``; tolerate an absent parameter."""
    if parameter is not None and not isinstance(parameter, Integer | Null):
        raise TypeUnmatched("method parameter must be integer(0)")


class SimpleCosemModel:
    """Dictionary-backed :class:`CosemModel`; also the building block for richer simulators.

    Objects are registered with ``add_*`` helpers or :meth:`add_object`.  Lookups are O(1) on the
    6-byte logical name.  Attribute 1 (logical_name) is always provided.
    """

    def __init__(self) -> None:
        self._objects: dict[bytes, CosemObject] = {}

    # -- registration -------------------------------------------------------------------------

    def add_object(
        self,
        class_id: int,
        obis: str | bytes,
        attributes: Mapping[int, Attribute] | None = None,
        methods: Mapping[int, Method] | None = None,
    ) -> CosemObject:
        ln = parse_obis(obis)
        if ln in self._objects:
            raise ValueError(f"object {obis_to_str(ln)} already registered")
        obj = CosemObject(class_id, ln)
        obj.attributes[1] = Attribute(getter=lambda: OctetString(ln))
        obj.attributes.update(attributes or {})
        obj.methods.update(methods or {})
        self._objects[ln] = obj
        return obj

    def _value_attribute(
        self, value: CosemValue | Callable[[], Any], writable: bool, on_set: Setter | None
    ) -> Attribute:
        if isinstance(value, CosemValue) and on_set is None:
            getter, setter = _stored(value)
            return Attribute(getter, setter if writable else None)
        if writable and on_set is None:
            raise ValueError("a writable computed value needs on_set")
        return Attribute(_value_getter(value), on_set if writable else None)

    def add_data(
        self,
        obis: str | bytes,
        value: CosemValue | Callable[[], Any],
        *,
        writable: bool = False,
        on_set: Setter | None = None,
    ) -> CosemObject:
        """Data (IC 1): attribute 2 ``value``; ``value`` may be a callable computing it on each GET."""
        return self.add_object(1, obis, {2: self._value_attribute(value, writable, on_set)})

    def add_register(
        self,
        obis: str | bytes,
        value: CosemValue | Callable[[], Any],
        *,
        scaler: int = 0,
        unit: int = 255,
        writable: bool = False,
        on_set: Setter | None = None,
    ) -> CosemObject:
        """Register (IC 3): 2 ``value``, 3 ``scaler_unit`` = structure{integer scaler, enum unit}.

        Units are Blue Book codes (30 = Wh, 27 = W, 13 = m3, 255 = unitless).  Method 1 ``reset`` sets a
        stored value back to zero of the same type.
        """
        value_attr = self._value_attribute(value, writable, on_set)
        scaler_unit = Structure([Integer(scaler), Enum(unit)])
        methods: dict[int, Method] = {}
        if isinstance(value, _IntegerValue) and on_set is None:
            initial_type = type(value)
            getter, setter = _stored(value)
            value_attr = Attribute(getter, setter if writable else None)

            def reset(_parameter: CosemValue | None) -> None:
                setter(initial_type(0))

            methods[1] = Method(reset)
        return self.add_object(3, obis, {2: value_attr, 3: Attribute(lambda: scaler_unit)}, methods)

    def add_clock(
        self,
        obis: str | bytes = "0.0.1.0.0.255",
        *,
        now: Callable[[], datetime] | None = None,
        set_time: Callable[[datetime], None] | None = None,
        time_zone: int = 0,
        status: int = 0,
    ) -> ClockObject:
        """Clock (IC 8): 2 time (12-octet date-time octet-string, writable), 3 time_zone (long),
        4 status (unsigned), 8 daylight_savings_enabled (boolean), 9 clock_base (enum, 1 = crystal).
        Method 6 ``shift_time`` (long seconds).
        """
        clock = ClockObject(now=now, set_time=set_time, time_zone=time_zone, status=status)

        def get_time() -> CosemValue:
            return OctetString(datetime_to_cosem(clock.now(), clock_status=clock.status))

        def set_time_attr(value: CosemValue) -> None:
            if not isinstance(value, OctetString) or len(value.value) != 12:
                raise TypeUnmatched("clock time is a 12-octet octet-string")
            try:
                clock.set(cosem_to_datetime(value.value))
            except ValueError as exc:
                raise TypeUnmatched(str(exc)) from exc

        def set_zone(value: CosemValue) -> None:
            if not isinstance(value, Long):
                raise TypeUnmatched("time_zone is a long")
            clock.time_zone = value.value

        def shift_time(parameter: CosemValue | None) -> None:
            if not isinstance(parameter, Long):
                raise TypeUnmatched("shift_time takes a long (seconds)")
            clock.offset += timedelta(seconds=parameter.value)

        self.add_object(
            8,
            obis,
            {
                2: Attribute(get_time, set_time_attr),
                3: Attribute(lambda: Long(clock.time_zone), set_zone),
                4: Attribute(lambda: Unsigned(clock.status)),
                8: Attribute(lambda: Boolean(False)),
                9: Attribute(lambda: Enum(1)),
            },
            {6: Method(shift_time)},
        )
        return clock

    def add_disconnect_control(
        self,
        obis: str | bytes = "0.0.96.3.10.255",
        *,
        control_mode: int = 4,
        state: ControlState = ControlState.CONNECTED,
        on_change: Callable[[ControlState], None] | None = None,
    ) -> DisconnectControl:
        """Disconnect control (IC 70): 2 output_state (boolean), 3 control_state (enum),
        4 control_mode (enum, writable); methods 1 remote_disconnect, 2 remote_reconnect."""
        dc = DisconnectControl(control_mode=control_mode, state=state, on_change=on_change)

        def set_mode(value: CosemValue) -> None:
            if not isinstance(value, Enum):
                raise TypeUnmatched("control_mode is an enum")
            if value.value > 6:
                raise OtherReason("control_mode must be 0..6")
            dc.control_mode = value.value

        def disconnect(parameter: CosemValue | None) -> None:
            _require_integer_zero(parameter)
            dc.remote_disconnect()

        def reconnect(parameter: CosemValue | None) -> None:
            _require_integer_zero(parameter)
            dc.remote_reconnect()

        self.add_object(
            70,
            obis,
            {
                2: Attribute(lambda: Boolean(dc.output_state)),
                3: Attribute(lambda: Enum(int(dc.state))),
                4: Attribute(lambda: Enum(dc.control_mode), set_mode),
            },
            {1: Method(disconnect), 2: Method(reconnect)},
        )
        return dc

    # -- introspection ------------------------------------------------------------------------

    def __contains__(self, obis: object) -> bool:
        try:
            return parse_obis(obis) in self._objects  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def __iter__(self) -> Iterator[CosemObject]:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def object(self, obis: str | bytes) -> CosemObject:
        try:
            return self._objects[parse_obis(obis)]
        except KeyError:
            raise ObjectUndefined(f"no object {obis!r}") from None

    # -- CosemModel ---------------------------------------------------------------------------

    def _lookup(self, class_id: int, obis: bytes | str) -> CosemObject:
        ln = obis if isinstance(obis, bytes) and len(obis) == 6 else parse_obis(obis)
        obj = self._objects.get(ln)
        if obj is None:
            raise ObjectUndefined(f"no object {obis_to_str(ln)}")
        if obj.class_id != class_id:
            raise ObjectClassInconsistent(f"{obis_to_str(ln)} is class {obj.class_id}, not {class_id}")
        return obj

    def get(
        self,
        class_id: int,
        obis: bytes | str,
        attribute: int,
        ctx: AccessContext | None = None,
        selector: SelectiveAccess | None = None,
    ) -> CosemValue:
        obj = self._lookup(class_id, obis)
        attr = obj.attributes.get(attribute)
        if attr is None:
            raise ObjectUndefined(f"{obj.obis} has no attribute {attribute}")
        if ctx is not None and ctx.mechanism < attr.read_level:
            raise ReadWriteDenied(f"{obj.obis}/{attribute} needs {attr.read_level.name} to read")
        if selector is not None:
            if attr.selective_getter is None:
                raise OtherReason(f"{obj.obis}/{attribute} does not support selective access")
            return attr.selective_getter(selector)
        return attr.getter()

    def set(
        self,
        class_id: int,
        obis: bytes | str,
        attribute: int,
        value: CosemValue,
        ctx: AccessContext | None = None,
    ) -> None:
        obj = self._lookup(class_id, obis)
        attr = obj.attributes.get(attribute)
        if attr is None:
            raise ObjectUndefined(f"{obj.obis} has no attribute {attribute}")
        if attr.setter is None:
            raise ReadWriteDenied(f"{obj.obis}/{attribute} is read-only")
        if ctx is not None and ctx.mechanism < attr.write_level:
            raise ReadWriteDenied(f"{obj.obis}/{attribute} needs {attr.write_level.name} to write")
        attr.setter(value)

    def action(
        self,
        class_id: int,
        obis: bytes | str,
        method: int,
        parameter: CosemValue | None,
        ctx: AccessContext | None = None,
    ) -> CosemValue | None:
        obj = self._lookup(class_id, obis)
        meth = obj.methods.get(method)
        if meth is None:
            raise ObjectUndefined(f"{obj.obis} has no method {method}")
        if ctx is not None and ctx.mechanism < meth.level:
            raise ReadWriteDenied(f"{obj.obis} method {method} needs {meth.level.name}")
        return meth.handler(parameter)

    def value_of(self, obis: str | bytes, attribute: int = 2) -> Any:
        """Current value as plain Python, bypassing access rights (for simulators and tests)."""
        obj = self.object(obis)
        return self.get(obj.class_id, obj.logical_name, attribute).to_python()
