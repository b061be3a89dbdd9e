"""The verdict on a terminal or in a log (``dmct verdict``, ``dmct run``): presentation only, no rules.

A library module rather than part of the ``verdict`` command because ``dmct run``'s run summary
(:mod:`harness.reports.run_summary`) prints the same, and nothing below the CLI may import it.

Three formats (``--format``): ``table``, the full rich table for a person at a terminal; ``text``, a
compact summary that is never cut whatever the width (counts per status, then one line per entry that
is not successful, with every reason) for CI logs and pipes; ``json``, the verdict object. The default is
``table`` on a terminal and ``text`` otherwise (:func:`default_format`): a CI log is not 80 columns
wide, and a table cut there loses entry-id suffixes, counts and severities.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from harness.rules.verdict import Verdict

FORMATS = ("table", "text", "json")
#: Width of a table printed where there is no terminal (wide enough that nothing is ever cut).
LOG_WIDTH = 240


def default_format(stream: TextIO | None = None) -> str:
    """``table`` when ``stream`` (default stdout) is a terminal, else ``text``."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return "table" if callable(isatty) and isatty() else "text"


def make_console(stream: TextIO | None = None) -> Console:
    """A rich console for ``stream``; off a terminal it is :data:`LOG_WIDTH` wide, so tables are not cut."""
    from rich.console import Console

    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, width=LOG_WIDTH)
    return console


def print_verdict(verdict: Verdict, fmt: str, console: Console) -> None:
    """Print ``verdict`` in ``fmt`` (one of :data:`FORMATS`) on ``console``."""
    if fmt == "json":
        # dumps, not dump: dump writes every small chunk of the encoder separately, seconds at 10 MB.
        console.file.write(json.dumps(verdict.to_json(), separators=(",", ":")) + "\n")
    elif fmt == "text":
        for text_line in render_text(verdict):
            console.out(text_line, highlight=False)
    else:
        render_table(verdict, console)


def render_text(verdict: Verdict) -> list[str]:
    """The compact summary: the profile and counts per status, then one line per entry that is not
    successful (aligned, every reason kept, never truncated), the aggregate and anything exceeded."""
    profile = verdict.profile
    counts = ", ".join(f"{n} {s}" for s, n in verdict.statuses().items() if n)
    lines = [f"{profile.title} [{profile.name}]: {counts or 'nothing planned'} (of {len(verdict.entries)})"]
    listed = {e: ev for e, ev in verdict.entries.items() if ev.status != "successful"}
    width = max((len(e) for e in listed), default=0)
    status_width = max((len(ev.status) for ev in listed.values()), default=0)
    for entry_id, ev in listed.items():
        rate = "-" if ev.pass_rate is None else f"{ev.pass_rate * 100:.1f}%"
        extant = "/".join(str(ev.extant.get(s, 0)) for s in range(1, 6))
        reasons = list(ev.reasons)
        if ev.evidence_gaps:
            reasons.append(f"20.34 (d): {len(ev.evidence_gaps)} failed test(s) with no linked Testing Issue")
        lines.append(
            f"{entry_id:<{width}}  {ev.status:<{status_width}}  plan {ev.planned} exec {ev.executed} "
            f"pass {ev.passed} fail {ev.failed} n/e {ev.not_executed} rate {rate} extant {extant}"
            + (f"  reasons: {'; '.join(reasons)}" if reasons else "")
        )
    lines += _footer(verdict)
    return lines


def _footer(verdict: Verdict) -> list[str]:
    profile = verdict.profile
    agg = "/".join(str(verdict.aggregate_extant.get(s, 0)) for s in range(1, 6))
    limits = "; ".join(
        f"{scope} {'/'.join(str(t.limits[s]) for s in range(1, 6))} ({t.clause})"
        for scope, t in profile.thresholds.items()
    )
    lines = [f"aggregate extant (severity 1/2/3/4/5): {agg}" + (f"   limits: {limits}" if limits else "")]
    for item in verdict.exceeded:
        where = f" {item['key']}" if item["key"] else ""
        lines.append(
            f"exceeded {item['clause']}: {item['scope']}{where} "
            f"severity {item['severity']}: {item['extant']} > {item['limit']}"
        )
    lines += [f"note: {note}" for note in verdict.notes]
    return lines


_STYLE = {
    "successful": "green",
    "unsuccessful": "red",
    "in_progress": "yellow",
    "awaiting_tag": "magenta",
    "awaiting_sos": "magenta",
    "not_undertaken": "red",
}


def render_table(verdict: Verdict, console: Console) -> None:
    """A readable table of ``verdict`` (reused by ``dmct run``): one row per entry, then the aggregate.

    On a narrow terminal the reasons move under the table so the counts stay legible.
    """
    from rich import box
    from rich.table import Table

    profile = verdict.profile
    inline = console.width >= 140
    table = Table(
        title=f"{profile.title} [{profile.name}]",
        show_lines=inline,
        box=box.SQUARE if inline else box.SIMPLE_HEAD,
        caption="n/e = planned, not executed; extant = by severity 1/2/3/4/5",
    )
    table.add_column("entry", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in ("plan", "exec", "pass", "fail", "n/e"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("rate", justify="right", no_wrap=True)
    table.add_column("extant", no_wrap=True)
    if inline:
        table.add_column("reasons", ratio=1, min_width=30, overflow="fold")
    details: list[tuple[str, list[str]]] = []
    for entry_id, ev in verdict.entries.items():
        rate = "-" if ev.pass_rate is None else f"{ev.pass_rate * 100:.1f}%"
        extant = "/".join(str(ev.extant.get(s, 0)) for s in range(1, 6))
        reasons = list(ev.reasons)
        if ev.evidence_gaps:
            reasons.append(f"20.34 (d): {len(ev.evidence_gaps)} failed test(s) with no linked Testing Issue")
        row = [
            entry_id,
            f"[{_STYLE[ev.status]}]{ev.status}[/]",
            str(ev.planned),
            str(ev.executed),
            str(ev.passed),
            str(ev.failed),
            str(ev.not_executed),
            rate,
            extant,
        ]
        if inline:
            row.append("\n".join(reasons))
        else:
            details.append((entry_id, reasons))
        table.add_row(*row)
    console.print(table)
    for entry_id, reasons in details:
        console.print(f"[bold]{entry_id}[/]", highlight=False)
        for reason in reasons:
            console.print(f"  - {reason}", highlight=False)
    agg = "/".join(str(verdict.aggregate_extant.get(s, 0)) for s in range(1, 6))
    limits = "; ".join(
        f"{scope} {'/'.join(str(t.limits[s]) for s in range(1, 6))} ({t.clause})"
        for scope, t in profile.thresholds.items()
    )
    console.print(f"aggregate extant: {agg}" + (f"   limits: {limits}" if limits else ""), highlight=False)
    for item in verdict.exceeded:
        where = f" {item['key']}" if item["key"] else ""
        console.print(
            f"[red]exceeded[/] {item['clause']}: {item['scope']}{where} "
            f"severity {item['severity']}: {item['extant']} > {item['limit']}",
            highlight=False,
        )
    counts = ", ".join(f"{n} {s}" for s, n in verdict.statuses().items() if n)
    console.print(f"{len(verdict.entries)} × {profile.unit}: {counts or 'none'}", highlight=False)
    for note in verdict.notes:
        console.print(f"note: {note}", highlight=False)
