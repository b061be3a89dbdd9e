"""Data Validation and Device Testing: the devices migrated are exactly the models and firmware the EPCL
entry names, as the S1SP recorded them and as each meter reports itself on its optical port.

Data Validation checks the installation record against the EPCL before anything else; Device Testing
has the S1SP read each device's identity, firmware and configuration with the migrated credentials. A
meter on other firmware (after any upgrade the migration did) is not the DMC under test.
"""

from __future__ import annotations

import pytest

from device_drivers.roles import EsmeDriver, GsmeDriver
from device_drivers.route import ServiceRoute
from harness.lab.inventory import DmcSpec, EntrySpec, RigSpec
from test_packs.migration import (
    COMMISSIONED,
    DT_PASSED,
    DV_FAILED,
    DV_PASSED,
    SUPPLIER,
    MigrationRecord,
    device_ids,
    expected_firmware,
    order_of,
)

DEVICE_TYPES = {"ch": "CHF", "esme": "ESME", "gsme": "GSME", "ppmid": "PPMID", "ihd": "IHD"}


@pytest.mark.dmct_group("Device Testing")
@pytest.mark.dmct_roles("esme")
@pytest.mark.dmct_requirement("MT-DT-IDENTITY", "MT-DV-EPCL")
def test_esme_identity_matches_epcl_entry(
    esme: EsmeDriver, dmc: DmcSpec, rig: RigSpec, migration: MigrationRecord, route: ServiceRoute
) -> None:
    """MT-DT-IDENTITY, MT-DV-EPCL (Device Testing reads identity and firmware; the installation must
    match the EPCL entry): the ESME's optical readout (IEC 62056-21) shows the EPCL model and firmware,
    and so does the S1SP. Compared with: the DMC's model and firmware in the lab file (the EPCL entry),
    or the version the migration upgraded it to."""
    identity = esme.identity()
    expected = dmc.esme
    device = rig.device("esme")
    eui = device.eui64 if device is not None else None
    firmware = expected_firmware(migration, expected.firmware_version, eui)
    assert identity.model == expected.model, (
        f"ESME reports model {identity.model!r}, EPCL has {expected.model!r}"
    )
    assert identity.firmware_version == firmware, (
        f"ESME reports firmware {identity.firmware_version!r}, EPCL entry (after migration) has {firmware!r}"
    )
    if device is not None and device.serial:
        assert identity.serial == device.serial, (
            f"ESME reports serial {identity.serial!r}, the lab inventory has {device.serial!r}"
        )
    if eui:
        record = route.inventory(eui, user=SUPPLIER)
        assert (record.get("model"), record.get("firmware_version")) == (identity.model, firmware), (
            f"the S1SP recorded {record.get('model')!r} {record.get('firmware_version')!r}, "
            f"the meter reports {identity.model!r} {identity.firmware_version!r}"
        )


@pytest.mark.dmct_group("Device Testing")
@pytest.mark.dmct_roles("gsme")
@pytest.mark.dmct_requirement("MT-DT-IDENTITY", "MT-DV-EPCL")
def test_gsme_identity_matches_epcl_entry(
    gsme: GsmeDriver, dmc: DmcSpec, rig: RigSpec, migration: MigrationRecord, route: ServiceRoute
) -> None:
    """MT-DT-IDENTITY, MT-DV-EPCL: the GSME's optical port (DLMS) shows the EPCL model, firmware and its
    Device ID; so does the S1SP. Compared with: the DMC's model and firmware in the lab file (the EPCL
    entry, or the upgraded version) and the rig's Device ID."""
    assert dmc.gsme is not None
    identity = gsme.optical.identity()
    device = rig.device("gsme")
    eui = device.eui64 if device is not None else None
    firmware = expected_firmware(migration, dmc.gsme.firmware_version, eui)
    assert identity.model == dmc.gsme.model, (
        f"GSME reports model {identity.model!r}, EPCL has {dmc.gsme.model!r}"
    )
    assert identity.firmware_version == firmware, (
        f"GSME reports firmware {identity.firmware_version!r}, EPCL entry (after migration) has {firmware!r}"
    )
    if device is not None and device.serial:
        assert identity.serial == device.serial, (
            f"GSME reports serial {identity.serial!r}, the lab inventory has {device.serial!r}"
        )
    if eui:
        assert identity.device_id.upper() == eui.upper(), (
            f"GSME reports Device ID {identity.device_id!r}, the lab inventory has {eui!r}"
        )
        record = route.inventory(eui, user=SUPPLIER)
        assert (record.get("model"), record.get("firmware_version")) == (identity.model, firmware), (
            f"the S1SP recorded {record.get('model')!r} {record.get('firmware_version')!r}, "
            f"the meter reports {identity.model!r} {identity.firmware_version!r}"
        )


