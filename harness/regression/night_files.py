"""The nights on disk: ``<out>/<night>/``, the ``latest`` pointer, pruning, and the code identity of a night.

Kept apart from the pipeline so the diff, the trend and the tests read past nights the same way the
pipeline writes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError

NIGHT_RE = re.compile(r"^\d{8}T\d{6}Z(?:-\d+)?$")
LATEST = "latest"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
DIFF_JSON = "diff.json"
ISSUES_SNAPSHOT = "issues.json"
#: Source trees whose content identifies the code a night ran (harness, drivers, packs, virtual lab).
SOURCE_PACKAGES = ("harness", "device_drivers", "test_packs", "labs.virtual")
SOURCE_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".json", ".j2", ".csv", ".toml"})


# ------------------------------------------------------------------------------------ I/O helpers


def _write_json(path: Path, data: Any) -> None:
    from harness.outputs import atomic_write

    atomic_write(path, json.dumps(data, indent=1, default=str) + "\n")


def project_root() -> Path:
    import harness

    return Path(harness.__file__).resolve().parent.parent


def source_digest() -> str:
    """SHA-256 over the harness, driver, pack and virtual-lab sources: identifies the code exactly,
    whether or not it is a git checkout and whatever is uncommitted."""
    import importlib

    digest = hashlib.sha256()
    for name in SOURCE_PACKAGES:
        module = importlib.import_module(name)
        base = Path(str(module.__file__)).resolve().parent
        for path in sorted(base.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
                continue
            digest.update(f"{name}/{path.relative_to(base).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def code_identity() -> dict[str, Any]:
    """What code runs tonight: package version, source digest, and the git commit when there is one."""
    from harness import version

    code: dict[str, Any] = {"dmct_version": version(), "source_sha256": source_digest()}
    root = project_root()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if head.returncode == 0 and head.stdout.strip():
            code["git_commit"] = head.stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            code["git_dirty"] = bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    return code


def entry_devices(lab: Any, entry: Any) -> dict[str, Any]:
    """Every device (and rig state) of the rigs serving ``entry``, as configured: model, firmware,
    serials and, for a virtual lab, the simulated behaviour including seeded defects."""
    out: dict[str, Any] = {}
    for rig in lab.rigs_for_entry(entry):
        if rig.virtual is not None or rig.prepared_for is not None:
            state: dict[str, Any] = {"manufacturer": "rig", "model": rig.id, "hardware_version": "-"}
            state["firmware_version"] = "-"
            if rig.prepared_for:
                state["prepared_for"] = rig.prepared_for
            if rig.virtual is not None:
                state["virtual"] = rig.virtual.model_dump(mode="json")
            out[f"{rig.id}/rig"] = state
        for device in rig.devices:
            out[f"{rig.id}/{device.role}"] = device.model_dump(
                mode="json", exclude={"links"}, exclude_none=True
            )
    return out


def read_latest(out: Path) -> Path | None:
    """The last completed night under ``out`` (the ``latest`` symlink or pointer file), if any."""
    pointer = out / LATEST
    if pointer.is_symlink() or pointer.is_dir():
        target = pointer.resolve()
        return target if (target / SUMMARY_JSON).is_file() else None
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        if NIGHT_RE.match(name) and (out / name / SUMMARY_JSON).is_file():
            return out / name
    return None


def write_latest(out: Path, night_id: str) -> None:
    """Point ``<out>/latest`` at the night: a relative symlink, replaced atomically; a file naming it where
    symlinks cannot be made."""
    pointer = out / LATEST
    tmp = out / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.symlink(night_id, tmp, target_is_directory=True)
    except OSError:
        tmp.write_text(night_id + "\n", encoding="utf-8")
    if pointer.is_dir() and not pointer.is_symlink():
        raise DmctInputError(
            str(pointer), "is a directory; remove it so the nightly can point at the last night"
        )
    os.replace(tmp, pointer)


def past_nights(out: Path, exclude: str | None = None) -> list[Path]:
    """Completed nights under ``out`` (with a summary), oldest first."""
    if not out.is_dir():
        return []
    return sorted(
        p
        for p in out.iterdir()
        if p.is_dir() and not p.is_symlink() and NIGHT_RE.match(p.name) and p.name != exclude
        and (p / SUMMARY_JSON).is_file()
    )  # fmt: skip


def prune(out: Path, keep: int, protect: Iterable[Path]) -> list[Path]:
    """Remove the oldest night directories beyond ``keep`` (only names this pipeline makes)."""
    keepers = {p.resolve() for p in protect}
    nights = sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink() and NIGHT_RE.match(p.name))
    removed = []
    for night in nights[: max(0, len(nights) - keep)]:
        if night.resolve() not in keepers:
            shutil.rmtree(night, ignore_errors=True)
            removed.append(night)
    return removed
