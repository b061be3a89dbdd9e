"""Fixtures of the DMCT MT pack: the rig's one migration, shared by every test, and prepared rigs.

``migration`` hands each test the :class:`~.migration.MigrationRecord` of its rig's standard migration,
performed once per session by whichever worker needs it first (see :mod:`.migration`). On a rig
prepared for a negative path it is not applicable; ``prepared_for(name)`` is the converse, for the
negative tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from device_drivers.errors import RigUnhealthy
from device_drivers.route import ServiceRoute
from device_drivers.transcript import Transcript
from harness.lab.inventory import EntrySpec, RigSpec
from harness.plugin.links import LinkPool
from test_packs.conftest import observe_migration
from test_packs.migration import SCENARIOS, MigrationRecord, SharedMigrations, scenario_of


@pytest.fixture
def migration(
    rig: RigSpec,
    route: ServiceRoute,
    links: LinkPool,
    transcript: Transcript,
    shared_migrations: SharedMigrations,
    dmct_entry: EntrySpec,
) -> MigrationRecord:
    """The standard migration of this test's rig (performed once per session, then shared)."""
    scenario = scenario_of(rig)
    if scenario is not None:
        pytest.skip(
            f"not applicable: rig {rig.id} is prepared for the negative path {scenario!r} "
            f"({SCENARIOS[scenario]}), not for the standard migration"
        )
    record = shared_migrations.get(rig, lambda: observe_migration(rig, route, links, transcript))
    if record.error is not None:
        if record.error["kind"] == "blocked":
            raise RigUnhealthy(rig.id, f"migration not observable: {record.error['message']}")
        pytest.fail(record.error["message"], pytrace=False)
    if record.installation is not None and record.installation != dmct_entry.installation:
        raise RigUnhealthy(
            rig.id,
            f"the rig holds a {record.installation} installation but entry {dmct_entry.id} is for "
            f"{dmct_entry.installation} installations: prepare the rig for the entry",
        )
    return record


@pytest.fixture
def prepared_for(rig: RigSpec) -> Callable[[str], None]:
    """``prepared_for("gt01")``: skip as not applicable unless this rig is prepared for that path."""

    def check(name: str) -> None:
        assert name in SCENARIOS, name
        if scenario_of(rig) != name:
            pytest.skip(
                f"not applicable: rig {rig.id} is not prepared for the negative path {name!r} "
                f"({SCENARIOS[name]}); a lab prepares one with `prepared_for: {name}` on a rig"
            )

    return check
