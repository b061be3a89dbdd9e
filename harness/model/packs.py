"""Test pack manifests: what a pack plans to execute, versioned per Capability Release.

Each pack directory holds a manifest per Capability Release (20.15, 20.16: a pack "shall set out the
tests which shall be executed as part of that test pack for the relevant Capability Release"):
``pack.yaml`` for IOC, ``pack.MOC.yaml`` and ``pack.FOC.yaml`` for the others. The directory of the
manifests is the pack's root and a test's id is its node id relative to that root
(``test_srv_4_1.py::test_read_instantaneous_import_registers``), stable across checkouts. A run reads,
for every pack, the manifest of its entry's Capability Release; a pack with none for it is bad input.

Two derivations share one pure function, :func:`apply_changes` (a manifest's ``removes`` and
``replaces`` taken out of another manifest's planned tests, each with its rationale):

- a per-release manifest may ``derives_from`` another manifest of its own pack (``pack.MOC.yaml``
  from ``pack.yaml``): its planned tests are that manifest's, minus what it removes or replaces, plus
  its own ``tests`` (the additions and the replacements), so it is not a copy;
- a DMCT Non-Standard Test Pack (20.17, ``standard: false``) is for one DMC (``dmc``) and records why
  the TAG agreed it (``rationale``); it plans its own ``tests`` and, with ``based_on``, takes tests out
  of that standard pack's plan for its DMC (:func:`plan_for_dmc`).

The standard packs live in :mod:`test_packs`; non-standard packs may live anywhere (``examples/``).
Every rule here fails as one line naming the manifest file, the field and its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from harness.errors import DmctInputError
from harness.yamlio import fail_at, load_model

Release = Literal["IOC", "MOC", "FOC"]
#: The manifest file of each Capability Release (20.16); ``pack.yaml`` is the IOC one.
MANIFESTS: dict[Release, str] = {"IOC": "pack.yaml", "MOC": "pack.MOC.yaml", "FOC": "pack.FOC.yaml"}
MANIFEST = MANIFESTS["IOC"]
_RELEASE_OF = {name: release for release, name in MANIFESTS.items()}
ManifestName = Literal["pack.yaml", "pack.MOC.yaml", "pack.FOC.yaml"]


def manifest_name(release: Release) -> str:
    return MANIFESTS[release]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rationale(text: str) -> str:
    if not text.strip():
        raise ValueError("a rationale is required: why the change was agreed (20.17)")
    return text


class PlannedTest(_Strict):
    """A planned test with what it needs: the device roles (a DMC lacking one makes it not applicable)."""

    id: str = Field(min_length=1)
    roles: list[Literal["ch", "esme", "gsme", "ppmid", "ihd"]] = Field(default_factory=list)
    requirements: list[str] = Field(default_factory=list)


class Removal(_Strict):
    """A planned test of another manifest that this one does not execute, and why."""

    id: str = Field(min_length=1)
    rationale: str

    _check_rationale = field_validator("rationale")(_rationale)


class Replacement(Removal):
    """A planned test of another manifest executed as this manifest's own test ``by`` instead, and why."""

    by: str = Field(min_length=1)


