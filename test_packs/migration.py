"""Migrating a rig's installation once, and what the pack records about it.

Shared by both standard packs: the MT pack observes the migration, the SRVT pack needs Commissioned
devices. Migration changes a rig for good (a migrated rig answers E14 to a second ``migrate``), so each
rig is migrated **once per session**, by whichever pack's test needs it first, and every MT test
checks one aspect of that one migration. The
first test to need it (whichever worker runs it) performs the migration and writes a
:class:`MigrationRecord` to a directory shared by the session's workers; the others read it. The rig
mutex the ``rig`` fixture holds keeps two workers off one rig, and a file lock guards the record.

Negative paths need rigs prepared for them (a dormant installation with no WAN, a GSME that never
wakes, ...): the lab file says so with ``prepared_for: <scenario>`` on the rig, one of
:data:`SCENARIOS`, and the plugin runs each test marked ``prepared_for(<scenario>)`` on that rig. A rig
with no scenario is a *standard* rig: the standard migration and its checks run on it; a negative test
whose rig the lab lacks is *not applicable* there.

Packs reach devices only through plugin fixtures and :mod:`device_drivers`, never the virtual lab.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from device_drivers.errors import DeviceError, InfrastructureFault, LinkTimeout, RigUnhealthy
from device_drivers.route import RouteAlert, RouteError, ServiceRoute
from harness.lab.inventory import RigSpec

#: The negative paths a rig can be prepared for (the suffix of its id), with what the lab must arrange.
SCENARIOS: dict[str, str] = {
    "missing-master-keys": "the SMSO has not handed over the installation's master keys",
    "no-wan-before": "the CH has no WAN connection before the migration starts",
    "no-wan-during": "the CH loses its WAN connection during the migration and does not regain it",
    "five-failed-attempts": "a rig with instruments: the pack powers the ESME off for the whole migration",
    "retry": "a rig with instruments: the pack powers the ESME off, then back on while attempts remain",
    "gt01": "the GSME never wakes on the HAN (the CH reports HAN error GT01)",
}
#: The User the pack authorises migrations as (a supplier; the route signs with its key).
SUPPLIER = "supplier"
#: Limits: how long one migration may take, and how long alerts are gathered after it.
MIGRATION_TIMEOUT_S = 120.0
ALERTS_QUIET_S = 1.0
ALERTS_MAX_S = 15.0
#: S1SP notifications by phase.
AUTHORISED = "MigrationAuthorisationAccepted"
SCHEDULED = "DormantMeterMigrationScheduleNotification"
FW_SCHEDULED = "DormantMeterFWUpgradeScheduleNotification"
DV_PASSED = "DataValidationPassed"
DV_FAILED = "DataValidationFailed"
FW_UPGRADED = "FirmwareUpgraded"
DT_PASSED = "DeviceTestingPassed"
COMMISSIONED = "CommissioningComplete"
ATTEMPT_FAILED = "MigrationAttemptFailed"
COMPLETED = "MigrationCompleted"
EXCLUDED = "MigrationExcluded"
GAS_EXCLUDED = "GasExcludedHanErrorGT01"
#: GBCS alert codes the devices raise while being migrated.
CREDENTIALS_UPDATED = "0x8F70"
AUTH_FAILURE = "0x8F3D"
FIRMWARE_CHANGED = "0x8F43"


def scenario_of(rig: RigSpec) -> str | None:
    """The negative path ``rig`` is prepared for (lab file ``prepared_for``), or None: a standard rig."""
    return rig.prepared_for if rig.prepared_for in SCENARIOS else None


def device_ids(rig: RigSpec) -> dict[str, str]:
    """Role → Device ID (EUI-64, upper case) of every device of the rig that names one."""
    return {d.role: d.eui64.upper() for d in rig.devices if d.eui64}


@dataclass
class MigrationRecord:
    """One rig's migration as the pack observed it: the route's final answer and the alerts around it."""

    rig: str
    request_id: str = ""
    outcome: str = ""
    category: str | None = None
    attempts: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    notifications: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    #: Before migrating: each device's answer code to SRV 11.2 (E14 = not yet Commissioned).
    before: dict[str, str] = field(default_factory=dict)
    #: Before migrating: each meter's clock as its optical port reported it (ISO 8601).
    meter_clocks: dict[str, str] = field(default_factory=dict)
    #: Before migrating: each meter's total import register (kWh, as text) and supply state, read on its
    #: optical port just after the clock, so post-migration checks compare with the installation's own past.
    meter_totals: dict[str, str] = field(default_factory=dict)
    supply_before: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    #: Set when the migration could not be observed: {"kind": "blocked" | "failed", "message": ...}.
    error: dict[str, str] | None = None
    #: Every device was Commissioned before this session (an SRVT run can use it; MT cannot observe it).
    pre_commissioned: bool = False

    @property
    def migrated(self) -> bool:
        return self.outcome in ("migrated", "migrated_esme_only")

    @property
    def installation(self) -> str | None:
        value = self.result.get("installation")
        return str(value) if value is not None else None

    @property
    def firmware_upgrades(self) -> dict[str, str]:
        return {str(k).upper(): str(v) for k, v in dict(self.result.get("firmware_upgrades") or {}).items()}

    @property
    def failures(self) -> list[str]:
        return [str(f) for f in self.result.get("failures") or []]

    def route_alerts(self) -> list[RouteAlert]:
        return [RouteAlert.from_message(a) for a in self.alerts]

    def s1sp_alerts(self) -> list[RouteAlert]:
        """The S1SP's notifications for this migration, in the order they were received."""
        return [a for a in self.route_alerts() if a.kind == "s1sp" and a.request_id == self.request_id]

    def device_alerts(self, device: str, code: str | None = None) -> list[RouteAlert]:
        return [
            a
            for a in self.route_alerts()
            if a.kind == "device"
            and (a.device or "").upper() == device.upper()
            and (code is None or a.code.upper() == code.upper())
        ]

    def describe(self) -> str:
        return (
            f"rig {self.rig}: {self.outcome or 'no outcome'}"
            + (f" ({self.category})" if self.category else "")
            + f", {self.attempts} attempt(s), notifications {self.notifications}"
            + (f", failures {self.failures}" if self.failures else "")
        )

    def require_migrated(self) -> None:
        """Fail the calling test (a product failure) unless the installation was migrated."""
        assert self.migrated, f"the installation was not migrated: {self.describe()}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> MigrationRecord:
        return cls(**json.loads(text))


