"""Commissioning: credentials replaced so the old SMSO loses access, devices Commissioned in the
inventory with the S1SP, supplier and network operator linked.

Credential rotation is verified on the route (each device's 0x8F70 Update Security Credentials alert,
then the 0x8F3D Trusted Source Authentication Failure of the S1SP's probe with the old SMSO key) and,
independently, in each meter's security log read on its optical port.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from device_drivers.roles import EsmeDriver, GsmeDriver, MeterDriver
from device_drivers.route import ServiceRoute
from harness.lab.inventory import RigSpec
from test_packs.marks import by_role
from test_packs.migration import AUTH_FAILURE, CREDENTIALS_UPDATED, SUPPLIER, MigrationRecord, device_ids

#: One test per device role of the DMC (a DMC without a GSME makes the gsme ones not applicable).
#: Migration moves the whole installation: the HAN displays (PPMID, IHD) are commissioned too.
ROLES = by_role("ch", "esme", "gsme", "ppmid", "ihd")
METERS = ("esme", "gsme")


def _eui(rig: RigSpec, role: str) -> str:
    eui = device_ids(rig).get(role)
    if eui is None:
        pytest.skip(f"not applicable: rig {rig.id} names no Device ID (eui64) for its {role}")
    return eui


def _meter(request: pytest.FixtureRequest, role: str) -> MeterDriver:
    meter = request.getfixturevalue(role)
    assert isinstance(meter, EsmeDriver | GsmeDriver)
    return meter


def _has_dlms(rig: RigSpec, role: str) -> bool:
    device = rig.device(role)  # type: ignore[arg-type]
    return role in METERS and device is not None and "dlms" in device.links


def _security_codes(meter: MeterDriver, migration: MigrationRecord, role: str) -> list[int]:
    since = migration.meter_clocks.get(role)
    return [r.code for r in meter.optical.security_log(datetime.fromisoformat(since) if since else None)]


@pytest.mark.dmct_group("Commissioning")
@pytest.mark.dmct_requirement("MT-COMM-INVENTORY")
@pytest.mark.parametrize("role", ROLES)
def test_inventory_commissioned_and_linked(
    role: str, migration: MigrationRecord, rig: RigSpec, route: ServiceRoute
) -> None:
    """MT-COMM-INVENTORY (Commissioning: devices Commissioned with the S1SP, supplier and network
    operator linked), read with SRV 8.2: the device is Commissioned with all three linked, supplier and
    network operator distinct, the same parties as its CH's. Compared with: the requirement and the CH's
    own inventory record (one installation, one set of parties)."""
    eui = _eui(rig, role)
    assert migration.statuses.get(eui) == "Commissioned", (
        f"{role} {eui} ended the migration {migration.statuses.get(eui)!r}: {migration.describe()}"
    )
    record = route.inventory(eui, user=SUPPLIER)
    assert record.get("status") == "Commissioned", f"{role} {eui} inventory status {record.get('status')!r}"
    for key in ("s1sp", "supplier", "network_operator"):
        assert record.get(key), f"{role} {eui}: no {key} linked in the inventory: {record}"
    assert record["supplier"] != record["network_operator"], record
    ch = device_ids(rig).get("ch")
    if ch and ch != eui:
        hub = route.inventory(ch, user=SUPPLIER)
        for key in ("s1sp", "supplier", "network_operator"):
            assert record[key] == hub.get(key), f"{role} {key} {record[key]!r}, the CH's {hub.get(key)!r}"


@pytest.mark.dmct_group("Commissioning")
@pytest.mark.dmct_requirement("MT-COMM-CREDENTIALS")
@pytest.mark.parametrize("role", ROLES)
def test_credentials_rotated(
    role: str, migration: MigrationRecord, rig: RigSpec, request: pytest.FixtureRequest
) -> None:
    """MT-COMM-CREDENTIALS (Commissioning replaces keys and credentials so the old SMSO loses access):
    the device replaced its SMSO credentials (0x8F70 alert; for meters also in the security log).
    Compared with: the requirement (a credentials update for the SMSO role), the device's own alerts
    and security log read on its optical port."""
    eui = _eui(rig, role)
    migration.require_migrated()
    updates = migration.device_alerts(eui, CREDENTIALS_UPDATED)
    assert updates, f"{role} {eui} raised no {CREDENTIALS_UPDATED} (Update Security Credentials) alert"
    roles = {str(a.details["role"]) for a in updates if "role" in a.details}
    assert not roles or "smso" in roles, (
        f"{role} {eui} updated credentials {sorted(roles)} but not the SMSO's"
    )
    if _has_dlms(rig, role):
        codes = _security_codes(_meter(request, role), migration, role)
        assert int(CREDENTIALS_UPDATED, 16) in codes, (
            f"{role} security log since the migration has no {CREDENTIALS_UPDATED}: {[hex(c) for c in codes]}"
        )


@pytest.mark.dmct_group("Security Misuse")
@pytest.mark.dmct_requirement("MISUSE-OLD-CREDENTIAL")
@pytest.mark.parametrize("role", ROLES)
def test_old_smso_credential_rejected(
    role: str, migration: MigrationRecord, rig: RigSpec, request: pytest.FixtureRequest
) -> None:
    """MISUSE-OLD-CREDENTIAL (the old SMSO loses access): after the rotation a command signed with the
    old SMSO credential is rejected and logged: the device raises 0x8F3D (Trusted Source Authentication
    Failure) after its 0x8F70, and a meter's security log records both in that order. Compared with:
    the requirement and the GBCS alert codes, on the device's alerts and its optical security log."""
    eui = _eui(rig, role)
    migration.require_migrated()
    still = [f for f in migration.failures if "still accepted" in f]
    assert not still, f"the S1SP found the old SMSO credential accepted: {still}"
    updates = migration.device_alerts(eui, CREDENTIALS_UPDATED)
    assert updates, f"{role} {eui} never rotated its credentials"
    rejected = [a for a in migration.device_alerts(eui, AUTH_FAILURE) if a.alert_id > updates[-1].alert_id]
    assert rejected, f"{role} {eui} raised no {AUTH_FAILURE} for the old SMSO credential after the rotation"
    smso = [a for a in rejected if a.details.get("role", "smso") == "smso"]
    assert smso, f"{role} {eui}: {AUTH_FAILURE} alerts {[a.details for a in rejected]} are not for the SMSO"
    if _has_dlms(rig, role):
        codes = _security_codes(_meter(request, role), migration, role)
        updated = int(CREDENTIALS_UPDATED, 16)
        assert updated in codes, (
            f"{role} security log has no {CREDENTIALS_UPDATED}: {[hex(c) for c in codes]}"
        )
        last_update = max(i for i, c in enumerate(codes) if c == updated)
        assert int(AUTH_FAILURE, 16) in codes[last_update + 1 :], (
            f"{role} security log does not record the rejected old credential ({AUTH_FAILURE}) after "
            f"the rotation: {[hex(c) for c in codes]}"
        )