class PackManifest(_Strict):
    """One pack's manifest for one Capability Release.

    As :func:`discover` returns it, ``tests`` is the manifest's whole plan: a ``derives_from`` manifest
    is already resolved (its parent's tests minus its removals and replacements, plus its own). A
    non-standard pack's ``removes``/``replaces`` apply to its ``based_on`` pack, for its DMC only
    (:func:`plan_for_dmc`); its ``tests`` are its own.
    """

    id: str = Field(min_length=1)
    name: str
    version: str
    capability_release: Release
    standard: bool = True
    #: Non-standard packs (20.17): the DMC the pack is for, and why the TAG agreed it (also 20.9 (c)).
    dmc: str | None = Field(default=None, min_length=1)
    rationale: str | None = None
    #: Non-standard packs: the id of the standard pack whose plan ``removes``/``replaces`` change.
    based_on: str | None = Field(default=None, min_length=1)
    #: Standard packs: another manifest of this pack this one is derived from (another release's).
    derives_from: ManifestName | None = None
    removes: list[Removal] = Field(default_factory=list)
    replaces: list[Replacement] = Field(default_factory=list)
    tests: list[str | PlannedTest] = Field(default_factory=list)
    min_pass_rate: float | None = Field(default=None, ge=0, le=1)

    _source: Path | None = PrivateAttr(default=None)
    _parent: str | None = PrivateAttr(default=None)  # "pack.yaml 1.1.0": what it was derived from
    _index: dict[str, PlannedTest] | None = PrivateAttr(default=None)
    _index_key: tuple[int, int] | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path:
        """The manifest file this was read from (``pack.yaml`` when built in memory)."""
        return self._source or Path(manifest_name(self.capability_release))

    @property
    def derived_from(self) -> str | None:
        """``derives_from`` with the version it was resolved against, e.g. ``pack.yaml 1.1.0``."""
        return self._parent

    @property
    def label(self) -> str:
        """What a report names: ``srvt 1.1.0 (IOC, pack.yaml)``."""
        return f"{self.id} {self.version} ({self.capability_release}, {self.source.name})"

    def _by_id(self) -> dict[str, PlannedTest]:
        """The planned tests by id, built once per ``tests`` list (O(1) lookups during collection).

        Collection asks for every collected test whether it is planned and what it needs; scanning the
        list (and building a model per bare id) on each question made collection quadratic: 61 s for
        2000 tests. The index is rebuilt only when ``tests`` is replaced or changes length.
        """
        # Private attributes read through pydantic's __getattr__ cost microseconds each, several times
        # per collected test: read its private storage (a plain dict) directly.
        private: dict[str, Any] = self.__pydantic_private__  # type: ignore[assignment]
        tests = self.tests
        key = (id(tests), len(tests))
        index: dict[str, PlannedTest] | None = private["_index"]
        if index is None or private["_index_key"] != key:
            index = {}
            for t in tests:
                planned = t if isinstance(t, PlannedTest) else PlannedTest.model_construct(
                    id=t, roles=[], requirements=[]
                )
                index.setdefault(planned.id, planned)
            private["_index"], private["_index_key"] = index, key
        return index

    @property
    def planned(self) -> list[PlannedTest]:
        """Every planned test as a :class:`PlannedTest` (a bare string is a test needing no role)."""
        return list(self._by_id().values())

    @property
    def test_ids(self) -> list[str]:
        return list(self._by_id())

    def plans(self, test: str) -> bool:
        """Whether ``test`` is planned (a dictionary lookup)."""
        return test in self._by_id()

    def applicable(self, roles: Iterable[str]) -> list[str]:
        """The planned tests a DMC with ``roles`` can execute (the others are not applicable to it)."""
        have = set(roles)
        return [t.id for t in self._by_id().values() if set(t.roles) <= have]

    def roles_of(self, test: str) -> list[str]:
        found = self._by_id().get(test)
        return list(found.roles) if found is not None else []

    def requirements_of(self, test: str) -> list[str]:
        found = self._by_id().get(test)
        return list(found.requirements) if found is not None else []

    def problems(self, file_name: str) -> list[tuple[list[int | str], str]]:
        """The rules one manifest must keep on its own, each with the field it is about."""
        out: list[tuple[list[int | str], str]] = []
        release = _RELEASE_OF.get(file_name)
        if release is not None and self.capability_release != release:
            out.append(
                (
                    ["capability_release"],
                    f"{self.capability_release} in {file_name}, the {release} manifest "
                    "(pack.yaml: IOC, pack.MOC.yaml: MOC, pack.FOC.yaml: FOC)",
                )
            )
        seen: set[str] = set()
        for index, entry in enumerate(self.tests):
            test = entry.id if isinstance(entry, PlannedTest) else entry
            if test in seen:
                out.append((["tests", index], f"duplicate test id {test!r}"))
            seen.add(test)
        if self.standard:
            if self.dmc is not None:
                out.append((["dmc"], "only a non-standard pack (standard: false) is for one DMC (20.17)"))
            if self.based_on is not None:
                out.append(
                    (
                        ["based_on"],
                        "only a non-standard pack (standard: false) changes a standard pack (20.17); "
                        "another Capability Release's manifest of this pack uses derives_from",
                    )
                )
        else:
            if self.dmc is None:
                out.append((["dmc"], "a non-standard pack (standard: false) is for one DMC (20.17): name it"))
            if self.rationale is None or not self.rationale.strip():
                out.append(
                    (["rationale"], "a non-standard pack records why the TAG agreed it (20.9 (c), 20.17)")
                )
            if self.derives_from is not None:
                out.append(
                    (
                        ["derives_from"],
                        "a non-standard pack is for one DMC, hence one Capability Release: write its "
                        "manifest in full (based_on names the standard pack it changes)",
                    )
                )
        if (self.removes or self.replaces) and self.based_on is None and self.derives_from is None:
            what = "removes" if self.removes else "replaces"
            out.append(
                (
                    [what],
                    f"{what} changes another manifest: give based_on (a non-standard pack, 20.17) or "
                    "derives_from (another Capability Release's manifest of this pack)",
                )
            )
        if self.derives_from is not None and self.derives_from == file_name:
            out.append((["derives_from"], "a manifest cannot derive from itself"))
        taken: dict[str, str] = {}
        for what, changes in (("removes", self.removes), ("replaces", self.replaces)):
            for index, change in enumerate(changes):
                if change.id in taken:
                    out.append(([what, index, "id"], f"{change.id!r} is already in {taken[change.id]}"))
                taken.setdefault(change.id, what)
        for index, replacement in enumerate(self.replaces):
            if replacement.by not in seen:
                out.append(
                    (["replaces", index, "by"], f"{replacement.by!r} is not one of this manifest's tests")
                )
        return out


