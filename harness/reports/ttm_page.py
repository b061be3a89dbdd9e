"""The Test Traceability Matrix as one static HTML page (``dmct ttm --html FILE``).

Table 13.1 #7 asks for "traceability to the TTM": a reader following a requirement link from a test
(the Allure report's TMS links, ``ttm.html#<requirement id>``) lands on that requirement's row — its
source clause, text, functional group and the pack tests that cover it (and, with ``--run``, which of
them were not executed). Self-contained: inline CSS, no scripts, no external resources.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from markupsafe import escape

from harness.model.packs import PackManifest
from harness.model.ttm import Catalogue, TtmReport

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #1a1a1a; }
h2 { font-size: 1.2em; border-bottom: 1px solid #999; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.4em; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #eee; }
tr:target { background: #fff3b0; outline: 2px solid #c69500; }
.none { color: #b71c1c; font-weight: bold; }
.notrun { color: #8a6d00; }
@page { size: A4; margin: 16mm 14mm; }
"""


def render_ttm_html(
    catalogue: Catalogue,
    report: TtmReport,
    manifests: Iterable[PackManifest],
    ran: bool = False,
) -> str:
    """The page: per functional group, one row per requirement with ``id`` = the requirement id."""
    not_run = {f"{p}:{t}" for p, t in report.not_executed}
    packs = ", ".join(str(escape(m.label)) for m in manifests)
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        "<title>Test Traceability Matrix</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Test Traceability Matrix</h1>",
        f"<p>{len(catalogue.requirements)} requirements; packs: {packs}. "
        f"{len(report.uncovered)} requirement(s) with no test.</p>",
    ]
    ordered = sorted(catalogue.requirements, key=lambda r: (r.group.lower(), r.id))
    for group, reqs in groupby(ordered, key=lambda r: r.group):
        out.append(f"<h2>{escape(group)}</h2><table><thead><tr><th>requirement</th><th>source</th>")
        out.append("<th>text</th><th>tests</th></tr></thead><tbody>")
        for req in reqs:
            tests = report.tests_of.get(req.id, [])
            if tests:
                cells = "<br>".join(
                    f'<span class="notrun">{escape(t)} (not executed)</span>'
                    if ran and t in not_run
                    else str(escape(t))
                    for t in tests
                )
            else:
                cells = '<span class="none">no test</span>'
            out.append(
                f'<tr id="{escape(req.id)}"><td>{escape(req.id)}</td>'
                f"<td>{escape(req.source.kind)} {escape(req.source.ref)}</td>"
                f"<td>{escape(req.text)}</td><td>{cells}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</body></html>\n")
    return "".join(out)
