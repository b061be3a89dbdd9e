"""Trend of pass rate and extant Testing Issues by severity, over weeks or nights, as a picture.

16.2 asks the weekly report for "progress of testing … test issue reporting"; a lab engineer reading a
nightly asks the same over the last nights: is the pass rate holding, are extant issues piling up? One
point per week end (weekly report) or per night (nightly summary) carries the pass rate (passed ÷
executed, the latest execution counting, 20.22), the coverage (executed ÷ planned) and the extant issues
by severity *at that time*.

Extant issues at a past time are rebuilt from each issue's audit history (:func:`issue_snapshot_at`:
the ``add`` record's initial fields, then every later ``status``, ``severity`` and ``exclusion`` change),
so a trend drawn today says what was true then. *Extant* = open and not excluded, the DCC's severity
counted (14.4); by default a pending exclusion already excludes (the DMCT reading, 20.29 (a)), as the
``dmct`` profile counts.

The picture is drawn like the heatmap (:mod:`harness.reports.heatmap`): matplotlib's object API on the
Agg canvas, SVG text kept as text, no dates in the metadata, so the same points give the same bytes.
:class:`TrendChart` is the report block: the picture (SVG) and its numbers as a table, so Markdown shows
the numbers and HTML the picture.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.model.interchange import Issue
from harness.reports.model import pct

SEVERITY_COLOURS = {1: "#6a0000", 2: "#c62828", 3: "#ef6c00", 4: "#f9a825", 5: "#9e9e9e"}


# ------------------------------------------------------------------------------ issue history


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    """An issue's state at a past time: status, (DCC) severity and the TAG state of its exclusion."""

    status: str
    severity: int
    exclusion_tag: str | None

    def extant(self, pending_excludes: bool = True) -> bool:
        """Open and not excluded; a pending proposal excludes only under the DMCT reading (20.29 (a))."""
        if self.status != "open":
            return False
        if self.exclusion_tag is None or self.exclusion_tag == "disagreed":
            return True
        return self.exclusion_tag == "pending" and not pending_excludes


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (or date) as an aware UTC datetime; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _tag(value: Any, current: str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        tag = value.get("tag", "pending")
        return str(tag) if tag in ("pending", "agreed", "disagreed") else current
    return current


def issue_snapshot_at(issue: Issue, when: datetime) -> IssueSnapshot | None:
    """The issue's state at ``when`` from its history; None if it was not raised yet.

    Without an ``add`` record the issue is taken to exist from ``raised`` (or always) in its current state.
    """
    records = sorted(
        ((parse_time(r.get("at")), r) for r in issue.history),
        key=lambda p: p[0] or datetime.min.replace(tzinfo=UTC),
    )
    current_tag = issue.exclusion.tag if issue.exclusion is not None else None
    add = next((r for at, r in records if r.get("action") == "add"), None)
    if add is None:
        raised = parse_time(issue.raised)
        if raised is not None and raised > when:
            return None
        return IssueSnapshot(issue.status, issue.severity, current_tag)
    added = parse_time(add.get("at"))
    if added is not None and added > when:
        return None
    new = add.get("new")
    initial: dict[str, Any] = new if isinstance(new, dict) else {}
    status = str(initial.get("status", issue.status))
    severity = int(initial.get("severity", issue.severity))
    # A field the ``add`` record does not carry is taken as it is now (as for status and severity).
    tag = _tag(initial["exclusion"], None) if "exclusion" in initial else current_tag
    for at, rec in records:
        if rec is add or at is None or at > when:
            continue
        name, value = rec.get("field"), rec.get("new")
        if name == "status" and value in ("open", "closed"):
            status = str(value)
        elif name == "severity" and isinstance(value, int) and not isinstance(value, bool):
            severity = int(value)
        elif name == "exclusion":
            tag = _tag(value, tag)
    return IssueSnapshot(status, severity, tag)


def extant_at(issues: Iterable[Issue], when: datetime, *, pending_excludes: bool = True) -> dict[int, int]:
    """Extant Testing Issues by severity (1-5) at ``when``, rebuilt from the issues' histories."""
    counts = dict.fromkeys(range(1, 6), 0)
    for issue in issues:
        snap = issue_snapshot_at(issue, when)
        if snap is not None and snap.extant(pending_excludes) and snap.severity in counts:
            counts[snap.severity] += 1
    return counts


# ---------------------------------------------------------------------------------------- points


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One point of the trend: a week end or a night."""

    label: str
    planned: int
    executed: int
    passed: int
    extant: tuple[int, int, int, int, int]
    #: False for a point before any execution at all: no rate, no coverage (a gap, not 0 %)
    ran: bool = True

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.executed if self.executed else None

    @property
    def coverage(self) -> float | None:
        return self.executed / self.planned if self.planned and self.ran else None

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "planned": self.planned,
            "executed": self.executed,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "coverage": self.coverage,
            "ran": self.ran,
            "extant": {str(s): n for s, n in zip(range(1, 6), self.extant, strict=True)},
        }


def point(
    label: str, planned: int, executed: int, passed: int, extant: dict[int, int], ran: bool = True
) -> TrendPoint:
    e = extant
    return TrendPoint(
        label,
        planned,
        executed,
        passed,
        (e.get(1, 0), e.get(2, 0), e.get(3, 0), e.get(4, 0), e.get(5, 0)),
        ran,
    )


HEADERS = ("point", "pass rate", "executed/planned", "sev 1", "sev 2", "sev 3", "sev 4", "sev 5", "extant")


def rows(points: Sequence[TrendPoint]) -> tuple[tuple[str, ...], ...]:
    """The points as table rows (what Markdown shows instead of the picture)."""
    return tuple(
        (
            p.label,
            pct(p.pass_rate),
            f"{p.executed}/{p.planned}" if p.ran else "no run yet",
            *(str(n) for n in p.extant),
            str(sum(p.extant)),
        )
        for p in points
    )


@dataclass(frozen=True, slots=True)
class TrendChart:
    """A report block: the trend picture (inline SVG in HTML) and its numbers (a table in Markdown)."""

    title: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    svg: str


def chart(points: Sequence[TrendPoint], title: str, caption: str = "") -> TrendChart:
    caption = caption or (
        "Pass rate = passed ÷ executed (latest execution counts); coverage = executed ÷ planned; "
        "extant = open Testing Issues not excluded, by severity, rebuilt from the issue log's history."
    )
    return TrendChart(title, caption, HEADERS, rows(points), render_svg(points, title))


# ---------------------------------------------------------------------------------------- picture


def _figure(points: Sequence[TrendPoint], title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(points))
    width = min(16.0, max(6.5, 1.0 + 0.55 * n))
    fig = Figure(figsize=(width, 5.0), dpi=100)
    top = fig.add_axes((0.08, 0.55, 0.74, 0.36))
    bottom = fig.add_axes((0.08, 0.14, 0.74, 0.34), sharex=top)
    fig.text(0.01, 0.975, f"Trend: {title}", fontsize=10, fontweight="bold", va="top")
    xs = list(range(len(points)))
    rates = [p.pass_rate * 100 if p.pass_rate is not None else float("nan") for p in points]
    cover = [p.coverage * 100 if p.coverage is not None else float("nan") for p in points]
    top.plot(xs, rates, marker="o", color="#2e7d32", linewidth=2, label="pass rate")
    top.plot(xs, cover, marker="s", color="#1565c0", linewidth=1, linestyle="--", label="coverage")
    for x, p in zip(xs, points, strict=True):
        if p.pass_rate is not None:
            top.annotate(
                pct(p.pass_rate), (x, p.pass_rate * 100), textcoords="offset points", xytext=(0, 6),
                ha="center", fontsize=7,
            )  # fmt: skip
    top.set_ylim(-5, 110)
    top.set_ylabel("%", fontsize=8)
    top.grid(axis="y", color="#dddddd")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    top.tick_params(labelbottom=False, labelsize=7)
    base = [0] * len(points)
    for severity in range(1, 6):
        heights = [p.extant[severity - 1] for p in points]
        bottom.bar(
            xs, heights, bottom=base, color=SEVERITY_COLOURS[severity], width=0.6, label=f"sev {severity}"
        )
        base = [b + h for b, h in zip(base, heights, strict=True)]
    for x, total in zip(xs, base, strict=True):
        bottom.annotate(
            str(total), (x, total), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=7
        )
    bottom.set_ylim(0, max(1, *base) * 1.25 if base else 1)
    bottom.set_ylabel("extant issues", fontsize=8)
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    bottom.set_xticks(xs)
    bottom.set_xticklabels(
        [p.label for p in points], fontsize=7, rotation=30 if n > 8 else 0, ha="right" if n > 8 else "center"
    )
    bottom.tick_params(labelsize=7)
    bottom.set_xlim(-0.6, max(0, len(points) - 1) + 0.6)
    if not points:
        top.text(0.5, 0.5, "no data yet", transform=top.transAxes, ha="center", va="center", fontsize=9)
    return fig


def render_svg(points: Sequence[TrendPoint], title: str) -> str:
    """The trend as an SVG document without XML prologue (inlined in HTML reports)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dmct"}):
        _figure(points, title).savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def render_png(points: Sequence[TrendPoint], title: str, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    _figure(points, title).savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
