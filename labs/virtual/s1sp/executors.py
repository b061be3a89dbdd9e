"""Each SMETS1-applicable SRV as the S1SP turns it into Instructions on the simulated devices.

An executor validates the request's ``params`` (a pydantic model per SRV: wrong or extra parameters
are E6 before anything is sent) and returns a :class:`Plan`: the Instructions to send through the CH,
in order, each a call on a device model, or — for the SRVs the DCC answers itself (inventory,
schedules, change-of-tenancy restriction) — a route-side result. The service does the sending, the
HAN latency, the GSME queueing and the outcome mapping; executors only say *what* to do, so adding an
SRV is one entry here.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labs.virtual.devices import (
    Authorisation,
    BillingCalendar,
    CommsHub,
    Esme,
    FirmwareImage,
    Gsme,
    KeyRef,
    LoadLimit,
    PaymentMode,
    Tariff,
    TouSwitch,
)
from labs.virtual.devices.alerts import ALERTS
from labs.virtual.devices.base import Device
from labs.virtual.devices.meter import Meter

from .catalogue import SrvCatalogue
from .installation import Installation, Reply
from .inventory import Inventory, Status
from .keys import KeyMaterial

FIRMWARE_IMAGE_SIZE = 4096
FIRMWARE_BLOCK_SIZE = 1024


class ParamError(Exception):
    """Parameters that cannot be executed (E6), found after schema validation."""


class RouteSideError(Exception):
    """A route-answered SRV refused (``code`` is the E-code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Instruction:
    """One command sent through the CH. ``after`` runs once the device has actioned it."""

    target: Device
    command: str
    action: Callable[[], object]
    after: Callable[[object], None] | None = None


@dataclass
class Plan:
    instructions: list[Instruction] = field(default_factory=list)
    #: Later instructions still run after one fails (e.g. one debt of several).
    independent: bool = False
    #: Result of an SRV the route answers itself (no instructions).
    route_result: dict[str, Any] | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: Reads a GSME answers from the CH's cache (no wake needed).
    cached: bool = False


class ScheduleBook(Protocol):
    """The DCC-held schedules an executor creates, reads and deletes (:class:`.schedules.Schedules`)."""

    def create(
        self,
        device_id: str,
        srv: str,
        params: dict[str, Any],
        start: datetime,
        period_s: int,
        *,
        user: str,
        role: str,
        reply: Reply | None,
    ) -> str: ...

    def view(self, device_id: str, sid: str | None) -> list[dict[str, Any]]: ...

    def delete(self, device_id: str, sid: str) -> bool: ...


class ExecutorRoute(Protocol):
    """What an executor may ask of the route (the service implements it). Declared here, by the
    executors, so they need not import the service that calls them."""

    catalogue: SrvCatalogue
    defects: frozenset[str]
    inventory: Inventory
    keys: KeyMaterial
    restrictions: dict[str, datetime]

    @property
    def schedules(self) -> ScheduleBook: ...

    def authorisation(
        self, device: Device, role: str, key: KeyRef, *, command: str, request_id: str | None
    ) -> Authorisation: ...

    def dcc_alert(
        self,
        code: str,
        device: str | None,
        rig: str | None,
        details: dict[str, Any],
        request_id: str | None = None,
    ) -> None: ...

    def move(self, device_id: str, status: Status, *, route_code: str = "E14") -> None: ...

    def route_key(self, device_id: str, role: str) -> KeyRef: ...

    def set_route_key(self, device_id: str, role: str, key: KeyRef) -> None: ...


@dataclass
class Ctx:
    service: ExecutorRoute
    inst: Installation
    device: Device
    device_type: str
    srv: str
    params: Any
    role: str
    user: str
    at: datetime | None
    request_id: str
    reply_to: Callable[[dict[str, Any]], None] | None = None

    @property
    def cred_role(self) -> str:
        """Which device credential the S1SP signs with on this User's behalf."""
        return "supplier" if self.role in ("IS", "GS") else "network_operator"


# -- JSON helpers ------------------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """Model results as JSON: dataclasses to objects, datetimes ISO 8601, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, datetime | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, float):
        return round(value, 6)
    return value


# -- parameter models -----------------------------------------------------------------------------------
class P(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(P):
    pass


class SwitchP(P):
    at: time
    rate: int = Field(ge=1, le=48)


class TariffP(P):
    rates: int = Field(ge=1, le=48)
    prices: list[float] = Field(min_length=1, max_length=48)
    standing_charge: float = Field(default=50.0, ge=0)
    switches: list[SwitchP] | None = None
    block_thresholds: list[float] = Field(default_factory=list, max_length=3)
    block_prices: list[float] = Field(default_factory=list, max_length=4)
    #: Switching by day (a gas meter's): the rate of each weekday, Monday first.
    days: list[int] | None = Field(default=None, min_length=7, max_length=7)


class PricesP(P):
    prices: list[float] = Field(min_length=1, max_length=48)
    standing_charge: float | None = Field(default=None, ge=0)
    block_prices: list[float] | None = None


class BalanceP(P):
    delta: float = Field(ge=-1_000_000, le=1_000_000)


class ModeP(P):
    mode: PaymentMode


class PrepayP(P):
    low_credit_threshold: float | None = None
    emergency_credit_limit: float | None = None
    emergency_credit_threshold: float | None = None
    disablement_threshold: float | None = None
    max_credit: float | None = None
    max_balance: float | None = None


class TopUpP(P):
    utrn: str = Field(pattern=r"^\d{20}$")


class DebtP(P):
    name: Literal["time_debt_1", "time_debt_2", "payment_debt"]
    amount: float
    rate: float


class DebtsP(P):
    debts: list[DebtP] = Field(min_length=1, max_length=3)


class MessageP(P):
    text: str = Field(min_length=1, max_length=160)


class RestrictP(P):
    from_date: datetime

    @field_validator("from_date")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("from_date needs a time zone")
        return v


class SupplierNameP(P):
    name: str = Field(min_length=1, max_length=30)


class RangeP(P):
    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScheduleP(P):
    srv: str
    start: datetime
    period_s: int = Field(ge=60, le=366 * 86400)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("start needs a time zone")
        return v


class ScheduleIdP(P):
    schedule_id: str | None = None


class ScheduleDeleteP(P):
    schedule_id: str


class LoadLimitP(P):
    threshold_w: float
    period_s: float
    restoration_s: float | None = None


class CalendarP(P):
    """SRV 6.8 in either form. ``start`` + ``period``: a calendar from a start date (a gas meter's, DUIS
    ``GasBillingCalendar``; also accepted for an ESME). ``billing_time`` + ``period`` (+ ``day``: ISO day
    of the week 1-7 for weekly, day of the month 1-28 for monthly): an electricity meter's calendar as a
    DCC User sends it (DUIS ``ElectricityBillingCalendar``, no start date) — the meter bills at the next
    occurrence of that time by its own clock."""

    start: datetime | None = None
    billing_time: time | None = None
    day: int | None = None
    period: Literal["daily", "weekly", "monthly"] = "monthly"

    @model_validator(mode="after")
    def _one_form(self) -> CalendarP:
        if (self.start is None) == (self.billing_time is None):
            raise ValueError("give either start or billing_time")
        if self.start is not None:
            if self.start.tzinfo is None:
                raise ValueError("start needs a time zone")
            if self.day is not None:
                raise ValueError("day goes with billing_time, not with start")
        elif self.period == "weekly" and not (self.day is not None and 1 <= self.day <= 7):
            raise ValueError("a weekly billing_time calendar needs day 1-7 (ISO day of the week)")
        elif self.period == "monthly" and not (self.day is not None and 1 <= self.day <= 28):
            raise ValueError("a monthly billing_time calendar needs day 1-28 (day of the month)")
        elif self.period == "daily" and self.day is not None:
            raise ValueError("a daily calendar takes no day")
        return self


class LogP(P):
    log: Literal["event", "security"] = "event"


class CredRolesP(P):
    credential_roles: list[Literal["supplier", "network_operator"]] | None = Field(default=None, min_length=1)


class CosP(P):
    new_supplier: str = Field(min_length=1, max_length=64)


class CredRoleP(P):
    credential_role: Literal["supplier", "network_operator", "smso"] = "supplier"


class MpxnP(P):
    mpxn: str = Field(pattern=r"^\d{6,13}$")


class AlertSettingP(P):
    code: str = Field(pattern=r"^0x[0-9A-Fa-f]{4}$")
    send: bool


class AlertsP(P):
    alerts: list[AlertSettingP] = Field(min_length=1, max_length=32)


class TamperP(P):
    state: Literal["unchanged", "locked"]


class InventoryP(P):
    """SRV 8.4: a status change, or the MPAN/MPRN the inventory holds for a meter (DUIS
    ``UpdateInventory`` carries one or the other, never both)."""

    status: Literal["Suspended", "Commissioned", "Recovery", "Recovered"] | None = None
    mpxn: str | None = Field(default=None, pattern=r"^\d{1,13}$")

    @model_validator(mode="after")
    def _one_change(self) -> InventoryP:
        if (self.status is None) == (self.mpxn is None):
            raise ValueError("SRV 8.4 takes exactly one of 'status' and 'mpxn'")
        return self


class HanLogP(P):
    add: dict[str, Literal["esme", "gsme", "ppmid", "ihd", "other"]] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class FirmwareP(P):
    version: str = Field(min_length=1, max_length=32)
    image_model: str | None = None


# -- instruction builders --------------------------------------------------------------------------------
def _authorised(ctx: Ctx, fn: Callable[[], object], command: str) -> Callable[[], object]:
    """A critical command: the device checks the S1SP's credential first (at delivery time). The
    service decides how the Instruction is authenticated (a ``tamper`` route fault may spoil it)."""
    device = ctx.device
    key = ctx.service.route_key(device.device_id, ctx.cred_role)

    def run() -> object:
        auth = ctx.service.authorisation(
            device, ctx.cred_role, key, command=command, request_id=ctx.request_id
        )
        device.check_authorisation(auth)
        return fn()

    return run


def _one(ctx: Ctx, command: str, fn: Callable[[], object], *, critical: bool = False) -> Plan:
    action = _authorised(ctx, fn, command) if critical else fn
    return Plan([Instruction(ctx.device, command, action)])


def _meter(ctx: Ctx) -> Meter:
    if not isinstance(ctx.device, Meter):
        raise ParamError(f"SRV {ctx.srv} needs a meter")
    return ctx.device


def _esme(ctx: Ctx) -> Esme:
    if not isinstance(ctx.device, Esme):
        raise ParamError(f"SRV {ctx.srv} needs an ESME")
    return ctx.device


def _gsme_cache(ctx: Ctx, fields: tuple[str, ...]) -> Plan | None:
    """A GSME read answered from the CH's cache when it holds one (SMETS1 head-ends read the cache)."""
    if not isinstance(ctx.device, Gsme):
        return None
    cache = ctx.inst.ch.gsme_cache()
    if cache is None:
        return None
    data = jsonable(cache)
    result = {k: data[k] for k in fields} | {"source": "ch_cache", "cached_at": data["at"]}
    return Plan([Instruction(ctx.inst.ch, "read_gsme_cache", lambda: result)], cached=True)


def x_tariff(ctx: Ctx) -> Plan:
    p: TariffP = ctx.params
    m = _meter(ctx)
    if p.days is not None:  # switching by day: the day profile is one rate from midnight
        switches: tuple[TouSwitch, ...] = (TouSwitch(time(0), p.days[0]),)
    elif p.switches is not None:
        switches = tuple(TouSwitch(s.at, s.rate) for s in p.switches)
    else:
        switches = Tariff.uniform(p.rates).switches
    tariff = Tariff(
        p.rates,
        switches,
        tuple(p.prices),
        p.standing_charge,
        tuple(p.block_thresholds),
        tuple(p.block_prices),
        tuple(p.days or ()),
    )
    return _one(ctx, "update_tariff", lambda: m.update_tariff(tariff, at=ctx.at), critical=True)


def x_prices(ctx: Ctx) -> Plan:
    p: PricesP = ctx.params
    m = _meter(ctx)
    blocks = tuple(p.block_prices) if p.block_prices is not None else None
    return _one(
        ctx,
        "update_prices",
        lambda: m.update_prices(
            tuple(p.prices), standing_charge=p.standing_charge, block_prices=blocks, at=ctx.at
        ),
        critical=True,
    )


def x_balance(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    delta = ctx.params.delta
    return _one(ctx, "adjust_balance", lambda: {"balance": m.adjust_balance(delta)}, critical=True)


def x_mode(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    mode = ctx.params.mode
    return _one(ctx, "set_payment_mode", lambda: m.set_payment_mode(mode, at=ctx.at), critical=True)


def x_prepay(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    changes = {k: v for k, v in ctx.params.model_dump().items() if v is not None}

    def run() -> object:
        config = dataclasses.replace(m.read_prepay_config(), **changes)
        return m.update_prepay_config(config, at=ctx.at)

    return _one(ctx, "update_prepay_config", run, critical=True)


def x_top_up(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    utrn = ctx.params.utrn
    return _one(ctx, "top_up", lambda: m.top_up(utrn))


def x_debt(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    plan = Plan(independent=True)
    for debt in ctx.params.debts:

        def run(d: DebtP = debt) -> object:
            m.set_debt(d.name, d.amount, d.rate)
            return {"debt": d.name, "amount": d.amount, "rate": d.rate}

        command = f"set_debt:{debt.name}"
        plan.instructions.append(Instruction(m, command, _authorised(ctx, run, command)))
    return plan


def x_ec(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "activate_emergency_credit", m.activate_emergency_credit, critical=True)


def x_message(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    text = ctx.params.text
    return _one(ctx, "display_message", lambda: m.display_message(text))


def x_restrict(ctx: Ctx) -> Plan:
    entry = ctx.service.inventory.get(ctx.device.device_id)
    if "tenancy_restriction_ignored" not in ctx.service.defects:  # seeded route defect
        ctx.service.restrictions[entry.device_id] = ctx.params.from_date
    return Plan(route_result={"restricted_from": ctx.params.from_date.isoformat()})


def x_supplier_name(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    name = ctx.params.name
    return _one(ctx, "update_supplier_name", lambda: m.update_supplier_name(name))


def x_registers(ctx: Ctx) -> Plan:
    cached = _gsme_cache(ctx, ("total_kwh", "volume_m3"))
    if cached is not None:
        return cached
    m = _meter(ctx)

    def run() -> object:
        r = m.registers()
        out: dict[str, Any] = {"total_kwh": round(r.total_kwh, 6)}
        if isinstance(m, Gsme):
            out["volume_m3"] = round(m.volume(), 6)
        return out

    return _one(ctx, "read_registers", run)


def x_tou(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "read_tou_registers", lambda: jsonable(m.registers()))


def x_prepay_values(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "read_prepay_values", lambda: jsonable(m.prepay_values()))


def _in_range(ctx: Ctx, when: datetime) -> bool:
    p: RangeP = ctx.params
    restricted = ctx.service.restrictions.get(ctx.device.device_id)
    if restricted is not None and when < restricted:
        return False
    return (p.start is None or when >= p.start) and (p.end is None or when <= p.end)


def x_billing_log(ctx: Ctx) -> Plan:
    m = _meter(ctx)

    def run() -> object:
        return {
            "records": [
                jsonable(r)
                for r in m.billing_records()
                if r.trigger in ("payment_mode", "tariff") and _in_range(ctx, r.at)
            ]
        }

    return _one(ctx, "read_billing_log", run)


def x_daily_log(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(
        ctx,
        "read_daily_log",
        lambda: {"reads": [jsonable(r) for r in m.daily_reads() if _in_range(ctx, r.at)]},
    )


def x_profile(ctx: Ctx) -> Plan:
    m = _meter(ctx)

    def run() -> object:
        reads = [r for r in m.daily_reads() if _in_range(ctx, r.at)]
        return {
            "resolution": "daily",
            "intervals": [{"at": r.at.isoformat(), "total_kwh": r.total_kwh} for r in reads],
        }

    plan = _one(ctx, "read_profile", run)
    plan.warnings.append(
        ("W2", "the simulated meter keeps no half-hourly profile; daily resolution returned")
    )
    return plan


def x_read_tariff(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "read_tariff", lambda: jsonable(m.read_tariff()))


def x_read_prepay_config(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "read_prepay_config", lambda: jsonable(m.read_prepay_config()))


def x_read_balance(ctx: Ctx) -> Plan:
    cached = _gsme_cache(ctx, ("balance",))
    if cached is not None:
        return cached
    m = _meter(ctx)
    return _one(ctx, "read_balance", lambda: {"balance": round(m.prepay_values().balance, 6)})


def x_schedule_create(ctx: Ctx) -> Plan:
    p: ScheduleP = ctx.params
    entry = ctx.service.catalogue.srvs.get(p.srv)
    if entry is None or not entry.applicable or not entry.dcc_scheduled:
        raise ParamError(f"SRV {p.srv} cannot be DCC-scheduled")
    if ctx.device_type not in entry.targets:
        raise ParamError(f"SRV {p.srv} does not apply to a {ctx.device_type}")
    if "schedules_lost" in ctx.service.defects:  # seeded route defect: an id, but nothing kept
        return Plan(route_result={"schedule_id": f"lost-{ctx.request_id}"})
    sid = ctx.service.schedules.create(
        ctx.device.device_id, p.srv, p.params, p.start, p.period_s,
        user=ctx.user, role=ctx.role, reply=ctx.reply_to,
    )  # fmt: skip
    return Plan(route_result={"schedule_id": sid})


def x_schedule_read(ctx: Ctx) -> Plan:
    sid = ctx.params.schedule_id
    return Plan(route_result={"schedules": ctx.service.schedules.view(ctx.device.device_id, sid)})


def x_schedule_delete(ctx: Ctx) -> Plan:
    if not ctx.service.schedules.delete(ctx.device.device_id, ctx.params.schedule_id):
        raise ParamError(f"no schedule {ctx.params.schedule_id} for this device")
    return Plan(route_result={"deleted": ctx.params.schedule_id})


def x_cfg_voltage(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    return _one(ctx, "read_voltage_config", e.voltage_config)


def x_cfg_random(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    return _one(ctx, "read_randomisation", e.randomisation_config)


def x_cfg_billing(ctx: Ctx) -> Plan:
    """6.2.3: the calendar's start and period; an ESME's also as its own calendar says it (``billing_time``,
    ``period``, ``day``: what DUIS's ``ElectricityBillingCalendar`` carries), so a check on those works on
    every route."""
    m = _meter(ctx)

    def run() -> object:
        cal = m.billing_calendar
        out = jsonable(cal)
        if cal is not None and isinstance(m, Esme):
            out |= cal.as_billing_time()
        return {"billing_calendar": out}

    return _one(ctx, "read_billing_calendar", run)


def identity(device: Device) -> dict[str, Any]:
    out: dict[str, Any] = {
        "device_id": device.device_id,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "hardware_version": device.hardware_version,
        "firmware_version": device.firmware_version,
    }
    if isinstance(device, Meter):
        out["serial"] = device.serial
    if isinstance(device, Esme):
        out["variant"] = device.variant
    return out


def x_cfg_identity(ctx: Ctx) -> Plan:
    d = ctx.device
    return _one(ctx, "read_identity", lambda: identity(d))


def x_cfg_thresholds(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    return _one(ctx, "read_power_thresholds", lambda: {"load_limit": jsonable(e.load_limit)})


def x_cfg_mpxn(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "read_mpxn", lambda: {"mpxn": m.mpxn})


def x_cfg_gas(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    if not isinstance(m, Gsme):
        raise ParamError("SRV 6.2.8 needs a GSME")
    return _one(ctx, "read_gas_config", lambda: jsonable(m.conversion))


def x_cfg_mode(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "read_payment_mode", lambda: {"payment_mode": m.payment_mode.value})


def x_cfg_alerts(ctx: Ctx) -> Plan:
    d = ctx.device
    return _one(
        ctx, "read_alert_config", lambda: {"suppressed": [f"0x{c:04X}" for c in sorted(d.alerter.suppressed)]}
    )


def x_load_limit(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    p: LoadLimitP = ctx.params
    limit = LoadLimit(p.threshold_w, p.period_s, p.restoration_s)
    return _one(ctx, "set_load_limit", lambda: e.set_load_limit(limit, at=ctx.at), critical=True)


def x_ll_reset(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    return _one(ctx, "reset_load_limit_counter", e.reset_load_limit_counter)


def x_calendar(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    p: CalendarP = ctx.params
    if p.billing_time is not None:  # the next occurrence by the meter's clock when the Instruction arrives
        at = p.billing_time

        def set_time() -> None:
            m.set_billing_time(at, p.period, p.day)

        return _one(ctx, "set_billing_calendar", set_time, critical=True)
    assert p.start is not None
    cal = BillingCalendar(p.start, p.period)
    return _one(ctx, "set_billing_calendar", lambda: m.set_billing_calendar(cal), critical=True)


def x_sync_clock(ctx: Ctx) -> Plan:
    d = ctx.device

    def run() -> object:
        now = d.clock.now()  # the reference time the command carries, read as it is delivered
        return jsonable(d.synchronise_clock(now, at=now))

    return _one(ctx, "synchronise_clock", run, critical=True)


def x_read_log(ctx: Ctx) -> Plan:
    d = ctx.device
    which = ctx.params.log

    def run() -> object:
        entries = d.event_log() if which == "event" else d.security_log()
        return {"log": which, "entries": [jsonable(e) | {"code": f"0x{e.code:04X}"} for e in entries]}

    return _one(ctx, f"read_{which}_log", run)


def x_update_creds(ctx: Ctx) -> Plan:
    roles = ctx.params.credential_roles or [ctx.cred_role]
    plan = Plan()
    for role in roles:
        plan.instructions.append(_rotate(ctx, role, critical=True))
    return plan


def _rotate(ctx: Ctx, role: str, *, critical: bool, new_owner: str | None = None) -> Instruction:
    d = ctx.device
    service = ctx.service
    old = service.route_key(d.device_id, role)
    new = KeyRef(old.key_id if old.key_id.startswith("S1SP") else f"S1SP-{role.upper()}", old.version + 1)

    def run() -> object:
        return d.update_credentials(role, [new], at=ctx.at)

    def after(_: object) -> None:
        service.set_route_key(d.device_id, role, new)
        if new_owner is not None:
            service.inventory.get(d.device_id).supplier = new_owner

    command = f"update_credentials:{role}"
    action = _authorised(ctx, run, command) if critical else run
    return Instruction(d, command, action, after)


def x_cos(ctx: Ctx) -> Plan:
    new = ctx.params.new_supplier
    user = ctx.service.keys.trust.get(new)
    if user is None or not user.roles & {"IS", "GS"}:
        raise ParamError(f"{new} is not a known supplier User")
    return Plan([_rotate(ctx, "supplier", critical=False, new_owner=new)])


def x_read_creds(ctx: Ctx) -> Plan:
    d = ctx.device
    role = ctx.params.credential_role
    return _one(
        ctx, "read_credentials", lambda: {"credential_role": role, "keys": jsonable(d.read_credentials(role))}
    )


def x_tamper_state(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    state = ctx.params.state
    return _one(ctx, "set_supply_tamper_state", lambda: e.set_supply_tamper_state(state), critical=True)


def x_enable(ctx: Ctx) -> Plan:
    e = _esme(ctx)
    return _one(ctx, "enable_supply", e.enable_supply, critical=True)


def x_disable(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "disable_supply", m.disable_supply, critical=True)


def x_arm(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    return _one(ctx, "arm_supply", m.arm_supply, critical=True)


def x_supply_status(ctx: Ctx) -> Plan:
    cached = _gsme_cache(ctx, ("supply",))
    if cached is not None:
        return cached
    m = _meter(ctx)
    return _one(ctx, "read_supply_status", lambda: {"supply": m.supply_state().value})


def x_inventory_read(ctx: Ctx) -> Plan:
    return Plan(route_result=ctx.service.inventory.get(ctx.device.device_id).view())


def x_decommission(ctx: Ctx) -> Plan:
    if "inventory_updates_ignored" in ctx.service.defects:  # seeded route defect: answered, not done
        return Plan(
            route_result=ctx.service.inventory.get(ctx.device.device_id).view() | {"status": "Decommissioned"}
        )
    ctx.service.move(ctx.device.device_id, "Decommissioned", route_code="E14")
    return Plan(route_result=ctx.service.inventory.get(ctx.device.device_id).view())


def x_inventory_update(ctx: Ctx) -> Plan:
    p: InventoryP = ctx.params
    entry = ctx.service.inventory.get(ctx.device.device_id)
    change = {"status": p.status} if p.status is not None else {"mpxn": p.mpxn}
    if "inventory_updates_ignored" in ctx.service.defects:  # seeded route defect: answered, not done
        return Plan(route_result=entry.view() | change)
    if p.mpxn is not None:
        if not isinstance(ctx.device, Meter):
            raise ParamError("only a meter's inventory entry holds an MPxN")
        entry.mpxn = p.mpxn
    else:
        assert p.status is not None
        ctx.service.move(ctx.device.device_id, p.status, route_code="E6")
    return Plan(route_result=entry.view())


def _ch_for(ctx: Ctx) -> CommsHub:
    if isinstance(ctx.device, CommsHub):
        raise ParamError("the CH itself cannot join or unjoin")
    return ctx.inst.ch


def x_join(ctx: Ctx) -> Plan:
    ch, eui = _ch_for(ctx), ctx.device.device_id
    return Plan([Instruction(ch, "join", lambda: ch.join(eui))])


def x_unjoin(ctx: Ctx) -> Plan:
    ch, eui = _ch_for(ctx), ctx.device.device_id
    return Plan([Instruction(ch, "unjoin", lambda: ch.unjoin(eui))])


def x_device_log(ctx: Ctx) -> Plan:
    ch = ctx.inst.ch
    return Plan([Instruction(ch, "read_device_log", lambda: {"devices": jsonable(ch.han_status())})])


def x_han_log(ctx: Ctx) -> Plan:
    ch = ctx.inst.ch
    if not isinstance(ctx.device, CommsHub):
        raise ParamError("SRV 8.11 targets the CH")
    p: HanLogP = ctx.params
    if not p.add and not p.remove:
        raise ParamError("nothing to add or remove")
    add = {k.upper(): v for k, v in p.add.items()}
    remove = [r.upper() for r in p.remove]

    def run() -> object:
        ch.update_device_log(add, remove)
        return {"device_log": sorted(ch.device_log)}

    def after(result: object) -> None:
        ctx.service.dcc_alert("N24", ch.device_id, ctx.inst.rig_id, {"result": "success"}, ctx.request_id)

    return Plan([Instruction(ch, "update_device_log", run, after)])


def firmware_payload(model: str, version: str) -> bytes:
    """The image the virtual DCC distributes for ``model`` at ``version`` (deterministic bytes)."""
    seed = hashlib.sha256(f"{model}|{version}".encode()).digest()
    return (seed * (FIRMWARE_IMAGE_SIZE // len(seed) + 1))[:FIRMWARE_IMAGE_SIZE]


def _block_writer(device: Device, index: int, block: bytes) -> Callable[[], object]:
    return lambda: device.write_firmware_block(index, block)


def firmware_plan(device: Device, version: str, image_model: str | None = None) -> list[Instruction]:
    """SRV 11.1 as Instructions: announce the image, one per block, then verify."""
    payload = firmware_payload(device.model, version)
    image = FirmwareImage.of(version, image_model or device.model, payload, FIRMWARE_BLOCK_SIZE)
    out = [Instruction(device, "start_firmware_transfer", lambda: device.start_firmware_transfer(image))]
    for i in range(image.blocks):
        block = payload[i * FIRMWARE_BLOCK_SIZE : (i + 1) * FIRMWARE_BLOCK_SIZE]
        out.append(Instruction(device, f"write_firmware_block:{i}", _block_writer(device, i, block)))
    out.append(Instruction(device, "verify_firmware", device.verify_firmware))
    return out


def x_update_fw(ctx: Ctx) -> Plan:
    p: FirmwareP = ctx.params
    if isinstance(ctx.device, CommsHub):
        ctx.service.dcc_alert(
            "N999", ctx.device.device_id, ctx.inst.rig_id, {"status": "UpdateRequested"}, ctx.request_id
        )
    return Plan(firmware_plan(ctx.device, p.version, p.image_model))


def x_read_fw(ctx: Ctx) -> Plan:
    d = ctx.device
    return _one(ctx, "read_firmware_version", lambda: {"firmware_version": d.firmware_version})


def x_activate_fw(ctx: Ctx) -> Plan:
    d = ctx.device
    service = ctx.service

    def after(result: object) -> None:
        service.inventory.get(d.device_id).firmware_version = d.firmware.running
        if isinstance(d, CommsHub):
            service.dcc_alert(
                "N999", d.device_id, ctx.inst.rig_id, {"status": "ActivationSuccessful"}, ctx.request_id
            )

    plan = _one(ctx, "activate_firmware", lambda: d.activate_firmware(at=ctx.at), critical=True)
    plan.instructions[0].after = after
    return plan


def x_configure_alerts(ctx: Ctx) -> Plan:
    d = ctx.device
    plan = Plan(independent=True)
    for setting in ctx.params.alerts:
        code = int(setting.code, 16)
        if code not in ALERTS:
            raise ParamError(f"unknown alert code {setting.code}")

        def run(c: int = code, send: bool = setting.send) -> object:
            d.configure_alert(c, send=send)
            return {"code": f"0x{c:04X}", "send": send}

        plan.instructions.append(Instruction(d, f"configure_alert:0x{code:04X}", run))
    return plan


def x_set_mpxn(ctx: Ctx) -> Plan:
    m = _meter(ctx)
    mpxn = ctx.params.mpxn
    return _one(ctx, "set_mpxn", lambda: m.set_mpxn(mpxn))


Executor = Callable[[Ctx], Plan]
#: SRV → (parameter model, executor). Every SMETS1-applicable SRV of the catalogue has one (tested).
EXECUTORS: dict[str, tuple[type[P], Executor]] = {
    "1.1.1": (TariffP, x_tariff),
    "1.2.1": (PricesP, x_prices),
    "1.5": (BalanceP, x_balance),
    "1.6": (ModeP, x_mode),
    "2.1": (PrepayP, x_prepay),
    "2.2": (TopUpP, x_top_up),
    "2.3": (DebtsP, x_debt),
    "2.5": (NoParams, x_ec),
    "3.1": (MessageP, x_message),
    "3.2": (RestrictP, x_restrict),
    "3.4": (SupplierNameP, x_supplier_name),
    "4.1.1": (NoParams, x_registers),
    "4.1.2": (NoParams, x_tou),
    "4.3": (NoParams, x_prepay_values),
    "4.4.2": (RangeP, x_billing_log),
    "4.6.1": (RangeP, x_daily_log),
    "4.8.1": (RangeP, x_profile),
    "4.11.1": (NoParams, x_read_tariff),
    "4.13": (NoParams, x_read_prepay_config),
    "4.18": (NoParams, x_read_balance),
    "5.1": (ScheduleP, x_schedule_create),
    "5.2": (ScheduleIdP, x_schedule_read),
    "5.3": (ScheduleDeleteP, x_schedule_delete),
    "6.2.1": (NoParams, x_cfg_voltage),
    "6.2.2": (NoParams, x_cfg_random),
    "6.2.3": (NoParams, x_cfg_billing),
    "6.2.4": (NoParams, x_cfg_identity),
    "6.2.5": (NoParams, x_cfg_thresholds),
    "6.2.7": (NoParams, x_cfg_mpxn),
    "6.2.8": (NoParams, x_cfg_gas),
    "6.2.9": (NoParams, x_cfg_mode),
    "6.2.10": (NoParams, x_cfg_alerts),
    "6.4.1": (LoadLimitP, x_load_limit),
    "6.4.2": (NoParams, x_ll_reset),
    "6.8": (CalendarP, x_calendar),
    "6.11": (NoParams, x_sync_clock),
    "6.13": (LogP, x_read_log),
    "6.15.1": (CredRolesP, x_update_creds),
    "6.20.1": (MpxnP, x_set_mpxn),
    "6.22": (AlertsP, x_configure_alerts),
    "6.23": (CosP, x_cos),
    "6.24.1": (CredRoleP, x_read_creds),
    "6.25": (TamperP, x_tamper_state),
    "7.1": (NoParams, x_enable),
    "7.2": (NoParams, x_disable),
    "7.3": (NoParams, x_arm),
    "7.4": (NoParams, x_supply_status),
    "8.2": (NoParams, x_inventory_read),
    "8.3": (NoParams, x_decommission),
    "8.4": (InventoryP, x_inventory_update),
    "8.7.2": (NoParams, x_join),
    "8.8.2": (NoParams, x_unjoin),
    "8.9": (NoParams, x_device_log),
    "8.11": (HanLogP, x_han_log),
    "11.1": (FirmwareP, x_update_fw),
    "11.2": (NoParams, x_read_fw),
    "11.3": (NoParams, x_activate_fw),
}
#: SRVs the route answers from its own records, whatever the device's firmware supports.
ROUTE_SIDE = frozenset({"3.2", "5.1", "5.2", "5.3", "8.2", "8.3", "8.4"})
#: Route-side SRVs allowed whatever the device's inventory status.
ANY_STATUS = frozenset({"8.2", "8.4"})
