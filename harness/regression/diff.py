"""Night-over-night regression diff: what changed between two runs, test by test, per entry.

A lab engineer reading a nightly wants to know what got *worse* since the night before, not the whole
verdict again: which tests newly fail, which are newly blocked, which were fixed, which still fail, which
flipped although nothing they depend on changed (flaky), and which are no longer run (or newly run). This
module answers that from two runs' journals with the latest execution of each (entry, pack, test)
counting (20.22), the same fold ``dmct verdict`` uses (:class:`harness.rules.verdict.ResultIndex`).

**Flaky** means the outcome flipped between *passed* and *failed* while the firmware of the entry's
devices, the DCC systems tested against and the code under test are all known to be unchanged. What a
run knew is in its ``run.json`` (firmware of every device of the DMC, the environment, ``dmct_version``)
and, for runs made by ``ci/nightly``, in ``provenance.json`` beside it (the git commit and a digest of
the harness, driver, pack and virtual-lab sources; each device's configuration including seeded defects
of a virtual lab, which stand in for firmware behaviour). A package version alone does not identify the
code (it does not change per commit), and without the device configuration a virtual lab's seeded
defect is invisible — so when either is missing the comparison is *unknown* and a flip is reported as a
new failure or a fix, never dismissed as flaky: the conservative reading for a regression gate.

Categories, for each (entry, pack, test) with latest outcome ``was`` (run A) and ``now`` (run B):

===================  ==================================================================================
not_run_any_more     a result in A, none in B
newly_run            none in A, a result in B
still_failing        failed → failed
still_blocked        blocked/error → blocked/error (not executed both times, 9.4 (c))
flaky                passed ↔ failed with firmware, environment and code known to be unchanged
new_failures         → failed from anything else (passed, blocked, error, skipped)
fixed                failed → passed
newly_blocked        → blocked/error from passed, failed or skipped
other_changes        any other change (blocked → passed, passed → skipped, ...)
===================  ==================================================================================

A *regression* is a new failure or a newly blocked test in any entry. Everything here but
:func:`load_side` is pure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import DmctInputError
from harness.yamlio import read_json_object

#: A test's identity: (entry, pack, test).
Key = tuple[str, str, str]
#: The sidecar ``ci/nightly`` writes into every run directory it makes.
PROVENANCE_FILE = "provenance.json"

CATEGORIES: tuple[str, ...] = (
    "new_failures",
    "newly_blocked",
    "flaky",
    "fixed",
    "still_failing",
    "still_blocked",
    "not_run_any_more",
    "newly_run",
    "other_changes",
)
#: The categories that make a diff a regression (a change for the worse vs the night before).
REGRESSION_CATEGORIES: tuple[str, ...] = ("new_failures", "newly_blocked")
TITLES = {
    "new_failures": "new failures",
    "newly_blocked": "newly blocked",
    "flaky": "flaky",
    "fixed": "fixed",
    "still_failing": "still failing",
    "still_blocked": "still blocked",
    "not_run_any_more": "not run any more",
    "newly_run": "newly run",
    "other_changes": "other changes",
}

_EXECUTED = frozenset({"passed", "failed"})
_NOT_RUN = frozenset({"blocked", "error"})

Sameness = Literal["unchanged", "changed", "unknown"]


# ------------------------------------------------------------------------------------------ context


@dataclass(frozen=True, slots=True)
class EntryContext:
    """What one run recorded about the conditions an entry's tests ran under.

    ``firmware`` maps each role of the DMC to "manufacturer model hardware firmware" (from ``run.json``);
    ``environment`` is the DCC systems tested against; ``code`` the code identity (``source_sha256``,
    ``git_commit``, ``git_dirty``, ``dmct_version``) and ``devices`` each device's full configuration,
    both from ``provenance.json`` (or ``run.json`` once the plugin records them). None = not recorded.
    """

    entry: str
    run_id: str
    firmware: Mapping[str, str] | None
    environment: str | None
    code: Mapping[str, Any] | None
    devices: Mapping[str, Mapping[str, str]] | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Whether the conditions of an entry changed between two runs, what changed, what is unknown."""

    status: Sameness
    changes: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "changes": list(self.changes), "unknown": list(self.unknown)}


