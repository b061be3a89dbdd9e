"""The state of one dmct run inside a pytest session, and the names its modules share.

One :class:`_Run` per session, kept in the config stash; the other plugin modules read it, none of
them owns it, so it lives here where all of them can import it without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from harness.lab.inventory import (
    EntrySpec,
    Lab,
    RigSpec,
)
from harness.lab.leases import RigLease, lease_key
from harness.model.packs import DmcPlan, PackManifest
from harness.model.ttm import Catalogue as TtmCatalogue
from harness.store.journal import JournalWriter

if TYPE_CHECKING:  # the drivers are imported when a fixture first hands one out (fixtures.py)
    from device_drivers.roles import DisplayDriver, MeterDriver

# user_properties keys. pytest writes user properties into its own JUnit XML (``--junitxml``) as
# ``str(value)``, so every value is a string: the test's metadata is a JSON object, never a dict repr.
_PROP = "dmct"  # a test's metadata (JSON) carried to the controller
_BLOCKED = "dmct_blocked"
_EVIDENCE = "dmct_evidence"
_NOT_APPLICABLE = "dmct_not_applicable"
_EXCEPTION = "dmct_exception"  # the class of the exception that failed the test (JUnit failure type)


def pack_meta(props: Iterable[tuple[str, object]]) -> dict[str, Any] | None:
    """The metadata collection attached to a test (``None`` for a test of no pack)."""
    raw = next((v for k, v in props if k == _PROP), None)
    if raw is None:
        return None
    meta: dict[str, Any] = json.loads(str(raw))
    return meta


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
    lab_instance: str | None = None  # the serving virtual lab's instance id (endpoints file)
    lease_waits: dict[str, str] = field(default_factory=dict)  # rig id -> whom it waited for, how long
    worker_rig: str | None = None
    leases: list[RigLease] = field(default_factory=list)
    journal: JournalWriter | None = None
    phases: dict[str, list[pytest.TestReport]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: Each collected test's metadata by its JSON text (the ``_PROP`` value), so the controller that
    #: collected it journals its result without parsing the JSON again (xdist workers' tests are parsed).
    metas: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``--resume``: this session continues an existing run (its plan and journal are kept).
    resumed: bool = False
    #: The lab as handed to xdist workers (:func:`harness.lab.inventory.lab_to_workers`), made once.
    lab_wire: str | None = None


_RUN_KEY = pytest.StashKey[_Run]()
M = TypeVar("M", bound="MeterDriver")
D = TypeVar("D", bound="DisplayDriver")


def _spec(lab: Lab, rig_id: str) -> RigSpec:
    return next(r for r in lab.rigs if r.id == rig_id)


def _standard_rigs(run: _Run) -> list[str]:
    """Usable rigs that run the standard tests (a rig prepared for a negative path runs only those)."""
    return [r for r in run.usable_rigs if _spec(run.lab, r).prepared_for is None]


def _is_virtual(rig: RigSpec) -> bool:
    """Whether the rig is simulated by the virtual lab process (every link of it is ``virtual://``)."""
    urls = [link.url for device in rig.devices for link in device.links.values()]
    if rig.instruments is not None:
        urls.append(rig.instruments.url)
    return bool(urls) and all(url.startswith("virtual://") for url in urls)


def rig_lease_key(run: _Run, rig: RigSpec) -> str:
    """Virtual rigs belong to the process that serves them; real rigs are host-wide."""
    return lease_key(run.lab.lab, run.lab_instance if _is_virtual(rig) else None)
