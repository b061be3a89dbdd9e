"""Session set-up and tear-down: options, the lab file, rig leases and health, xdist workers, plan and facts.

Everything that happens once per session, before the first test or after the last one: validating
``--lab``/``--entry``, leasing rigs (a file lock per rig, :mod:`harness.lab.leases`), handing each xdist
worker its rig through ``workerinput``, and writing ``plan.json`` and ``run.json`` (20.34 (a)).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from device_drivers.errors import InfrastructureFault
from device_drivers.links import probe, read_runtime
from harness.errors import DmctInputError
from harness.lab.inventory import (
    RigSpec,
    lab_from_controller,
    lab_to_workers,
    load_lab,
)
from harness.lab.leases import RigBusy, RigLease
from harness.model.interchange import PackPlan, Plan, PlanEntry, PlannedTestInfo, format_at
from harness.model.packs import DmcPlan, PackManifest, discover, plan_for_dmc
from harness.model.ttm import Catalogue as TtmCatalogue
from harness.model.ttm import group_in
from harness.model.ttm import load_catalogue as load_ttm
from harness.paths import (
    check_output_dir,
    check_run_dir,
    check_run_id,
    endpoints_file,
    new_run_id,
    results_dir,
)
from harness.plugin.state import _RUN_KEY, _Run, _standard_rigs, rig_lease_key
from harness.store.journal import JournalWriter

# ------------------------------------------------------------------------------------------ options


def start(config: pytest.Config, lab_opt: str) -> None:
    """Begin the dmct run of this session (``--lab`` given): validate, lease, write the plan and facts."""
    try:
        run = _start_run(config, Path(lab_opt))
    except DmctInputError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_RUN_KEY] = run


def _start_run(config: pytest.Config, lab_file: Path) -> _Run:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    # A worker rebuilds the lab the controller parsed and checked (pytest_configure_node).
    lab = lab_from_controller(workerinput["dmct_lab"]) if workerinput is not None else load_lab(lab_file)
    entries = lab.select_entries(config.getoption("--entry"))
    if len(entries) > 1:
        raise DmctInputError("--entry", "one entry per session for now; run once per entry")
    if workerinput is not None:
        run_id, run_dir = workerinput["dmct_run_id"], Path(workerinput["dmct_run_dir"])
    else:
        if config.getoption("--resume") and not config.getoption("--run-id"):
            raise DmctInputError("--resume", "say which run: --run-id ID")
        run_id = check_run_id(config.getoption("--run-id") or new_run_id())
        run_dir = check_output_dir(results_dir(config.getoption("--results-dir")), "--results-dir") / run_id
        check_run_dir(run_dir, resume=config.getoption("--resume"))
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
    instance = runtime.get("instance")
    run.lab_instance = str(instance) if instance else None
    if workerinput is None:
        run.resumed = bool(config.getoption("--resume"))
        facts = _check_resume(run) if run.resumed else None
        _lease_rigs(run, config.getoption("--lease-wait"), lambda text: _say(config, text))
        _cap_workers(config, len(_standard_rigs(run)))
        run.run_dir.mkdir(parents=True, exist_ok=True)
        if facts is None:
            _write_json(run.run_dir / "plan.json", _plan(run).model_dump(mode="json", exclude_none=True))
            _write_json(run.run_dir / "run.json", _run_facts(run, config))
        else:
            _set_aside_migrations(run.run_dir)
            session = _run_facts(run, config)
            keep = ("started", "dmct_version", "host", "argv", "rigs", "rigs_out", "workers")
            facts.setdefault("resumed", []).append({k: session[k] for k in keep})
            _write_json(run.run_dir / "run.json", facts)
        run.journal = JournalWriter(run.run_dir / "results.jsonl")
        standard = _standard_rigs(run)
        run.worker_rig = standard[0] if standard else None
    else:
        run.usable_rigs = list(workerinput["dmct_rigs"])
        run.rigs_out = dict(workerinput["dmct_rigs_out"])
        run.worker_rig = workerinput["dmct_rig"]
    return run


def _cap_workers(config: pytest.Config, rigs: int) -> None:
    """No more xdist workers than usable rigs, unless ``--share-rigs``.

    The standard packs order their tests per rig (gas flows before the valve is shut: SMETS1 has no
    remote enable for gas; a day's tariff before the midnight crossing), so two workers interleaving
    tests on one rig make a sound DMC fail. xdist has not started its workers when this runs (it reads
    ``tx`` at session start), so trimming the spec list is enough; said on the console, and ``run.json``
    records the workers actually used.
    """
    tx: list[str] | None = getattr(config.option, "tx", None)
    if rigs < 1 or not tx or len(tx) <= rigs or config.getoption("--share-rigs"):
        return
    _say(
        config,
        f"dmct: {len(tx)} workers asked for but {rigs} usable rig(s): running {rigs} "
        "(tests are ordered per rig; --share-rigs to share them)",
    )
    config.option.tx = tx[:rigs]
    config.option.numprocesses = rigs


def _say(config: pytest.Config, text: str) -> None:
    """One line on the console, before the first test (the terminal reporter if there is one)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text)
    else:
        print(text, file=sys.stderr)


