"""Migration of dormant, active and mixed SMETS1 installations by the virtual S1SP.

Phases (SMETS1 notes): authorisation (Migration Authorisation for active devices; a Dormant Meter
Migration Schedule Notification — and a Dormant Meter FW Upgrade Schedule Notification where firmware
must be upgraded first — for dormant ones) → **Data Validation** (installation record against the EPCL,
inventory uniqueness, consistency between the devices and the CH device log) → **firmware upgrade** of
dormant devices that need it → **Device Testing** (the S1SP connects with the migrated SMSO credentials
and reads identity, firmware and configuration) → **Commissioning** (credentials replaced so the old
SMSO loses access — checked; inventory Commissioned with the S1SP; supplier and network operator
linked). Every step is an S1SP alert (the notifications). Failed attempts are retried under the
:class:`~.installation.RetryStrategy`; the exclusion categories each end the migration with a
``MigrationExcluded`` notification. A GSME with HAN error GT01 is excluded and the rest migrates.

In a *mixed* installation the gas side (the GSME) is the dormant part and everything else is active.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from labs.virtual.clock import SimClock
from labs.virtual.devices import (
    Authorisation,
    CommsHub,
    DeviceCommandError,
    Gsme,
    KeyRef,
    PendingCommand,
    RejectCode,
)
from labs.virtual.devices import load_catalogue as load_device_catalogue
from labs.virtual.devices.base import Device
from labs.virtual.devices.meter import Meter

from . import executors as X
from .installation import S1SP_KEYS, SMSO_KEY, Installation, Reply, RouteInstallation, ServiceConfig
from .inventory import Inventory, InventoryEntry, InventoryError
from .keys import TrustedUser
from .wire import WireError

ExclusionCategory = Literal[
    "missing_master_keys",
    "no_wan_before_migration",
    "no_wan_while_migrating",
    "five_failed_attempts",
    "data_validation_failed",
]
ROLES = ("ch", "esme", "gsme", "ppmid", "ihd")
TYPE_NAMES = {"dormant": "Dormant", "active": "Active", "mixed": "Mixed"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EpclDevice(_Strict):
    manufacturer: str = Field(max_length=30)
    model: str = Field(max_length=30)
    hardware_version: str
    firmware_version: str
    variant: str | None = None


class EpclEntry(_Strict):
    """One Eligible Product Combinations List entry (columns per the SMETS1 notes)."""

    dmc_id: str
    smso: str = "IOC"
    s1sp: str = "S1SP-VIRTUAL"
    ch: EpclDevice
    esme: EpclDevice
    gsme: EpclDevice | None = None
    ppmid: EpclDevice | None = None
    ihd: EpclDevice | None = None
    installation_types: list[Literal["Active", "Dormant", "Mixed"]] = Field(min_length=1)
    date_first_added: date | None = None


@dataclass
class MigrationFault:
    """Fault injection for one rig's migration: at the start of ``phase`` (``firmware_upgrade``,
    ``device_testing`` or ``commissioning``) lose the CH's WAN (``wan_loss``, it stays lost) or fail the
    attempt (``device_error``), ``times`` times."""

    phase: Literal["firmware_upgrade", "device_testing", "commissioning"]
    kind: Literal["wan_loss", "device_error"]
    times: int = 1


class AttemptFailed(Exception):
    def __init__(self, kind: Literal["wan", "device", "injected"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class GasHanError(Exception):
    """The GSME shows HAN error GT01: exclude gas, migrate the rest."""


class MigrationRoute(Protocol):
    """What a migration may ask of the route (the service implements it). Declared here, by the
    migration, so it need not import the service that starts it."""

    clock: SimClock
    config: ServiceConfig
    defects: frozenset[str]
    epcl: list[EpclEntry]
    installations: dict[str, Installation]
    inventory: Inventory
    migration_faults: dict[str, list[MigrationFault]]

    def authenticate(self, msg: dict[str, Any], rid: str, *, required: bool) -> TrustedUser: ...

    def authorisation(
        self, device: Device, role: str, key: KeyRef, *, command: str, request_id: str | None
    ) -> Authorisation: ...

    def entry_for(self, inst: Installation, device: Device) -> InventoryEntry: ...

    def link(self, inst: Installation, device_id: str) -> None: ...

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
    ) -> dict[str, Any]: ...

    def route_key(self, device_id: str, role: str) -> KeyRef: ...

    def s1sp_alert(
        self,
        code: str,
        device: str | None,
        rig: str | None,
        details: dict[str, Any],
        request_id: str | None = None,
        utrn: str | None = None,
    ) -> None: ...

    def send(self, inst: Installation, ins: X.Instruction, *, migrating: bool = False) -> object: ...

    def set_route_key(self, device_id: str, role: str, key: KeyRef) -> None: ...

    async def sleep_sim(self, seconds: float) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None: ...


def _upgrade_target(device: Device) -> str:
    """The first later catalogue firmware of the model that needs no upgrade and carries no defects."""
    entry = load_device_catalogue().model(device.model)
    versions = entry.versions
    running = device.firmware.running
    later = versions[versions.index(running) + 1 :] if running in versions else []
    for version in later:
        fw = entry.firmware_entry(version)
        if not fw.needs_firmware_upgrade_before_migration and not fw.defects:
            return version
    return running


def epcl_from_installations(installations: Sequence[RouteInstallation]) -> list[EpclEntry]:
    """An EPCL covering the given installations as built (devices needing a pre-migration firmware
    upgrade are listed at their upgrade target), every installation type. For labs without their own."""
    out: list[EpclEntry] = []
    seen: set[str] = set()
    for n, spec in enumerate(installations, 1):
        fields: dict[str, Any] = {}
        for role in ROLES:
            device = getattr(spec, role)
            if device is None:
                continue
            firmware = (
                _upgrade_target(device)
                if device.profile.needs_firmware_upgrade_before_migration
                else device.firmware.running
            )
            fields[role] = EpclDevice(
                manufacturer=device.manufacturer,
                model=device.model,
                hardware_version=device.hardware_version,
                firmware_version=firmware,
                variant=getattr(device, "variant", None),
            )
        entry = EpclEntry(dmc_id=f"VDMC{n}", installation_types=["Active", "Dormant", "Mixed"], **fields)
        key = entry.model_dump_json(exclude={"dmc_id"})
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def dormant_devices(inst: Installation) -> set[str]:
    kind = inst.spec.installation
    if kind == "dormant":
        return {d.device_id for d in inst.devices()}
    if kind == "mixed" and inst.spec.gsme is not None:
        return {inst.spec.gsme.device_id}
    return set()


def match_epcl(entry: EpclEntry, inst: Installation, dormant: set[str]) -> tuple[list[str], dict[str, str]]:
    """Problems of ``inst`` against one EPCL entry, and the firmware upgrades it would need (pure)."""
    problems: list[str] = []
    upgrades: dict[str, str] = {}
    if TYPE_NAMES[inst.spec.installation] not in entry.installation_types:
        problems.append(f"{entry.dmc_id} does not cover {inst.spec.installation} installations")
    for role in ROLES:
        listed: EpclDevice | None = getattr(entry, role)
        device: Device | None = getattr(inst.spec, role)
        if role in ("ppmid", "ihd") and listed is None:
            continue
        if listed is None or device is None:
            if (listed is None) != (device is None):
                problems.append(f"{entry.dmc_id}: {role} {'missing' if device is None else 'not in the DMC'}")
            continue
        if (device.manufacturer, device.model, device.hardware_version) != (
            listed.manufacturer,
            listed.model,
            listed.hardware_version,
        ):
            problems.append(
                f"{entry.dmc_id}: {role} is {device.manufacturer} {device.model} {device.hardware_version}"
            )
        elif device.firmware.running != listed.firmware_version:
            if device.device_id in dormant and device.profile.needs_firmware_upgrade_before_migration:
                upgrades[device.device_id] = listed.firmware_version
            else:
                running = device.firmware.running
                problems.append(f"{entry.dmc_id}: {role} firmware {running} is not {listed.firmware_version}")
    return problems, upgrades


def data_validation(service: MigrationRoute, inst: Installation) -> tuple[list[str], dict[str, str]]:
    dormant = dormant_devices(inst)
    problems: list[str] = []
    upgrades: dict[str, str] = {}
    for entry in service.epcl:
        found, needed = match_epcl(entry, inst, dormant)
        if not found:
            problems, upgrades = [], needed
            break
        if not problems or len(found) < len(problems):
            problems = found
    else:
        problems = problems or ["the EPCL is empty"]
    ch = inst.ch
    for device in inst.devices():
        if device is ch:
            continue
        if device.device_id not in ch.device_log:
            problems.append(f"{device.device_id} is not in the CH device log")
        elif device.device_id not in ch.joined:
            problems.append(f"{device.device_id} is not joined to the CH")
    for device in inst.devices():
        entry_ = service.inventory.entries.get(device.device_id)
        if entry_ is not None and entry_.rig_id != inst.rig_id:
            problems.append(f"{device.device_id} is already in the inventory for {entry_.rig_id}")
    return problems, upgrades


async def handle_migrate(service: MigrationRoute, msg: dict[str, Any], reply: Reply) -> None:
    """Validate a ``migrate`` message (signed, supplier role), answer I99 and run the migration."""
    rid = msg.get("id")
    if not isinstance(rid, str) or not 1 <= len(rid) <= 64:
        raise WireError("E1", "a migrate message needs an id (string of 1-64 characters)")
    rig = msg.get("rig")
    inst = service.installations.get(rig) if isinstance(rig, str) else None
    if inst is None:
        raise WireError("E5", f"unknown installation {rig!r}", rid)
    user = service.authenticate(msg, rid, required=True)
    role = msg.get("role") or next((r for r in sorted(user.roles) if r in ("IS", "GS")), None)
    if role not in ("IS", "GS") or role not in user.roles:
        raise WireError("E7", "only a supplier (IS or GS) authorises a migration", rid)
    if inst.migrating:
        raise WireError("E14", f"{inst.rig_id} is already migrating", rid)
    if all(
        (e := service.inventory.entries.get(d.device_id)) is not None and e.status == "Commissioned"
        for d in inst.devices()
    ):
        raise WireError("E14", f"{inst.rig_id} is already migrated", rid)
    inst.migrating = True
    reply(service.response(rid, "I99", "migration accepted", final=False, rig=inst.rig_id))
    service.spawn(Migration(service, inst, rid, user.user_id, reply).run())


class Migration:
    def __init__(
        self, service: MigrationRoute, inst: Installation, rid: str, user: str, reply: Reply
    ) -> None:
        self.service = service
        self.inst = inst
        self.rid = rid
        self.user = user
        self.reply = reply
        self.notifications: list[str] = []
        self.attempts = 0
        self.gas_excluded = False
        self.upgrades: dict[str, str] = {}
        self.failures: list[str] = []

    # -- helpers -----------------------------------------------------------------------------------------
    def note(self, code: str, device: str | None = None, **details: Any) -> None:
        self.notifications.append(code)
        self.service.s1sp_alert(code, device, self.inst.rig_id, details, self.rid)

    def migrating(self) -> list[Device]:
        gsme = self.inst.spec.gsme
        return [d for d in self.inst.devices() if not (self.gas_excluded and d is gsme)]

    def move(self, device: Device, status: Any) -> None:
        with contextlib.suppress(InventoryError):
            self.service.inventory.move(device.device_id, status, self.service.clock.now())

    def finish(self, outcome: str, category: str | None = None) -> None:
        statuses = {
            d.device_id: e.status
            for d in self.inst.devices()
            if (e := self.service.inventory.entries.get(d.device_id)) is not None
        }
        result = {
            "rig": self.inst.rig_id,
            "installation": self.inst.spec.installation,
            "outcome": outcome,
            "category": category,
            "attempts": self.attempts,
            "failures": self.failures,
            "firmware_upgrades": self.upgrades,
            "gas_excluded": self.gas_excluded,
            "statuses": statuses,
            "notifications": self.notifications,
        }
        self.reply(self.service.response(self.rid, "I0", f"migration {outcome}", result=result))

    def exclude(self, category: ExclusionCategory, **details: Any) -> None:
        for device in self.inst.devices():
            entry = self.service.inventory.entries.get(device.device_id)
            if entry is not None and entry.status != "Commissioned":
                self.move(device, "Withdrawn")
        self.note("MigrationExcluded", category=category, attempts=self.attempts, **details)
        self.finish("excluded", category)

    async def call(self, device: Device, command: str, fn: Callable[[], object]) -> object:
        """One command through the CH, authenticated with the S1SP's current SMSO key; waits for the
        GSME's wake when needed."""
        service, ch = self.service, self.inst.ch
        key = service.route_key(device.device_id, "smso")

        def run() -> object:
            device.check_authorisation(
                service.authorisation(device, "smso", key, command=command, request_id=self.rid)
            )
            return fn()

        await service.sleep_sim(
            service.config.wan_latency_s if device is ch else service.config.han_latency_s
        )
        try:
            value = service.send(self.inst, X.Instruction(device, command, run), migrating=True)
        except DeviceCommandError as exc:
            raise _failed(command, device, exc) from None
        if isinstance(value, PendingCommand):
            value = await self.wait(device, value, command)
        return value

    async def wait(self, device: Device, ticket: PendingCommand, command: str) -> object:
        assert isinstance(device, Gsme)
        deadline = device.clock.now() + device.wake_interval * self.service.config.gsme_timeout_wakes
        while not ticket.done:
            device.advance()
            if ticket.done:
                break
            gone = self.inst.ch.han_error(device.device_id) == "GT01" or device.clock.now() >= deadline
            if gone:
                if ticket in device.pending:
                    device.pending.remove(ticket)
                if self.inst.ch.han_error(device.device_id) == "GT01":
                    raise GasHanError()
                raise AttemptFailed("device", f"{command}: the GSME did not wake in time")
            await asyncio.sleep(self.service.config.tick_s)
        if ticket.error is not None:
            raise _failed(command, device, ticket.error)
        return ticket.result

    async def phase(self, name: str) -> None:
        for fault in self.service.migration_faults.get(self.inst.rig_id, []):
            if fault.phase == name and fault.times > 0:
                fault.times -= 1
                if fault.kind == "wan_loss":
                    self.inst.ch.set_wan(False)
                else:
                    raise AttemptFailed("injected", f"injected failure at {name}")
        if not self.inst.ch.wan_connected:
            raise AttemptFailed("wan", f"the CH has no WAN ({name})")

    # -- the phases ----------------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # never leave a migration hanging without an answer
            self.failures.append(f"internal: {exc}")
            self.reply(self.service.response(self.rid, "E16", f"migration failed inside the route: {exc}"))
        finally:
            self.inst.migrating = False

    async def _run(self) -> None:
        service, inst, spec = self.service, self.inst, self.inst.spec
        dormant = dormant_devices(inst)
        if spec.installation in ("active", "mixed"):
            self.note("MigrationAuthorisationAccepted", user=self.user)
        if dormant and "schedule_not_notified" not in service.defects:  # seeded route defect
            self.note("DormantMeterMigrationScheduleNotification", devices=sorted(dormant))
        for device in inst.devices():
            if device.device_id not in service.inventory.entries:
                service.inventory.add(service.entry_for(inst, device))
            self.move(device, "Pending")
        prechecks = "migration_prechecks_skipped" not in service.defects  # seeded route defect
        if prechecks and not spec.master_keys_available:
            self.exclude("missing_master_keys")
            return
        if prechecks and not inst.ch.wan_connected:
            self.exclude("no_wan_before_migration")
            return
        problems, self.upgrades = data_validation(service, inst)
        if problems:
            self.failures.extend(problems)
            self.note("DataValidationFailed", problems=problems)
            self.exclude("data_validation_failed")
            return
        needless = bool(dormant) and "firmware_upgrade_notified_needlessly" in service.defects  # seeded
        if self.upgrades or needless:
            self.note("DormantMeterFWUpgradeScheduleNotification", upgrades=self.upgrades)
        for device in inst.devices():
            self.move(device, "Whitelisted")
        self.note("DataValidationPassed")
        retry = service.config.retry
        while True:
            self.attempts += 1
            try:
                await self.attempt()
                break
            except AttemptFailed as failure:
                self.failures.append(failure.message)
                self.note(
                    "MigrationAttemptFailed", attempt=self.attempts, reason=failure.message, kind=failure.kind
                )
                if self.attempts >= retry.max_attempts:
                    self.exclude(
                        "no_wan_while_migrating" if failure.kind == "wan" else "five_failed_attempts"
                    )
                    return
                await service.sleep_sim(retry.backoff_s)
        self.note("MigrationCompleted", outcome="migrated_esme_only" if self.gas_excluded else "migrated")
        self.finish("migrated_esme_only" if self.gas_excluded else "migrated")

    async def attempt(self) -> None:
        await self.phase("firmware_upgrade")
        for device in self.migrating():
            target = self.upgrades.get(device.device_id)
            if target is not None and device.firmware.running != target:
                await self.upgrade(device, target)
        await self.phase("device_testing")
        for device in self.migrating():
            try:
                await self.test_device(device)
            except GasHanError:
                self.exclude_gas(device)
        for device in self.migrating():
            self.move(device, "InstalledNotCommissioned")
        self.note("DeviceTestingPassed")
        await self.phase("commissioning")
        for device in self.migrating():
            try:
                await self.commission(device)
            except GasHanError:
                self.exclude_gas(device)
        for device in self.migrating():
            self.move(device, "Commissioned")
            self.service.link(self.inst, device.device_id)
        self.note("CommissioningComplete", devices=[d.device_id for d in self.migrating()])

    def exclude_gas(self, device: Device) -> None:
        self.gas_excluded = True
        self.move(device, "Withdrawn")
        self.note("GasExcludedHanErrorGT01", device.device_id, han_error="GT01")

    async def upgrade(self, device: Device, target: str) -> None:
        for ins in X.firmware_plan(device, target):
            await self.call(device, ins.command, ins.action)
        await self.call(device, "activate_firmware", lambda: device.activate_firmware())
        running = await self.call(device, "read_firmware_version", lambda: device.firmware.running)
        if running != target:
            raise AttemptFailed(
                "device", f"{device.device_id}: firmware {running} still running after activating {target}"
            )
        self.service.inventory.get(device.device_id).firmware_version = target
        self.note("FirmwareUpgraded", device.device_id, version=target)

    async def test_device(self, device: Device) -> None:
        ch = self.inst.ch

        def read() -> dict[str, Any]:
            out = X.identity(device)
            if isinstance(device, Meter):
                out["payment_mode"] = device.payment_mode.value
                out["tariff_rates"] = device.read_tariff().rates
                out["total_kwh"] = device.registers().total_kwh
            if isinstance(device, CommsHub):
                out["device_log"] = sorted(ch.device_log)
            return out

        result = await self.call(device, "device_testing", read)
        assert isinstance(result, dict)
        entry = self.service.inventory.get(device.device_id)
        expected = self.upgrades.get(device.device_id, entry.firmware_version)
        if (result["manufacturer"], result["model"]) != (entry.manufacturer, entry.model):
            raise AttemptFailed(
                "device", f"{device.device_id}: identity {result['model']} differs from the record"
            )
        if result["firmware_version"] != expected:
            raise AttemptFailed(
                "device",
                f"{device.device_id}: reports firmware {result['firmware_version']}, expected {expected}",
            )

    async def commission(self, device: Device) -> None:

        def rotate() -> bool:
            for role, key in S1SP_KEYS.items():
                device.update_credentials(role, [key])
            try:
                device.check_authorisation(Authorisation("smso", SMSO_KEY))
            except DeviceCommandError:
                return False
            return True

        old_accepted = await self.call(device, "commission_credentials", rotate)
        for role, key in S1SP_KEYS.items():
            self.service.set_route_key(device.device_id, role, key)
        if old_accepted:
            raise AttemptFailed("device", f"{device.device_id}: the old SMSO credential is still accepted")


def _failed(command: str, device: Device, exc: DeviceCommandError) -> AttemptFailed:
    kind: Literal["wan", "device"] = "wan" if exc.code is RejectCode.WAN_UNAVAILABLE else "device"
    return AttemptFailed(kind, f"{command} on {device.device_id}: {exc.code.value}: {exc.message}")