@dataclass(frozen=True)
class Change:
    """A planned test of ``pack`` taken out by another manifest: removed, or replaced ``by`` its test."""

    pack: str
    test: str
    rationale: str
    by: str | None = None
    #: The pack whose manifest made the change (``by`` is one of its tests).
    changed_by: str | None = None

    @property
    def kind(self) -> Literal["removed", "replaced"]:
        return "removed" if self.by is None else "replaced"

    def to_json(self) -> dict[str, str]:
        out = {"pack": self.pack, "test": self.test, "change": self.kind, "rationale": self.rationale}
        if self.by is not None:
            out["by"] = self.by
        if self.changed_by is not None:
            out["changed_by"] = self.changed_by
        return out


def apply_changes(base: PackManifest, change: PackManifest) -> tuple[list[PlannedTest], list[Change]]:
    """``base``'s planned tests without those ``change`` removes or replaces, and the changes made.

    The one resolve function of both derivations (a per-release manifest from another release's, a
    non-standard pack from its standard pack, 20.17). Pure apart from its error: an id ``base`` does
    not plan is one line naming ``change``'s file and field.
    """
    planned = set(base.test_ids)
    out: list[Change] = []
    for what, entries in (("removes", change.removes), ("replaces", change.replaces)):
        for index, entry in enumerate(entries):
            if entry.id not in planned:
                raise fail_at(
                    change.source,
                    [what, index, "id"],
                    f"{entry.id!r} is not a planned test of {base.id} ({base.source.name})",
                )
            by = entry.by if isinstance(entry, Replacement) else None
            out.append(Change(base.id, entry.id, entry.rationale, by, change.id))
    taken = {c.test for c in out}
    return [t for t in base.planned if t.id not in taken], out


