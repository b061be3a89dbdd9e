"""Everything a report needs, read once from run directories and the Testing Issue log.

This is the I/O edge of the reports layer. A run directory ``results/<run-id>/`` (written by the pytest
plugin) holds ``plan.json``, ``results.jsonl`` (one line per test execution, with extra fields such as
``group`` — the TTM functional group —, ``requirements``, ``rig``, ``evidence``, ``reason``, ``run``) and
``run.json`` (lab, environment and DCC system versions for 20.34 (a), the entry, the DMC's device versions,
pack names and versions). A DMCT Testing Report usually spans several runs of one entry (re-runs after
fixes, 20.22, whose history 20.34 (e) asks for), so :func:`gather` merges any number of runs: plans are
merged entry by entry, journals are folded into one verdict (the latest execution counts), and every
execution is kept for the history.

The verdict is computed here with :func:`harness.rules.verdict.compute_verdict` exactly as ``dmct verdict``
does, so a report can never disagree with the verdict it reports.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError
from harness.model.entries import EntryRecord
from harness.model.interchange import (
    Issue,
    PackPlan,
    Plan,
    PlanEntry,
    format_at,
    load_issues,
    load_plan,
    parse_result_line,
)
from harness.rules.verdict import ResultIndex, Verdict
from harness.yamlio import read_json_object, text_lines

RUN_PLAN = "plan.json"
RUN_RESULTS = "results.jsonl"
RUN_FACTS = "run.json"
RUN_ISSUES = ("issues.yaml", "issues.yml", "issues.json")
STORE_FILE = "dmct.sqlite"
#: Results of tests that carry no functional group are shown under this name in heatmaps.
UNGROUPED = "ungrouped"

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Execution:
    """One line of a results journal, reduced to what reports show."""

    entry: str
    pack: str
    test: str
    outcome: str
    at: str
    run: str
    reason: str
    group: str
    rig: str
    evidence: tuple[str, ...]
    not_applicable: bool = False

    @property
    def shown(self) -> str:
        """The outcome as reports show it: :func:`shown_outcome`."""
        return shown_outcome(self.outcome, self.not_applicable)


def shown_outcome(outcome: str, not_applicable: bool = False) -> str:
    """``not_applicable`` for a skip because the DMC lacks a device the test needs (as pytest's console
    says), else the outcome itself: reports and the console use the same word."""
    return "not_applicable" if outcome == "skipped" and not_applicable else outcome


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run directory and its ``run.json`` facts (empty when the file is missing)."""

    path: Path
    run_id: str
    facts: dict[str, Any]
    plan: Plan | None = None

    def names(self, entry_id: str) -> bool:
        """Whether this run is a run of ``entry_id``: its ``run.json`` entry, else its plan lists it."""
        entry = self.facts.get("entry")
        named = entry.get("id") if isinstance(entry, dict) else None
        if named is not None:
            return bool(named == entry_id)
        return self.plan is not None and any(e.id == entry_id for e in self.plan.entries)

    @property
    def started(self) -> str:
        return str(self.facts.get("started") or "")


@dataclass(slots=True)
class ReportData:
    """The inputs of every report, gathered once.

    ``executions`` holds every execution of the selected entries in time order per (entry, pack, test);
    ``latest`` the execution that counts for every (entry, pack, test) of every entry (20.22);
    ``groups``/``requirements`` the functional group and requirements of each (pack, test), taken from
    the plan (``packs.<pack>.about``), else from any result line that names them. ``issues_source`` is
    None when no Testing Issue log was found.
    """

    plan: Plan
    runs: list[RunInfo]
    verdict: Verdict
    issues: list[Issue]
    issues_source: str | None
    executions: dict[Key, list[Execution]] = field(default_factory=dict)
    latest: dict[Key, tuple[str, str]] = field(default_factory=dict)
    groups: dict[tuple[str, str], str] = field(default_factory=dict)
    requirements: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    _by_entry: dict[str, list[Key]] | None = None
    #: The DMCT Status List records of the store the issue log came from (``dmct entries``), by entry.
    entries: dict[str, EntryRecord] = field(default_factory=dict)

    def runs_for(self, entry_id: str) -> list[RunInfo]:
        """Runs whose ``run.json`` names ``entry_id`` (or whose plan lists it when ``run.json`` is silent)."""
        return [run for run in self.runs if run.names(entry_id)]

    def keys_of(self, entry_id: str) -> list[Key]:
        """The (entry, pack, test) keys with executions of ``entry_id``, sorted (indexed on first use)."""
        if self._by_entry is None:
            index: dict[str, list[Key]] = {}
            for key in sorted(self.executions):
                index.setdefault(key[0], []).append(key)
            self._by_entry = index
        return self._by_entry.get(entry_id, [])

    def group_of(self, pack: str, test: str) -> str:
        return self.groups.get((pack, test)) or UNGROUPED


