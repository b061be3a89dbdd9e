"""The test heatmap: functional groups × entries (or DMCs), coverage and success in every cell.

Table 13.1 #7 asks for a "test heatmap produced that shows coverage and success of testing, and
traceability to the TTM", 16.4 for "testing coverage of functional areas, including functional groups as
detailed in the heatmap", and 19.4 (b) for an auditor to check that "the planned tests map to the test
scenarios and test them adequately". So each cell carries both numbers: **coverage** = executed ÷ planned
and **success** = passed ÷ executed, from the execution that counts (the latest, 20.22).

Groups come from the results' ``group`` field (the TTM functional group the pack declares for a test); a
planned test with no result naming a group is counted under ``ungrouped``, so nothing planned disappears
from the picture. Rows are entries (or DMCs, aggregating their entries) and groups are columns, so a
heatmap of a thousand entries grows downwards and stays legible.

Rendering uses matplotlib's object API on the Agg canvas (no display, no global pyplot state, safe in
threads and CI); SVG text is kept as text (``svg.fonttype: none``) so that the inline SVG in an HTML report
is searchable — which is also what lets the redaction tests prove no identifier survives in it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from harness.reports.data import ReportData
from harness.reports.model import Heatmap, HeatmapCell, pct
from harness.rules.verdict import planned_tests

EXECUTED = frozenset({"passed", "failed"})


def build_heatmap(data: ReportData, rows: Sequence[tuple[str, Sequence[str]]], title: str) -> Heatmap:
    """Count planned / executed / passed tests per (row, group); each row aggregates some entries."""
    plan, profile = data.plan, data.verdict.profile
    counts: list[dict[str, list[int]]] = []
    groups: set[str] = set()
    for _label, entry_ids in rows:
        row: dict[str, list[int]] = {}
        for entry_id in entry_ids:
            entry = plan.entry(entry_id)
            for pack, tests in planned_tests(plan, entry, profile).items():
                for test in tests:
                    group = data.group_of(pack, test)
                    cell = row.setdefault(group, [0, 0, 0])
                    cell[0] += 1
                    head = data.latest.get((entry_id, pack, test))
                    if head is not None and head[1] in EXECUTED:
                        cell[1] += 1
                        cell[2] += head[1] == "passed"
        groups.update(row)
        counts.append(row)
    ordered = tuple(sorted(groups, key=lambda g: (g == "ungrouped", g.lower())))
    cells = tuple(tuple(HeatmapCell(*row[g]) if g in row else None for g in ordered) for row in counts)
    return Heatmap(title=title, groups=ordered, rows=tuple(label for label, _ in rows), cells=cells)


def cell_text(cell: HeatmapCell | None) -> str:
    """What a cell says, in both the picture and the Markdown table."""
    if cell is None:
        return "—"
    return f"cov {pct(cell.coverage)} ({cell.executed}/{cell.planned}) · ok {pct(cell.success)}"


#: Most groups side by side in one band of the grid (HTML/PDF) or the picture; more start a new band, so
#: labels stay at their size on an A4 page whatever the number of groups.
BAND = 6
#: A row list this short is shown transposed (groups down the page): one entry's 18 groups fit a page.
TRANSPOSE_ROWS = 3
_TABLE = '<table class="heatmap-grid"><thead><tr>'
_RED, _AMBER, _GREEN = (0xC6, 0x28, 0x28), (0xF9, 0xA8, 0x25), (0x2E, 0x7D, 0x32)


def success_colour(success: float) -> str:
    """The cell colour for a success rate: red (0) → amber (0.5) → green (1), as the picture's colormap."""
    lo, hi, t = (_RED, _AMBER, success * 2) if success < 0.5 else (_AMBER, _GREEN, success * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(lo, hi, strict=True))


def _grid_cell(cell: HeatmapCell | None) -> str:
    from markupsafe import escape

    if cell is None:
        return '<td class="hm-none">—</td>'
    if cell.executed == 0:
        return f'<td class="hm-cell hm-notrun">not run<br>0/{cell.planned}</td>'
    success = cell.success or 0.0
    dark = not 0.3 < success < 0.75
    partial = " hm-partial" if (cell.coverage or 0.0) < 1.0 else ""
    style = f"background-color:{success_colour(success)};color:{'#fff' if dark else '#000'}"
    text = escape(f"{pct(cell.success)} ok")
    return f'<td class="hm-cell{partial}" style="{style}">{text}<br>{cell.executed}/{cell.planned} run</td>'


