"""The state of one dmct run inside a pytest session, and the names its modules share.

One :class:`_Run` per session, kept in the config stash; the other plugin modules read it, none of
them owns it, so it lives here where all of them can import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from device_drivers.roles import DisplayDriver, MeterDriver
from harness.lab.inventory import (
    EntrySpec,
    Lab,
    RigSpec,
)
from harness.lab.leases import RigLease
from harness.model.packs import DmcPlan, PackManifest
from harness.model.ttm import Catalogue as TtmCatalogue
from harness.store.journal import JournalWriter

_PROP = "dmct"  # user_properties key carrying a test's metadata to the controller
_BLOCKED = "dmct_blocked"
_EVIDENCE = "dmct_evidence"
_NOT_APPLICABLE = "dmct_not_applicable"


@dataclass
class _Run:
    """Per-session state of an active dmct run."""

    lab: Lab
    lab_file: Path
    entry: EntrySpec
    run_id: str
    run_dir: Path
    packs: dict[Path, PackManifest]
    ttm: TtmCatalogue
    #: The packs' planned tests for the entry's DMC, its non-standard packs applied (20.17).
    dmc_plan: DmcPlan
    endpoints: dict[str, str] = field(default_factory=dict)
    route_keys: str | None = None  # the virtual route's published test keys
    issue_links: dict[tuple[str, str, str], list[tuple[str, str]]] | None = None
    usable_rigs: list[str] = field(default_factory=list)
    rigs_out: dict[str, str] = field(default_factory=dict)  # rig id -> why it is not used
    worker_rig: str | None = None
    leases: list[RigLease] = field(default_factory=list)
    journal: JournalWriter | None = None
    phases: dict[str, list[pytest.TestReport]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_RUN_KEY = pytest.StashKey[_Run]()
M = TypeVar("M", bound=MeterDriver)
D = TypeVar("D", bound=DisplayDriver)


def _spec(lab: Lab, rig_id: str) -> RigSpec:
    return next(r for r in lab.rigs if r.id == rig_id)


def _standard_rigs(run: _Run) -> list[str]:
    """Usable rigs that run the standard tests (a rig prepared for a negative path runs only those)."""
    return [r for r in run.usable_rigs if _spec(run.lab, r).prepared_for is None]