def derive(parent: PackManifest, child: PackManifest) -> PackManifest:
    """``child`` (with ``derives_from``) resolved: ``parent``'s tests minus its changes plus its own."""
    if child.id != parent.id:
        raise fail_at(
            child.source,
            ["id"],
            f"{child.id!r} differs from {parent.id!r} of {parent.source.name}: "
            "a pack's manifests share its id",
        )
    if not parent.standard:
        raise fail_at(
            child.source, ["derives_from"], f"{parent.source.name} is a non-standard pack's manifest"
        )
    kept, _ = apply_changes(parent, child)
    kept_ids = {t.id for t in kept}
    for index, test in enumerate(child.planned):
        if test.id in kept_ids:
            raise fail_at(
                child.source,
                ["tests", index],
                f"{test.id!r} is already planned by {parent.source.name}; replace it to change it",
            )
    update: dict[str, object] = {"tests": [*kept, *child.planned]}
    if "min_pass_rate" not in child.model_fields_set:
        update["min_pass_rate"] = parent.min_pass_rate  # what the pack prescribes (20.34 (h)) carries over
    resolved = child.model_copy(update=update)
    resolved._parent = f"{parent.source.name} {parent.version}"
    return resolved


def read_manifest(path: Path) -> PackManifest:
    """One manifest file, validated on its own (not resolved)."""
    manifest = load_model(PackManifest, path)
    problems = manifest.problems(path.name)
    if problems:
        loc, message = problems[0]
        raise fail_at(path, loc, message)
    manifest._source = path
    return manifest


def load_manifest(root: Path, release: Release = "IOC") -> PackManifest:
    """The pack at ``root``'s manifest for ``release``, resolved (``derives_from`` applied)."""
    path = root / manifest_name(release)
    if not path.is_file():
        have = ", ".join(n for n in MANIFESTS.values() if (root / n).is_file()) or "none"
        raise DmctInputError(
            str(root),
            f"the pack has no manifest for Capability Release {release} ({path.name}; it has: {have})",
        )
    return _resolve(path, [])


def _resolve(path: Path, seen: list[Path]) -> PackManifest:
    manifest = read_manifest(path)
    if manifest.derives_from is None:
        return manifest
    parent_path = path.parent / manifest.derives_from
    if parent_path in seen or parent_path == path:
        chain = " -> ".join(p.name for p in [*seen, path, parent_path])
        raise fail_at(path, ["derives_from"], f"derivation loops: {chain}")
    if not parent_path.is_file():
        raise fail_at(path, ["derives_from"], f"no {manifest.derives_from} beside this manifest")
    return derive(_resolve(parent_path, [*seen, path]), manifest)


def pack_id(root: Path) -> str:
    """The id of the pack at ``root`` (shared by its manifests), from the first manifest it holds."""
    for name in MANIFESTS.values():
        if (root / name).is_file():
            return read_manifest(root / name).id
    raise DmctInputError(str(root), f"no pack manifest here ({', '.join(MANIFESTS.values())})")


def standard_packs_dir() -> Path:
    import test_packs

    return Path(test_packs.__file__).parent


def _is_manifest(path: Path) -> bool:
    return path.name in _RELEASE_OF and path.is_file()


def standard_pack_roots() -> list[Path]:
    """The roots of the standard packs (20.15), sorted."""
    return sorted({p.parent.resolve() for p in standard_packs_dir().glob("*/pack*.yaml") if _is_manifest(p)})


