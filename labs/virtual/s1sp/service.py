"""The virtual S1SP: request validation, the DSP/DCO gates, execution through the CH, alerts, inventory.

One :class:`S1spService` serves every rig's installation (one CH with its meters and displays). It is
transport-free: :mod:`.server` feeds it decoded messages and gives it a ``reply`` callable per
connection; everything it sends goes through :meth:`S1spService.sign` so every answer carries the S1SP
signature. Checks run in a fixed order and a request is acted on only after all of them passed (the
route never acts on a request it rejected):

E4 unknown SRV → E13 not SMETS1-applicable → E5 unknown device → E9/E8/E10 signer, signature, replay
(the DCO gate for critical SRVs) → E7 role → E6 parameters / future date → E13 firmware → E14 status.

Time: the route's own clock (a :class:`~labs.virtual.clock.SimClock`) stamps alerts, runs DSP-held
future-dated requests and DCC schedules; HAN and WAN latency are simulated seconds slept at the clock's
rate, so a fast lab clock makes the route fast too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from labs.virtual.clock import SimClock
from labs.virtual.devices import (
    Authorisation,
    CommandResult,
    DeviceCommandError,
    Gsme,
    KeyRef,
    PendingCommand,
    RejectCode,
)
from labs.virtual.devices import alerts as A
from labs.virtual.devices.base import Device
from labs.virtual.devices.meter import Meter
from labs.virtual.faults import FaultLog
from labs.virtual.scheduler import EventScheduler

from . import dco_gate, security_log, tampering
from . import executors as X
from .catalogue import SrvCatalogue, SrvEntry, load_srv_catalogue
from .dco_gate import Authenticator
from .held_requests import Deferred, Pending
from .installation import S1SP_KEYS, SMSO_KEY, Installation, Reply, RouteInstallation, ServiceConfig
from .inventory import DCC_STATUSES, ROLE_TO_TYPE, Inventory, InventoryEntry, InventoryError, Status
from .keys import KeyMaterial, TrustedUser, load_or_create
from .outcomes import DCO_REFUSALS, failure, first_error, overall
from .route_defects import FACTORY_CONFIGURATION, changes_device, fuel_unchecked, status_unchecked
from .schedules import Schedule, Schedules
from .wire import VERSION, WireError, canonical

log = logging.getLogger(__name__)


class S1spService:
    """The virtual S1SP/DCO over every rig's installation (see the module docstring for the checks)."""

    def __init__(
        self,
        installations: Sequence[RouteInstallation],
        *,
        clock: SimClock,
        keys: KeyMaterial,
        catalogue: SrvCatalogue,
        epcl: Sequence[Any],
        config: ServiceConfig,
    ) -> None:
        from .migration import EpclEntry, MigrationFault

        self.clock = clock
        self.keys = keys
        self.catalogue = catalogue
        self.config = config
        self.epcl: list[EpclEntry] = [
            e if isinstance(e, EpclEntry) else EpclEntry.model_validate(e) for e in epcl
        ]
        self.installations: dict[str, Installation] = {}
        self.devices: dict[str, tuple[Installation, Device]] = {}
        self.inventory = Inventory()
        self.restrictions: dict[str, datetime] = {}
        self.schedules = Schedules()
        self.subscribers: set[Reply] = set()
        self.counters: dict[str, int] = {}
        self.pending: list[Pending] = []
        self.deferred: list[Deferred] = []
        self.future: dict[tuple[str, int], tuple[str, int, int, Callable[[object], None] | None]] = {}
        self.migration_faults: dict[str, list[MigrationFault]] = {}
        #: Seeded defects of the route itself (lab file ``route: {defects: [...]}``, ROUTE_DEFECTS):
        #: the packs' negative and misuse tests must be shown able to fail too.
        self.defects: frozenset[str] = frozenset()
        #: Answers kept by devices with the seeded defect ``read_responses_cached``.
        self._read_cache: dict[tuple[str, str], object] = {}
        self.alert_log: list[dict[str, Any]] = []
        #: DCO / DSP gate refusals, oldest first (read with the ``security_log`` message).
        self.security_log: list[dict[str, Any]] = []
        #: Pending ``tamper`` route faults per device (EUI-64): one kind per Instruction to spoil.
        self.tampers: dict[str, list[str]] = {}
        #: Where route faults are logged (the lab's fault log; set by the lab process).
        self.fault_log: FaultLog | None = None
        self.handled = 0
        self.security_ids = itertools.count(1)
        self.retired_keys: dict[str, dict[str, KeyRef]] = {}
        self._alert_ids = itertools.count(1)
        self._route_keys: dict[str, dict[str, KeyRef]] = {}
        self._ticker: asyncio.Task[None] | None = None
        #: The timer heap of the event-driven clock (the lab's, or the route's own; config.clock).
        self.scheduler: EventScheduler | None = None
        self._own_scheduler = False
        self._tasks: set[asyncio.Task[Any]] = set()
        for spec in installations:
            self._install(spec)

    # -- set-up ----------------------------------------------------------------------------------------------
    def _install(self, spec: RouteInstallation) -> None:
        if spec.rig_id in self.installations:
            raise ValueError(f"two installations for rig {spec.rig_id}")
        inst = Installation(spec)
        self.installations[spec.rig_id] = inst
        ch = spec.ch
        for device in inst.devices():
            if device.device_id in self.devices:
                raise ValueError(f"device {device.device_id} is in two installations")
            self.devices[device.device_id] = (inst, device)
            self._route_keys[device.device_id] = {"smso": SMSO_KEY} if spec.master_keys_available else {}
            if device is not ch:
                ch.attach(device)
                if device.device_id not in ch.device_log:
                    ch.update_device_log({device.device_id: device.role})  # type: ignore[dict-item]
                if device.device_id not in ch.joined:
                    with contextlib.suppress(DeviceCommandError):
                        ch.join(device.device_id)
        if spec.commissioned:
            now = self.clock.now()
            for device in inst.devices():
                self.inventory.add(self.entry_for(inst, device))
                walk: tuple[Status, ...] = (
                    "Pending",
                    "Whitelisted",
                    "InstalledNotCommissioned",
                    "Commissioned",
                )
                for status in walk:
                    self.inventory.move(device.device_id, status, now)
                self.commission_keys(device)
                self.link(inst, device.device_id)
        for device in inst.devices():
            device.drain_alerts()  # installation history, not the route's to report

    def entry_for(self, inst: Installation, device: Device) -> InventoryEntry:
        return InventoryEntry(
            device.device_id,
            ROLE_TO_TYPE[device.role],
            device.manufacturer,
            device.model,
            device.firmware.running,
            inst.rig_id,
            inst.spec.installation,
            mpxn=(device.mpxn or None) if isinstance(device, Meter) else None,
        )

    def commission_keys(self, device: Device) -> None:
        """Install the S1SP's credentials (commissioning) directly on the model."""
        for role, key in S1SP_KEYS.items():
            device.update_credentials(role, [key])
            self.set_route_key(device.device_id, role, key)

    def link(self, inst: Installation, device_id: str) -> None:
        entry = self.inventory.get(device_id)
        entry.s1sp, entry.region = self.catalogue.s1sp_id, self.catalogue.region
        entry.supplier, entry.network_operator = inst.spec.supplier, inst.spec.network_operator

    def route_key(self, device_id: str, role: str) -> KeyRef:
        """The key the S1SP signs ``role`` commands with for this device (SMSO key before migration)."""
        keys = self._route_keys.get(device_id, {})
        return keys.get(role) or keys.get("smso") or KeyRef("NO-KEY", 0)

    def set_route_key(self, device_id: str, role: str, key: KeyRef) -> None:
        """The S1SP signs ``role`` commands for the device with ``key`` from now on; the key it replaces
        is remembered as retired (what the ``retired_credential`` tamper fault signs with)."""
        keys = self._route_keys.setdefault(device_id, {})
        old = keys.get(role)
        if old is not None and old != key:
            self.retired_keys.setdefault(device_id, {})[role] = old
        keys[role] = key

    # -- route faults: tampered Instructions ---------------------------------------------------------------
    def device_name(self, device_id: str) -> str:
        """``<rig>/<role>`` of a device the route serves (the lab file's name for it)."""
        inst, device = self.devices[device_id]
        return f"{inst.rig_id}/{device.role}"

    def tamper(self, device_id: str, kind: str = "signature", count: int = 1) -> list[str]:
        """Fault injection: spoil the device-level authentication of the next ``count`` Instructions the
        S1SP sends to ``device_id`` (:func:`.tampering.tamper`). Returns what is pending."""
        return tampering.tamper(self, device_id, kind, count)

    def clear_tamper(self, device_id: str) -> int:
        """Drop the pending tamper faults of ``device_id``; returns how many there were."""
        return tampering.clear(self, device_id)

    def authorisation(
        self, device: Device, role: str, key: KeyRef, *, command: str, request_id: str | None
    ) -> Authorisation:
        """How the S1SP authenticates one Instruction to ``device`` (:func:`.tampering.authorisation`)."""
        return tampering.authorisation(self, device, role, key, command=command, request_id=request_id)

    def log_fault(self, kind: str, detail: dict[str, Any]) -> None:
        if self.fault_log is not None:
            self.fault_log.add("route", kind, json.dumps(detail, sort_keys=True))

    def dcc_status(self, device_id: str, status: object) -> tuple[Status | None, Status]:
        """The DCC's own change of ``device_id``'s inventory status, outside any User's SRV: Suspended
        (its model left the CPL) or Commissioned again; the transition table decides. Returns the
        status before and after; logged in the fault log. Raises ValueError on an impossible change."""
        if status not in DCC_STATUSES:
            raise ValueError(f"the DCC sets no status {status!r} (it sets {', '.join(DCC_STATUSES)})")
        entry = self.inventory.get(device_id)
        was = entry.status
        try:
            self.inventory.move(device_id, status, self.clock.now())
        except InventoryError as exc:
            raise ValueError(str(exc)) from None
        self.log_fault("dcc_status", {"target": self.device_name(device_id), "was": was, "status": status})
        return was, entry.status or status

    def move(self, device_id: str, status: Status, *, route_code: str = "E14") -> None:
        try:
            self.inventory.move(device_id, status, self.clock.now())
        except InventoryError as exc:
            raise X.RouteSideError(route_code, str(exc)) from None

    # -- outgoing messages -----------------------------------------------------------------------------------
    def sign(self, message: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in message.items() if k != "sig"}
        return body | {"sig": self.keys.sign(canonical(body))}

    def now_iso(self) -> str:
        return self.clock.now().isoformat()

    def response(
        self,
        rid: str | None,
        code: str,
        text: str = "",
        *,
        srv: str | None = None,
        device: str | None = None,
        final: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "response",
            "id": rid,
            "code": code,
            "final": final,
            "text": text,
            "srv": srv,
            "device": device,
            "at": self.now_iso(),
        }
        msg.update(extra)
        return self.sign(msg)

    def _broadcast(self, alert: dict[str, Any]) -> None:
        signed = self.sign(alert)
        self.alert_log.append(signed)
        del self.alert_log[:-1000]
        for send in list(self.subscribers):
            send(signed)

    def _alert(
        self,
        kind: str,
        code: str,
        name: str,
        device: str | None,
        rig: str | None,
        details: dict[str, Any],
        request_id: str | None,
        **extra: Any,
    ) -> None:
        self._broadcast(
            {
                "type": "alert",
                "alert_id": next(self._alert_ids),
                "kind": kind,
                "code": code,
                "name": name,
                "device": device,
                "rig": rig,
                "at": self.now_iso(),
                "details": X.jsonable(details),
                "request_id": request_id,
            }
            | extra
        )

    def dcc_alert(
        self,
        code: str,
        device: str | None,
        rig: str | None,
        details: dict[str, Any],
        request_id: str | None = None,
    ) -> None:
        info = self.catalogue.dcc_alerts.get(code)
        self._alert("dcc", code, info.name if info else code, device, rig, details, request_id)

    def s1sp_alert(
        self,
        code: str,
        device: str | None,
        rig: str | None,
        details: dict[str, Any],
        request_id: str | None = None,
        utrn: str | None = None,
    ) -> None:
        """S1SP alerts carry a free-text code and an optional 20-digit UTRN (SMETS1 notes)."""
        self._alert("s1sp", code, code, device, rig, details, request_id, utrn=utrn)

    def _device_alerts(self) -> None:
        for inst in self.installations.values():
            for device in inst.devices():
                self._forward_alerts(inst, device)

    def _forward_alerts(self, inst: Installation, device: Device, *, caught_up: bool = False) -> None:
        """Send the alerts ``device`` raised to the service users (and complete future-dated requests).
        ``caught_up``: the device was just advanced (by the scheduler), so its outbox is current."""
        if caught_up and not device.outbox:
            return
        for alert in device.alerter.drain() if caught_up else device.drain_alerts():
            extra: dict[str, Any] = {"request_id": None}
            number = alert.details.get("instruction")
            if alert.code in (A.FUTURE_DATED_ACTIONED, A.FUTURE_DATED_NOT_ACTIONED) and isinstance(
                number, int
            ):
                hit = self.future.pop((device.device_id, number), None)
                if hit is not None:
                    rid, n, total, after = hit
                    extra = {"request_id": rid, "instruction": n, "total_instructions": total}
                    if after is not None and alert.code == A.FUTURE_DATED_ACTIONED:
                        after(None)
            self._broadcast(
                {
                    "type": "alert",
                    "alert_id": next(self._alert_ids),
                    "kind": "device",
                    "code": alert.hex_code,
                    "name": alert.name,
                    "device": alert.device,
                    "rig": inst.rig_id,
                    "at": alert.at.isoformat() if alert.at else None,
                    "details": X.jsonable(dict(alert.details)),
                }
                | extra
            )

    # -- incoming messages -----------------------------------------------------------------------------------
    async def handle(
        self, msg: dict[str, Any], reply: Reply, *, authenticator: Authenticator | None = None
    ) -> None:
        """Answer one decoded message; never raises (an internal failure is E16, not a crash).

        ``authenticator`` replaces the framed route's signature check for a front end that verified
        the request its own way (the virtual DSP); every other check runs as for a framed request."""
        rid = msg.get("id") if isinstance(msg.get("id"), str) else None
        try:
            kind = msg["type"]
            if kind == "hello":
                reply(
                    self.sign(
                        {
                            "type": "welcome",
                            "id": rid,
                            "s1sp": self.catalogue.s1sp_id,
                            "version": VERSION,
                            "max_payload": self.config.max_payload,
                            "at": self.now_iso(),
                        }
                    )
                )
            elif kind == "request":
                await self._request(msg, reply, authenticator)
            elif kind == "migrate":
                from .migration import handle_migrate

                await handle_migrate(self, msg, reply)
            elif kind == "security_log":
                reply(self._read_security_log(msg, rid))
            else:
                raise WireError("E1", f"unknown message type {kind!r}", rid)
        except WireError as exc:
            if self._silently_accepts(exc):  # a seeded route defect: the rejection is lost
                reply(self.response(exc.request_id or rid, "I0", "", instructions=[], warnings=[]))
                return
            if exc.code in DCO_REFUSALS:
                self._refused(msg, exc.code, exc.message, exc.request_id or rid)
            reply(self.response(exc.request_id or rid, exc.code, exc.message))
        except X.RouteSideError as exc:
            reply(self.response(rid, exc.code, str(exc)))
        except Exception as exc:  # the route must survive anything a request provokes
            log.exception("request %s failed inside the route", rid)
            reply(self.response(rid, "E16", f"internal failure: {type(exc).__name__}: {exc}"))
        finally:
            self.handled += 1

    # -- the route's security log -------------------------------------------------------------------------
    def _refused(self, msg: dict[str, Any], code: str, reason: str, rid: str | None) -> None:
        security_log.record_refusal(self, msg, code, reason, rid)

    def _read_security_log(self, msg: dict[str, Any], rid: str | None) -> dict[str, Any]:
        return security_log.read(self, msg, rid)

    def _silently_accepts(self, exc: WireError) -> bool:
        return dco_gate.silently_accepts(self, exc)

    def authenticate(
        self, msg: dict[str, Any], rid: str, *, required: bool, authenticator: Authenticator | None = None
    ) -> TrustedUser:
        """DSP authentication and, for critical requests, the DCO gate (:func:`.dco_gate.authenticate`)."""
        return dco_gate.authenticate(self, msg, rid, required=required, authenticator=authenticator)

    def pick_role(self, msg: dict[str, Any], user: TrustedUser, entry: SrvEntry, dtype: str, rid: str) -> str:
        """The role the request is sent in (:func:`.dco_gate.pick_role`)."""
        return dco_gate.pick_role(self, msg, user, entry, dtype, rid)

    async def _request(
        self, msg: dict[str, Any], reply: Reply, authenticator: Authenticator | None = None
    ) -> None:
        rid = msg.get("id")
        if not isinstance(rid, str) or not 1 <= len(rid) <= 64:
            raise WireError("E1", "a request needs an id (string of 1-64 characters)")
        srv = msg.get("srv")
        entry = self.catalogue.srvs.get(srv) if isinstance(srv, str) else None
        if entry is None or not isinstance(srv, str):
            raise WireError("E4", f"unknown SRV {srv!r}", rid)
        if not entry.applicable:
            raise WireError("E13", f"SRV {srv} does not apply to SMETS1 ({entry.smets1})", rid)
        device_id = msg.get("device")
        hit = self.devices.get(device_id.upper()) if isinstance(device_id, str) else None
        if hit is None:
            raise WireError("E5", f"unknown device {device_id!r}", rid)
        inst, device = hit
        dtype = ROLE_TO_TYPE[device.role]
        user = self.authenticate(msg, rid, required=entry.critical, authenticator=authenticator)
        #: A refusal a seeded defect answers only after the request was carried out (``acted_then_*``).
        late: WireError | None = None
        try:
            role = self.pick_role(msg, user, entry, dtype, rid)
            fuel_ok = self.catalogue.may_act_on(role, dtype) or fuel_unchecked(self.defects, srv)
            if dtype not in entry.targets or not fuel_ok:
                raise WireError(
                    "E7", f"role {role} may not send SRV {srv} to a {dtype}", rid, device_type=True
                )
        except WireError as exc:
            if "acted_then_role_refused" not in self.defects or dtype not in entry.targets:
                raise
            late = exc
            role = next((r for r in entry.roles if self.catalogue.may_act_on(r, dtype)), entry.roles[0])
        model = X.EXECUTORS[srv][0]
        params = msg.get("params", {})
        try:
            parsed = model.model_validate(params if params is not None else {})
        except ValidationError as exc:
            raise WireError("E6", f"invalid params: {first_error(exc)}", rid) from None
        at = self._future_date(msg, entry, rid)
        if srv not in X.ROUTE_SIDE and srv not in device.profile.srvs:
            raise WireError(
                "E13", f"{device.model} firmware {device.firmware.running} does not support SRV {srv}", rid
            )
        if srv not in X.ANY_STATUS and not status_unchecked(
            self.defects, critical=entry.critical, device_type=dtype
        ):
            status = self.inventory.entries.get(device.device_id)
            if status is None or status.status != "Commissioned":
                refusal = WireError(
                    "E14", f"device status is {status.status if status else 'not in inventory'}", rid
                )
                if "acted_then_status_refused" not in self.defects:
                    raise refusal
                late = late or refusal
        if late is not None:  # seeded: the Instructions go out, the refusal is answered afterwards

            def unheard(_answer: dict[str, Any]) -> None:
                return None

            quiet = X.Ctx(self, inst, device, dtype, srv, parsed, role, user.user_id, at, rid, unheard)
            await self.execute(quiet, unheard)
            raise late
        ctx = X.Ctx(self, inst, device, dtype, srv, parsed, role, user.user_id, at, rid, reply)
        if at is not None and entry.future_dating == "dsp":
            held = Deferred(ctx, at)
            self.deferred.append(held)
            self._arm(held.due, ("deferred", id(held)), self._run_deferred)
            reply(
                self.response(
                    rid,
                    "I99",
                    f"held by the DSP until {at.isoformat()}",
                    srv=srv,
                    device=device.device_id,
                    final=False,
                )
            )
            return
        await self.execute(ctx, reply)

    def _future_date(self, msg: dict[str, Any], entry: SrvEntry, rid: str) -> datetime | None:
        return dco_gate.future_date(self, msg, entry, rid)

    # -- execution -------------------------------------------------------------------------------------------
    async def execute(self, ctx: X.Ctx, reply: Reply) -> None:
        srv, eui = ctx.srv, ctx.device.device_id
        try:
            plan = X.EXECUTORS[srv][1](ctx)
        except X.ParamError as exc:
            if "accepts_invalid_parameters" in self.defects:  # seeded: the rejection is lost
                reply(
                    self.response(ctx.request_id, "I0", "", srv=srv, device=eui, instructions=[], warnings=[])
                )
                return
            reply(self.response(ctx.request_id, "E6", str(exc), srv=srv, device=eui))
            return
        except InventoryError as exc:
            reply(self.response(ctx.request_id, "E14", str(exc), srv=srv, device=eui))
            return
        if plan.route_result is not None:
            reply(
                self.response(
                    ctx.request_id, "I0", "answered by the DCC", srv=srv, device=eui, result=plan.route_result
                )
            )
            return
        total = len(plan.instructions)
        outcomes: list[dict[str, Any]] = []
        tickets: dict[int, PendingCommand] = {}
        stop = False
        async with ctx.inst.lock:
            for n, ins in enumerate(plan.instructions, 1):
                base = {"number": n, "total": total, "command": ins.command, "target": ins.target.device_id}
                if stop:
                    outcomes.append(base | {"outcome": "not_sent"})
                    continue
                if not plan.cached:
                    await self.sleep_sim(
                        self.config.wan_latency_s if ins.target is ctx.inst.ch else self.config.han_latency_s
                    )
                try:
                    value = self.send(ctx.inst, ins)
                except DeviceCommandError as exc:
                    outcomes.append(base | failure(exc))
                    stop = not plan.independent
                    continue
                if isinstance(value, PendingCommand):
                    tickets[n - 1] = value
                    outcomes.append(base | {"outcome": "queued", "queued_at": value.queued_at.isoformat()})
                else:
                    outcomes.append(base | self.actioned(ctx, ins, n, total, value))
        if tickets:
            gsme = ctx.inst.spec.gsme
            interval = gsme.wake_interval if gsme is not None else timedelta(seconds=1800)
            deadline = ctx.device.clock.now() + interval * self.config.gsme_timeout_wakes
            queued = Pending(ctx, plan, outcomes, tickets, deadline)
            self.pending.append(queued)
            self._arm_pending(queued)
            reply(
                self.response(
                    ctx.request_id,
                    "I99",
                    "queued at the CH until the GSME wakes",
                    srv=srv,
                    device=eui,
                    final=False,
                    instructions=outcomes,
                )
            )
            return
        self.finish(ctx, plan, outcomes, reply)

    def send(self, inst: Installation, ins: X.Instruction, *, migrating: bool = False) -> object:
        """Deliver one Instruction through the CH (the CH itself needs its WAN)."""
        ch, target = inst.ch, ins.target
        lost = not migrating and target.has_defect("acknowledges_without_applying")
        if lost and changes_device(ins.command):
            ins = X.Instruction(target, ins.command, lambda: None, ins.after)  # acknowledged, not done
        factory: dict[str, object] = {}
        if not migrating and target.has_defect("identity_misreported") and ins.command == "read_identity":
            factory = {"serial": "000000000000"}  # the serial the firmware was built with
        if not migrating and target.has_defect("configuration_misreported"):
            factory = FACTORY_CONFIGURATION.get(ins.command, {})
        if factory:
            honest = ins.action

            def factory_values() -> object:  # what the firmware was built with, not the device's own
                answer = honest()
                return answer | factory if isinstance(answer, dict) else answer

            ins = X.Instruction(target, ins.command, factory_values, ins.after)
        if not migrating and target.has_defect("read_responses_cached") and ins.command.startswith("read_"):
            key, live = (target.device_id, ins.command), ins.action
            cache = self._read_cache

            def cached() -> object:  # the first answer to each read, for ever after
                if key not in cache:
                    cache[key] = live()
                return cache[key]

            ins = X.Instruction(target, ins.command, cached, ins.after)
        if target is ch:
            if not ch.wan_connected:
                raise DeviceCommandError(RejectCode.WAN_UNAVAILABLE, "the CH has no WAN connection")
            if not ch.powered:
                raise DeviceCommandError(RejectCode.NOT_POWERED, "the CH has no power")
            return ins.action()
        if isinstance(target, Gsme):
            return ch.send_to_gsme(target.device_id, ins.command, ins.action)
        return ch.send_now(target.device_id, ins.action)

    def actioned(self, ctx: X.Ctx, ins: X.Instruction, n: int, total: int, value: object) -> dict[str, Any]:
        if isinstance(value, CommandResult) and not value.executed and value.instruction is not None:
            self.future[(ins.target.device_id, value.instruction)] = (ctx.request_id, n, total, ins.after)
            return {
                "outcome": "scheduled",
                "scheduled_for": value.scheduled_for.isoformat() if value.scheduled_for else None,
                "device_instruction": value.instruction,
            }
        if ins.after is not None:
            ins.after(value)
        out: dict[str, Any] = {"outcome": "actioned"}
        if value is not None:
            out["result"] = X.jsonable(value)
        return out

    def finish(self, ctx: X.Ctx, plan: X.Plan, outcomes: list[dict[str, Any]], reply: Reply) -> None:
        code, warnings = overall(outcomes)
        warnings = [{"code": c, "text": t} for c, t in plan.warnings] + warnings
        extra: dict[str, Any] = {"instructions": outcomes, "warnings": warnings}
        if len(outcomes) == 1 and "result" in outcomes[0]:
            extra["result"] = outcomes[0]["result"]
        failed = next((o for o in outcomes if o["outcome"] == "failed"), None)
        text = failed.get("message", "") if failed and code.startswith("E") else ""
        reply(self.response(ctx.request_id, code, text, srv=ctx.srv, device=ctx.device.device_id, **extra))

    async def sleep_sim(self, seconds: float) -> None:
        if seconds > 0 and self.clock.rate > 0:
            await asyncio.sleep(seconds / self.clock.rate)

    # -- housekeeping ---------------------------------------------------------------------------------------
    # Alerts pushed, GSME-queued requests completed, DSP-held requests and DCC schedules run. By default
    # event-driven (config.clock "events"): each device and each held request has a timer on one heap
    # (labs.virtual.scheduler), and a device touched by anyone is looked at right after. config.clock
    # "poll" keeps the former pass over everything every tick_s, for benchmarks to compare with.
    def start(self) -> None:
        """Start housekeeping (idempotent; needs a running loop)."""
        if self.config.clock == "poll":
            if self._ticker is None or self._ticker.done():
                self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
            return
        if self.scheduler is None:
            self.scheduler = EventScheduler(self.clock)
            self._own_scheduler = True
            self.scheduler.watch(d for inst in self.installations.values() for d in inst.devices())
        self.scheduler.subscribe(self._on_device)
        self.schedules.on_created = self._arm_schedule
        for held in self.deferred:
            self._arm(held.due, ("deferred", id(held)), self._run_deferred)
        for sched in self.schedules.items.values():
            self._arm_schedule(sched)
        for queued in self.pending:
            self._arm_pending(queued)

    async def stop(self) -> None:
        tasks = [t for t in (self._ticker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._ticker = None
        if self.scheduler is not None:
            self.scheduler.unsubscribe(self._on_device)
            self.schedules.on_created = None
            if self._own_scheduler:
                self.scheduler.close()
                self.scheduler = None
                self._own_scheduler = False

    def _arm(self, when: datetime, key: tuple[str, int], callback: Callable[[], None]) -> None:
        if self.scheduler is not None and self.config.clock == "events":
            self.scheduler.at(when, key, callback)

    def _arm_pending(self, queued: Pending) -> None:
        """Its deadline (a GSME that never wakes): completion itself follows the GSME's wakes."""
        self._arm(queued.deadline, ("pending", id(queued)), lambda: self._complete_pending(queued.ctx.inst))

    def _arm_schedule(self, sched: Schedule) -> None:
        self._arm(sched.next_due, ("schedule", id(sched)), self._run_schedules)

    def _on_device(self, device: Device) -> None:
        """The scheduler looked at ``device`` (it was due, or someone touched it): complete what waited
        on it, then forward its alerts — the order of the polling pass."""
        hit = self.devices.get(device.device_id)
        if hit is None or hit[1] is not device:
            return
        inst = hit[0]
        if self.pending and (device is inst.spec.gsme or device is inst.ch):
            self._complete_pending(inst)
        self._forward_alerts(inst, device, caught_up=True)

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick_forever(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # keep serving whatever a model does
                log.exception("route housekeeping failed")
            await asyncio.sleep(self.config.tick_s)

    def tick(self) -> None:
        """One polling pass over everything (config.clock "poll")."""
        self._complete_pending()
        self._run_deferred()
        self._run_schedules()
        self._device_alerts()

    def _run_deferred(self) -> None:
        """Execute the DSP-held requests whose date has come."""
        now = self.clock.now()
        due, self.deferred = (
            [d for d in self.deferred if d.due <= now],
            [d for d in self.deferred if d.due > now],
        )
        for d in due:
            if d.ctx.reply_to is not None:
                self.spawn(self.execute(d.ctx, d.ctx.reply_to))
        for d in self.deferred:  # a timer that fired a hair early, or a clock set back
            self._arm(d.due, ("deferred", id(d)), self._run_deferred)

    def _run_schedules(self) -> None:
        """Run the DCC schedules that are due; book their next runs."""
        now = self.clock.now()
        for sched in list(self.schedules.items.values()):
            if sched.next_due <= now:
                sched.runs += 1
                sched.next_due += sched.period
                self.spawn(self._run_schedule(sched))
            self._arm_schedule(sched)

    def _complete_pending(self, inst: Installation | None = None) -> None:
        """Answer the GSME-queued requests (of ``inst``, or all) whose Instructions were delivered, or
        that failed: HAN error, or no wake before the deadline."""
        for p in list(self.pending):
            if inst is not None and p.ctx.inst is not inst:
                continue
            gsme = p.ctx.inst.spec.gsme
            now = p.ctx.device.clock.now()
            for gsme_dev in [gsme] if gsme is not None else []:
                gsme_dev.advance()
            if all(t.done for t in p.tickets.values()):
                self.pending.remove(p)
                for index, ticket in p.tickets.items():
                    o = p.outcomes[index]
                    base = {k: o[k] for k in ("number", "total", "command", "target")}
                    if ticket.error is not None:
                        p.outcomes[index] = base | failure(ticket.error)
                    else:
                        ins = p.plan.instructions[index]
                        p.outcomes[index] = base | self.actioned(
                            p.ctx, ins, o["number"], o["total"], ticket.result
                        )
                    p.outcomes[index]["delivered_at"] = (
                        ticket.delivered_at.isoformat() if ticket.delivered_at else None
                    )
                if p.ctx.reply_to is not None:
                    self.finish(p.ctx, p.plan, p.outcomes, p.ctx.reply_to)
                continue
            han_error = p.ctx.inst.ch.han_error(gsme.device_id) if gsme is not None else None
            if han_error is not None or now >= p.deadline:
                self.pending.remove(p)
                code, reason = ("E12", han_error) if han_error else ("E15", "timeout")
                for index, ticket in p.tickets.items():
                    if not ticket.done and gsme is not None and ticket in gsme.pending:
                        gsme.pending.remove(ticket)
                    o = p.outcomes[index]
                    p.outcomes[index] = {k: o[k] for k in ("number", "total", "command", "target")} | {
                        "outcome": "failed",
                        "code": code,
                        "reason": reason,
                        "message": f"GSME not heard on the HAN (HAN error {han_error})"
                        if han_error
                        else "GSME did not wake in time",
                    }
                if han_error:
                    self.s1sp_alert(
                        "HanErrorGT01",
                        gsme.device_id if gsme else None,
                        p.ctx.inst.rig_id,
                        {"srv": p.ctx.srv},
                        p.ctx.request_id,
                    )
                if p.ctx.reply_to is not None:
                    self.finish(p.ctx, p.plan, p.outcomes, p.ctx.reply_to)

    async def _run_schedule(self, sched: Schedule) -> None:
        hit = self.devices.get(sched.device_id)
        if hit is None or sched.reply is None:
            return
        inst, device = hit
        model, _ = X.EXECUTORS[sched.srv]
        rid = f"{sched.schedule_id}#{sched.runs}"

        def reply(message: dict[str, Any]) -> None:
            assert sched.reply is not None
            sched.reply(self.sign(message | {"schedule_id": sched.schedule_id}))

        try:
            params = model.model_validate(sched.params)
        except ValidationError as exc:
            reply(self.response(rid, "E6", first_error(exc), srv=sched.srv, device=sched.device_id))
            return
        ctx = X.Ctx(
            self,
            inst,
            device,
            ROLE_TO_TYPE[device.role],
            sched.srv,
            params,
            sched.role,
            sched.user,
            None,
            rid,
            reply,
        )
        await self.execute(ctx, reply)


def build_service(
    installations: Sequence[RouteInstallation],
    *,
    clock: SimClock,
    keys_dir: Path,
    epcl: Sequence[Any] | None = None,
    config: ServiceConfig | None = None,
    catalogue: SrvCatalogue | None = None,
) -> S1spService:
    """The virtual S1SP over the given installations.

    Key material is loaded from (or created in) ``keys_dir``. ``epcl`` lists the EPCL entries data
    validation checks installations against (``EpclEntry`` or plain mappings); ``None`` derives one
    entry per installation from its devices as they are (see :func:`.migration.epcl_from_installations`).
    """
    from .migration import epcl_from_installations

    keys = load_or_create(keys_dir)
    entries = list(epcl) if epcl is not None else epcl_from_installations(installations)
    return S1spService(
        installations,
        clock=clock,
        keys=keys,
        catalogue=catalogue or load_srv_catalogue(),
        epcl=entries,
        config=config or ServiceConfig(),
    )
