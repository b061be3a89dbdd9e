"""Migration planning: the schedule (dormant) or authorisation (active) notification, and the firmware
upgrade of dormant devices whose firmware the EPCL does not list yet."""

from __future__ import annotations

import pytest

from device_drivers.route import ServiceRoute
from harness.lab.inventory import DmcSpec, EntrySpec, RigSpec
from test_packs.migration import (
    AUTHORISED,
    DT_PASSED,
    DV_FAILED,
    DV_PASSED,
    FW_SCHEDULED,
    FW_UPGRADED,
    SCHEDULED,
    SUPPLIER,
    MigrationRecord,
    device_ids,
    order_of,
)


@pytest.mark.dmct_group("Migration Planning")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-SCHEDULE")
def test_schedule_notification(migration: MigrationRecord, rig: RigSpec, dmct_entry: EntrySpec) -> None:
    """MT-SCHEDULE (migration planning: dormant devices scheduled by the DCC, active ones authorised
    by the supplier): dormant devices are scheduled (Dormant Meter Migration Schedule Notification
    naming exactly them) and active ones authorised, before Data Validation; before it no device
    answered SRVs. Compared with: the entry's installation type and the lab file's Device IDs (which
    devices must be scheduled), and the SRV answers recorded before the migration."""
    ids = device_ids(rig)
    commissioned_before = sorted(eui for eui, code in migration.before.items() if code == "I0")
    assert not commissioned_before, f"device(s) {commissioned_before} answered SRVs before migration"
    kind = dmct_entry.installation
    dormant = set(ids.values()) if kind == "dormant" else ({ids["gsme"]} if "gsme" in ids else set())
    if kind == "active":
        dormant = set()
    alerts = {a.code: a for a in migration.s1sp_alerts()}
    validated = [i for i, n in enumerate(migration.notifications) if n in (DV_PASSED, DV_FAILED)]
    assert validated, f"no Data Validation outcome was notified: {migration.describe()}"
    if dormant:
        assert order_of(migration, SCHEDULED) < validated[0]
        assert SCHEDULED in alerts, f"no {SCHEDULED} alert was received for request {migration.request_id}"
        named = {str(d).upper() for d in alerts[SCHEDULED].details.get("devices", [])}
        assert named == dormant, (
            f"{SCHEDULED} names {sorted(named)}, the dormant devices are {sorted(dormant)}"
        )
    else:
        assert SCHEDULED not in migration.notifications, (
            f"an active installation was scheduled as dormant: {migration.describe()}"
        )
    if kind in ("active", "mixed"):
        assert order_of(migration, AUTHORISED) < validated[0]
    else:
        assert AUTHORISED not in migration.notifications, (
            f"a dormant installation was authorised as active: {migration.describe()}"
        )


@pytest.mark.dmct_group("Device Testing")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-FW-UPGRADE")
def test_firmware_upgraded_where_required(
    migration: MigrationRecord, rig: RigSpec, dmc: DmcSpec, dmct_entry: EntrySpec, route: ServiceRoute
) -> None:
    """MT-FW-UPGRADE (Dormant Meter FW Upgrade Schedule Notification, upgrades before Device
    Testing): devices whose firmware must be upgraded before migration were (schedule notified, each
    upgrade notified between Data Validation and Device Testing, the device now running the target);
    no other device was touched. Compared with: the DMC's firmware versions in the lab file (a device
    not upgraded must still run its EPCL version), read back with SRV 11.2."""
    upgrades = migration.firmware_upgrades
    ids = device_ids(rig)
    unknown = sorted(set(upgrades) - set(ids.values()))
    assert not unknown, f"firmware upgrades reported for devices not on rig {rig.id}: {unknown}"
    if dmct_entry.installation == "active":
        assert not upgrades, f"the DCC upgraded firmware of an active installation: {upgrades}"
    upgraded = [a for a in migration.s1sp_alerts() if a.code == FW_UPGRADED]
    if upgrades:
        assert order_of(migration, FW_SCHEDULED) < order_of(migration, DT_PASSED)
        assert migration.notifications.count(FW_UPGRADED) >= len(upgrades), migration.describe()
        last = max(i for i, n in enumerate(migration.notifications) if n == FW_UPGRADED)
        assert order_of(migration, DV_PASSED) < last < order_of(migration, DT_PASSED), migration.describe()
        alerted = {(a.device or "").upper(): str(a.details.get("version")) for a in upgraded}
        assert alerted == upgrades, f"{FW_UPGRADED} alerts {alerted}, upgrades reported {upgrades}"
    else:
        assert FW_SCHEDULED not in migration.notifications, migration.describe()
        assert FW_UPGRADED not in migration.notifications, migration.describe()
    for role, eui in ids.items():
        model = dmc.model_for(role)  # type: ignore[arg-type]
        assert model is not None
        if migration.statuses.get(eui) != "Commissioned":
            continue
        want = upgrades.get(eui, model.firmware_version)
        running = (route.submit("11.2", eui, {}, user=SUPPLIER).result or {}).get("firmware_version")
        assert running == want, f"{role} {eui} runs firmware {running!r}, expected {want!r}"