@pytest.mark.dmct_group("Data Validation")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-DV-EPCL")
def test_data_validation_passed(
    migration: MigrationRecord, rig: RigSpec, dmc: DmcSpec, dmct_entry: EntrySpec, route: ServiceRoute
) -> None:
    """MT-DV-EPCL (Data Validation: installation record against the EPCL): Data Validation passed,
    and the installation record of every device matches the EPCL entry. Compared with: the lab file's
    DMC (device type, manufacturer, model per role) and the entry's installation type."""
    assert DV_FAILED not in migration.notifications, f"Data Validation failed: {migration.describe()}"
    order_of(migration, DV_PASSED)
    ids = device_ids(rig)
    missing = sorted(set(ids.values()) - set(migration.statuses))
    assert not missing, f"the migration did not cover device(s) {missing}: {migration.describe()}"
    for role, eui in ids.items():
        model = dmc.model_for(role)  # type: ignore[arg-type]
        assert model is not None, f"rig {rig.id} has a {role} its DMC lacks"
        record = route.inventory(eui, user=SUPPLIER)
        got = (record.get("device_type"), record.get("manufacturer"), record.get("model"))
        want = (DEVICE_TYPES[role], model.manufacturer, model.model)
        assert got == want, f"{role} {eui}: the installation record has {got}, the EPCL entry {want}"
        if "installation" in record:
            assert record["installation"] == dmct_entry.installation, (
                f"{role} {eui} is recorded as a {record['installation']} installation, "
                f"entry {dmct_entry.id} is {dmct_entry.installation}"
            )


@pytest.mark.dmct_group("Device Testing")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-DT-IDENTITY")
def test_device_testing_passed(
    migration: MigrationRecord, rig: RigSpec, dmc: DmcSpec, route: ServiceRoute
) -> None:
    """MT-DT-IDENTITY (phase order: Data Validation, Device Testing, Commissioning): Device Testing
    passed after Data Validation and before Commissioning, and every device's firmware read back through
    the route (SRV 11.2) is the one the S1SP recorded and the EPCL names. Compared with: the DMC's
    firmware in the lab file (or the upgraded version) and the required phase order."""
    assert order_of(migration, DV_PASSED) < order_of(migration, DT_PASSED) < order_of(migration, COMMISSIONED)
    for role, eui in device_ids(rig).items():
        if migration.statuses.get(eui) != "Commissioned":
            continue  # a device left out of the migration is the exclusion tests' concern
        model = dmc.model_for(role)  # type: ignore[arg-type]
        assert model is not None
        firmware = expected_firmware(migration, model.firmware_version, eui)
        read = route.submit("11.2", eui, {}, user=SUPPLIER)
        reported = (read.result or {}).get("firmware_version")
        recorded = route.inventory(eui, user=SUPPLIER).get("firmware_version")
        assert reported == recorded == firmware, (
            f"{role} {eui}: reports firmware {reported!r}, the S1SP recorded {recorded!r}, "
            f"expected {firmware!r}"
        )
