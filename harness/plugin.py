"""The dmct pytest plugin: lab options, markers, fixtures, and the results journal.

Registered once through the ``pytest11`` entry point. Inert unless ``--lab`` is given, so it costs
nothing in projects (including this one's own tests) that merely have dmct installed.

With ``--lab`` it:
- validates the lab file and the chosen entry (bad input is one ``UsageError`` line, no traceback);
- creates ``results/<run-id>/`` and writes ``plan.json`` (from the pack manifests) and ``run.json``
  (lab, environment, device versions: the facts a DMCT Testing Report needs, 20.34 (a));
- gives tests the fixtures ``lab``, ``dmct_entry``, ``dmc``, ``rig``, ``transcript``, ``esme``;
- records every test execution as one line of ``results.jsonl`` in the interchange format, with its
  requirements, SRV, rig, duration and transcript path. Under pytest-xdist only the controller writes,
  from the reports workers send as each test finishes, so every result is written exactly once and a
  crashed worker loses nothing already finished;
- reports a test whose failure is an :class:`~device_drivers.errors.InfrastructureFault` as
  *blocked* (lab trouble), never *failed* (a product failure).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from filelock import FileLock

from device_drivers.errors import InfrastructureFault, LeaseLost, LinkDown, RigUnhealthy
from device_drivers.links import Link, probe, read_runtime
from device_drivers.protocols.display import DisplayPort
from device_drivers.protocols.meter_optical import MeterOptical
from device_drivers.protocols.modbus import Instruments
from device_drivers.registry import driver_class
from device_drivers.roles import (
    ChDriver,
    DisplayDriver,
    EsmeDriver,
    GsmeDriver,
    IhdDriver,
    MeterDriver,
    PpmidDriver,
)
from device_drivers.route import ServiceRoute, load_route
from device_drivers.transcript import Transcript
from device_drivers.utrn import (
    VIRTUAL_SECRET,
    CommandUtrnSource,
    SchemeUtrnSource,
    UtrnSource,
    UtrnSourceUnavailable,
)
from harness.errors import DmctInputError
from harness.interchange import Outcome, PackPlan, Plan, PlanEntry, ResultRecord, format_at
from harness.journal import JournalWriter
from harness.lab import (
    DeviceSpec,
    DmcSpec,
    EntrySpec,
    Lab,
    RigSpec,
    Role,
    UtrnSpec,
    load_lab,
    utrn_source_problems,
)
from harness.leases import RigBusy, RigLease
from harness.packs import DmcPlan, PackManifest, discover, find_pack_root, plan_for_dmc, test_id
from harness.paths import endpoints_file, new_run_id, results_dir
from harness.ttm import Catalogue as TtmCatalogue
from harness.ttm import load_catalogue as load_ttm

MARKERS = {
    "requirement": "requirement(*ids): TTM requirement ids this test covers",
    "srv": "srv(number): the DUIS Service Request Variant exercised, e.g. '4.1.1'",
    "group": "group(name): the TTM functional group",
    "roles": "roles(*roles): device roles the test needs (ch, esme, gsme, ppmid, ihd)",
    "prepared_for": "prepared_for(name): run on the rig prepared for this negative path (lab file)",
}

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


# ------------------------------------------------------------------------------------------ options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dmct", "SMETS1 DMC testing (dmct)")
    group.addoption("--lab", metavar="FILE", help="lab inventory (labs/*.yaml); enables dmct")
    group.addoption("--entry", metavar="ID", action="append", help="planned EPCL entry to test")
    group.addoption("--run-id", metavar="ID", help="run id (default: UTC time + random suffix)")
    group.addoption("--results-dir", metavar="DIR", help="where runs are written (default results/)")
    group.addoption("--lab-endpoints", metavar="FILE", help="endpoints file of a running virtual lab")
    group.addoption(
        "--lease-wait",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="how long to wait for a rig leased by another session (default 30; 0 = refuse at once)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)
    lab_opt = config.getoption("--lab")
    if not lab_opt:
        return
    try:
        run = _start_run(config, Path(lab_opt))
    except DmctInputError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_RUN_KEY] = run


def _start_run(config: pytest.Config, lab_file: Path) -> _Run:
    lab = load_lab(lab_file)
    entries = lab.select_entries(config.getoption("--entry"))
    if len(entries) > 1:
        raise DmctInputError("--entry", "one entry per session for now; run once per entry")
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        run_id, run_dir = workerinput["dmct_run_id"], Path(workerinput["dmct_run_dir"])
    else:
        run_id = config.getoption("--run-id") or new_run_id()
        if not re.fullmatch(r"[\w.-]+", run_id):
            raise DmctInputError("--run-id", f"{run_id!r}: use letters, digits, '.', '_' or '-'")
        run_dir = results_dir(config.getoption("--results-dir")) / run_id
    entry = entries[0]
    # Each pack's manifest for the entry's Capability Release (20.16), non-standard packs (20.17) for
    # its DMC applied: a bad manifest or one for another DMC refuses the run in one line.
    packs = discover((Path(a.split("::")[0]) for a in config.args), entry.capability_release)
    dmc_plan = plan_for_dmc(packs, entry.dmc, entry.id)
    ep_file = config.getoption("--lab-endpoints")
    runtime = read_runtime(
        Path(ep_file) if ep_file else endpoints_file(lab.lab, results_dir(config.getoption("--results-dir")))
    )
    endpoints = {str(k): str(v) for k, v in runtime.get("endpoints", {}).items()}
    run = _Run(lab, lab_file, entry, run_id, run_dir.resolve(), packs, load_ttm(packs), dmc_plan, endpoints)
    run.route_keys = runtime.get("route_keys")
    if workerinput is None:
        _lease_rigs(run, config.getoption("--lease-wait"))
        run.run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(run.run_dir / "plan.json", _plan(run).model_dump(mode="json", exclude_none=True))
        _write_json(run.run_dir / "run.json", _run_facts(run, config))
        run.journal = JournalWriter(run.run_dir / "results.jsonl")
        standard = _standard_rigs(run)
        run.worker_rig = standard[0] if standard else None
    else:
        run.usable_rigs = list(workerinput["dmct_rigs"])
        run.rigs_out = dict(workerinput["dmct_rigs_out"])
        run.worker_rig = workerinput["dmct_rig"]
    return run


def _lease_rigs(run: _Run, wait_s: float) -> None:
    """Lease every rig hosting the entry's DMC, then health-check the leased ones (controller only).

    A rig leased by another session is waited for (``--lease-wait``); if none can be had the session
    is refused cleanly. A leased rig failing its health check is released and left out, with the
    reason; if no healthy rig remains, the tests are blocked with that reason (a lab fault).
    """
    candidates = run.lab.rigs_for_entry(run.entry)
    busy: list[str] = []
    for rig in candidates:
        lease = RigLease(run.lab.lab, rig.id, run.run_id)
        try:
            lease.acquire(wait_s=wait_s if not run.leases else 0.0)
        except RigBusy as exc:
            busy.append(str(exc))
            run.rigs_out[rig.id] = str(exc)
            continue
        run.leases.append(lease)
        problem = _health(run, rig)
        if problem:
            lease.release()
            run.leases.remove(lease)
            run.rigs_out[rig.id] = f"rig {rig.id} failed its health check: {problem}"
        else:
            run.usable_rigs.append(rig.id)
    standard = [r for r in candidates if r.prepared_for is None]
    if busy and (not run.leases or (standard and not _leased(run) & {r.id for r in standard})):
        # without a standard rig the session could only run the negative paths: refuse it cleanly
        for lease in run.leases:
            lease.release()
        raise DmctInputError("--lab", f"no rig for entry {run.entry.id} can be leased: {busy[0]}")


def _leased(run: _Run) -> set[str]:
    return {lease.rig for lease in run.leases}


def _health(run: _Run, rig: RigSpec) -> str | None:
    """Every device link and the instruments of the rig must open; the first failure is the reason."""
    if rig.instruments is not None:
        try:
            probe(
                rig.instruments.url,
                device=f"{rig.id}/instruments",
                timeout=rig.instruments.timeout,
                endpoints=run.endpoints,
            )
        except InfrastructureFault as exc:
            return str(exc)
    for device in rig.devices:
        for iface, link in device.links.items():
            try:
                probe(
                    link.url,
                    device=f"{rig.id}/{device.role}/{iface}",
                    timeout=link.timeout,
                    endpoints=run.endpoints,
                )
            except InfrastructureFault as exc:
                return str(exc)
    return None


def _release_leases(run: _Run) -> None:
    for lease in run.leases:
        lease.release()
    run.leases.clear()


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` means one worker per rig that hosts the entry's DMC."""
    lab_opt = config.getoption("--lab", None)
    if not lab_opt:
        return None
    try:
        lab = load_lab(Path(lab_opt))
        entry = lab.select_entries(config.getoption("--entry"))[0]
    except DmctInputError:
        return None  # reported properly by pytest_configure
    return max(1, len([r for r in lab.rigs_for_entry(entry) if r.prepared_for is None]))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand every worker the run id and directory (workers never invent their own)."""
    run = node.config.stash.get(_RUN_KEY, None)
    if run is not None:
        index = int(str(node.gateway.id).removeprefix("gw") or 0)
        node.workerinput["dmct_run_id"] = run.run_id
        node.workerinput["dmct_run_dir"] = str(run.run_dir)
        node.workerinput["dmct_rigs"] = run.usable_rigs
        node.workerinput["dmct_rigs_out"] = run.rigs_out
        # Workers are handed rigs round-robin; more workers than rigs share via a per-test mutex.
        node.workerinput["dmct_rig"] = (
            _standard_rigs(run)[index % len(_standard_rigs(run))] if _standard_rigs(run) else None
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN_KEY, None)
    if run is None or run.journal is None:
        return
    _release_leases(run)
    run.journal.close()
    facts = json.loads((run.run_dir / "run.json").read_text())
    facts["finished"] = format_at(datetime.now(UTC))
    facts["counts"] = run.counts
    _write_json(run.run_dir / "run.json", facts)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = config.stash.get(_RUN_KEY, None)
    if run is None:
        return None
    lines = [f"dmct: lab {run.lab.lab}, entry {run.entry.id} (DMC {run.entry.dmc}), run {run.run_dir}"]
    lines.append("dmct: packs " + ", ".join(m.label for m in run.packs.values()))
    for m in (m for m in run.packs.values() if not m.standard):
        changes = run.dmc_plan.changes.get(m.id, [])
        removed = sum(1 for c in changes if c.by is None)
        change = f"; removes {removed}, replaces {len(changes) - removed} of {m.based_on}" if changes else ""
        lines.append(
            f"dmct: non-standard pack {m.id} for DMC {m.dmc} (20.17): {len(m.test_ids)} own test(s){change}"
        )
    return lines


# --------------------------------------------------------------------------------- plan and facts


def _plan(run: _Run) -> Plan:
    """The plan this run is judged against: every known pack's planned tests, for the chosen entry.

    ``packs`` holds each pack's manifest as it is (for the entry's Capability Release). The entry gets
    its own list for a pack whose tests differ for it (interchange ``entries[].tests``, 20.17): tests a
    non-standard pack for its DMC removes or replaces are not planned, and tests needing a device role
    the DMC lacks (a DMC without a GSME) are not applicable to it.
    """
    packs = {m.id: PackPlan(tests=m.test_ids, min_pass_rate=m.min_pass_rate) for m in run.packs.values()}
    e = run.entry
    roles = run.lab.dmc(e.dmc).roles
    own: dict[str, list[str]] = {}
    for m in run.packs.values():
        applicable = set(m.applicable(roles))
        mine = [t for t in run.dmc_plan.tests[m.id] if t in applicable]
        if mine != m.test_ids or not m.standard:  # a non-standard pack is this DMC's own (20.17)
            own[m.id] = mine
    entry = PlanEntry(
        id=e.id, dmc=e.dmc, installation=e.installation, mt_under_mtad=e.mt_under_mtad, tests=own or None
    )
    return Plan(profile="dmct", packs=packs, entries=[entry])


def _run_facts(run: _Run, config: pytest.Config) -> dict[str, Any]:
    from harness.cli import _version

    dmc = run.lab.dmc(run.entry.dmc)
    return {
        "run_id": run.run_id,
        "started": format_at(datetime.now(UTC)),
        "dmct_version": _version(),
        "python": platform.python_version(),
        "host": platform.node(),
        "argv": sys.argv,
        "lab": run.lab.lab,
        "lab_file": str(run.lab_file),
        "environment": run.lab.environment.model_dump(),
        "entry": run.entry.model_dump(),
        "dmc": dmc.model_dump(exclude_none=True),
        "rigs": run.usable_rigs,
        "rigs_out": run.rigs_out,
        "leases_reclaimed": {
            lease.rig: lease.reclaimed_from.describe() for lease in run.leases if lease.reclaimed_from
        },
        "packs": {m.id: _pack_facts(m, run.dmc_plan) for m in run.packs.values()},
        "workers": config.getoption("numprocesses", None)
        if config.pluginmanager.has_plugin("xdist")
        else None,
    }


def _pack_facts(m: PackManifest, dmc_plan: DmcPlan) -> dict[str, Any]:
    """What a report says of a pack (20.34 (b)): the manifest used and, for a non-standard pack, its
    DMC, why the TAG agreed it and each test it took out of its standard pack, with the rationale."""
    facts: dict[str, Any] = {
        "name": m.name,
        "version": m.version,
        "capability_release": m.capability_release,
        "standard": m.standard,
        "manifest": m.source.name,
    }
    if m.derived_from:
        facts["derives_from"] = m.derived_from
    if not m.standard:
        facts |= {"dmc": m.dmc, "rationale": m.rationale}
        if m.based_on is not None:
            facts["based_on"] = m.based_on
            facts["changes"] = [c.to_json() for c in dmc_plan.changes.get(m.id, [])]
    return facts


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------------- collection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Attach each pack test's metadata; refuse tests the pack's manifest does not plan (20.16)."""
    run = config.stash.get(_RUN_KEY, None)
    if run is None:
        return
    roots: dict[Path, Path | None] = {}  # test directory -> pack root, found once per directory
    unplanned: list[str] = []
    deselected: list[pytest.Item] = []
    dmc_roles = set(run.lab.dmc(run.entry.dmc).roles)
    known_reqs = run.ttm.by_id()
    for item in items:
        directory = Path(item.path).parent
        if directory not in roots:
            found = find_pack_root(directory)
            roots[directory] = found.resolve() if found is not None else None
        root = roots[directory]
        if root is None or root not in run.packs:
            continue
        pack = run.packs[root]
        tid = test_id(Path(item.path), root, item.nodeid)
        if tid in run.dmc_plan.dropped.get(pack.id, {}):
            deselected.append(item)  # a non-standard pack for this DMC removes or replaces it (20.17)
            continue
        if tid not in pack.test_ids:
            unplanned.append(f"{pack.id}: {tid} is not planned in {pack.source.name}")
            continue
        reqs = [r for m in item.iter_markers("requirement") for r in m.args]
        unknown = [r for r in reqs if r not in known_reqs]
        if unknown:
            unplanned.append(f"{pack.id}: {tid} names requirement {unknown[0]!r} the TTM lacks")
            continue
        listed = pack.requirements_of(tid)
        if listed and sorted(listed) != sorted(reqs):
            unplanned.append(
                f"{pack.id}: {tid} marks requirements {reqs} but its manifest entry lists {listed}"
            )
            continue
        roles = pack.roles_of(tid)
        marked = sorted({r for m in item.iter_markers("roles") for r in m.args} - set(roles))
        if marked:
            unplanned.append(
                f"{pack.id}: {tid} is marked with role(s) {', '.join(marked)} its manifest entry lacks"
            )
            continue
        meta = {
            "entry": run.entry.id,
            "pack": pack.id,
            "test": tid,
            "requirements": reqs,
            "srv": next((str(m.args[0]) for m in item.iter_markers("srv") if m.args), None),
            "group": next((str(m.args[0]) for m in item.iter_markers("group") if m.args), None)
            or next((known_reqs[r].group for r in reqs), None),
            "nodeid": item.nodeid,
        }
        item.user_properties.append((_PROP, meta))
        missing = [r for r in roles if r not in dmc_roles]
        if missing:
            reason = f"not applicable: DMC {run.entry.dmc} has no {', '.join(missing)}"
            item.user_properties.append((_NOT_APPLICABLE, reason))
            item.add_marker(pytest.mark.skip(reason=reason))
    if unplanned:
        more = f" (and {len(unplanned) - 1} more)" if len(unplanned) > 1 else ""
        raise pytest.UsageError(f"collected tests disagree with their pack manifest: {unplanned[0]}{more}")
    if deselected:
        gone = set(deselected)
        items[:] = [item for item in items if item not in gone]
        config.hook.pytest_deselected(items=deselected)


