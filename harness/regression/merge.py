"""Merging the runs of several harness hosts into one run directory that ``dmct verdict`` judges.

A night is often split: one host drives some rigs or entries, another the rest, or two hosts take one
half of a pack each. Each writes an ordinary run directory; ``dmct merge RUN... -o DIR`` turns them into
one, and the verdict of the merge is the verdict of the same results produced in one run because the
verdict is a function of the plan, the journal lines and the issue log only — and the merge keeps all
three exactly:

- ``plan.json`` is the union of the parts' plans (entries and packs by id). Two parts that plan the same
  entry or pack *differently*, or under different exit profiles, are a conflict: the night would be
  judged against two plans at once, so the merge refuses with one line naming the file.
- ``results.jsonl`` holds every line of every part's journal, byte for byte, parts in start order (the
  order does not matter to the verdict: the latest ``at`` counts, 20.22). Every line is validated first.
- ``run.json`` keeps what all parts agree on (lab, environment, entry, DMC, packs, versions) at the top,
  the earliest start and latest finish, summed counts, and every part's own facts under ``merged_from``
  (with its ``provenance.json``, so ``dmct diff`` still knows each part's code and devices).
- ``parts/<run-id>/`` holds each part's other files (transcripts, migration records, its own plan, run
  facts, verdict); a result line's evidence path is relative to ``parts/<its run>/``.
- an issues export (``issues.yaml|json``) carried by parts is kept when they agree, a conflict otherwise.

Two parts with the same run id are a conflict too (the same run given twice, or two hosts that were
handed one id). The pure rules are :func:`merge_plans`, :func:`merge_facts` and :func:`check_run_ids`;
:func:`merge_runs` is the I/O edge, building the directory beside its target and renaming it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError
from harness.model.interchange import PackPlan, Plan, PlanEntry
from harness.yamlio import read_json_object

RUN_PLAN = "plan.json"
RUN_RESULTS = "results.jsonl"
RUN_FACTS = "run.json"
RUN_ISSUES = ("issues.yaml", "issues.yml", "issues.json")
PROVENANCE = "provenance.json"
PARTS = "parts"
#: Facts kept at the top of the merged ``run.json`` when every part has the same value.
COMMON_FACTS = (
    "lab",
    "lab_file",
    "environment",
    "entry",
    "dmc",
    "packs",
    "dmct_version",
    "python",
    "host",
    "migration_completion_report",
)


@dataclass(frozen=True, slots=True)
class Part:
    """One run directory to merge, read and validated."""

    path: Path
    run_id: str
    plan: Plan
    facts: dict[str, Any]
    provenance: dict[str, Any] | None

    @property
    def started(self) -> str:
        return str(self.facts.get("started") or "")


# --------------------------------------------------------------------------------------- pure rules


def check_run_ids(parts: Sequence[Part]) -> None:
    """Two parts with one run id are the same run twice, or two hosts given one id: refuse."""
    seen: dict[str, Part] = {}
    for part in parts:
        first = seen.get(part.run_id)
        if first is not None:
            raise DmctInputError(
                str(part.path / RUN_FACTS),
                f"duplicate run id {part.run_id!r} (also {first.path})",
                field="run_id",
            )
        seen[part.run_id] = part


def _pack_differs(a: PackPlan, b: PackPlan) -> str | None:
    if sorted(a.tests) != sorted(b.tests):
        only_a = sorted(set(a.tests) - set(b.tests))
        only_b = sorted(set(b.tests) - set(a.tests))
        detail = f"{len(only_b)} test(s) only here" + (f", e.g. {only_b[0]!r}" if only_b else "")
        detail += f"; {len(only_a)} only there" + (f", e.g. {only_a[0]!r}" if only_a else "")
        return f"tests differ ({detail})"
    if a.min_pass_rate != b.min_pass_rate:
        return f"min_pass_rate {b.min_pass_rate} here, {a.min_pass_rate} there"
    return None


def _entry_differs(a: PlanEntry, b: PlanEntry) -> str | None:
    da, db = a.model_dump(), b.model_dump()
    for name in da:
        if name == "tests":
            ta = {p: sorted(t) for p, t in (a.tests or {}).items()}
            tb = {p: sorted(t) for p, t in (b.tests or {}).items()}
            if ta != tb:
                return "its own test lists differ"
        elif da[name] != db[name]:
            return f"{name} {db[name]!r} here, {da[name]!r} there"
    return None


def merge_plans(plans: Sequence[tuple[str, Plan]]) -> Plan:
    """The union of the parts' plans; any entry or pack planned differently is a one-line conflict.

    ``plans`` pairs each plan with the file it came from (named in the error). The first definition's
    order is kept.
    """
    if not plans:
        raise DmctInputError("RUN", "nothing to merge")
    first_source, first = plans[0]
    packs: dict[str, tuple[str, PackPlan]] = {}
    entries: dict[str, tuple[str, PlanEntry]] = {}
    for source, plan in plans:
        if plan.profile != first.profile:
            raise DmctInputError(
                source,
                f"exit profile {plan.profile!r} here, {first.profile!r} in {first_source}",
                field="profile",
            )
        for pack_id, pack in plan.packs.items():
            known = packs.get(pack_id)
            if known is None:
                packs[pack_id] = (source, pack)
            elif (why := _pack_differs(known[1], pack)) is not None:
                raise DmctInputError(
                    source, f"pack planned differently from {known[0]}: {why}", field=f"packs.{pack_id}"
                )
        for entry in plan.entries:
            seen = entries.get(entry.id)
            if seen is None:
                entries[entry.id] = (source, entry)
            elif (why := _entry_differs(seen[1], entry)) is not None:
                raise DmctInputError(
                    source, f"entry {entry.id!r} planned differently from {seen[0]}: {why}", field="entries"
                )
    return Plan(
        profile=first.profile,
        packs={k: v for k, (_, v) in packs.items()},
        entries=[e for _, e in entries.values()],
    )


def merge_facts(run_id: str, parts: Sequence[Part], lines: Mapping[str, int]) -> dict[str, Any]:
    """The merged ``run.json``: agreed facts on top, each part's own facts under ``merged_from``."""
    facts: dict[str, Any] = {"run_id": run_id, "merged": True}
    for name in COMMON_FACTS:
        values = [p.facts.get(name) for p in parts]
        if all(v is not None and v == values[0] for v in values):
            facts[name] = values[0]
    entries = sorted(
        {
            str(p.facts["entry"]["id"])
            for p in parts
            if isinstance(p.facts.get("entry"), dict) and "id" in p.facts["entry"]
        }
        | {e.id for p in parts for e in p.plan.entries}
    )
    facts["entries"] = entries
    starts = [p.started for p in parts if p.started]
    ends = [str(p.facts["finished"]) for p in parts if p.facts.get("finished")]
    if starts:
        facts["started"] = min(starts)
    if ends and len(ends) == len(parts):
        facts["finished"] = max(ends)
    counts: dict[str, int] = {}
    for p in parts:
        for k, v in (p.facts.get("counts") or {}).items():
            if isinstance(v, int):
                counts[k] = counts.get(k, 0) + v
    facts["counts"] = counts
    facts["rigs"] = sorted({str(r) for p in parts for r in (p.facts.get("rigs") or [])})
    facts["hosts"] = sorted({str(p.facts.get("host")) for p in parts if p.facts.get("host")})
    merged_from = []
    for p in parts:
        own = dict(p.facts)
        own.setdefault("run_id", p.run_id)
        own["merged_path"] = f"{PARTS}/{p.run_id}"
        own["merged_lines"] = lines.get(p.run_id, 0)
        if p.provenance is not None:
            own.setdefault("code", p.provenance.get("code"))
            entry = own.get("entry")
            prov_entries = p.provenance.get("entries")
            if isinstance(entry, dict) and isinstance(prov_entries, dict):
                found = prov_entries.get(entry.get("id"))
                if isinstance(found, dict) and "devices" in found:
                    own.setdefault("devices", found["devices"])
        merged_from.append(own)
    facts["merged_from"] = merged_from
    return facts