def code_label(code: Mapping[str, Any] | None) -> str:
    """A short human name for a code identity: the commit (``+dirty``) or the source digest."""
    if not code:
        return "unknown"
    commit = code.get("git_commit")
    digest = code.get("source_sha256")
    sources = f"sources {digest[:10]}" if isinstance(digest, str) and digest else ""
    if isinstance(commit, str) and commit:
        dirty = bool(code.get("git_dirty"))
        return commit[:10] + (f"+dirty ({sources})" if dirty and sources else "+dirty" if dirty else "")
    if sources:
        return sources
    return f"dmct {code.get('dmct_version', '?')} (no commit)"


def _code_sameness(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> Sameness:
    """Same code iff the source digests match (exact); else iff both name one clean git commit.

    ``dmct_version`` alone never proves sameness: the package version does not change per commit.
    """
    if not a or not b:
        return "unknown"
    da, db = a.get("source_sha256"), b.get("source_sha256")
    if isinstance(da, str) and isinstance(db, str) and da and db:
        return "unchanged" if da == db else "changed"
    ca, cb = a.get("git_commit"), b.get("git_commit")
    if isinstance(ca, str) and isinstance(cb, str) and ca and cb:
        if ca != cb:
            return "changed"
        return "unknown" if a.get("git_dirty") or b.get("git_dirty") else "unchanged"
    return "unknown"


def compare_contexts(a: EntryContext | None, b: EntryContext | None) -> Comparison:
    """Compare what two runs recorded for one entry. Any known difference makes it *changed*; otherwise
    every fact either run lacks makes it *unknown*; only then is it *unchanged*."""
    if a is None or b is None:
        return Comparison("unknown", unknown=("the entry is in one run only",))
    changes: list[str] = []
    unknown: list[str] = []
    if a.firmware is not None and b.firmware is not None:
        for role in sorted(set(a.firmware) | set(b.firmware)):
            was, now = a.firmware.get(role, "absent"), b.firmware.get(role, "absent")
            if was != now:
                changes.append(f"{role}: {was} → {now}")
    else:
        unknown.append("device firmware (run.json has no dmc)")
    if a.environment is not None and b.environment is not None:
        if a.environment != b.environment:
            changes.append(f"DCC systems: {a.environment} → {b.environment}")
    else:
        unknown.append("DCC systems (run.json has no environment)")
    code = _code_sameness(a.code, b.code)
    if code == "changed":
        changes.append(f"code: {code_label(a.code)} → {code_label(b.code)}")
    elif code == "unknown":
        unknown.append(
            "code version (no source digest, or no clean git commit, recorded for both runs: "
            f"{code_label(a.code)} / {code_label(b.code)})"
        )
    if a.devices is not None and b.devices is not None:
        for where in sorted(set(a.devices) | set(b.devices)):
            if where not in a.devices or where not in b.devices:
                changes.append(f"{where}: {'added' if where in b.devices else 'removed'}")
                continue
            dev_a, dev_b = a.devices[where], b.devices[where]
            for facet in sorted(set(dev_a) | set(dev_b)):
                if dev_a.get(facet) != dev_b.get(facet):
                    changes.append(f"{where} {facet}: {dev_a.get(facet, '-')} → {dev_b.get(facet, '-')}")
    else:
        unknown.append("device configuration incl. seeded defects (no provenance.json)")
    if changes:
        return Comparison("changed", tuple(changes), tuple(unknown))
    if unknown:
        return Comparison("unknown", (), tuple(unknown))
    return Comparison("unchanged")


def _environment(facts: Mapping[str, Any]) -> str | None:
    env = facts.get("environment")
    if not isinstance(env, dict):
        return None
    systems = env.get("dcc_systems")
    if not isinstance(systems, list):
        return None
    names = sorted(f"{s.get('name')} {s.get('version')}" for s in systems if isinstance(s, dict))
    return ", ".join(names) if names else "none"


_DEVICE_FIELDS = ("manufacturer", "model", "hardware_version", "firmware_version")


def _firmware(dmc: Any) -> dict[str, str] | None:
    if not isinstance(dmc, dict):
        return None
    out = {}
    for role, dev in dmc.items():
        if isinstance(dev, dict):
            out[role] = " ".join(
                str(dev.get(k, "?"))
                for k in ("manufacturer", "model", "hardware_version", "firmware_version")
            )
    return out or None


def device_facets(device: Mapping[str, Any]) -> dict[str, str]:
    """What identifies a device's behaviour, facet by facet: model and hardware, firmware, serial and,
    for a simulated device, its seeded defects and a digest of the rest of its simulation settings
    (faults, load, clock rate) — what ``provenance.json`` records and the diff names when it changes."""
    facets = {
        "model": " ".join(str(device.get(k, "?")) for k in ("manufacturer", "model", "hardware_version")),
        "firmware": str(device.get("firmware_version", "?")),
    }
    serial = device.get("serial") or device.get("eui64")
    if serial:
        facets["serial"] = str(serial)
    if device.get("prepared_for"):
        facets["prepared for"] = str(device["prepared_for"])
    virtual = device.get("virtual")
    if isinstance(virtual, dict):
        facets["defects"] = ",".join(sorted(str(d) for d in virtual.get("defects") or [])) or "none"
        rest = {k: v for k, v in virtual.items() if k != "defects"}
        if rest:
            facets["simulation"] = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:10]
    return facets