# ------------------------------------------------------------------------------------ reporting


def _allure_on(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "allure_report_dir", None))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """With ``--alluredir``: label the test the way a lab browses (pack → group → SRV, requirements)."""
    run = item.config.stash.get(_RUN_KEY, None)
    meta = cast("dict[str, Any] | None", next((v for k, v in item.user_properties if k == _PROP), None))
    if run is None or meta is None or not _allure_on(item.config):
        return
    import allure

    manifest = next(m for m in run.packs.values() if m.id == meta["pack"])
    allure.dynamic.epic(manifest.name)
    if meta.get("group"):
        allure.dynamic.feature(meta["group"])
    if meta.get("srv"):
        allure.dynamic.story(f"SRV {meta['srv']}")
    for requirement in meta["requirements"]:
        allure.dynamic.label("requirement", requirement)
    allure.dynamic.label("entry", run.entry.id)
    allure.dynamic.label("dmc", run.entry.dmc)
    allure.dynamic.parameter("pack version", manifest.version)
    for requirement in meta["requirements"]:  # a TMS link per requirement (allure's link patterns)
        allure.dynamic.link(f"ttm:{requirement}", link_type="tms", name=requirement)
    for issue_id, title in _linked_issues(run).get((meta["entry"], meta["pack"], meta["test"]), []):
        allure.dynamic.issue(f"dmct-issue:{issue_id}", name=f"{issue_id} {title}".strip())


