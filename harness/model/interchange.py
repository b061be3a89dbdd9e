"""The three interchange formats an auditor can use to recompute a verdict offline.

*plan* (YAML/JSON): which entries are planned and which tests each must execute; *results* (JSON Lines,
one test execution per line); *issues* (YAML/JSON list: the Testing Issue log export). The field names
are fixed (see ``docs/interchange.md``); the pytest plugin and the issue log write them and
``dmct verdict`` reads them. Loaders validate everything and turn the first problem into one
:class:`~harness.errors.DmctInputError` naming the file, line and field.

Results are read without pydantic: a night's journal can hold close to a million lines and a plain
loop with explicit checks is several times faster.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from harness.errors import DmctInputError
from harness.yamlio import fail_at, load_model, read_document, text_lines, validate

#: Pack ids of the two standard packs (20.15).
DORMANT_MT = "dormant-mt"
SRVT = "srvt"


class Outcome(StrEnum):
    """How one execution of a test ended.

    Only *passed* and *failed* count as executed (20.32 (a)); *error* (set-up or teardown broke),
    *skipped* and *blocked* (a lab/infrastructure fault, never a product failure) do not.
    """

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    BLOCKED = "blocked"

    @property
    def executed(self) -> bool:
        return self in (Outcome.PASSED, Outcome.FAILED)


_OUTCOMES = {o.value: o for o in Outcome}


# --------------------------------------------------------------------------------------------- plan


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlannedTestInfo(_Strict):
    """What the plan knows of a test before it runs: its TTM functional group and requirements, so a
    report on an incomplete run still traces every planned test (Table 13.1 #7, 19.4 (b))."""

    group: str | None = None
    requirements: list[str] = Field(default_factory=list)


class PackPlan(_Strict):
    """The planned tests of one pack and anything the pack prescribes (20.34 (h))."""

    tests: list[str]
    min_pass_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    #: test id → its group and requirements (written by the plugin; optional for hand-made plans)
    about: dict[str, PlannedTestInfo] | None = None

    @field_validator("tests")
    @classmethod
    def _unique(cls, tests: list[str]) -> list[str]:
        dup = sorted({t for t in tests if tests.count(t) > 1})
        if dup:
            raise ValueError(f"duplicate test id {dup[0]!r}")
        return tests


class PlanEntry(_Strict):
    """A planned entry on the EPCL: a DMC, for one installation type (20.28 (a))."""

    id: str = Field(min_length=1)
    dmc: str = Field(min_length=1)
    installation: Literal["dormant", "active", "mixed"]
    mt_under_mtad: bool = False
    mt_phase_complete: bool | None = None
    abandoned: bool = False
    tests: dict[str, list[str]] | None = None
    #: 20.38 (d) / 20.37: the matter of this entry's draft DMCT Testing Report was referred to the
    #: Secretary of State (by the DCC after a TAG disagreement, or by a Supplier Party).
    referred_to_sos: bool = False
    #: 20.40: the Secretary of State's determination on the referred matters: ``agrees`` with the DCC's
    #: treatment (a); disagrees and testing is ``successful`` (b) or ``unsuccessful`` (c)(i); disagrees and
    #: ``further_tests`` must be run (c)(ii). Null: none recorded.
    sos_determination: Literal["agrees", "successful", "unsuccessful", "further_tests"] | None = None

    def required_packs(self) -> tuple[str, ...]:
        """20.14: only SRVT when migration is tested under the MTAD, else both standard packs."""
        return (SRVT,) if self.mt_under_mtad else (DORMANT_MT, SRVT)


class Plan(_Strict):
    """What must be executed, per entry and pack, for the chosen exit profile."""

    profile: str = "dmct"
    packs: dict[str, PackPlan]
    entries: list[PlanEntry]

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        seen: set[str] = set()
        for entry in self.entries:
            if entry.id in seen:
                raise ValueError(f"duplicate entry id {entry.id!r}")
            seen.add(entry.id)
            if self.profile != "dmct":
                continue  # the required standard packs (20.14) are a DMCT rule only
            for pack in entry.required_packs():
                if pack not in self.packs and not (entry.tests and pack in entry.tests):
                    raise ValueError(f"entry {entry.id!r} requires pack {pack!r}, which the plan lacks")
        return self

    def planned_tests(self, entry: PlanEntry) -> dict[str, list[str]]:
        """Planned tests of each required pack (20.14) for ``entry``; its own list overrides the pack's.
        A pack only the entry lists is a DMCT Non-Standard Test Pack agreed for its DMC (20.17: "a
        different set of tests ... for DMCT MT and/or DMCT SRVT"), so its tests are planned too.
        Profiles without required packs plan differently (:func:`harness.rules.verdict.planned_tests`).
        """
        own = entry.tests or {}
        out = {p: list(own[p]) if p in own else list(self.packs[p].tests) for p in entry.required_packs()}
        standard = (DORMANT_MT, SRVT)  # a standard pack 20.14 does not require stays unplanned
        out.update({p: list(t) for p, t in own.items() if p not in out and p not in standard})
        return out

    def entry(self, entry_id: str) -> PlanEntry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)


