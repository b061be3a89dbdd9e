"""The nightly pipeline's pure pieces: what a night plans and schedules, its exit rule, its summary.

Functions of their inputs only (no files, processes or clocks), so the rules a scheduler acts on
are unit-tested without running a night. :mod:`harness.regression.nightly` does the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.regression.night_files import ISSUES_SNAPSHOT

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130

# ------------------------------------------------------------------------------------ pure pieces


def restrict_plan(plan: Any, selection: Mapping[str, set[str]] | None) -> Any:
    """The night's regression plan: each entry's planned tests (20.14 required packs, own lists), kept
    only where ``selection`` (pack → selected test ids) selected them; ``None`` keeps everything.

    The result is an interchange plan under the ``regression`` profile whose entries carry their own test
    lists, so the verdict counts exactly these tests.
    """
    from harness.model.interchange import Plan, PlanEntry

    entries = []
    for entry in plan.entries:
        own: dict[str, list[str]] = {}
        for pack, tests in plan.planned_tests(entry).items():
            kept = list(tests) if selection is None else [t for t in tests if t in selection.get(pack, set())]
            if kept:
                own[pack] = kept
        entries.append(PlanEntry(**{**entry.model_dump(), "tests": own}))
    return Plan(profile="regression", packs={}, entries=entries)


def schedule(
    pending: Sequence[str], running: Iterable[str], rigs: Mapping[str, frozenset[str]], jobs: int
) -> list[str]:
    """Entries to start now: in order, while fewer than ``jobs`` run, and sharing no rig with a running
    (or just started) entry — two runs leasing one rig would only wait for each other."""
    busy: set[str] = set()
    active = list(running)
    for entry in active:
        busy |= rigs.get(entry, frozenset())
    start: list[str] = []
    for entry in pending:
        if len(active) + len(start) >= jobs:
            break
        mine = rigs.get(entry, frozenset())
        if mine & busy:
            continue
        start.append(entry)
        busy |= mine
    return start


@dataclass(slots=True)
class EntryNight:
    """What the night did for one entry."""

    entry: str
    run_id: str
    run_dir: Path
    status: int | None = None
    complete: bool = False
    regression: dict[str, Any] | None = None
    dmct: dict[str, Any] | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def exit_reasons(entries: Sequence[EntryNight], diff: Any | None) -> tuple[int, list[str]]:
    """The night's exit status and why (see the module docstring): regression beats incomplete."""
    from harness.regression.diff import REGRESSION_CATEGORIES, TITLES

    regressions: list[str] = []
    incomplete: list[str] = []
    for e in entries:
        if not e.complete:
            incomplete.append(f"{e.entry}: incomplete: {'; '.join(e.problems) or 'no results'}")
            continue
        reg = e.regression or {}
        if reg.get("status") != "successful":
            why = "; ".join(reg.get("reasons", [])) or reg.get("status", "not judged")
            regressions.append(f"{e.entry}: regression profile {reg.get('status')}: {why}")
    if diff is not None:
        for entry_id, ed in sorted(diff.entries.items()):
            for category in REGRESSION_CATEGORIES:
                changes = ed.categories[category]
                if changes:
                    names = ", ".join(f"{c.pack} {c.test}" for c in changes[:5])
                    more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
                    what = f"{TITLES[category]} vs the previous night ({len(changes)})"
                    regressions.append(f"{entry_id}: {what}: {names}{more}")
    if regressions:
        return EXIT_REGRESSION, regressions + incomplete
    if incomplete:
        return EXIT_INCOMPLETE, incomplete
    return EXIT_OK, []


def night_label(night_id: str, seconds: bool = False) -> str:
    """``20261128T020000Z`` → ``11-28 02:00`` (trend axis; with ``seconds`` ``11-28 02:00:00``)."""
    m = re.match(r"^\d{4}(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})", night_id)
    if not m:
        return night_id
    return f"{m.group(1)}-{m.group(2)} {m.group(3)}:{m.group(4)}" + (f":{m.group(5)}" if seconds else "")