def collect_alerts(
    route: ServiceRoute, rig: RigSpec, request_id: str, *, quiet_s: float, max_s: float
) -> list[RouteAlert]:
    """Every alert about ``rig`` received so far or until the route has been quiet for ``quiet_s``."""
    ids = set(device_ids(rig).values())

    def ours(a: RouteAlert) -> bool:
        return a.rig == rig.id or (a.device or "").upper() in ids or a.request_id == request_id

    out: list[RouteAlert] = []
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        try:
            out.extend(route.wait_alerts(ours, timeout=quiet_s))
        except LinkTimeout:
            break
    return sorted(out, key=lambda a: a.alert_id)


def run_migration(
    route: ServiceRoute,
    rig: RigSpec,
    *,
    user: str = SUPPLIER,
    timeout: float = MIGRATION_TIMEOUT_S,
    quiet_s: float = ALERTS_QUIET_S,
    max_s: float = ALERTS_MAX_S,
    on_start: Callable[[], object] | None = None,
) -> MigrationRecord:
    """Authorise/schedule the migration of ``rig`` and wait for it; return what was observed.
    ``on_start`` is called just before the migration is requested (after the pre-checks), so a test
    timing something against the migration's start is not thrown off by how long the checks took.

    Before migrating, every device is asked SRV 11.2: a dormant installation answers E14 (not
    Commissioned). A rig whose devices are all Commissioned already was migrated before this session:
    the pack cannot observe its migration, a lab state problem (``RigUnhealthy``: the tests are blocked).
    """
    record = MigrationRecord(rig.id)
    for eui in device_ids(rig).values():
        record.before[eui] = route.submit("11.2", eui, {}, user=user, check=False, timeout=timeout).code
    if record.before and all(code == "I0" for code in record.before.values()):
        record.pre_commissioned = True
        record.error = {
            "kind": "blocked",
            "message": f"{rig.id}: every device is already Commissioned: the rig was migrated before this "
            "session (restart the virtual lab, or re-prepare the dormant installation)",
        }
        return record
    if on_start is not None:
        on_start()
    started = time.monotonic()
    try:
        result = route.migrate(rig.id, user=user, timeout=timeout)
    except RouteError as exc:
        if exc.code != "E14":
            raise
        raise RigUnhealthy(  # another client (a pack or session sharing the rig) is migrating it
            rig.id,
            f"the route refused the migration with E14 ({exc.text}): another client is migrating "
            "the rig; run the MT pack on a rig nothing else migrates",
        ) from None
    record.duration_s = round(time.monotonic() - started, 3)
    record.request_id = str(result.raw.get("id", ""))
    record.outcome = result.outcome
    record.category = result.category
    record.attempts = result.attempts
    record.statuses = {k.upper(): v for k, v in result.statuses.items()}
    record.notifications = list(result.notifications)
    record.result = dict(result.raw.get("result") or {})
    alerts = collect_alerts(route, rig, record.request_id, quiet_s=quiet_s, max_s=max_s)
    record.alerts = [a.raw for a in alerts]
    return record


class SharedMigrations:
    """The session's migrations, one per rig, shared by the xdist workers through ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, rig: RigSpec) -> Path:
        return self.directory / f"dmct-mt-{rig.id}.json"

    def get(self, rig: RigSpec, perform: Callable[[], MigrationRecord]) -> MigrationRecord:
        """The rig's record; ``perform()`` migrates it if no worker has yet (its error is recorded too)."""
        path = self._path(rig)
        with FileLock(str(path) + ".lock"):
            if path.exists():
                return MigrationRecord.from_json(path.read_text(encoding="utf-8"))
            try:
                record = perform()
            except InfrastructureFault as exc:  # lab trouble: every test of the rig is blocked
                record = MigrationRecord(rig.id, error={"kind": "blocked", "message": str(exc)})
            except DeviceError as exc:  # the route refused or answered wrongly: a product failure
                record = MigrationRecord(
                    rig.id, error={"kind": "failed", "message": f"the migration could not run: {exc}"}
                )
            path.write_text(record.to_json(), encoding="utf-8")
            return record


def expected_firmware(record: MigrationRecord, model_firmware: str, eui: str | None) -> str:
    """The firmware a device must run after migration: its upgrade target, else the EPCL's version."""
    if eui is not None and eui.upper() in record.firmware_upgrades:
        return record.firmware_upgrades[eui.upper()]
    return model_firmware


def order_of(record: MigrationRecord, code: str) -> int:
    """Position of a notification in the migration's sequence (a missing one fails the test)."""
    assert code in record.notifications, f"no {code} notification: {record.describe()}"
    return record.notifications.index(code)