def _linked_issues(run: _Run) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """Testing Issues linked to each (entry, pack, test), read once from the project's issue log."""
    if run.issue_links is None:
        run.issue_links = {}
        try:
            from harness.store import open_store

            with open_store(None, results_dir=run.run_dir.parent, create=False) as store:
                for issue in store.export_issues():
                    for ref in issue.tests:
                        key = (ref.entry, ref.pack, ref.test)
                        run.issue_links.setdefault(key, []).append((issue.id, issue.title))
        except DmctInputError:
            pass  # no issue log yet: nothing to link
    return run.issue_links


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(InfrastructureFault):
        report.user_properties.append((_BLOCKED, str(call.excinfo.value)))
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    props = getattr(report, "user_properties", ())  # collection reports have none
    if report.failed and any(k == _BLOCKED for k, _ in props):
        return "blocked", "B", "BLOCKED"
    if report.skipped and any(k == _NOT_APPLICABLE for k, _ in props):
        return "not_applicable", "n", "N/A"
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the phases of each test; on teardown, write its one journal line (controller only)."""
    meta = _prop(report, _PROP)
    if meta is None:
        return
    run = _current_run
    if run is None or run.journal is None:
        return
    phases = run.phases.setdefault(report.nodeid, [])
    phases.append(report)
    if report.when != "teardown":
        return
    del run.phases[report.nodeid]
    outcome, reason = _outcome(phases)
    extra: dict[str, Any] = {
        "run": run.run_id,
        "nodeid": meta["nodeid"],
        "requirements": meta["requirements"],
        "duration_s": round(sum(p.duration for p in phases), 6),
        "rig": _prop(report, "dmct_rig"),
        "worker": _worker_of(report),
    }
    for key in ("srv", "group"):
        if meta.get(key):
            extra[key] = meta[key]
    if reason:
        extra["reason"] = reason
    if outcome is Outcome.SKIPPED and _prop(report, _NOT_APPLICABLE):
        extra["not_applicable"] = True
    evidence = _prop(report, _EVIDENCE)
    if evidence:
        extra["evidence"] = [evidence]
    extra = {k: v for k, v in extra.items() if v is not None}
    record = ResultRecord(meta["entry"], meta["pack"], meta["test"], outcome, datetime.now(UTC), extra)
    run.journal.append(record)
    run.counts[outcome.value] = run.counts.get(outcome.value, 0) + 1


def _outcome(phases: list[pytest.TestReport]) -> tuple[Outcome, str | None]:
    """Fold setup/call/teardown reports into one outcome (and a reason when not passed)."""
    for rep in phases:
        blocked = _prop(rep, _BLOCKED)
        if blocked:
            return Outcome.BLOCKED, str(blocked)
    by_when = {rep.when: rep for rep in phases}
    setup, call, teardown = by_when.get("setup"), by_when.get("call"), by_when.get("teardown")
    if setup is not None and setup.failed:
        return Outcome.ERROR, f"set-up error: {_short(setup)}"
    if setup is not None and setup.skipped:
        return Outcome.SKIPPED, _skip_reason(setup)
    if call is not None and call.skipped:
        return Outcome.SKIPPED, _skip_reason(call)
    if call is not None and call.failed:
        return Outcome.FAILED, _short(call)
    if teardown is not None and teardown.failed:
        return Outcome.ERROR, f"teardown error: {_short(teardown)}"
    if call is None:
        return Outcome.ERROR, "test did not run its call phase"
    return Outcome.PASSED, None


def _short(rep: pytest.TestReport) -> str:
    crash = getattr(rep.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(rep.longrepr)
    return text.strip().splitlines()[0][:300] if text.strip() else "failed"


def _skip_reason(rep: pytest.TestReport) -> str:
    if isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        return str(rep.longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


def _worker_of(report: pytest.TestReport) -> str | None:
    """The xdist worker that ran the test (the controller attaches ``node`` to relayed reports)."""
    node = getattr(report, "node", None)
    workerinput = getattr(node, "workerinput", None)
    return (
        str(workerinput["workerid"]) if isinstance(workerinput, dict) and "workerid" in workerinput else None
    )


def _prop(report: pytest.TestReport, key: str) -> Any:
    return next((v for k, v in report.user_properties if k == key), None)


# The controller's run, for the logreport hook (which receives no config).
_current_run: _Run | None = None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _current_run
    _current_run = session.config.stash.get(_RUN_KEY, None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    global _current_run
    run = _current_run
    if run is not None and run.journal is not None:
        # A test with no teardown report (its worker crashed) still gets its line: blocked.
        for phases in list(run.phases.values()):
            phases.append(_synthetic_teardown(phases[-1]))
            pytest_runtest_logreport(phases[-1])
    _current_run = None


def _synthetic_teardown(last: pytest.TestReport) -> pytest.TestReport:
    props = [*last.user_properties, (_BLOCKED, "the worker running this test stopped before it finished")]
    return pytest.TestReport(
        last.nodeid, last.location, {}, "failed", None, "teardown", user_properties=props
    )


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
    not found, the scheme secret not in the environment: :func:`harness.lab.utrn_source_problems`)
    blocks the top-up tests with the reason: it is the lab's set-up, not the meter, that stops them."""
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
    marker = request.node.get_closest_marker("prepared_for")
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
    holder = RigLease(lab.lab, spec.id, run.run_id).holder()
    if holder is None or holder.run != run.run_id:
        raise LeaseLost(spec.id, f"lease is held by {holder.describe() if holder else 'nobody'}")
    request.node.user_properties.append(("dmct_rig", spec.id))
    mutex = FileLock(str(run.run_dir / ".rig-mutex" / f"{spec.id}.lock"))
    (run.run_dir / ".rig-mutex").mkdir(exist_ok=True)
    with mutex:
        yield spec


