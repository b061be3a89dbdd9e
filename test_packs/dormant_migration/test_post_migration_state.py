"""The state a migrated installation must keep (issue 14 item 4; SMETS1 notes, "Migration": Commissioning
replaces keys and credentials so the old SMSO loses access — nothing else about the installation).

Each test compares what the device shows after its migration with what the *same installation* showed
before it (read on the meter's optical port just before the migration started, in
:class:`~test_packs.migration.MigrationRecord`) through the oracle :mod:`test_packs.oracles.migration_state`:
registers continue within the meter's rating over the device time elapsed, the supply state is kept, and
each credential update raised one alert. Agreement between the route and the optical port is checked by
the smoke set; these checks hold even when both agree on a wrong value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from device_drivers.roles import EsmeDriver, GsmeDriver
from harness.lab.inventory import RigSpec
from test_packs.marks import by_role
from test_packs.migration import MigrationRecord, device_ids
from test_packs.oracles.migration_state import credential_alert_excess, register_window


def _before(migration: MigrationRecord, field: dict[str, str], role: str, what: str) -> str:
    migration.require_migrated()
    value = field.get(role)
    if value is None:
        pytest.skip(
            f"not applicable: the rig's {role} has no optical (DLMS) port to read its {what} before migration"
        )
    return value


@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-STATE-KEPT")
@pytest.mark.parametrize("role", by_role("esme", "gsme"))
def test_registers_continue_across_migration(
    role: str, migration: MigrationRecord, request: pytest.FixtureRequest
) -> None:
    """MT-STATE-KEPT:
    import registers are cumulative and migration changes credentials only, so the total
    import register continues from its pre-migration value. Oracle: ``register_window`` — never below
    the value read before migration, never above it plus the meter's rated power over the device time
    between the two reads (both on the optical port, the clock read with each)."""
    before = Decimal(_before(migration, migration.meter_totals, role, "import register"))
    then = datetime.fromisoformat(_before(migration, migration.meter_clocks, role, "clock"))
    meter: EsmeDriver | GsmeDriver = request.getfixturevalue(role)
    total = meter.optical.import_registers().total
    now = meter.optical.clock()
    low, high = register_window(role, before, (now - then).total_seconds())
    assert low <= total <= high, (
        f"{role} total import {total} kWh after migration, {before} kWh before it "
        f"({(now - then).total_seconds():.0f} s of device time earlier): must lie in [{low}, {high}] kWh"
    )


@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-STATE-KEPT")
@pytest.mark.parametrize("role", by_role("esme", "gsme"))
def test_supply_kept_across_migration(
    role: str, migration: MigrationRecord, request: pytest.FixtureRequest
) -> None:
    """MT-STATE-KEPT:
    migration keeps the consumer on supply; commissioning changes credentials only, so
    the contactor (ESME) or valve (GSME) is as it was before migration. Oracle: the supply state the
    optical port read before the migration started."""
    before = _before(migration, migration.supply_before, role, "supply state")
    meter: EsmeDriver | GsmeDriver = request.getfixturevalue(role)
    after = str(meter.optical.supply_state())
    assert after == before, f"{role} supply {after!r} after migration, {before!r} before it"


@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-STATE-KEPT")
@pytest.mark.parametrize("role", by_role("ch", "esme", "gsme", "ppmid", "ihd"))
def test_one_credentials_alert_per_update(role: str, migration: MigrationRecord, rig: RigSpec) -> None:
    """MT-STATE-KEPT:
    a device raises one 0x8F70 Update Security Credentials per credential update — no
    alert storm after migration. Oracle: ``credential_alert_excess`` over the device's alerts received
    during and after its migration (at most one per role, at most one per role commissioning replaces)."""
    migration.require_migrated()
    eui = device_ids(rig).get(role)
    if eui is None:
        pytest.skip(f"not applicable: rig {rig.id} names no Device ID (eui64) for its {role}")
    alerts = [(a.code, a.details.get("role")) for a in migration.device_alerts(eui)]
    problems = credential_alert_excess(alerts)
    assert not problems, f"{role} {eui}: {'; '.join(problems)} (alerts {alerts})"