def contexts_from(facts: Mapping[str, Any], provenance: Mapping[str, Any] | None) -> dict[str, EntryContext]:
    """Every entry's context from a run's ``run.json`` (``facts``) and ``provenance.json``.

    A merged run (``dmct merge``) lists its parts under ``merged_from``; each part's facts name its entry.
    """
    parts: list[Mapping[str, Any]] = [facts]
    merged = facts.get("merged_from")
    if isinstance(merged, list):
        parts = [p for p in merged if isinstance(p, dict)]
    prov = provenance or {}
    prov_entries = prov.get("entries") if isinstance(prov.get("entries"), dict) else {}
    out: dict[str, EntryContext] = {}
    for part in parts:
        entry = part.get("entry")
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(entry_id, str):
            continue
        code = part.get("code") if isinstance(part.get("code"), dict) else prov.get("code")
        devices_raw = part.get("devices")
        if not isinstance(devices_raw, dict):
            found = prov_entries.get(entry_id) if isinstance(prov_entries, dict) else None
            devices_raw = found.get("devices") if isinstance(found, dict) else None
        devices = (
            {
                where: device_facets(dev) if isinstance(dev, dict) else {"recorded": str(dev)}
                for where, dev in devices_raw.items()
            }
            if isinstance(devices_raw, dict)
            else None
        )
        out[entry_id] = EntryContext(
            entry=entry_id,
            run_id=str(part.get("run_id") or ""),
            firmware=_firmware(part.get("dmc")),
            environment=_environment(part),
            code=code if isinstance(code, dict) else None,
            devices=devices,
        )
    return out


# --------------------------------------------------------------------------------------------- diff


@dataclass(frozen=True, slots=True)
class Change:
    """One test in a category: its outcome in each run (None = no result) and the latest reason."""

    pack: str
    test: str
    was: str | None
    now: str | None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pack": self.pack, "test": self.test, "was": self.was, "now": self.now}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(slots=True)
class EntryDiff:
    entry: str
    comparison: Comparison
    categories: dict[str, list[Change]]
    unchanged: int = 0
    in_a: bool = True
    in_b: bool = True

    @property
    def regression(self) -> bool:
        return any(self.categories[c] for c in REGRESSION_CATEGORIES)

    def counts(self) -> dict[str, int]:
        return {c: len(self.categories[c]) for c in CATEGORIES}

    def to_json(self) -> dict[str, Any]:
        return {
            "in_a": self.in_a,
            "in_b": self.in_b,
            "conditions": self.comparison.to_json(),
            "regression": self.regression,
            "counts": {**self.counts(), "unchanged": self.unchanged},
            **{c: [ch.to_json() for ch in self.categories[c]] for c in CATEGORIES},
        }


