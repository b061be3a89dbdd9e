"""Post-migration smoke set: a handful of SRVs on every device of the DMC succeed through the service
route, each result checked against the device's own optical port where it has one.

Parametrised by the DMC's device roles (a DMC lacking one makes its tests not applicable).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from device_drivers.roles import EsmeDriver, GsmeDriver
from device_drivers.route import ServiceRoute
from harness.lab.inventory import DmcSpec, RigSpec
from test_packs.marks import by_role
from test_packs.migration import SUPPLIER, MigrationRecord, device_ids, expected_firmware


def _has_display(rig: RigSpec, role: str) -> bool:
    device = rig.device(role)  # type: ignore[arg-type]
    return device is not None and "display" in device.links


DEVICE_TYPES = {"ch": "CHF", "esme": "ESME", "gsme": "GSME", "ppmid": "PPMID", "ihd": "IHD"}
TOLERANCE_KWH = Decimal("0.01")


def _optical_total(meter: EsmeDriver | GsmeDriver) -> Decimal:
    """The total import register on the meter's optical port (readout for an ESME, DLMS for a GSME)."""
    if isinstance(meter, EsmeDriver):
        return meter.read_import_registers().total
    return meter.optical.import_registers().total


def _submit(route: ServiceRoute, rig: RigSpec, role: str, srv: str, migration: MigrationRecord) -> Any:
    eui = device_ids(rig).get(role)
    if eui is None:
        pytest.skip(f"not applicable: rig {rig.id} names no Device ID (eui64) for its {role}")
    migration.require_migrated()
    result = route.submit(srv, eui, {}, user=SUPPLIER)
    assert result.code == "I0", f"SRV {srv} on {role} {eui}: {result.code} {result.text}"
    return result.result or {}


@pytest.mark.dmct_srv("8.2")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-SMOKE")
@pytest.mark.parametrize("role", by_role("ch", "esme", "gsme", "ppmid", "ihd"))
def test_smoke_8_2_read_inventory(
    role: str, rig: RigSpec, route: ServiceRoute, migration: MigrationRecord
) -> None:
    """MT-SMOKE (SVTAD 20.34 (h): SRV 8.2 on every device after migration): the device is in the
    inventory as its own Device ID and type, Commissioned. Compared with: the lab file's Device ID and
    the device type its role must have (the requirement), not another read of the route."""
    result = _submit(route, rig, role, "8.2", migration)
    eui = device_ids(rig)[role]
    got = (str(result.get("device_id", "")).upper(), result.get("device_type"), result.get("status"))
    assert got == (eui, DEVICE_TYPES[role], "Commissioned"), f"SRV 8.2 on {role}: {result}"


@pytest.mark.dmct_srv("11.2")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-SMOKE")
@pytest.mark.parametrize("role", by_role("ch", "esme", "gsme", "ppmid", "ihd"))
def test_smoke_11_2_read_firmware_version(
    role: str,
    rig: RigSpec,
    dmc: DmcSpec,
    route: ServiceRoute,
    migration: MigrationRecord,
    request: pytest.FixtureRequest,
) -> None:
    """MT-SMOKE (20.34 (h): SRV 11.2 on every device): the firmware version read is the one the EPCL
    entry names, or the version the migration upgraded it to. Compared with: the DMC's firmware in the
    lab file and the migration record (``expected_firmware``), and the meter's own optical port."""
    result = _submit(route, rig, role, "11.2", migration)
    model = dmc.model_for(role)  # type: ignore[arg-type]
    assert model is not None
    want = expected_firmware(migration, model.firmware_version, device_ids(rig)[role])
    assert result.get("firmware_version") == want, f"SRV 11.2 on {role}: {result}, expected {want!r}"
    if role in ("esme", "gsme"):  # independently, on the meter's optical port
        meter = request.getfixturevalue(role)
        optical = meter.optical.firmware_version() if role == "gsme" else meter.identity().firmware_version
        assert optical == want, f"{role} optical port reports firmware {optical!r}, the route {want!r}"
    elif role in ("ppmid", "ihd") and _has_display(rig, role):  # independently, on its screen
        shown = request.getfixturevalue(role).firmware_version()
        assert shown == want, f"{role} display port reports firmware {shown!r}, the route {want!r}"


