"""Negative paths: each exclusion category, retries under the retry strategy, and the GT01 ESME-only
migration. Each runs on the rig the lab file prepared for it (``prepared_for`` on the rig, see
:mod:`test_packs.migration`) and is not applicable in a lab without one; the two that need only a
powered-off ESME prepare it themselves through the rig's instruments (power relay), so they run
unchanged on hardware.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest

from device_drivers.protocols.modbus import Instruments
from device_drivers.route import ServiceRoute
from harness.lab.inventory import RigSpec
from test_packs.migration import (
    ATTEMPT_FAILED,
    COMPLETED,
    EXCLUDED,
    GAS_EXCLUDED,
    SUPPLIER,
    MigrationRecord,
    device_ids,
    run_migration,
)

#: Retry test: the ESME is powered back this many seconds after the migration starts: after the first
#: attempt failed, before the retry strategy gives up (the virtual S1SP retries every 600 simulated
#: seconds, 0.17 s at the virtual lab's 3600x clock; a real lab sets its own).
RETRY_RESTORE_S = float(os.environ.get("DMCT_MT_RETRY_RESTORE_S", "0.3"))
#: SVTAD: an installation is excluded after five (or more) failed attempts.
MAX_ATTEMPTS = 5


def assert_excluded(record: MigrationRecord, category: str, route: ServiceRoute, rig: RigSpec) -> None:
    """Excluded in ``category`` with a MigrationExcluded notification; no device left Commissioned."""
    assert (record.outcome, record.category) == ("excluded", category), record.describe()
    assert record.notifications and record.notifications[-1] == EXCLUDED, record.describe()
    assert COMPLETED not in record.notifications, record.describe()
    alert = next((a for a in record.s1sp_alerts() if a.code == EXCLUDED), None)
    assert alert is not None, f"no {EXCLUDED} alert for request {record.request_id}"
    assert alert.details.get("category") == category, f"{EXCLUDED} alert details {alert.details}"
    commissioned = sorted(eui for eui, status in record.statuses.items() if status == "Commissioned")
    assert not commissioned, f"device(s) {commissioned} Commissioned although the installation was excluded"
    esme = device_ids(rig).get("esme")
    if esme:
        answer = route.submit("11.2", esme, {}, user=SUPPLIER, check=False)
        assert answer.code == "E14", f"an excluded ESME answered SRV 11.2 with {answer.code}, not E14"


def failed_attempts(record: MigrationRecord) -> list[int]:
    return [int(a.details.get("attempt", 0)) for a in record.s1sp_alerts() if a.code == ATTEMPT_FAILED]


@pytest.mark.dmct_prepared_for("missing-master-keys")
@pytest.mark.dmct_group("Exclusions and Retries")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-EXCL-MASTER-KEYS")
def test_exclusion_missing_master_keys(
    prepared_for: Callable[[str], None], rig: RigSpec, route: ServiceRoute
) -> None:
    """MT-EXCL-MASTER-KEYS (Migration exclusion category "missing master keys"; SVTAD 20.15 (a) pack):
    an installation whose master keys the S1SP lacks is excluded before any attempt. Compared with: the
    requirement — outcome ``excluded`` in that category, a MigrationExcluded notification and S1SP alert
    naming it, no attempt made, no device Commissioned, and the ESME refusing SRVs (E14)."""
    prepared_for("missing-master-keys")
    record = run_migration(route, rig)
    assert_excluded(record, "missing_master_keys", route, rig)
    assert record.attempts == 0, f"the S1SP attempted a migration without master keys: {record.describe()}"


@pytest.mark.dmct_prepared_for("no-wan-before")
@pytest.mark.dmct_group("Exclusions and Retries")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-EXCL-NO-WAN-BEFORE")
def test_exclusion_no_wan_before_migration(
    prepared_for: Callable[[str], None], rig: RigSpec, route: ServiceRoute
) -> None:
    """MT-EXCL-NO-WAN-BEFORE (exclusion category "no WAN before migration"): a CH without WAN when the
    migration starts is excluded with no attempt. Compared with: the requirement (outcome, category,
    notification and alert, no attempt, nothing Commissioned, E14 from the ESME)."""
    prepared_for("no-wan-before")
    record = run_migration(route, rig)
    assert_excluded(record, "no_wan_before_migration", route, rig)
    assert record.attempts == 0, f"the S1SP attempted a migration without WAN: {record.describe()}"


@pytest.mark.dmct_prepared_for("no-wan-during")
@pytest.mark.dmct_group("Exclusions and Retries")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-EXCL-NO-WAN-DURING")
def test_exclusion_no_wan_while_migrating(
    prepared_for: Callable[[str], None], rig: RigSpec, route: ServiceRoute
) -> None:
    """MT-EXCL-NO-WAN-DURING (exclusion category "no WAN while migrating"): a CH losing WAN during the
    migration makes every attempt fail for lack of WAN; after the retry strategy's maximum (five) the
    installation is excluded. Compared with: the requirement (category, at least five attempts, a
    failed attempt of kind ``wan``, nothing Commissioned, E14 from the ESME)."""
    prepared_for("no-wan-during")
    record = run_migration(route, rig)
    assert_excluded(record, "no_wan_while_migrating", route, rig)
    assert record.attempts >= MAX_ATTEMPTS, record.describe()
    kinds = {a.details.get("kind") for a in record.s1sp_alerts() if a.code == ATTEMPT_FAILED}
    assert "wan" in kinds, f"no attempt failed for lack of WAN: {record.describe()}"


@pytest.mark.dmct_prepared_for("five-failed-attempts")
@pytest.mark.dmct_group("Exclusions and Retries")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-EXCL-FIVE-ATTEMPTS")
def test_exclusion_five_failed_attempts(
    prepared_for: Callable[[str], None], rig: RigSpec, route: ServiceRoute, request: pytest.FixtureRequest
) -> None:
    """MT-EXCL-FIVE-ATTEMPTS (exclusion category "five or more failed attempts", under the Migration
    Error Handling and Retry Strategy): the ESME is powered off (instruments) for the whole migration:
    every attempt fails, the S1SP retries up to the strategy's maximum, then excludes the installation.
    Compared with: the requirement — excluded in that category after at least five attempts, one
    failed-attempt alert per attempt numbered 1..n, nothing Commissioned, E14 from the ESME."""
    prepared_for("five-failed-attempts")
    instruments: Instruments = request.getfixturevalue("instruments")
    instruments.power("esme", False)
    try:
        record = run_migration(route, rig)
    finally:
        instruments.power("esme", True)
    assert_excluded(record, "five_failed_attempts", route, rig)
    assert record.attempts >= MAX_ATTEMPTS, (
        f"excluded after {record.attempts} attempt(s): {record.describe()}"
    )
    assert failed_attempts(record) == list(range(1, record.attempts + 1)), (
        f"{ATTEMPT_FAILED} alerts for attempts {failed_attempts(record)}, expected 1..{record.attempts}"
    )


@pytest.mark.dmct_prepared_for("retry")
@pytest.mark.dmct_group("Exclusions and Retries")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.dmct_requirement("MT-RETRY")
def test_retry_recovers_under_the_retry_strategy(
    prepared_for: Callable[[str], None], rig: RigSpec, route: ServiceRoute, request: pytest.FixtureRequest
) -> None:
    """MT-RETRY (Migration Error Handling and Retry Strategy): the ESME is off when the migration
    starts and back on (instruments) while attempts remain: the failed attempt is notified and retried,
    and the retry migrates the installation. Compared with: the requirement — migrated after 2..5
    attempts, a failed-attempt alert for each attempt but the last, MigrationCompleted last, every
    device Commissioned."""
    prepared_for("retry")
    instruments: Instruments = request.getfixturevalue("instruments")
    instruments.power("esme", False)
    timer = threading.Timer(RETRY_RESTORE_S, instruments.power, ("esme", True))
    try:
        record = run_migration(route, rig, on_start=timer.start)
    finally:
        if timer.is_alive() or timer.finished.is_set():
            timer.join()
        instruments.power("esme", True)
    assert record.outcome == "migrated", record.describe()
    assert 2 <= record.attempts < MAX_ATTEMPTS + 1, record.describe()
    assert failed_attempts(record) == list(range(1, record.attempts)), (
        f"{ATTEMPT_FAILED} alerts for attempts {failed_attempts(record)}, expected 1..{record.attempts - 1}"
    )
    assert record.notifications[-1] == COMPLETED, record.describe()
    assert set(record.statuses.values()) == {"Commissioned"}, record.statuses


@pytest.mark.dmct_prepared_for("gt01")
@pytest.mark.dmct_group("Exclusions and Retries")
@pytest.mark.dmct_roles("ch", "esme", "gsme")
@pytest.mark.dmct_requirement("MT-EXCL-GT01")
def test_gt01_gsme_excluded_esme_migrated(
    prepared_for: Callable[[str], None], rig: RigSpec, route: ServiceRoute
) -> None:
    """MT-EXCL-GT01 (exclusion category "gas excluded for HAN error GT01: migrate the ESME only"): a
    GSME the CH reports with GT01 is withdrawn and the rest of the installation migrates. Compared with:
    the requirement — outcome ``migrated_esme_only``, one gas-excluded alert naming exactly the rig's
    GSME, CH and ESME Commissioned and answering SRVs (I0), the GSME not Commissioned and refusing them
    (E14)."""
    prepared_for("gt01")
    ids = device_ids(rig)
    record = run_migration(route, rig)
    assert record.outcome == "migrated_esme_only", record.describe()
    gas = [a for a in record.s1sp_alerts() if a.code == GAS_EXCLUDED]
    assert [str(a.device).upper() for a in gas] == [ids["gsme"]], f"{GAS_EXCLUDED} alerts: {gas}"
    assert record.statuses.get(ids["gsme"]) != "Commissioned", record.statuses
    for role in ("ch", "esme"):
        assert record.statuses.get(ids[role]) == "Commissioned", f"{role}: {record.statuses}"
    assert route.submit("11.2", ids["esme"], {}, user=SUPPLIER, check=False).code == "I0"
    answer = route.submit("11.2", ids["gsme"], {}, user=SUPPLIER, check=False)
    assert answer.code == "E14", f"the excluded GSME answered SRV 11.2 with {answer.code}, not E14"
