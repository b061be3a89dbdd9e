"""Collection: attach each collected test's manifest entry (requirements, roles, group) and plan it.

A test the DMC lacks a device for is *not applicable*; a test a non-standard pack removes (20.17) is
deselected; everything else carries the metadata the controller journals with its result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.model.packs import find_pack_root, test_id
from harness.plugin.state import _NOT_APPLICABLE, _PROP, _RUN_KEY

# ----------------------------------------------------------------------------------- collection

_MARKS = ("dmct_requirement", "dmct_roles", "dmct_srv", "dmct_group")


def _dmct_marks(item: pytest.Item) -> dict[str, list[str]]:
    """The arguments of the item's dmct markers, closest first, in one walk of its node chain (four
    ``iter_markers`` walks per test were most of collection's cost per test). ``dmct_srv`` and
    ``dmct_group`` take the closest marker's first argument, as ``iter_markers`` order gives."""
    out: dict[str, list[str]] = {name: [] for name in _MARKS}
    for mark in item.iter_markers():
        args = out.get(mark.name)
        if args is None:
            continue
        if mark.name in ("dmct_srv", "dmct_group"):
            if mark.args and not args:
                args.append(str(mark.args[0]))
        else:
            args.extend(str(a) for a in mark.args)
    return out



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Attach each pack test's metadata; refuse tests the pack's manifest does not plan (20.16)."""
    run = config.stash.get(_RUN_KEY, None)
    if run is None:
        return
    roots: dict[Path, Path | None] = {}  # test directory -> pack root, found once per directory
    rels: dict[Path, str] = {}  # test file -> its path relative to the pack root
    unplanned: list[str] = []
    deselected: list[pytest.Item] = []
    dmc_roles = set(run.lab.dmc(run.entry.dmc).roles)
    known_reqs = run.ttm.by_id()
    for item in items:
        path = item.path
        directory = path.parent
        if directory not in roots:
            found = find_pack_root(directory)
            roots[directory] = found.resolve() if found is not None else None
        root = roots[directory]
        if root is None or root not in run.packs:
            continue
        pack = run.packs[root]
        rel = rels.get(path)
        if rel is None:  # resolve() once per file, not once per parametrised test
            rel = rels[path] = test_id(path, root, path.name)
        rest = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
        tid = f"{rel}::{rest}" if rest else rel
        if tid in run.dmc_plan.dropped.get(pack.id, {}):
            deselected.append(item)  # a non-standard pack for this DMC removes or replaces it (20.17)
            continue
        if not pack.plans(tid):
            unplanned.append(f"{pack.id}: {tid} is not planned in {pack.source.name}")
            continue
        marks = _dmct_marks(item)
        reqs = marks["dmct_requirement"]
        unknown = [r for r in reqs if r not in known_reqs]
        if unknown:
            unplanned.append(f"{pack.id}: {tid} names requirement {unknown[0]!r} the TTM lacks")
            continue
        listed = pack.requirements_of(tid)
        if listed and sorted(listed) != sorted(reqs):
            unplanned.append(
                f"{pack.id}: {tid} marks requirements {reqs} but its manifest entry lists {listed}"
            )
            continue
        roles = pack.roles_of(tid)
        marked = sorted(set(marks["dmct_roles"]) - set(roles))
        if marked:
            unplanned.append(
                f"{pack.id}: {tid} is marked with role(s) {', '.join(marked)} its manifest entry lacks"
            )
            continue
        meta = {
            "entry": run.entry.id,
            "pack": pack.id,
            "test": tid,
            "requirements": reqs,
            "srv": next(iter(marks["dmct_srv"]), None),
            "group": next(iter(marks["dmct_group"]), None)
            or next((known_reqs[r].group for r in reqs), None),
            "nodeid": item.nodeid,
        }
        raw = json.dumps(meta, separators=(",", ":"))
        run.metas[raw] = meta
        item.user_properties.append((_PROP, raw))
        missing = [r for r in roles if r not in dmc_roles]
        if missing:
            reason = f"not applicable: DMC {run.entry.dmc} has no {', '.join(missing)}"
            item.user_properties.append((_NOT_APPLICABLE, reason))
            item.add_marker(pytest.mark.skip(reason=reason))
    if unplanned:
        more = f" (and {len(unplanned) - 1} more)" if len(unplanned) > 1 else ""
        raise pytest.UsageError(f"collected tests disagree with their pack manifest: {unplanned[0]}{more}")
    if deselected:
        gone = set(deselected)
        items[:] = [item for item in items if item not in gone]
        config.hook.pytest_deselected(items=deselected)