def _spec(lab: Lab, rig_id: str) -> RigSpec:
    return next(r for r in lab.rigs if r.id == rig_id)


def _standard_rigs(run: _Run) -> list[str]:
    """Usable rigs that run the standard tests (a rig prepared for a negative path runs only those)."""
    return [r for r in run.usable_rigs if _spec(run.lab, r).prepared_for is None]


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
        if _allure_on(request.config):
            import allure

            allure.attach.file(
                str(path), name="transcript", attachment_type="application/json", extension="jsonl"
            )


K = TypeVar("K")


def _device_and_driver(rig: RigSpec, role: Role, kind: type[K]) -> tuple[DeviceSpec, type[K]]:
    """The rig's ``role`` device (not applicable when it has none) and its driver class: ``kind``, or
    the ``dmct.devices`` entry point the device names, which must extend ``kind``."""
    device = rig.device(role)
    if device is None:
        pytest.skip(f"not applicable: rig {rig.id} has no {role}")
    if device.driver and device.driver != role:
        chosen = driver_class(device.driver)
        if not issubclass(chosen, kind):
            raise pytest.UsageError(f"rig {rig.id} {role}: driver {device.driver!r} is not a {kind.__name__}")
        return device, chosen
    return device, kind


class LinkPool:
    """Device connections stay open for the whole session (one per interface per worker).

    Opening per test would be wasteful: a DLMS association costs several round trips, and pyserial's
    ``socket://`` close sleeps 0.3 s "in case of quick reconnects". Each test borrows the meter's
    connections with its own transcript; protocols discard stale input before every exchange, and a
    connection that failed is dropped and reopened on next use, so one test's trouble never leaks
    into the next.
    """

    def __init__(self, endpoints: dict[str, str]) -> None:
        self.endpoints = endpoints
        self._links: dict[tuple[str, str], Link] = {}
        self._optical: dict[tuple[str, str], MeterOptical] = {}
        self._displays: dict[tuple[str, str], DisplayPort] = {}

    def _readout(self, rig: RigSpec, device: DeviceSpec) -> Link | None:
        spec = device.links.get("optical")
        if spec is None:
            return None
        key = (rig.id, device.role)
        if key not in self._links:
            self._links[key] = Link(
                spec.url, device=f"{rig.id}/{device.role}", timeout=spec.timeout, endpoints=self.endpoints
            )
        return self._links[key]

    def _dlms(self, rig: RigSpec, device: DeviceSpec) -> MeterOptical | None:
        spec = device.links.get("dlms")
        if spec is None:
            return None
        key = (rig.id, device.role)
        if key not in self._optical:
            self._optical[key] = MeterOptical(
                spec.url,
                device=f"{rig.id}/{device.role}",
                password=spec.password.encode() if spec.password else None,
                timeout=spec.timeout,
                attempts=spec.attempts,
                backoff_s=spec.backoff_s,
                endpoints=self.endpoints,
            )
        return self._optical[key]

    @contextlib.contextmanager
    def meter(self, rig: RigSpec, role: Role, transcript: Transcript, kind: type[M]) -> Iterator[M]:
        """A role driver for the rig's ``role`` meter over its readout and DLMS connections.

        ``kind`` is the role's driver; a device naming another ``driver`` (a ``dmct.devices`` entry
        point) gets that one, which must extend it.
        """
        device, kind = _device_and_driver(rig, role, kind)
        readout, optical = self._readout(rig, device), self._dlms(rig, device)
        if readout is None and optical is None:
            pytest.skip(f"not applicable: rig {rig.id} wires no optical port for its {role}")
        policy = device.links.get("optical") or device.links["dlms"]
        for conn in (readout, optical):
            if conn is not None:
                conn.transcript = transcript
        try:
            yield kind(
                f"{rig.id}/{role}",
                readout,
                optical=optical,
                attempts=policy.attempts,
                backoff_s=policy.backoff_s,
            )
        except InfrastructureFault:
            for conn in (readout, optical):
                if conn is not None:
                    conn.close()  # reopened cleanly on next use
            raise
        finally:
            for conn in (readout, optical):
                if conn is not None:
                    conn.transcript = None

    @contextlib.contextmanager
    def display(self, rig: RigSpec, role: Role, transcript: Transcript, kind: type[D]) -> Iterator[D]:
        """A PPMID's or IHD's screen, read through its ``display`` link (DLMS/COSEM): what it shows."""
        device, kind = _device_and_driver(rig, role, kind)
        spec = device.links.get("display")
        if spec is None:
            pytest.skip(f"not applicable: rig {rig.id} wires no display interface for its {role}")
        key = (rig.id, role)
        if key not in self._displays:
            self._displays[key] = DisplayPort(
                spec.url,
                device=f"{rig.id}/{role}",
                password=spec.password.encode() if spec.password else None,
                timeout=spec.timeout,
                attempts=spec.attempts,
                backoff_s=spec.backoff_s,
                endpoints=self.endpoints,
            )
        port = self._displays[key]
        port.transcript = transcript
        try:
            yield kind(f"{rig.id}/{role}", port)
        except InfrastructureFault:
            port.close()  # reopened cleanly on next use
            raise
        finally:
            port.transcript = None

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        for optical in [*self._optical.values(), *self._displays.values()]:
            optical.close()
        self._links.clear()
        self._optical.clear()
        self._displays.clear()


