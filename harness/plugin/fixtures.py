"""The fixtures a pack sees: the lab, the entry and DMC, the rig, transcripts, role drivers, the route.

Pack tests reach devices only through these (so they run unchanged on hardware): each fixture
hands out a driver over a pooled link, logged to the test's transcript. The drivers, their protocols
and the libraries under them (dlms-cosem, pymodbus, cryptography) are imported by the fixture that first
needs them, not when the plugin loads: every xdist worker loads the plugin, few tests need them all
(issue 21: parallel start-up).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from filelock import FileLock

from device_drivers.errors import LeaseLost, LinkDown, RigUnhealthy
from device_drivers.transcript import Transcript
from harness.lab.inventory import (
    DmcSpec,
    EntrySpec,
    Lab,
    RigSpec,
    UtrnSpec,
    utrn_source_problems,
)
from harness.lab.leases import RigLease
from harness.plugin.links import LinkPool
from harness.plugin.state import _EVIDENCE, _RUN_KEY, _Run, _spec, rig_lease_key

if TYPE_CHECKING:  # each imported by the fixture that first needs it (issue 21: a worker's start-up)
    from device_drivers.protocols.modbus import Instruments
    from device_drivers.roles import ChDriver, EsmeDriver, GsmeDriver, IhdDriver, PpmidDriver
    from device_drivers.route import ServiceRoute
    from device_drivers.utrn import UtrnSource

# ------------------------------------------------------------------------------------- fixtures


def _run_of(request: pytest.FixtureRequest) -> _Run:
    run = request.config.stash.get(_RUN_KEY, None)
    if run is None:
        pytest.fail("this test needs a lab: run pytest with --lab labs/<lab>.yaml", pytrace=False)
    return run


@pytest.fixture(scope="session")
def dmct_run_dir(request: pytest.FixtureRequest) -> Path:
    """This run's directory (``results/<run-id>/``), shared by every worker of the session."""
    return _run_of(request).run_dir


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Lab:
    """The validated lab inventory given with ``--lab``."""
    return _run_of(request).lab


@pytest.fixture(scope="session")
def dmct_entry(request: pytest.FixtureRequest) -> EntrySpec:
    """The planned EPCL entry under test (``--entry``, else the lab's default)."""
    return _run_of(request).entry


@pytest.fixture(scope="session")
def dmc(lab: Lab, dmct_entry: EntrySpec) -> DmcSpec:
    """The Device Model Combination of the entry under test: the models and firmware expected."""
    return lab.dmc(dmct_entry.dmc)


@pytest.fixture(scope="session")
def utrn_source(request: pytest.FixtureRequest, lab: Lab) -> UtrnSource:
    """Where top-up tests (SRV 2.2) get their UTRNs: the lab file's ``prepayment.utrn``. A virtual lab
    without one uses the virtual meters' scheme. What ``dmct lab check`` reports (no source, its program
    not found, the scheme secret not in the environment: :func:`harness.lab.inventory.utrn_source_problems`)
    blocks the top-up tests with the reason: it is the lab's set-up, not the meter, that stops them."""
    from device_drivers.utrn import (
        VIRTUAL_SECRET,
        CommandUtrnSource,
        SchemeUtrnSource,
        UtrnSourceUnavailable,
    )

    problems = utrn_source_problems(lab, os.environ, shutil.which)
    if problems:
        raise UtrnSourceUnavailable(str(_run_of(request).lab_file), problems[0])
    # Without problems, only a virtual lab can lack a source: it uses the virtual meters' scheme.
    spec = lab.prepayment.utrn if lab.prepayment is not None else UtrnSpec(kind="scheme")
    if spec.kind == "command":
        return CommandUtrnSource(tuple(spec.argv), spec.timeout_s)
    return SchemeUtrnSource(os.environ.get(spec.secret_env, VIRTUAL_SECRET))


@pytest.fixture
def rig(request: pytest.FixtureRequest, lab: Lab) -> Iterator[RigSpec]:
    """This worker's rig, held exclusively for the test.

    The session's lease (held by the controller, heartbeated) keeps other sessions away; a per-test
    mutex in the run directory keeps two workers of this session off one rig. A rig with no usable
    lease or a failed health check blocks the test with the reason, never fails it.
    """
    run = _run_of(request)
    marker = request.node.get_closest_marker("dmct_prepared_for")
    if marker is not None:  # a negative path: the rig prepared for it, whichever worker runs the test
        scenario = str(marker.args[0])
        chosen = next((r for r in run.usable_rigs if _spec(lab, r).prepared_for == scenario), None)
        if chosen is None:
            out = [r for r in run.rigs_out if _spec(lab, r).prepared_for == scenario]
            if out:
                raise RigUnhealthy(out[0], run.rigs_out[out[0]])
            pytest.skip(f"not applicable: lab {lab.lab} has no rig prepared for {scenario!r}")
    elif run.worker_rig is None:
        reason = "; ".join(run.rigs_out.values()) or f"no rig hosts DMC {run.entry.dmc}"
        raise RigUnhealthy("rig", reason)
    else:
        chosen = run.worker_rig
    spec = _spec(lab, chosen)
    holder = RigLease(rig_lease_key(run, spec), spec.id, run.run_id).holder()
    if holder is None or holder.run != run.run_id:
        raise LeaseLost(spec.id, f"lease is held by {holder.describe() if holder else 'nobody'}")
    request.node.user_properties.append(("dmct_rig", spec.id))
    mutex = FileLock(str(run.run_dir / ".rig-mutex" / f"{spec.id}.lock"))
    (run.run_dir / ".rig-mutex").mkdir(exist_ok=True)
    with mutex:
        yield spec


