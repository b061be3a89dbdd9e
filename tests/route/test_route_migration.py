"""Migration of active, dormant and mixed installations, and every exclusion category."""

from __future__ import annotations

from typing import Any

import pytest

from device_drivers.protocols.service_route import RouteError
from labs.virtual.devices import Authorisation, DeviceCommandError
from labs.virtual.s1sp import MigrationFault, RetryStrategy, ServiceConfig
from labs.virtual.s1sp.installation import SMSO_KEY

from .conftest import Rig, RouteLab

FAST = ServiceConfig(tick_s=0.005, retry=RetryStrategy(max_attempts=5, backoff_s=600.0))


def migrate(lab: RouteLab, rig: str = "rig-1") -> Any:
    return lab.route(timeout=20).migrate(rig, user="supplier")


def old_smso_rejected(lab: RouteLab) -> bool:
    def check() -> bool:
        try:
            lab.inst().esme.check_authorisation(Authorisation("smso", SMSO_KEY))
        except DeviceCommandError:
            return True
        return False

    return lab.call(check)


@pytest.mark.parametrize("kind", ["active", "dormant", "mixed"])
def test_migration_commissions_every_device(make_lab: Any, kind: str) -> None:
    lab = make_lab(Rig(installation=kind, commissioned=False), config=FAST)
    route = lab.route()
    esme = lab.inst().esme.device_id
    with pytest.raises(RouteError) as before:
        route.submit("4.1.1", esme, user="supplier")
    assert before.value.code == "E14"
    result = migrate(lab)
    assert result.outcome == "migrated" and result.attempts == 1
    assert set(result.statuses.values()) == {"Commissioned"}
    expected = {
        "active": ["MigrationAuthorisationAccepted"],
        "dormant": ["DormantMeterMigrationScheduleNotification"],
        "mixed": ["MigrationAuthorisationAccepted", "DormantMeterMigrationScheduleNotification"],
    }[kind]
    assert list(result.notifications[: len(expected)]) == expected
    assert result.notifications[-3:] == ("DeviceTestingPassed", "CommissioningComplete", "MigrationCompleted")
    entry = route.inventory(esme, user="supplier")
    assert (entry["status"], entry["s1sp"], entry["region"]) == ("Commissioned", "S1SP-VIRTUAL", "SMETS1")
    assert entry["supplier"] and entry["network_operator"]
    assert old_smso_rejected(lab)  # the old SMSO has lost access
    assert route.submit("4.1.1", esme, user="supplier").code == "I0"
    assert route.submit("7.2", esme, user="supplier").code == "I0"  # critical, with the S1SP keys


def test_dormant_meters_are_upgraded_before_migration(make_lab: Any) -> None:
    rig = Rig(
        installation="dormant",
        commissioned=False,
        ch=("VCH-100", "2.0.0"),
        esme=("VESME-1P", "1.3.0"),
        gsme=("VGSME-G4", "2.9.0"),
    )
    lab = make_lab(rig, config=FAST, rate=36000.0)
    result = migrate(lab)
    assert result.outcome == "migrated"
    assert "DormantMeterFWUpgradeScheduleNotification" in result.notifications
    inst = lab.inst()
    gsme = inst.gsme
    assert gsme is not None
    running = lab.call(lambda: (inst.ch.firmware.running, inst.esme.firmware.running, gsme.firmware.running))
    assert running == ("2.1.0", "1.4.2", "3.0.1")
    assert result.raw["result"]["firmware_upgrades"]
    # the upgraded firmware really behaves differently: load limiting is now supported
    assert (
        lab.route()
        .submit("6.4.1", inst.esme.device_id, {"threshold_w": 9000.0, "period_s": 60.0}, user="supplier")
        .code
        == "I0"
    )


def test_active_meter_on_old_firmware_fails_data_validation(make_lab: Any) -> None:
    """Only dormant meters are upgraded by the DCC; an active one off the EPCL is excluded."""
    rig = Rig(commissioned=False, esme=("VESME-1P", "1.3.0"))
    epcl_rig = Rig(commissioned=False)
    lab = make_lab(rig, config=FAST)
    from labs.virtual.s1sp import epcl_from_installations

    lab.service.epcl = epcl_from_installations([epcl_rig.build(lab.clock)])
    result = migrate(lab)
    assert (result.outcome, result.category) == ("excluded", "data_validation_failed")
    assert "DataValidationFailed" in result.notifications


