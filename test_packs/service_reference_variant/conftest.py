"""SRVT pack fixtures: each test's rig is migrated first (SRVs need Commissioned devices), once per
session and shared with the MT pack, and each test gets an
:class:`~test_packs.service_reference_variant._srvt.SrvtRig` over its rig."""

from __future__ import annotations

import time

import pytest

from device_drivers.errors import RigUnhealthy
from device_drivers.route import RouteError, ServiceRoute
from device_drivers.transcript import Transcript
from harness.lab.inventory import RigSpec
from harness.plugin.links import LinkPool
from test_packs.conftest import observe_migration
from test_packs.migration import SharedMigrations
from test_packs.service_reference_variant._srvt import SrvtRig, submit_retrying

MIGRATION_TIMEOUT_S = 120.0


def _commissioned(route: ServiceRoute, rig: RigSpec) -> bool:
    for device in rig.devices:
        if not device.eui64 or device.role not in ("ch", "esme"):
            continue
        try:
            entry = dict(submit_retrying(route, "8.2", device.eui64, {}, user="supplier").result or {})
        except RouteError as exc:
            if exc.code == "E14":  # not in the inventory yet
                return False
            raise
        if entry.get("status") != "Commissioned":
            return False
    return True


_ready: set[str] = set()  # rigs this worker has seen Commissioned


@pytest.fixture(autouse=True)
def _migrated(
    rig: RigSpec,
    route: ServiceRoute,
    links: LinkPool,
    transcript: Transcript,
    shared_migrations: SharedMigrations,
) -> None:
    """This test's rig, migrated: once per session, shared with the MT pack (``test_packs/conftest.py``).

    A rig that was already Commissioned before this session is fine for SRVs; one whose migration
    could not be observed blocks the test; one whose migration failed is a product failure.
    """
    if rig.id in _ready:
        return
    record = shared_migrations.get(rig, lambda: observe_migration(rig, route, links, transcript))
    if record.error is not None and not record.pre_commissioned:
        if record.error["kind"] == "blocked":
            raise RigUnhealthy(rig.id, f"migration not possible: {record.error['message']}")
        pytest.fail(record.error["message"], pytrace=False)
    if not record.pre_commissioned:
        record.require_migrated()
    deadline = time.monotonic() + MIGRATION_TIMEOUT_S
    while not _commissioned(route, rig):
        if time.monotonic() > deadline:
            raise AssertionError(f"rig {rig.id}: devices not Commissioned after migration")
        time.sleep(0.1)
    _ready.add(rig.id)


@pytest.fixture
def srvt(rig: RigSpec, route: ServiceRoute, request: pytest.FixtureRequest) -> SrvtRig:
    """This test's rig through the route and the devices' own ports."""
    return SrvtRig(rig, route, request)