@pytest.mark.dmct_srv("6.2.4")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-SMOKE")
@pytest.mark.parametrize("role", by_role("esme", "gsme"))
def test_smoke_6_2_4_read_device_identity(
    role: str, rig: RigSpec, dmc: DmcSpec, route: ServiceRoute, migration: MigrationRecord,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    """MT-SMOKE (20.34 (h): SRV 6.2.4 on every meter): manufacturer and model are the DMC's, the serial
    the meter's. Compared with: the lab file's model record (the EPCL entry) and the serial on the
    meter's optical port."""
    result = _submit(route, rig, role, "6.2.4", migration)
    model = dmc.model_for(role)  # type: ignore[arg-type]
    assert model is not None
    assert (result.get("manufacturer"), result.get("model")) == (model.manufacturer, model.model), result
    meter: EsmeDriver | GsmeDriver = request.getfixturevalue(role)
    serial = meter.optical.identity().serial if role == "gsme" else meter.identity().serial
    assert result.get("serial") == serial, (
        f"SRV 6.2.4 serial {result.get('serial')!r}, optical port {serial!r}"
    )


@pytest.mark.dmct_srv("4.1.1")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-SMOKE")
@pytest.mark.parametrize("role", by_role("esme", "gsme"))
def test_smoke_4_1_1_read_import_registers(
    role: str, rig: RigSpec, route: ServiceRoute, migration: MigrationRecord, request: pytest.FixtureRequest
) -> None:
    """MT-SMOKE (20.34 (h): SRV 4.1.1 on every meter): the total import register read lies between two
    optical reads taken around the request (a GSME's CH-cached copy: not newer than the meter's).
    Compared with: the meter's own register on its optical port, bracketing the request in time, with
    a tolerance of 0.01 kWh."""
    meter: EsmeDriver | GsmeDriver = request.getfixturevalue(role)
    before = _optical_total(meter)
    result = _submit(route, rig, role, "4.1.1", migration)
    after = _optical_total(meter)
    total = Decimal(str(result.get("total_kwh")))
    if result.get("source") == "ch_cache":  # the CH's copy from the GSME's last wake: not newer
        assert Decimal(0) <= total <= after + TOLERANCE_KWH, f"SRV 4.1.1 {total} kWh, optical {after} kWh"
    else:
        assert before - TOLERANCE_KWH <= total <= after + TOLERANCE_KWH, (
            f"SRV 4.1.1 {total} kWh is outside the optical reads {before} .. {after} kWh"
        )


@pytest.mark.dmct_srv("7.4")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-SMOKE")
@pytest.mark.parametrize("role", by_role("esme", "gsme"))
def test_smoke_7_4_read_supply_status(
    role: str, rig: RigSpec, route: ServiceRoute, migration: MigrationRecord, request: pytest.FixtureRequest
) -> None:
    """MT-SMOKE (20.34 (h): SRV 7.4 on every meter): the supply state read is the meter's. Compared
    with: the meter's optical port; that a migrated installation is *on supply* (its state before the
    migration) is checked against the pre-migration read in ``test_post_migration_state.py``."""
    meter: EsmeDriver | GsmeDriver = request.getfixturevalue(role)
    result = _submit(route, rig, role, "7.4", migration)
    optical = meter.optical.supply_state()
    assert result.get("supply") == optical, f"SRV 7.4 says {result.get('supply')!r}, optical port {optical!r}"


@pytest.mark.dmct_srv("8.9")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-SMOKE")
@pytest.mark.parametrize("role", by_role("ch"))
def test_smoke_8_9_read_device_log(
    role: str, rig: RigSpec, route: ServiceRoute, migration: MigrationRecord
) -> None:
    """MT-SMOKE (20.34 (h): SRV 8.9 on the CH): every other device of the installation is in the CH's
    device log, joined and reachable. Compared with: the lab file's Device IDs of the rig (the
    installation that must have migrated whole)."""
    result = _submit(route, rig, role, "8.9", migration)
    log = {str(d.get("eui", "")).upper(): d for d in result.get("devices", [])}
    for other, eui in device_ids(rig).items():
        if other == "ch":
            continue
        entry = log.get(eui)
        assert entry is not None, f"the CH device log lacks the {other} {eui}: {sorted(log)}"
        assert entry.get("joined") and entry.get("reachable"), f"{other} {eui} in the CH device log: {entry}"