def render_grid(heatmap: Heatmap) -> str:
    """The heatmap as HTML tables with real text (legible in HTML and when printed): groups down the
    page for a few rows (entries), else bands of :data:`BAND` groups with one table row per entry."""
    from markupsafe import escape

    out: list[str] = []
    if len(heatmap.rows) <= TRANSPOSE_ROWS:
        head = "".join(f'<th scope="col">{escape(r)}</th>' for r in heatmap.rows)
        out.append(f'{_TABLE}<th scope="col">functional group</th>{head}</tr></thead><tbody>')
        for c, group in enumerate(heatmap.groups):
            cells = "".join(_grid_cell(row[c]) for row in heatmap.cells)
            out.append(f'<tr><th scope="row">{escape(group)}</th>{cells}</tr>')
        out.append("</tbody></table>")
        return "".join(out)
    for start in range(0, len(heatmap.groups), BAND):
        groups = heatmap.groups[start : start + BAND]
        head = "".join(f'<th scope="col">{escape(g)}</th>' for g in groups)
        out.append(
            f'<table class="heatmap-grid"><thead><tr><th scope="col">entry</th>{head}</tr></thead><tbody>'
        )
        for label, row in zip(heatmap.rows, heatmap.cells, strict=True):
            cells = "".join(_grid_cell(cell) for cell in row[start : start + BAND])
            out.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
        out.append("</tbody></table>")
    return "".join(out)


def _figure(heatmap: Heatmap) -> Any:
    """The picture: bands of at most :data:`BAND` groups stacked downwards, so it stays narrow enough
    to print at its natural size and its labels stay legible whatever the number of groups."""
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n_rows = max(1, len(heatmap.rows))
    bands = [heatmap.groups[i : i + BAND] for i in range(0, len(heatmap.groups), BAND)] or [()]
    n_cols = max(1, max(len(b) for b in bands))
    label_w = min(3.5, 0.4 + 0.08 * max((len(r) for r in heatmap.rows), default=8))
    cell_w, cell_h, title_h, head_h, bottom = 1.45, 0.45, 0.35, 0.55, 0.35
    band_h = head_h + cell_h * n_rows
    width, height = label_w + cell_w * n_cols + 0.2, title_h + band_h * len(bands) + bottom
    fig = Figure(figsize=(width, height), dpi=100)
    fig.text(0.01, 1 - 0.08 / height, f"Heatmap: {heatmap.title}", fontsize=9, fontweight="bold", va="top")
    cmap = LinearSegmentedColormap.from_list("dmct", ["#c62828", "#f9a825", "#2e7d32"])
    for b, groups in enumerate(bands):
        offset = b * BAND
        y0 = height - title_h - b * band_h - band_h  # bottom of this band's cells, in inches
        ax = fig.add_axes(
            (label_w / width, y0 / height, cell_w * max(1, len(groups)) / width, cell_h * n_rows / height)
        )
        for r, row in enumerate(heatmap.cells):
            for c, cell in enumerate(row[offset : offset + BAND]):
                colour: Any
                if cell is None:
                    colour, text, hatch = "#ffffff", "—", None
                elif cell.executed == 0:
                    colour, text, hatch = "#d0d0d0", f"not run\n0/{cell.planned}", None
                else:
                    colour = cmap(cell.success or 0.0)
                    text = f"{pct(cell.success)} ok\n{cell.executed}/{cell.planned} run"
                    hatch = "///" if (cell.coverage or 0.0) < 1.0 else None
                ax.add_patch(
                    Rectangle((c, r), 1, 1, facecolor=colour, edgecolor="white", linewidth=1.5, hatch=hatch)
                )
                dark = cell is not None and cell.executed > 0 and not 0.3 < (cell.success or 0.0) < 0.75
                ax.text(
                    c + 0.5,
                    r + 0.5,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if dark else "black",
                    fontweight="bold",
                )
        ax.set_xlim(0, max(1, len(groups)))
        ax.set_ylim(n_rows, 0)
        ax.set_xticks([c + 0.5 for c in range(len(groups))])
        ax.set_xticklabels([textwrap.fill(g, 16) for g in groups], fontsize=8)
        ax.xaxis.tick_top()
        ax.set_yticks([r + 0.5 for r in range(len(heatmap.rows))])
        ax.set_yticklabels(heatmap.rows, fontsize=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.text(
        0.01,
        0.06 / height,
        "colour: success (passed ÷ executed); n/m run: coverage (executed ÷ planned); "
        "hatched: not fully executed",
        fontsize=7,
        color="#333333",
    )
    return fig


def render_svg(heatmap: Heatmap) -> str:
    """The heatmap as an SVG document (text kept as text, no XML prologue so it can be inlined)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dmct"}):
        _figure(heatmap).savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def render_png(heatmap: Heatmap, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    _figure(heatmap).savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