@pytest.fixture
def transcript(request: pytest.FixtureRequest) -> Iterator[Transcript]:
    """Every byte exchanged with devices during this test; saved as evidence when the test ends."""
    run = _run_of(request)
    record = Transcript()
    yield record
    if record.entries:
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-180:]
        path = record.write(run.run_dir / "transcripts" / run.entry.id / f"{name}.jsonl")
        request.node.user_properties.append((_EVIDENCE, os.path.relpath(path, run.run_dir)))
        # (with --alluredir the transcript is attached to the test body when its call ends: results.py)


@pytest.fixture(scope="session")
def links(request: pytest.FixtureRequest) -> Iterator[LinkPool]:
    """The session's open connections to device interfaces."""
    pool = LinkPool(_run_of(request).endpoints)
    yield pool
    pool.close()


@pytest.fixture
def esme(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[EsmeDriver]:
    """The rig's electricity meter, through its optical port (IEC 62056-21 readout and DLMS/COSEM)."""
    from device_drivers.roles import EsmeDriver

    with links.meter(rig, "esme", transcript, EsmeDriver) as driver:
        yield driver


@pytest.fixture
def gsme(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[GsmeDriver]:
    """The rig's gas meter, through its optical port (DLMS/COSEM)."""
    from device_drivers.roles import GsmeDriver

    with links.meter(rig, "gsme", transcript, GsmeDriver) as driver:
        yield driver


@pytest.fixture
def ppmid(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[PpmidDriver]:
    """The rig's prepayment interface device: what its screen shows (``display`` link, DLMS/COSEM)."""
    from device_drivers.roles import PpmidDriver

    with links.display(rig, "ppmid", transcript, PpmidDriver) as driver:
        yield driver


@pytest.fixture
def ihd(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[IhdDriver]:
    """The rig's in-home display: what its screen shows (``display`` link, DLMS/COSEM)."""
    from device_drivers.roles import IhdDriver

    with links.display(rig, "ihd", transcript, IhdDriver) as driver:
        yield driver


@pytest.fixture
def instruments(
    request: pytest.FixtureRequest, rig: RigSpec, transcript: Transcript
) -> Iterator[Instruments]:
    """The rig's lab instruments: power relays, load source, gas flow (Modbus, map from the lab file)."""
    if rig.instruments is None:
        pytest.skip(f"not applicable: rig {rig.id} has no instruments")
    from device_drivers.protocols.modbus import Instruments

    bank = Instruments.from_config(
        rig.instruments,
        transcript=transcript,
        device=f"{rig.id}/instruments",
        endpoints=_run_of(request).endpoints,
    )
    try:
        yield bank
    finally:
        bank.close()


@pytest.fixture(scope="session")
def _route_session(request: pytest.FixtureRequest, lab: Lab) -> Iterator[ServiceRoute]:
    spec = lab.route
    if spec is None:
        pytest.skip(f"not applicable: lab {lab.lab} describes no service route")
    run = _run_of(request)
    keys_dir = spec.keys_dir or run.route_keys
    extra: dict[str, object] = {}
    if spec.kind == "duis":  # its settings, the virtual DSP's (a virtual lab), each device's type
        extra["device_types"] = {d.eui64: d.role for r in lab.rigs for d in r.devices if d.eui64}
        if spec.duis is not None:
            settings = spec.duis.model_dump(mode="json")
            settings["users"] = [u.model_dump(mode="json") for u in spec.duis.users]
            settings["base_dir"] = str(run.lab_file.resolve().parent)
            extra["duis"] = settings
        if spec.dsp is not None:
            extra["virtual_dsp"] = spec.dsp.model_dump(mode="json")
    from device_drivers.route import load_route

    try:
        route = load_route(
            spec.kind, url=spec.url, keys_dir=keys_dir, endpoints=run.endpoints, timeout=spec.timeout,
            **spec.options, **extra,
        )  # fmt: skip
    except (LookupError, TypeError, OSError, ValueError) as exc:
        raise LinkDown("route", f"cannot set up service route {spec.kind!r}: {exc}") from None
    yield route
    route.close()


@pytest.fixture
def route(_route_session: ServiceRoute, transcript: Transcript) -> Iterator[ServiceRoute]:
    """The SMETS1 service route (S1SP, DCO) as the lab file names it; one session per worker."""
    _route_session.transcript = transcript
    try:
        yield _route_session
    finally:
        _route_session.transcript = None


@pytest.fixture
def ch(rig: RigSpec, route: ServiceRoute) -> ChDriver:
    """The rig's comms hub, reached through the service route by its Device ID."""
    from device_drivers.roles import ChDriver

    device = rig.device("ch")
    if device is None or not device.eui64:
        pytest.skip(f"not applicable: rig {rig.id} names no CH Device ID (eui64)")
    return ChDriver(f"{rig.id}/ch", route, device.eui64)