def load_plan(path: Path) -> Plan:
    return load_model(Plan, path)


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One execution of one test for one entry. ``extra`` keeps every additional field of the line."""

    entry: str
    pack: str
    test: str
    outcome: Outcome
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        line = {
            "entry": self.entry,
            "pack": self.pack,
            "test": self.test,
            "outcome": self.outcome.value,
            "at": format_at(self.at),
        }
        line.update(self.extra)
        return json.dumps(line, separators=(",", ":"), sort_keys=False)


def format_at(at: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, microseconds kept so re-runs in one second still order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    if at.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone (UTC expected)")
    return at.astimezone(UTC)


_REQUIRED_STR = ("entry", "pack", "test")


def parse_result_line(text: str, source: str, line: int) -> ResultRecord:
    """Parse one JSON Lines record, naming ``source:line`` and the field on any problem."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DmctInputError(source, f"broken JSON line: {exc.msg}", line=line) from None
    if not isinstance(obj, dict):
        raise DmctInputError(source, "each line must be a JSON object", line=line)
    for name in _REQUIRED_STR:
        value = obj.pop(name, None)
        if not isinstance(value, str) or not value:
            raise DmctInputError(source, "required non-empty string", field=name, line=line)
        obj[name] = value
    outcome = _OUTCOMES.get(obj.pop("outcome", None))
    if outcome is None:
        raise DmctInputError(source, f"must be one of {'|'.join(_OUTCOMES)}", field="outcome", line=line)
    try:
        at = parse_at(obj.pop("at", None))
    except ValueError as exc:
        raise DmctInputError(source, str(exc), field="at", line=line) from None
    entry, pack, test = obj.pop("entry"), obj.pop("pack"), obj.pop("test")
    return ResultRecord(entry, pack, test, outcome, at, obj)


def iter_results(path: Path) -> Iterator[ResultRecord]:
    """Yield every record of a results journal; blank lines are allowed."""
    source = str(path)
    for number, text in text_lines(path):
        yield parse_result_line(text, source, number)


def load_results(paths: Iterable[Path]) -> list[ResultRecord]:
    return [r for p in paths for r in iter_results(p)]


def latest_results(records: Iterable[ResultRecord]) -> dict[tuple[str, str, str], ResultRecord]:
    """The execution that counts for each (entry, pack, test): the latest ``at`` (20.22 re-runs).

    Ties on ``at`` are broken by outcome name so the answer never depends on line order.
    """
    latest: dict[tuple[str, str, str], ResultRecord] = {}
    for rec in records:
        key = (rec.entry, rec.pack, rec.test)
        cur = latest.get(key)
        if cur is None or (rec.at, rec.outcome.value) > (cur.at, cur.outcome.value):
            latest[key] = rec
    return latest


# ------------------------------------------------------------------------------------------- issues


class Exclusion(_Strict):
    """A proposal to exclude an issue from the thresholds, and the TAG's decision on it (20.29)."""

    rationale: str = Field(min_length=1)
    tag: Literal["pending", "agreed", "disagreed"] = "pending"


