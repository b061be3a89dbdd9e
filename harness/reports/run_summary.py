"""Judging one run directory: verdict over its plan, results and the issue log, and a short report.

``results/<run-id>/`` holds ``plan.json``, ``results.jsonl`` and ``run.json`` written by the plugin;
this module reads them (and the Testing Issue log), computes the verdict with the run's profile, and
writes ``verdict.json`` and ``report.md`` beside them. The full DMCT Testing Report (20.34/20.35) is
built by the reports layer; this is the run summary a lab engineer reads first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.model.interchange import Issue, ResultRecord, load_issues, load_plan
from harness.outputs import atomic_write
from harness.reports.data import shown_outcome
from harness.rules.verdict import Verdict


@dataclass(frozen=True)
class RunOutcome:
    verdict: Verdict
    verdict_path: Path
    report_path: Path


def run_issues(run_dir: Path) -> list[Issue]:
    """The run's own issues export if it has one, else the project's Testing Issue log."""
    for name in ("issues.yaml", "issues.json"):
        if (run_dir / name).exists():
            return load_issues(run_dir / name)
    from harness.store.issue_log import open_store

    with open_store(None, results_dir=run_dir.parent) as store:
        return store.export_issues()


def judge_run(run_dir: Path, console: Console | None = None, fmt: str = "table") -> RunOutcome:
    """Judge ``run_dir``, write ``verdict.json`` and ``report.md``; print the verdict on ``console``
    in ``fmt`` (:data:`harness.reports.console.FORMATS`)."""
    from harness.reports.console import print_verdict
    from harness.rules.profiles import load_profile
    from harness.rules.verdict import compute_verdict
    from harness.store.journal import stream_results

    plan = load_plan(run_dir / "plan.json")
    index = stream_results(plan, [run_dir / "results.jsonl"], keep_records=True)
    issues = run_issues(run_dir)
    verdict = compute_verdict(plan, index, issues, load_profile(plan.profile))
    data = verdict.to_json()
    verdict_path = run_dir / "verdict.json"
    _atomic_write(verdict_path, json.dumps(data, indent=1) + "\n")
    facts = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    report_path = run_dir / "report.md"
    _atomic_write(report_path, render_markdown(facts, index.latest(), data))
    if console is not None:
        print_verdict(verdict, fmt, console)
    return RunOutcome(verdict, verdict_path, report_path)


def render_markdown(
    facts: dict[str, Any], latest: dict[tuple[str, str, str], ResultRecord], verdict: dict[str, Any]
) -> str:
    """A plain run summary: what was tested against what, each test's latest outcome, the verdict."""
    entry = facts.get("entry", {})
    lines = [
        f"# dmct run {facts.get('run_id')}",
        "",
        f"- Lab: `{facts.get('lab')}` ({facts.get('lab_file')}), host {facts.get('host')}",
        f"- Entry: **{entry.get('id')}** — DMC {entry.get('dmc')}, installation {entry.get('installation')}",
        f"- Started {facts.get('started')}, finished {facts.get('finished', '(unfinished)')}",
        f"- dmct {facts.get('dmct_version')}, Python {facts.get('python')}",
        "",
        "## DCC systems and environments tested against (20.34 (a))",
        "",
    ]
    env = facts.get("environment", {})
    lines.append(f"Environment: {env.get('name', 'unspecified')}")
    lines += [f"- {s['name']}: {s['version']}" for s in env.get("dcc_systems", [])] or ["- (none recorded)"]
    lines += ["", "## Rigs", ""]
    lines += [f"- Used: {', '.join(facts.get('rigs', [])) or '(none)'}"]
    lines += [f"- Left out: {rig}: {why}" for rig, why in facts.get("rigs_out", {}).items()]
    lines += [f"- Waited for: {rig}: {how}" for rig, how in facts.get("lease_waits", {}).items()]
    lines += [f"- Reclaimed: {rig} from {who}" for rig, who in facts.get("leases_reclaimed", {}).items()]
    lines += [
        "",
        "## Devices of the DMC",
        "",
        "| role | manufacturer | model | hardware | firmware |",
        "|---|---|---|---|---|",
    ]
    for role, dev in facts.get("dmc", {}).items():
        if isinstance(dev, dict):
            lines.append(
                f"| {role} | {dev.get('manufacturer')} | {dev.get('model')} | "
                f"{dev.get('hardware_version')} | {dev.get('firmware_version')} |"
            )
    lines += [
        "",
        "## Tests and results (latest execution counts, 20.22)",
        "",
        "| pack | test | outcome | requirements | reason |",
        "|---|---|---|---|---|",
    ]
    for (_, pack, test), rec in sorted(latest.items()):
        reqs = ", ".join(rec.extra.get("requirements", []))
        reason = str(rec.extra.get("reason", "")).replace("|", "\\|")
        shown = shown_outcome(rec.outcome.value, rec.extra.get("not_applicable") is True)
        lines.append(f"| {pack} | `{test}` | {shown} | {reqs} | {reason} |")
    lines += ["", "## Verdict", ""]
    for entry_id, ev in verdict.get("entries", {}).items():
        lines.append(f"### {entry_id}: **{ev['status']}**")
        lines.append("")
        lines.append(
            f"planned {ev['planned']}, executed {ev['executed']}, passed {ev['passed']}, "
            f"failed {ev['failed']}, not executed {ev['not_executed']}"
        )
        lines.append("")
        lines += [f"- {reason}" for reason in ev.get("reasons", [])]
        lines.append("")
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, text)