def _plan_lists(run_dir: Path, entry_id: str) -> bool:
    try:
        return any(e.id == entry_id for e in load_plan(run_dir / RUN_PLAN).entries)
    except DmctInputError:
        return False


# ------------------------------------------------------------------------------------------- runs


def find_runs(results_dir: Path, entry: str | None = None) -> list[Path]:
    """Run directories under ``results_dir`` (those holding ``plan.json``), oldest first by name.

    With ``entry``, only runs of that entry: ``run.json``'s entry, else a plan that lists it.
    """
    if not results_dir.is_dir():
        raise DmctInputError(str(results_dir), "no results directory here (give --run DIR or --runs DIR)")
    runs = sorted(p for p in results_dir.iterdir() if p.is_dir() and (p / RUN_PLAN).is_file())
    if entry is None:
        return runs
    out = []
    for run in runs:
        facts = read_facts(run)
        named = facts.get("entry", {}).get("id") if isinstance(facts.get("entry"), dict) else None
        if named == entry or (named is None and _plan_lists(run, entry)):
            out.append(run)
    return out


def read_facts(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of a run directory, or ``{}`` when it has none (items it feeds show as missing)."""
    return read_json_object(run_dir / RUN_FACTS) or {}


def load_runs(run_dirs: Sequence[Path]) -> list[RunInfo]:
    """Validate and order the runs: by ``run.json`` start time, then directory name."""
    infos = []
    for run_dir in run_dirs:
        if not (run_dir / RUN_PLAN).is_file():
            raise DmctInputError(str(run_dir), f"not a run directory (no {RUN_PLAN})", field="--run")
        facts = read_facts(run_dir)
        infos.append(
            RunInfo(run_dir, str(facts.get("run_id") or run_dir.name), facts, load_plan(run_dir / RUN_PLAN))
        )
    return sorted(infos, key=lambda r: (r.started, r.path.name))


def merge_plans(plans: Iterable[Plan]) -> Plan:
    """One plan from several runs' plans: entries and packs by id, a later plan's definition winning.

    Each ``dmct run`` writes a plan holding only its own entry, so a report over several runs needs the
    union; the packs of one version list the same tests, so "later wins" only matters after a pack upgrade.
    """
    profile = "dmct"
    packs: dict[str, PackPlan] = {}
    entries: dict[str, PlanEntry] = {}
    for plan in plans:
        profile = plan.profile
        packs.update(plan.packs)
        entries.update({e.id: e for e in plan.entries})
    return Plan(profile=profile, packs=packs, entries=list(entries.values()))


# ----------------------------------------------------------------------------------------- issues


def load_issue_log(
    issues_file: Path | None, store: str | None, runs: Sequence[RunInfo], results_dir: Path | None
) -> tuple[list[Issue], str | None, list[EntryRecord]]:
    """The Testing Issue log, where it came from (None: no log found — the report says so), and, when it
    came from the store, the store's DMCT Status List (``dmct entries``).

    ``--issues FILE`` wins; then an ``issues.yaml``/``issues.json`` in one of the runs (the newest); then
    the project store (``--store``, ``$DMCT_STORE``, else ``dmct.sqlite`` in the results directory). No
    store is ever created by a report.
    """
    if issues_file is not None:
        return load_issues(issues_file), str(issues_file), []
    for run in reversed(runs):
        for name in RUN_ISSUES:
            if (run.path / name).is_file():
                return load_issues(run.path / name), str(run.path / name), []
    from harness.store.issue_log import open_store, store_url

    base = results_dir if results_dir is not None else (runs[-1].path.parent if runs else None)
    if base is None:
        from harness.paths import results_dir as default_results_dir

        base = default_results_dir()
    if not store and not os.environ.get("DMCT_STORE", "").strip() and not (base / STORE_FILE).is_file():
        return [], None, []
    from harness.store.entries import EntryLog

    with open_store(store, results_dir=base, create=False) as log:
        issues = log.export_issues()
        records = [s.record for s in EntryLog(log).list()]
    from sqlalchemy.engine import make_url

    return issues, make_url(store_url(store, base)).render_as_string(hide_password=True), records


# --------------------------------------------------------------------------------------- journals


def _execution(obj: dict[str, Any]) -> Execution:
    evidence = obj.get("evidence")
    return Execution(
        entry=obj["entry"],
        pack=obj["pack"],
        test=obj["test"],
        outcome=obj["outcome"],
        at=obj["at"],
        run=str(obj.get("run") or ""),
        reason=str(obj.get("reason") or ""),
        group=str(obj.get("group") or ""),
        rig=str(obj.get("rig") or ""),
        evidence=tuple(str(e) for e in evidence) if isinstance(evidence, list) else (),
        not_applicable=obj.get("not_applicable") is True,
    )


def scan_journals(
    paths: Sequence[Path],
    keep: set[str] | None,
    since: datetime | None = None,
    until: datetime | None = None,
    index: ResultIndex | None = None,
) -> tuple[dict[Key, list[Execution]], dict[tuple[str, str], str], dict[tuple[str, str], tuple[str, ...]]]:
    """One pass over the journals: executions of the ``keep`` entries (all when None) within
    [``since``, ``until``), and the group and requirements of each test. With ``index``, every line is
    also validated and folded into the verdict's index as it is read (each line parsed once).
    """
    executions: dict[Key, list[Execution]] = {}
    groups: dict[tuple[str, str], str] = {}
    reqs: dict[tuple[str, str], tuple[str, ...]] = {}
    for path in paths:
        source = str(path)
        for number, text in text_lines(path):
            parsed = index.add_line(text, source, number) if index is not None else None
            if parsed is None:  # not validated by an index: validate here (file:line: field: what)
                parse_result_line(text, source, number)
                parsed = json.loads(text)
            obj = parsed
            pt = (obj["pack"], obj["test"])
            group = obj.get("group")
            if group and pt not in groups:
                groups[pt] = str(group)
            req = obj.get("requirements")
            if req and pt not in reqs and isinstance(req, list):
                reqs[pt] = tuple(str(r) for r in req)
            if keep is not None and obj["entry"] not in keep:
                continue
            if since is not None or until is not None:
                at = datetime.fromisoformat(obj["at"])
                if (since is not None and at < since) or (until is not None and at >= until):
                    continue
            key = (obj["entry"], obj["pack"], obj["test"])
            executions.setdefault(key, []).append(_execution(obj))
    for runs in executions.values():
        if len(runs) > 1:
            runs.sort(key=lambda e: (datetime.fromisoformat(e.at), e.outcome))
    return executions, groups, reqs


def gather(
    run_dirs: Sequence[Path],
    *,
    keep: set[str] | None = None,
    issues_file: Path | None = None,
    store: str | None = None,
    results_dir: Path | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ReportData:
    """Read runs, journals and the issue log, and compute the verdict over all of them."""
    from harness.rules.profiles import load_profile
    from harness.rules.verdict import compute_verdict

    if not run_dirs:
        raise DmctInputError("--run", "no run directories to report on")
    runs = load_runs(run_dirs)
    plan = merge_plans(r.plan for r in runs if r.plan is not None)
    journals = [r.path / RUN_RESULTS for r in runs if (r.path / RUN_RESULTS).exists()]
    index = ResultIndex(plan)
    paused = gc.isenabled()
    gc.disable()  # millions of short-lived containers and no cycles: see stream_results
    try:
        executions, groups, reqs = scan_journals(journals, keep, since, until, index)
    finally:
        if paused:
            gc.enable()
    for pack_id, pack in plan.packs.items():  # the plan traces tests that never ran; it wins
        for test, info in (pack.about or {}).items():
            if info.group:
                groups[(pack_id, test)] = info.group
            if info.requirements:
                reqs[(pack_id, test)] = tuple(info.requirements)
    issues, source, records = load_issue_log(issues_file, store, runs, results_dir)
    notes: list[str] = []
    if records:  # what the DMCT Status List records overlays the plan, as in ``dmct verdict``
        from harness.rules.process import overlay_plan

        plan, notes = overlay_plan(plan, records)
    verdict = compute_verdict(plan, index, issues, load_profile(plan.profile, source=str(runs[-1].path)))
    verdict.notes.extend(notes)
    latest = {k: (format_at(v[0]), v[1]) for k, v in index.heads.items()}
    data = ReportData(plan, runs, verdict, issues, source, executions, latest, groups, reqs)
    data.entries = {r.id: r for r in records}
    return data