class Dispute(_Strict):
    """A view that the severity should be ``severity``, and where its review stands.

    Outside DMCT: a Testing Participant's severity dispute (14.2); the DCC's severity counts until the
    TAG determines it (14.4), and ``resolved`` means the log wrote the determined severity into the
    issue. In DMCT (clause 14 does not apply, 14.1): the TAG's review of the severity (20.30, 20.38 (a));
    ``disagreed`` means the TAG considers the severity should be ``severity`` while the DCC's severity
    stays in the draft report, which 20.38 (c)/(d) and 20.40 then settle.
    """

    severity: int = Field(ge=1, le=5)
    state: Literal["pending", "resolved", "disagreed"] = "pending"


class TestRef(_Strict):
    """A test execution an issue was raised for (links failed results to issues, 20.34 (d))."""

    entry: str
    pack: str
    test: str


class RouteStep(_Strict):
    """One step of a 20.20-20.27 route process (``harness.rules.routes`` says which steps exist)."""

    route: Literal["a", "b", "c", "d"]
    step: str = Field(min_length=1)
    value: str | None = None
    on: str | None = None  # ISO date
    note: str | None = None


class RouteProcess(_Strict):
    """Where the issue stands in the process of its 20.20 route (20.22-20.27).

    ``state`` ``done`` is the only terminal one (``reconsidering``: back to choosing a route, with
    ``route`` null): 20.32 (b) needs every issue "through the processes
    outlined in Clauses 20.20 to 20.27". ``change`` is what route (c) needs of the device (20.25);
    ``outcome`` the clause-cited result once done. ``steps`` keeps every step, earlier routes included
    (reconsidered under 20.23, 20.26, 20.27).
    """

    state: Literal[
        "recommended", "notified", "approach_pending", "approach_referred", "done", "reconsidering"
    ]
    change: Literal["firmware", "configuration", "both"] | None = None
    outcome: str | None = None
    steps: tuple[RouteStep, ...] = ()


class Issue(_Strict):
    """One Testing Issue as exported from the log."""

    id: str = Field(min_length=1)
    severity: int = Field(ge=1, le=5)
    status: Literal["open", "closed"]
    entries: list[str] = Field(default_factory=list)
    route: Literal["a", "b", "c", "d"] | None = None
    exclusion: Exclusion | None = None
    dispute: Dispute | None = None
    service_provider: str | None = None
    title: str = ""
    raised: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    tests: list[TestRef] = Field(default_factory=list)
    #: Exclusions "in respect of a planned entry" (20.29), keyed by entry id; for that entry they replace
    #: ``exclusion`` (which, when present, applies to every entry). Absent in files written before them.
    exclusions: dict[str, Exclusion] = Field(default_factory=dict)
    #: The process of the current ``route`` (20.22-20.27). Absent with a route: recorded before route
    #: processes were tracked, taken as through the process (docs/interchange.md).
    route_process: RouteProcess | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def exclusion_for(self, entry: str | None) -> Exclusion | None:
        """The exclusion proposed in respect of ``entry`` (20.29): its own, else the issue-wide one."""
        if entry is not None and entry in self.exclusions:
            return self.exclusions[entry]
        return self.exclusion

    def excluded_for(self, entry: str | None) -> bool:
        """Excluded for ``entry`` unless the TAG disagreed; a pending proposal counts in the draft."""
        found = self.exclusion_for(entry)
        return found is not None and found.tag != "disagreed"

    @property
    def excluded(self) -> bool:
        """Excluded (issue-wide) unless the TAG disagreed; a pending proposal counts in the draft
        (20.29 (a))."""
        return self.excluded_for(None)

    @property
    def extant(self) -> bool:
        return self.status == "open" and not self.excluded

    def extant_for(self, entry: str | None) -> bool:
        """Open and not excluded in respect of ``entry`` (20.28, 20.29)."""
        return self.status == "open" and not self.excluded_for(entry)


_ISSUE_LIST: TypeAdapter[list[Issue]] = TypeAdapter(list[Issue])


def load_issues(path: Path) -> list[Issue]:
    """Read an issues export: a list of issues with unique ids (an empty file is an empty log)."""
    data = read_document(path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise DmctInputError(str(path), "must be a list of issues")
    issues: list[Issue] = validate(_ISSUE_LIST, data, path)
    seen: set[str] = set()
    for index, issue in enumerate(issues):
        if issue.id in seen:
            raise fail_at(path, [index, "id"], f"duplicate issue id {issue.id!r}")
        seen.add(issue.id)
    return issues