def _verdict_summary(verdict_json: Mapping[str, Any], entry: str) -> dict[str, Any]:
    ev = verdict_json["entries"][entry]
    keys = ("status", "reasons", "planned", "executed", "passed", "failed", "not_executed", "pass_rate")
    out = {k: ev.get(k) for k in keys}
    out["linked_failures"] = ev.get("linked_failures")
    out["pass_rate_excluding_linked"] = ev.get("pass_rate_excluding_linked")
    return out


def totals(entries: Sequence[EntryNight]) -> dict[str, int]:
    """Planned / executed / passed / failed over the night's (regression) plan, every entry."""
    out = {"planned": 0, "executed": 0, "passed": 0, "failed": 0, "not_executed": 0}
    for e in entries:
        for k in out:
            out[k] += int((e.regression or {}).get(k) or 0)
    return out


def render_summary(
    summary: Mapping[str, Any], diff_md: str | None, trend_rows: Sequence[Sequence[str]]
) -> str:
    """``summary.md``: the status and why, one row per entry, the diff, the trend, the artifacts."""
    status = {EXIT_OK: "OK", EXIT_REGRESSION: "REGRESSION", EXIT_INCOMPLETE: "INCOMPLETE"}.get(
        summary["exit_status"], str(summary["exit_status"])
    )
    lines = [
        f"# dmct nightly {summary['night']}: {status}",
        "",
        f"- Lab: `{summary['lab']}` ({summary['lab_file']}); entries: "
        f"{', '.join(summary['entries']) or 'none'}",
        f"- Started {summary['started']}, finished {summary['finished']}; code {summary['code_label']}",
        f"- Pytest arguments: `{' '.join(summary['pytest_args']) or '(none: the whole plan)'}`",
        f"- Previous night: {summary['previous'] or 'none (first night: nothing to diff)'}",
        f"- Testing Issue log: {summary['issues']['source']} ({summary['issues']['count']} issue(s), "
        f"snapshot `{ISSUES_SNAPSHOT}`)",
        f"- Exit status {summary['exit_status']}",
        "",
    ]
    if summary["reasons"]:
        lines += ["## Why", ""] + [f"- {r}" for r in summary["reasons"]] + [""]
    lines += [
        "## Entries",
        "",
        "| entry | run | regression (night's plan) | planned | executed | passed | failed "
        "| dmct (whole plan) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry_id, e in summary["entries"].items():
        reg, dm = e.get("regression") or {}, e.get("dmct") or {}
        lines.append(
            f"| {entry_id} | `{e['run']}` (dmct run exit {e['run_status']}) | {reg.get('status', '—')} | "
            f"{reg.get('planned', '—')} | {reg.get('executed', '—')} | {reg.get('passed', '—')} | "
            f"{reg.get('failed', '—')} | {dm.get('status', '—')} |"
        )
    for entry_id, e in summary["entries"].items():
        reg = e.get("regression") or {}
        reasons = [
            *(reg.get("reasons", []) if reg.get("status") != "successful" else []),
            *e.get("problems", []),
        ]
        if reasons:
            lines += ["", f"**{entry_id}**: " + "; ".join(reasons)]
    lines += ["", "## Diff against the previous night", ""]
    lines.append(diff_md.rstrip() if diff_md else "No previous night to compare with.")
    lines += ["", "## Trend", "", "![trend of pass rate and extant Testing Issues](trend.png)", ""]
    if trend_rows:
        from harness.reports.trend import HEADERS

        lines.append("| " + " | ".join(HEADERS) + " |")
        lines.append("|" + "---|" * len(HEADERS))
        lines += ["| " + " | ".join(r) + " |" for r in trend_rows]
    lines += ["", "## Artifacts", ""]
    for entry_id, e in summary["entries"].items():
        for kind, path in sorted(e.get("artifacts", {}).items()):
            lines.append(f"- {entry_id} {kind}: `{path}`")
    lines += [
        "",
        "Recompute the regression verdict of an entry offline: `dmct verdict --plan "
        "plans/<entry>.regression.json --results runs/<run>/results.jsonl --issues runs/<run>/issues.json`; "
        "the diff: `dmct diff <previous night> <this night>`.",
    ]
    return "\n".join(lines) + "\n"