@dataclass(frozen=True, slots=True)
class SideInfo:
    """Where one side of the diff came from."""

    path: str
    run_ids: tuple[str, ...]
    started: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "runs": list(self.run_ids), "started": self.started}


@dataclass(slots=True)
class RunDiff:
    a: SideInfo
    b: SideInfo
    entries: dict[str, EntryDiff] = field(default_factory=dict)

    @property
    def regression(self) -> bool:
        return any(e.regression for e in self.entries.values())

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys((*CATEGORIES, "unchanged"), 0)
        for e in self.entries.values():
            for c, n in e.counts().items():
                out[c] += n
            out["unchanged"] += e.unchanged
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "regression": self.regression,
            "regression_categories": list(REGRESSION_CATEGORIES),
            "totals": self.totals(),
            "entries": {k: v.to_json() for k, v in sorted(self.entries.items())},
        }


def categorise(was: str | None, now: str | None, conditions_unchanged: bool) -> str | None:
    """The category of one test (None: unchanged). See the module docstring for the table."""
    if was is None:
        return None if now is None else "newly_run"
    if now is None:
        return "not_run_any_more"
    if was == now or (was in _NOT_RUN and now in _NOT_RUN):
        if now == "failed":
            return "still_failing"
        return "still_blocked" if now in _NOT_RUN else None
    if was in _EXECUTED and now in _EXECUTED:
        if conditions_unchanged:
            return "flaky"
        return "new_failures" if now == "failed" else "fixed"
    if now == "failed":
        return "new_failures"
    if now in _NOT_RUN:
        return "newly_blocked"
    return "other_changes"


#: Latest outcome of each test and its recorded reason (empty for passes).
Heads = Mapping[Key, tuple[str, str]]


def diff_heads(
    a: Heads,
    b: Heads,
    contexts_a: Mapping[str, EntryContext],
    contexts_b: Mapping[str, EntryContext],
    side_a: SideInfo,
    side_b: SideInfo,
) -> RunDiff:
    """The diff of two folded runs (pure)."""
    result = RunDiff(side_a, side_b)
    entries_a = {k[0] for k in a} | set(contexts_a)
    entries_b = {k[0] for k in b} | set(contexts_b)
    comparisons: dict[str, Comparison] = {}
    for entry in sorted(entries_a | entries_b):
        comparisons[entry] = compare_contexts(contexts_a.get(entry), contexts_b.get(entry))
        result.entries[entry] = EntryDiff(
            entry,
            comparisons[entry],
            {c: [] for c in CATEGORIES},
            in_a=entry in entries_a,
            in_b=entry in entries_b,
        )
    for key in itertools.chain(a, (k for k in b if k not in a)):
        ediff = result.entries[key[0]]
        was, now = a.get(key), b.get(key)
        category = categorise(
            was[0] if was else None, now[0] if now else None, ediff.comparison.status == "unchanged"
        )
        if category is None:
            ediff.unchanged += 1
            continue
        reason = (now or was or ("", ""))[1]
        ediff.categories[category].append(
            Change(key[1], key[2], was[0] if was else None, now[0] if now else None, reason)
        )
    for ediff in result.entries.values():  # only the changes are sorted, not every key
        for changes in ediff.categories.values():
            changes.sort(key=lambda c: (c.pack, c.test))
    return result


# --------------------------------------------------------------------------------------- I/O edge


@dataclass(slots=True)
class Side:
    """One side of a diff read from disk: folded heads, contexts and where they came from."""

    info: SideInfo
    heads: dict[Key, tuple[str, str]]
    contexts: dict[str, EntryContext]


def run_dirs_of(path: Path) -> list[Path]:
    """A run directory itself, or every run directory of a nightly night (``runs/*/``)."""
    if (path / "plan.json").is_file():
        return [path]
    runs = sorted(p for p in (path / "runs").glob("*") if (p / "plan.json").is_file())
    if runs:
        return runs
    if not path.exists():
        raise DmctInputError(str(path), "no such run directory", field="RUN")
    raise DmctInputError(str(path), "not a run directory (no plan.json) nor a nightly night (no runs/)")


