"""The render-neutral content of a report: sections made of a few kinds of block.

Builders produce a :class:`Document`; :mod:`harness.reports.render` turns the same document into Markdown
or HTML (and PDF from the HTML), and :mod:`harness.reports.redact` rewrites every string in it. Keeping the
content as data rather than text is what makes three things simple: the same facts in every format, a
golden test that can ask "is item (g) there?" without parsing prose, and a redaction that cannot miss a
string hidden inside a table cell.

:class:`Missing` is a first-class block so that an item the data cannot fill is visibly *missing* in the
report (20.34: every item must be there) instead of silently absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph of plain text (renderers escape it)."""

    text: str


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    #: Optional, parallel to ``rows``: per cell the files its lines name ("" for none; one absolute path
    #: per line of the cell), rendered as links in HTML (evidence paths).
    links: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Missing:
    """Something the report must contain that the data could not supply, and where it should come from."""

    what: str


@dataclass(frozen=True, slots=True)
class HeatmapCell:
    planned: int
    executed: int
    passed: int

    @property
    def coverage(self) -> float | None:
        """Executed ÷ planned (None when nothing is planned)."""
        return self.executed / self.planned if self.planned else None

    @property
    def success(self) -> float | None:
        """Passed ÷ executed (None when nothing was executed)."""
        return self.passed / self.executed if self.executed else None


@dataclass(frozen=True, slots=True)
class Heatmap:
    """Functional groups (columns) × entries or DMCs (rows): coverage and success of testing (Table 13.1 #7).

    ``cells[r][c]`` is None when row ``r`` plans nothing in group ``c``.
    """

    title: str
    groups: tuple[str, ...]
    rows: tuple[str, ...]
    cells: tuple[tuple[HeatmapCell | None, ...], ...]


@dataclass(frozen=True, slots=True)
class Figure:
    """A heatmap placed in the flow: inline SVG in HTML, a table of figures in Markdown."""

    heatmap: Heatmap


Block = Para | Bullets | Table | Missing | Figure


@dataclass(slots=True)
class Section:
    """One numbered item or chapter. ``key`` is the clause item letter (``a``-``i``) where there is one."""

    key: str
    title: str
    clause: str = ""
    blocks: list[Block] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [b.what for b in self.blocks if isinstance(b, Missing)]


@dataclass(slots=True)
class Document:
    """A whole report. ``meta`` is the front matter (label, value); ``banner`` a warning shown on top."""

    kind: str
    title: str
    subtitle: str
    meta: list[tuple[str, str]]
    sections: list[Section]
    banner: str = ""
    status: str = ""
    footer: str = ""
    #: The running header of every printed page (what the document is, for which entry, draft or final)
    header: str = ""

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def heatmaps(self) -> list[Heatmap]:
        return [b.heatmap for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """A copy of ``value`` (a document, block, list, tuple, dict …) with ``fn`` applied to every string.

    Used by redaction: walking the dataclasses generically means a new block type or field can never
    escape it.
    """
    if isinstance(value, str):
        return fn(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: map_strings(getattr(value, f.name), fn) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(map_strings(v, fn) for v in value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {map_strings(k, fn): map_strings(v, fn) for k, v in value.items()}
    return value


def pct(value: float | None) -> str:
    """A rate as a percentage with one decimal, ``-`` when undefined."""
    return "-" if value is None else f"{value * 100:.1f}%"
