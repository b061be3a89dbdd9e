"""Test pack manifests: what a pack plans to execute, versioned per Capability Release.

Each pack directory holds a ``pack.yaml`` (20.16: a pack "shall set out the tests which shall be
executed"); the directory of the manifest is the pack's root and a test's id is its node id relative to
that root (``test_srv_4_1.py::test_read_instantaneous_import_registers``), stable across checkouts.
The standard packs live in :mod:`test_packs`; non-standard packs (20.17) may live anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.yamlio import load_model

MANIFEST = "pack.yaml"


class PlannedTest(BaseModel):
    """A planned test with what it needs: the device roles (a DMC lacking one makes it not applicable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    roles: list[Literal["ch", "esme", "gsme", "ppmid", "ihd"]] = Field(default_factory=list)
    requirements: list[str] = Field(default_factory=list)


class PackManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    name: str
    version: str
    capability_release: Literal["IOC", "MOC", "FOC"]
    standard: bool = True
    tests: list[str | PlannedTest]
    min_pass_rate: float | None = Field(default=None, ge=0, le=1)

    @property
    def planned(self) -> list[PlannedTest]:
        """Every planned test as a :class:`PlannedTest` (a bare string is a test needing no role)."""
        return [t if isinstance(t, PlannedTest) else PlannedTest(id=t) for t in self.tests]

    @property
    def test_ids(self) -> list[str]:
        return [t.id for t in self.planned]

    def applicable(self, roles: Iterable[str]) -> list[str]:
        """The planned tests a DMC with ``roles`` can execute (the others are not applicable to it)."""
        have = set(roles)
        return [t.id for t in self.planned if set(t.roles) <= have]

    def roles_of(self, test: str) -> list[str]:
        return next((list(t.roles) for t in self.planned if t.id == test), [])

    def requirements_of(self, test: str) -> list[str]:
        return next((list(t.requirements) for t in self.planned if t.id == test), [])


def standard_packs_dir() -> Path:
    import test_packs

    return Path(test_packs.__file__).parent


def find_pack_root(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` that holds a pack manifest."""
    for candidate in [path, *path.parents] if path.is_dir() else path.parents:
        if (candidate / MANIFEST).is_file():
            return candidate
    return None


def discover(paths: Iterable[Path]) -> dict[Path, PackManifest]:
    """Every manifest under or above ``paths`` plus the standard packs, keyed by pack root."""
    roots: set[Path] = {p.parent for p in standard_packs_dir().glob(f"*/{MANIFEST}")}
    for path in paths:
        path = path.resolve()
        root = find_pack_root(path)
        if root is not None:
            roots.add(root)
        if path.is_dir():
            roots.update(m.parent for m in path.rglob(MANIFEST) if "results" not in m.parts)
    return {root: load_model(PackManifest, root / MANIFEST) for root in sorted(roots)}


def test_id(nodeid_path: Path, pack_root: Path, nodeid: str) -> str:
    """A test's id within its pack: the node id with the file path made relative to the pack root."""
    rel = nodeid_path.resolve().relative_to(pack_root).as_posix()
    rest = nodeid.split("::", 1)[1] if "::" in nodeid else ""
    return f"{rel}::{rest}" if rest else rel
