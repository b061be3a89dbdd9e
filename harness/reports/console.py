"""The verdict as a table on a terminal (``dmct verdict``, ``dmct run``): presentation only, no rules.

A library module rather than part of the ``verdict`` command because ``dmct run``'s run summary
(:mod:`harness.reports.run_summary`) prints the same table, and nothing below the CLI may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from harness.rules.verdict import Verdict


_STYLE = {"successful": "green", "unsuccessful": "red", "in_progress": "yellow", "awaiting_tag": "magenta"}


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