def test_exclusion_missing_master_keys(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False, master_keys_available=False), config=FAST)
    result = migrate(lab)
    assert (result.outcome, result.category) == ("excluded", "missing_master_keys")
    assert set(result.statuses.values()) == {"Withdrawn"}
    assert result.notifications[-1] == "MigrationExcluded"


def test_exclusion_no_wan_before_migration(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False), config=FAST)
    lab.call(lambda: lab.inst().ch.set_wan(False))
    result = migrate(lab)
    assert (result.outcome, result.category, result.attempts) == ("excluded", "no_wan_before_migration", 0)


def test_exclusion_no_wan_while_migrating(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False), config=FAST, rate=36000.0)
    lab.service.migration_faults["rig-1"] = [MigrationFault("device_testing", "wan_loss")]
    result = migrate(lab)
    assert (result.outcome, result.category, result.attempts) == ("excluded", "no_wan_while_migrating", 5)
    assert result.notifications.count("MigrationAttemptFailed") == 5


def test_exclusion_five_failed_attempts(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False), config=FAST, rate=36000.0)
    lab.call(lambda: lab.inst().esme.power_off())
    result = migrate(lab)
    assert (result.outcome, result.category, result.attempts) == ("excluded", "five_failed_attempts", 5)
    assert all("not_powered" in f or "unreachable" in f for f in result.raw["result"]["failures"])


def test_retry_recovers_from_a_transient_failure(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False), config=FAST, rate=36000.0)
    lab.service.migration_faults["rig-1"] = [MigrationFault("commissioning", "device_error", times=2)]
    result = migrate(lab)
    assert (result.outcome, result.attempts) == ("migrated", 3)


def test_retry_strategy_is_configurable(make_lab: Any) -> None:
    config = ServiceConfig(tick_s=0.005, retry=RetryStrategy(max_attempts=2, backoff_s=60.0))
    lab = make_lab(Rig(commissioned=False), config=config)
    lab.service.migration_faults["rig-1"] = [MigrationFault("device_testing", "device_error", times=9)]
    result = migrate(lab)
    assert (result.category, result.attempts) == ("five_failed_attempts", 2)


def test_gsme_with_gt01_is_excluded_and_the_esme_migrates(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False, gsme=("VGSME-G4", "3.0.2-buggy")), config=FAST, rate=36000.0)
    result = migrate(lab)
    inst = lab.inst()
    assert result.outcome == "migrated_esme_only"
    assert "GasExcludedHanErrorGT01" in result.notifications
    assert inst.gsme is not None and result.statuses[inst.gsme.device_id] == "Withdrawn"
    assert result.statuses[inst.esme.device_id] == "Commissioned"


@pytest.mark.parametrize(
    ("rig", "category", "reason"),
    [
        (
            Rig(commissioned=False, defects={"esme": ("wrong_firmware_reported",)}),
            "five_failed_attempts",
            "reports firmware 1.4.2-rc",
        ),
        (
            Rig(commissioned=False, defects={"esme": ("old_credentials_accepted",)}),
            "five_failed_attempts",
            "old SMSO credential is still accepted",
        ),
        (
            Rig(commissioned=False, ch=("VCH-200", "3.0.1-buggy")),
            "data_validation_failed",
            "is not in the CH device log",
        ),
    ],
    ids=["wrong_firmware_reported", "old_credentials_accepted", "han_device_log_not_updated"],
)
def test_seeded_defects_make_migration_fail(make_lab: Any, rig: Rig, category: str, reason: str) -> None:
    lab = make_lab(rig, config=FAST, rate=36000.0)
    result = migrate(lab)
    assert (result.outcome, result.category) == ("excluded", category)
    assert reason in result.raw["result"]["failures"][0]


def test_migrate_needs_a_supplier_and_a_known_rig(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False), config=FAST)
    route = lab.route()
    with pytest.raises(RouteError) as wrong_role:
        route.migrate("rig-1", user="network_operator")
    assert wrong_role.value.code == "E7"
    with pytest.raises(RouteError) as unknown:
        route.migrate("rig-9", user="supplier")
    assert unknown.value.code == "E5"
    assert route.migrate("rig-1", user="supplier").migrated
    with pytest.raises(RouteError) as again:
        route.migrate("rig-1", user="supplier")
    assert again.value.code == "E14"