def _lease_rigs(run: _Run, wait_s: float, say: Callable[[str], None] = lambda _: None) -> None:
    """Lease every rig hosting the entry's DMC, then health-check the leased ones (controller only).

    A rig leased by another session is waited for (``--lease-wait``); if none can be had the session
    is refused cleanly. A leased rig failing its health check is released and left out, with the
    reason; if no healthy rig remains, the tests are blocked with that reason (a lab fault). Every
    wait and every rig left out is said on the console and kept in ``run.json`` for ``report.md``.
    """
    candidates = run.lab.rigs_for_entry(run.entry)
    busy: list[str] = []
    for rig in candidates:
        lease = RigLease(rig_lease_key(run, rig), rig.id, run.run_id)
        wait = wait_s if not run.leases else 0.0
        try:
            lease.acquire(wait_s=0.0)
        except RigBusy as first:
            try:
                if wait <= 0:
                    raise
                say(f"dmct: {first}; waiting up to {wait:g} s")
                started = time.monotonic()
                lease.acquire(wait_s=wait)
                holder = first.holder.describe() if first.holder else "another process"
                waited = f"waited {time.monotonic() - started:.1f} s for {holder}"
                run.lease_waits[rig.id] = waited
                say(f"dmct: rig {rig.id} leased after it {waited}")
            except RigBusy as exc:
                busy.append(str(exc))
                run.rigs_out[rig.id] = str(exc)
                say(f"dmct: rig {rig.id} left out: {exc}")
                continue
        run.leases.append(lease)
        problem = _health(run, rig)
        if problem:
            lease.release()
            run.leases.remove(lease)
            run.rigs_out[rig.id] = f"rig {rig.id} failed its health check: {problem}"
            say(f"dmct: rig {rig.id} left out: failed its health check: {problem}")
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


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand every worker the run id and directory (workers never invent their own),
    and the lab it parsed, so no worker parses the lab file again (issue 21: each start-up did)."""
    run = node.config.stash.get(_RUN_KEY, None)
    if run is not None:
        index = int(str(node.gateway.id).removeprefix("gw") or 0)
        if run.lab_wire is None:
            run.lab_wire = lab_to_workers(run.lab)
        node.workerinput["dmct_lab"] = run.lab_wire
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
    if run.resumed and facts.get("resumed"):  # this session's counts; the first session's stay
        facts["resumed"][-1]["counts"] = run.counts
    else:
        facts["counts"] = run.counts
    _write_json(run.run_dir / "run.json", facts)


def _check_resume(run: _Run) -> dict[str, Any]:
    """Before a resumed session touches anything: the run's plan must be this session's plan (same
    lab, entry, packs and manifests), ``run.json`` must name this run, lab and entry, and every journal
    line must be a valid record of that plan (as the verdict reads it). Returns the run's facts."""
    from harness.model.interchange import load_plan
    from harness.store.journal import stream_results
    from harness.yamlio import read_json_object

    plan_path, facts_path = run.run_dir / "plan.json", run.run_dir / "run.json"
    if not plan_path.is_file() or not facts_path.is_file():
        raise DmctInputError(str(run.run_dir), "cannot resume: plan.json or run.json is missing")
    stored = load_plan(plan_path)
    if stored.model_dump(mode="json", exclude_none=True) != _plan(run).model_dump(
        mode="json", exclude_none=True
    ):
        raise DmctInputError(
            str(plan_path),
            "cannot resume: this session's plan differs (another entry, lab or pack version); "
            "start a new run",
        )
    facts = read_json_object(facts_path) or {}
    for key, want in (("run_id", run.run_id), ("lab", run.lab.lab)):
        if facts.get(key) != want:
            raise DmctInputError(
                str(facts_path), f"cannot resume: is {facts.get(key)!r}, not {want!r}", field=key
            )
    entry = facts.get("entry")
    if not isinstance(entry, dict) or entry.get("id") != run.entry.id:
        raise DmctInputError(
            str(facts_path), f"cannot resume: not a run of entry {run.entry.id}", field="entry"
        )
    journal = run.run_dir / "results.jsonl"
    if journal.exists():
        stream_results(stored, [journal])  # one line naming file:line: field for a bad record
    return facts


def _set_aside_migrations(run_dir: Path) -> None:
    """A resumed session talks to a lab started anew: the migration records of the earlier session
    describe devices that are gone, so they are kept beside the run (evidence) but no longer shared."""
    records = run_dir / "migrations"
    if records.is_dir():
        n = 1
        while (run_dir / f"migrations.before-resume-{n}").exists():
            n += 1
        records.rename(run_dir / f"migrations.before-resume-{n}")


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
    packs = {
        m.id: PackPlan(tests=m.test_ids, min_pass_rate=m.min_pass_rate, about=_about(m, run.ttm))
        for m in run.packs.values()
    }
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


def _about(m: PackManifest, ttm: TtmCatalogue) -> dict[str, PlannedTestInfo]:
    """Each planned test's requirements (its manifest entry) and functional group (theirs in the TTM),
    so the plan alone traces a test that never ran."""
    out = {}
    known = ttm.by_id()  # indexed once, not once per test (as group_of would)
    for tid in m.test_ids:
        reqs = m.requirements_of(tid)
        # Built from the validated manifest and TTM: constructed, not validated again per test.
        out[tid] = PlannedTestInfo.model_construct(group=group_in(known, reqs), requirements=list(reqs))
    return out


def _run_facts(run: _Run, config: pytest.Config) -> dict[str, Any]:
    from harness import version

    dmc = run.lab.dmc(run.entry.dmc)
    return {
        "run_id": run.run_id,
        "started": format_at(datetime.now(UTC)),
        "dmct_version": version(),
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
        "lease_waits": run.lease_waits,
        "lab_instance": run.lab_instance,
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


def auto_num_workers(config: pytest.Config) -> int | None:
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