@pytest.fixture(scope="session")
def links(request: pytest.FixtureRequest) -> Iterator[LinkPool]:
    """The session's open connections to device interfaces."""
    pool = LinkPool(_run_of(request).endpoints)
    yield pool
    pool.close()


@pytest.fixture
def esme(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[EsmeDriver]:
    """The rig's electricity meter, through its optical port (IEC 62056-21 readout and DLMS/COSEM)."""
    with links.meter(rig, "esme", transcript, EsmeDriver) as driver:
        yield driver


@pytest.fixture
def gsme(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[GsmeDriver]:
    """The rig's gas meter, through its optical port (DLMS/COSEM)."""
    with links.meter(rig, "gsme", transcript, GsmeDriver) as driver:
        yield driver


@pytest.fixture
def ppmid(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[PpmidDriver]:
    """The rig's prepayment interface device: what its screen shows (``display`` link, DLMS/COSEM)."""
    with links.display(rig, "ppmid", transcript, PpmidDriver) as driver:
        yield driver


@pytest.fixture
def ihd(rig: RigSpec, links: LinkPool, transcript: Transcript) -> Iterator[IhdDriver]:
    """The rig's in-home display: what its screen shows (``display`` link, DLMS/COSEM)."""
    with links.display(rig, "ihd", transcript, IhdDriver) as driver:
        yield driver


@pytest.fixture
def instruments(
    request: pytest.FixtureRequest, rig: RigSpec, transcript: Transcript
) -> Iterator[Instruments]:
    """The rig's lab instruments: power relays, load source, gas flow (Modbus, map from the lab file)."""
    if rig.instruments is None:
        pytest.skip(f"not applicable: rig {rig.id} has no instruments")
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
    if spec.duis is not None:  # the duis route: its settings, and each device's type for the DUIS bodies
        settings = spec.duis.model_dump(mode="json")
        settings["users"] = [u.model_dump(mode="json") for u in spec.duis.users]
        settings["base_dir"] = str(run.lab_file.resolve().parent)
        types = {d.eui64: d.role for r in lab.rigs for d in r.devices if d.eui64}
        extra = {"duis": settings, "device_types": types}
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
    device = rig.device("ch")
    if device is None or not device.eui64:
        pytest.skip(f"not applicable: rig {rig.id} names no CH Device ID (eui64)")
    return ChDriver(f"{rig.id}/ch", route, device.eui64)
