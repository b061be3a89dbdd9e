"""Migration notifications and alerts: every phase notified, in order, as signed S1SP alerts naming the
rig and the migration request; the devices' own alerts during migration are complete and timestamped."""

from __future__ import annotations

import pytest

from harness.lab.inventory import EntrySpec, RigSpec
from test_packs.migration import (
    ATTEMPT_FAILED,
    AUTHORISED,
    COMMISSIONED,
    COMPLETED,
    DT_PASSED,
    DV_PASSED,
    EXCLUDED,
    FW_SCHEDULED,
    FW_UPGRADED,
    SCHEDULED,
    MigrationRecord,
    device_ids,
)


def expected_sequence(installation: str, upgrades: int) -> list[str]:
    """The notifications of a clean first-attempt migration of this installation type."""
    head = {"dormant": [SCHEDULED], "active": [AUTHORISED], "mixed": [AUTHORISED, SCHEDULED]}[installation]
    fw = [FW_SCHEDULED] if upgrades else []
    return [*head, *fw, DV_PASSED, *[FW_UPGRADED] * upgrades, DT_PASSED, COMMISSIONED, COMPLETED]


@pytest.mark.dmct_group("Commissioning")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-NOTIFY")
def test_notifications_in_order(migration: MigrationRecord, rig: RigSpec, dmct_entry: EntrySpec) -> None:
    """MT-NOTIFY (migration phases: scheduling, Data Validation, firmware upgrades, Device Testing,
    Commissioning, each notified): the migration's notifications are exactly its phases in order, each
    received as an S1SP alert naming the rig; the commissioning notice names every device. Compared
    with: the sequence the requirement gives for the entry's installation type and the firmware
    upgrades the migration made (``expected_sequence``), and the lab file's Device IDs."""
    migration.require_migrated()
    assert ATTEMPT_FAILED not in migration.notifications and EXCLUDED not in migration.notifications, (
        migration.describe()
    )
    want = expected_sequence(dmct_entry.installation, len(migration.firmware_upgrades))
    assert migration.notifications == want, f"notifications {migration.notifications}, expected {want}"
    alerts = migration.s1sp_alerts()
    assert [a.code for a in alerts] == migration.notifications, (
        f"S1SP alerts {[a.code for a in alerts]} differ from the notifications {migration.notifications}"
    )
    for alert in alerts:
        assert alert.rig == rig.id, f"{alert.code} names rig {alert.rig!r}, not {rig.id!r}"
    done = alerts[-1]
    assert done.details.get("outcome", migration.outcome) == migration.outcome == "migrated", (
        f"{COMPLETED} says {done.details.get('outcome')!r}, the migration {migration.outcome!r}"
    )
    committed = {str(d).upper() for d in alerts[-2].details.get("devices", device_ids(rig).values())}
    assert committed == set(device_ids(rig).values()), f"{COMMISSIONED} names {sorted(committed)}"


@pytest.mark.dmct_group("Commissioning")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-NOTIFY")
def test_device_alerts_during_migration(migration: MigrationRecord, rig: RigSpec) -> None:
    """MT-NOTIFY (device alerts during migration): every device of the installation alerted its part of
    the migration, each alert timestamped by the device clock and naming the device's rig. Compared
    with: the lab file's devices of the rig (each must have alerted) and the requirement that an alert
    carries its device's timestamp."""
    migration.require_migrated()
    ids = device_ids(rig)
    for role, eui in ids.items():
        alerts = migration.device_alerts(eui)
        assert alerts, f"{role} {eui} raised no alert during its migration"
        untimed = [a.code for a in alerts if not a.at]
        assert not untimed, f"{role} {eui} sent alert(s) {untimed} without a timestamp"
        wrong_rig = [a.code for a in alerts if a.rig not in (None, rig.id)]
        assert not wrong_rig, f"{role} {eui} alert(s) {wrong_rig} name another rig"