def fold_journal(run_dir: Path) -> dict[Key, tuple[str, str]]:
    """The latest outcome (and its reason) of every test of a run, validated like ``dmct verdict`` does
    (the same :class:`~harness.rules.verdict.ResultIndex` fold, so bad lines are named by file and line).

    Reasons are kept only for executions that did not pass (few), so memory stays proportional to the
    number of tests, not lines; the garbage collector is paused meanwhile as ``stream_results`` does.
    """
    import gc

    from harness.model.interchange import load_plan, parse_at, parse_result_line
    from harness.rules.verdict import ResultIndex

    journal = run_dir / "results.jsonl"
    plan = load_plan(run_dir / "plan.json")
    if not journal.exists():
        return {}
    index = ResultIndex(plan)
    heads = index.heads
    reasons: dict[Key, str] = {}
    source = str(journal)
    paused = gc.isenabled()
    gc.disable()
    try:
        with journal.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text or text.isspace():
                    continue
                obj = index.add_line(text, source, number)
                if obj is not None:
                    if obj["outcome"] == "passed":
                        continue
                    key, outcome, at, reason = (
                        (obj["entry"], obj["pack"], obj["test"]), obj["outcome"], parse_at(obj["at"]),
                        obj.get("reason"),
                    )  # fmt: skip
                else:  # an unusual line the fast path declined: the reference parser has its fields
                    rec = parse_result_line(text, source, number)
                    if rec.outcome.value == "passed":
                        continue
                    key, outcome, at = (rec.entry, rec.pack, rec.test), rec.outcome.value, rec.at
                    reason = rec.extra.get("reason")
                if heads[key][:2] == (at, outcome):  # this execution is (so far) the one that counts
                    reasons[key] = str(reason or "")
    except UnicodeDecodeError:
        raise DmctInputError(source, "not UTF-8 text") from None
    finally:
        if paused:
            gc.enable()
    return {
        k: (outcome, reasons.get(k, "") if outcome != "passed" else "")
        for k, (_, outcome, _) in heads.items()
    }


def load_side(path: Path) -> Side:
    """Read a run directory (or a nightly night) into a :class:`Side`.

    Several runs on one side (a night) are folded together: the latest execution counts, and each
    entry's context is that of the last run (by start time) naming it.
    """
    runs = run_dirs_of(path)
    heads: dict[Key, tuple[str, str]] = {}
    contexts: dict[str, EntryContext] = {}
    run_ids: list[str] = []
    started: list[str] = []
    ordered = []
    for run in runs:
        facts = read_json_object(run / "run.json") or {}
        ordered.append((str(facts.get("started") or ""), run.name, run, facts))
    for start, _, run, facts in sorted(ordered, key=lambda t: (t[0], t[1])):
        run_ids.append(str(facts.get("run_id") or run.name))
        if start:
            started.append(start)
        heads.update(fold_journal(run))
        contexts.update(contexts_from(facts, read_json_object(run / PROVENANCE_FILE)))
    info = SideInfo(str(path), tuple(run_ids), min(started) if started else "")
    return Side(info, heads, contexts)


def diff_paths(a: Path, b: Path) -> RunDiff:
    """``dmct diff A B``: read both sides and diff them."""
    side_a, side_b = load_side(a), load_side(b)
    return diff_heads(side_a.heads, side_b.heads, side_a.contexts, side_b.contexts, side_a.info, side_b.info)


# -------------------------------------------------------------------------------------- rendering


