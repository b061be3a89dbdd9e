"""Fixtures shared by the standard packs: each rig's one migration, observed once per session.

The MT pack checks that migration; the SRVT pack needs the rig's devices Commissioned. Whichever test
of either pack needs a rig first migrates it (under the rig mutex the ``rig`` fixture holds) and
writes the :class:`~test_packs.migration.MigrationRecord` into the run directory, where every worker
of the session reads it, so the two packs never race to migrate one rig.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from device_drivers.roles import EsmeDriver, GsmeDriver, MeterDriver
from device_drivers.route import ServiceRoute
from device_drivers.transcript import Transcript
from harness.lab.inventory import RigSpec
from harness.plugin.links import LinkPool
from test_packs.migration import MigrationRecord, SharedMigrations, run_migration


@pytest.fixture(scope="session")
def shared_migrations(dmct_run_dir: Path) -> SharedMigrations:
    """Where this session's workers share their rigs' migration records (inside the run directory)."""
    return SharedMigrations(dmct_run_dir / "migrations")


def meter_state(
    rig: RigSpec, links: LinkPool, transcript: Transcript
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Each meter's clock, total import register and supply state, read on its optical port (DLMS), for
    the rigs that wire one: what the installation was before migration."""
    kinds: dict[str, type[MeterDriver]] = {"esme": EsmeDriver, "gsme": GsmeDriver}
    clocks: dict[str, str] = {}
    totals: dict[str, str] = {}
    supply: dict[str, str] = {}
    for role, kind in kinds.items():
        device = rig.device(role)  # type: ignore[arg-type]
        if device is None or "dlms" not in device.links:
            continue
        with links.meter(rig, role, transcript, kind) as meter:  # type: ignore[arg-type]
            clocks[role] = meter.optical.clock().isoformat()
            totals[role] = str(meter.optical.import_registers().total)
            supply[role] = str(meter.optical.supply_state())
    return clocks, totals, supply


def observe_migration(
    rig: RigSpec, route: ServiceRoute, links: LinkPool, transcript: Transcript
) -> MigrationRecord:
    """Read the meters' clocks, registers and supply states, migrate the rig and gather what the route
    reported."""
    clocks, totals, supply = meter_state(rig, links, transcript)
    record = run_migration(route, rig)
    record.meter_clocks, record.meter_totals, record.supply_before = clocks, totals, supply
    return record