def find_pack_root(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` that holds a pack manifest (of any release)."""
    for candidate in [path, *path.parents] if path.is_dir() else path.parents:
        if any((candidate / name).is_file() for name in MANIFESTS.values()):
            return candidate
    return None


def discover(paths: Iterable[Path], release: Release = "IOC") -> dict[Path, PackManifest]:
    """Every pack under or above ``paths`` plus the standard packs, keyed by pack root: the manifest of
    each for ``release``, resolved and checked (unique ids; a non-standard pack's ``based_on`` names a
    standard pack of these and its removals and replacements are tests that pack plans)."""
    roots: set[Path] = set(standard_pack_roots())
    for path in paths:
        path = path.resolve()
        root = find_pack_root(path)
        if root is not None:
            roots.add(root)
        if path.is_dir():
            found = (m for m in path.rglob("pack*.yaml") if _is_manifest(m) and "results" not in m.parts)
            roots.update(m.parent for m in found)
    packs = {root: load_manifest(root, release) for root in sorted(roots)}
    by_id: dict[str, PackManifest] = {}
    for manifest in packs.values():
        other = by_id.setdefault(manifest.id, manifest)
        if other is not manifest:
            raise fail_at(manifest.source, ["id"], f"pack id {manifest.id!r} is also that of {other.source}")
    for manifest in packs.values():
        if manifest.based_on is not None:
            apply_changes(_base_of(manifest, by_id), manifest)
    return packs


def _base_of(manifest: PackManifest, by_id: Mapping[str, PackManifest]) -> PackManifest:
    base = by_id.get(manifest.based_on or "")
    if base is None or not base.standard:
        known = ", ".join(sorted(m.id for m in by_id.values() if m.standard)) or "none"
        raise fail_at(
            manifest.source,
            ["based_on"],
            f"{manifest.based_on!r} is not a standard pack of this run (known: {known})",
        )
    return base


@dataclass(frozen=True)
class DmcPlan:
    """Every pack's planned tests for one DMC once its non-standard packs apply (20.17)."""

    #: pack id -> planned test ids (a standard pack's without what a non-standard pack took out)
    tests: dict[str, list[str]]
    #: standard pack id -> test id -> the change that took it out of this DMC's plan
    dropped: dict[str, dict[str, Change]] = field(default_factory=dict)
    #: non-standard pack id -> its changes to its ``based_on`` pack
    changes: dict[str, list[Change]] = field(default_factory=dict)


def plan_for_dmc(packs: Mapping[Path, PackManifest], dmc: str, entry: str) -> DmcPlan:
    """The plan of ``packs`` for ``entry`` (of DMC ``dmc``): a non-standard pack for this DMC takes
    what it removes or replaces out of its standard pack; one for another DMC is bad input (20.17: a
    non-standard pack is "in respect of a particular DMC")."""
    by_id = {m.id: m for m in packs.values()}
    tests = {m.id: m.test_ids for m in packs.values()}
    plan = DmcPlan(tests)
    for manifest in packs.values():
        if manifest.standard:
            continue
        if manifest.dmc != dmc:
            raise fail_at(
                manifest.source,
                ["dmc"],
                f"this non-standard pack is for DMC {manifest.dmc!r}; entry {entry} is of DMC {dmc!r}",
            )
        if manifest.based_on is None:
            continue
        base = _base_of(manifest, by_id)
        kept, changes = apply_changes(base, manifest)
        dropped = plan.dropped.setdefault(base.id, {})
        for index, change in enumerate(changes):
            if change.test in dropped:
                what = "removes" if change.by is None else "replaces"
                n = index if change.by is None else index - len(manifest.removes)
                raise fail_at(
                    manifest.source,
                    [what, n, "id"],
                    f"{change.test!r} of {base.id} is also taken out by pack "
                    f"{dropped[change.test].changed_by}",
                )
            dropped[change.test] = change
        plan.tests[base.id] = [t.id for t in kept if t.id not in dropped]
        plan.changes[manifest.id] = changes
    return plan


def with_bases(paths: Sequence[Path]) -> list[Path]:
    """``paths`` plus the root of each standard pack that a non-standard pack among them is
    ``based_on`` (in any of its manifests) and that they do not already include: a non-standard pack
    runs with the standard pack it changes (20.17). An unknown ``based_on`` is left to :func:`discover`."""
    given = {r for p in paths if (r := find_pack_root(p.resolve())) is not None}
    standard = {pack_id(r): r for r in standard_pack_roots()}
    out = list(paths)
    for root in sorted(given):
        for name in MANIFESTS.values():
            based_on = read_manifest(root / name).based_on if (root / name).is_file() else None
            base = standard.get(based_on or "")
            if base is not None and base not in given:
                given.add(base)
                out.append(base)
    return out


def test_id(nodeid_path: Path, pack_root: Path, nodeid: str) -> str:
    """A test's id within its pack: the node id with the file path made relative to the pack root."""
    rel = nodeid_path.resolve().relative_to(pack_root).as_posix()
    rest = nodeid.split("::", 1)[1] if "::" in nodeid else ""
    return f"{rel}::{rest}" if rest else rel