def render_markdown(diff: RunDiff, *, limit: int = 200) -> str:
    """The diff as Markdown (the nightly summary's section): counts per entry, then each change."""
    lines = [
        f"Compared with `{diff.a.path}` ({', '.join(diff.a.run_ids) or 'no runs'}).",
        "",
        "| entry | conditions | " + " | ".join(TITLES[c] for c in CATEGORIES) + " | unchanged |",
        "|---|---|" + "---|" * (len(CATEGORIES) + 1),
    ]
    for entry_id, e in sorted(diff.entries.items()):
        counts = e.counts()
        lines.append(
            f"| {entry_id} | {e.comparison.status} | "
            + " | ".join(str(counts[c]) for c in CATEGORIES)
            + f" | {e.unchanged} |"
        )
    for entry_id, e in sorted(diff.entries.items()):
        notes = [f"- changed: {c}" for c in e.comparison.changes]
        notes += [f"- not recorded, so no flip is called flaky: {u}" for u in e.comparison.unknown]
        rows = [(c, ch) for c in CATEGORIES for ch in e.categories[c]]
        if not rows and not notes:
            continue
        lines += ["", f"### {entry_id}", ""]
        lines += notes
        if rows:
            if notes:
                lines.append("")
            lines += ["| category | pack | test | was → now | reason |", "|---|---|---|---|---|"]
            for c, ch in rows[:limit]:
                reason = ch.reason.replace("|", "\\|").replace("\n", " ")[:200]
                move = f"{ch.was or '—'} → {ch.now or '—'}"
                lines.append(f"| {TITLES[c]} | {ch.pack} | `{ch.test}` | {move} | {reason} |")
            if len(rows) > limit:
                lines.append(f"| … | | {len(rows) - limit} more in diff.json | | |")
    return "\n".join(lines) + "\n"


_STYLE = {
    "new_failures": "bold red",
    "newly_blocked": "red",
    "flaky": "magenta",
    "fixed": "green",
    "still_failing": "yellow",
    "still_blocked": "yellow",
    "not_run_any_more": "cyan",
    "newly_run": "cyan",
    "other_changes": "white",
}


def render_console(diff: RunDiff, console: Any, *, limit: int = 200) -> None:
    """Per entry: one line of counts and the conditions, then a table of its changed tests (worst
    first), then what changed or was not recorded. Reads on an 80-column terminal."""
    from rich import box
    from rich.table import Table

    console.print(f"[bold]dmct diff[/] {diff.a.path} → {diff.b.path}", highlight=False)
    shown = 0
    for entry_id, e in sorted(diff.entries.items()):
        counts = e.counts()
        parts = [f"[{_STYLE[c]}]{counts[c]} {TITLES[c]}[/]" for c in CATEGORIES if counts[c]]
        parts.append(f"{e.unchanged} unchanged")
        where = "" if e.in_a and e.in_b else (" (only in A)" if e.in_a else " (only in B)")
        console.print(
            f"[bold]{entry_id}[/]{where} — conditions {e.comparison.status}: " + ", ".join(parts),
            highlight=False,
        )
        rows = [(c, ch) for c in CATEGORIES for ch in e.categories[c]]
        if rows and shown < limit:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column("category", no_wrap=True)
            table.add_column("pack", no_wrap=True)
            table.add_column("test", overflow="fold", ratio=2)
            table.add_column("was → now", no_wrap=True)
            table.add_column("reason", overflow="fold", ratio=1)
            for c, ch in rows[: limit - shown]:
                move = f"{ch.was or '—'} → {ch.now or '—'}"
                table.add_row(f"[{_STYLE[c]}]{TITLES[c]}[/]", ch.pack, ch.test, move, ch.reason[:160])
            console.print(table)
            if len(rows) > limit - shown:
                console.print(f"  … {len(rows) - (limit - shown)} more (use --json)", highlight=False)
            shown += min(len(rows), limit - shown)
        for text in e.comparison.changes:
            console.print(f"  changed: {text}", highlight=False)
        for text in e.comparison.unknown:
            console.print(f"  not recorded, so no flip is called flaky: {text}", highlight=False)
    verdict = "[bold red]regression[/]" if diff.regression else "[green]no regression[/]"
    console.print(f"{verdict} (a new failure or a newly blocked test is a regression)", highlight=False)


def summarise(changes: Iterable[Change]) -> list[str]:
    """``pack test`` strings of some changes (for one-line messages and tests)."""
    return [f"{c.pack} {c.test}" for c in changes]


def tests_in(diff: RunDiff, category: str, entries: Sequence[str] | None = None) -> set[Key]:
    """Every (entry, pack, test) of ``category`` (optionally only some entries)."""
    return {
        (entry_id, ch.pack, ch.test)
        for entry_id, e in diff.entries.items()
        if entries is None or entry_id in entries
        for ch in e.categories[category]
    }