# ----------------------------------------------------------------------------------------- I/O edge


def read_part(path: Path) -> Part:
    from harness.model.interchange import load_plan

    if not (path / RUN_PLAN).is_file():
        what = "no such directory" if not path.exists() else f"not a run directory (no {RUN_PLAN})"
        raise DmctInputError(str(path), what, field="RUN")
    facts = read_json_object(path / RUN_FACTS) or {}
    return Part(
        path=path,
        run_id=str(facts.get("run_id") or path.name),
        plan=load_plan(path / RUN_PLAN),
        facts=facts,
        provenance=read_json_object(path / PROVENANCE),
    )


def _issues_export(parts: Sequence[Part]) -> tuple[str, Path] | None:
    """The one issues export the parts carry (identical in every part that has one), else a conflict."""
    from harness.model.interchange import load_issues

    found: tuple[str, Path, list[dict[str, Any]]] | None = None
    for part in parts:
        for name in RUN_ISSUES:
            path = part.path / name
            if not path.is_file():
                continue
            data = [i.model_dump(mode="json") for i in load_issues(path)]
            if found is None:
                found = (name, path, data)
            elif data != found[2]:
                raise DmctInputError(str(path), f"issues export differs from {found[1]}; merge needs one log")
            break
    return (found[0], found[1]) if found else None


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link evidence files (immutable once written) and fall back to copying across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in (RUN_RESULTS, ".rig-mutex") or n.endswith(".tmp")}


