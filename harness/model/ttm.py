"""The Test Traceability Matrix: requirements, and which tests cover them.

The catalogue (``test_packs/ttm/requirements.yaml``, plus a ``requirements.yaml`` beside any
non-standard pack's manifest) lists every requirement with its source — SVTAD clause, SEC section,
DUIS SRV, migration step or security misuse case (6.3 (b)) — and its functional group (the rows of the
heatmap, Table 13.1 #7). The mapping to tests is derived from the tests' own
``@pytest.mark.dmct_requirement`` marks; :func:`coverage` is a pure function over that mapping, the
catalogue, the manifests and (optionally) a run's results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.model.interchange import Outcome, ResultRecord
from harness.model.packs import PackManifest
from harness.yamlio import fail_at, load_model

SourceKind = Literal["svtad", "sec", "duis-srv", "migration-step", "misuse-case"]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind
    ref: str = Field(min_length=1)


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    source: Source
    text: str = Field(min_length=1)
    group: str = Field(min_length=1)


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: list[Requirement]

    def by_id(self) -> dict[str, Requirement]:
        return {r.id: r for r in self.requirements}


def standard_catalogue_path() -> Path:
    import test_packs

    return Path(test_packs.__file__).parent / "ttm" / "requirements.yaml"


def load_catalogue(pack_roots: Iterable[Path] = ()) -> Catalogue:
    """The standard catalogue plus each pack root's own ``requirements.yaml``; ids must be unique."""
    paths = [standard_catalogue_path(), *(r / "requirements.yaml" for r in pack_roots)]
    merged: list[Requirement] = []
    seen: dict[str, Path] = {}
    for path in dict.fromkeys(p for p in paths if p.is_file()):
        catalogue = load_model(Catalogue, path)
        for index, req in enumerate(catalogue.requirements):
            if req.id in seen:
                raise fail_at(
                    path,
                    ["requirements", index, "id"],
                    f"duplicate requirement {req.id!r} (also in {seen[req.id]})",
                )
            seen[req.id] = path
            merged.append(req)
    return Catalogue(requirements=merged)


@dataclass(frozen=True)
class TestMarks:
    """What one collected pack test declares: its pack, id and requirement marks."""

    pack: str
    test: str
    requirements: tuple[str, ...]


@dataclass
class GroupCoverage:
    requirements: int = 0
    covered: int = 0
    tests: int = 0
    executed: int = 0


@dataclass
class TtmReport:
    """``dmct ttm``: what is covered, what is not, what is wrong."""

    uncovered: list[str] = field(default_factory=list)  # requirements no test names
    unknown: list[tuple[str, str, str]] = field(default_factory=list)  # (pack, test, requirement)
    untraced: list[tuple[str, str]] = field(default_factory=list)  # tests naming no requirement
    not_executed: list[tuple[str, str]] = field(default_factory=list)  # planned, no passed/failed result
    groups: dict[str, GroupCoverage] = field(default_factory=dict)
    tests_of: dict[str, list[str]] = field(default_factory=dict)  # requirement -> "pack:test"

    @property
    def ok(self) -> bool:
        return not self.unknown


def coverage(
    catalogue: Catalogue,
    marks: Iterable[TestMarks],
    manifests: Iterable[PackManifest],
    results: Mapping[tuple[str, str, str], ResultRecord] | None = None,
    planned: Mapping[str, Sequence[str]] | None = None,
) -> TtmReport:
    """Cross the catalogue with the tests' marks (and a run's latest results, when given).

    ``planned`` (pack id -> test ids) overrides a manifest's planned tests, e.g. with a run's own list
    for its entry once a non-standard pack took tests out of a standard pack (20.17).
    """
    known = catalogue.by_id()
    report = TtmReport()
    group_of_test: dict[tuple[str, str], set[str]] = {}
    for m in marks:
        if not m.requirements:
            report.untraced.append((m.pack, m.test))
        for req in m.requirements:
            if req not in known:
                report.unknown.append((m.pack, m.test, req))
                continue
            report.tests_of.setdefault(req, []).append(f"{m.pack}:{m.test}")
            group_of_test.setdefault((m.pack, m.test), set()).add(known[req].group)
    for requirement in catalogue.requirements:
        group = report.groups.setdefault(requirement.group, GroupCoverage())
        group.requirements += 1
        if requirement.id in report.tests_of:
            group.covered += 1
        else:
            report.uncovered.append(requirement.id)
    executed = {
        (p, t) for (_, p, t), r in (results or {}).items() if r.outcome in (Outcome.PASSED, Outcome.FAILED)
    }
    for manifest in manifests:
        for test in (planned or {}).get(manifest.id, manifest.test_ids):
            for group_name in group_of_test.get((manifest.id, test), set()):
                report.groups[group_name].tests += 1
                if (manifest.id, test) in executed:
                    report.groups[group_name].executed += 1
            if results is not None and (manifest.id, test) not in executed:
                report.not_executed.append((manifest.id, test))
    return report


def group_of(catalogue: Catalogue, requirements: Iterable[str]) -> str | None:
    """The functional group of a test: that of its first known requirement."""
    return group_in(catalogue.by_id(), requirements)


def group_in(known: Mapping[str, Requirement], requirements: Iterable[str]) -> str | None:
    """:func:`group_of` with the catalogue already indexed (``Catalogue.by_id``), for callers asking
    about many tests: the index is built once, not once per test."""
    return next((known[r].group for r in requirements if r in known), None)