def merge_runs(run_dirs: Sequence[Path], out: Path) -> dict[str, Any]:
    """Merge ``run_dirs`` into the new run directory ``out``; returns the merged run facts.

    Everything is checked before anything is written; the directory is built beside ``out`` and
    renamed into place, so a failed merge leaves nothing behind.
    """
    from harness.rules.verdict import ResultIndex

    if len(run_dirs) < 1:
        raise DmctInputError("RUN", "give at least one run directory")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DmctInputError(str(out), "already exists and is not an empty directory", field="-o")
    parts = sorted((read_part(p) for p in run_dirs), key=lambda p: (p.started, p.path.name))
    check_run_ids(parts)
    plan = merge_plans([(str(p.path / RUN_PLAN), p.plan) for p in parts])
    issues = _issues_export(parts)

    index = ResultIndex(plan)
    lines: dict[str, int] = {}
    digests: dict[str, str] = {}
    for part in parts:  # validate every line against the merged plan before writing anything
        journal = part.path / RUN_RESULTS
        if not journal.exists():
            continue
        if not journal.is_file():
            raise DmctInputError(str(journal), "is a directory, not a file")
        digest = hashlib.sha256()
        count = 0
        with journal.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                digest.update(raw)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise DmctInputError(str(journal), "not UTF-8 text", line=number) from None
                if text.strip():
                    index.add_line(text, str(journal), number)
                    count += 1
        lines[part.run_id] = count
        digests[part.run_id] = digest.hexdigest()

    facts = merge_facts(out.name, parts, lines)
    for own in facts["merged_from"]:
        if own["run_id"] in digests:
            own["merged_journal_sha256"] = digests[own["run_id"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.merging-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        (tmp / RUN_PLAN).write_text(
            json.dumps(plan.model_dump(mode="json", exclude_none=True), indent=1) + "\n", encoding="utf-8"
        )
        (tmp / RUN_FACTS).write_text(json.dumps(facts, indent=1, default=str) + "\n", encoding="utf-8")
        with (tmp / RUN_RESULTS).open("wb") as merged:
            for part in parts:
                journal = part.path / RUN_RESULTS
                if journal.is_file():
                    with journal.open("rb") as handle:
                        for raw in handle:
                            if raw.strip():
                                merged.write(raw if raw.endswith(b"\n") else raw + b"\n")
        if issues is not None:
            shutil.copy2(issues[1], tmp / issues[0])
        for part in parts:
            shutil.copytree(part.path, tmp / PARTS / part.run_id, ignore=_ignore, copy_function=_link_or_copy)
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return facts
