"""The verdict engine: exit verdicts from a plan, a results journal and a Testing Issue log.

Everything here is a pure function of the interchange models (:mod:`harness.model.interchange`) and an exit
profile (:mod:`harness.rules.profiles`): no files, no clock, no store. That is what lets an auditor
recompute a
verdict offline from an evidence bundle and get the same answer, and what makes the rules testable one
clause at a time. The only I/O-shaped concern — naming the file and line of a bad result — is handled by
letting the caller pass ``source``/``line`` to :meth:`ResultIndex.add` as it streams the journal.

The DMCT rules follow ``docs/verdict.md`` (distilled from SVTAD 12.9, 13.x, 14.x, 20.28-20.38), evaluated
in this order for each unit (a planned entry on the EPCL for DMCT), every applicable reason reported:

1. unsuccessful — recorded that testing cannot complete (20.33 (b));
2. in progress — a planned test of a required pack is not executed (20.32 (a));
3. in progress — an open issue of the entry has no 20.20 route yet (20.32 (b));
4. awaiting TAG — a pending severity dispute could change the outcome (14.5; SIT, UTS, SCT, MT only,
   14.1). DMCT instead (20.38-20.40): a recorded TAG disagreement that would turn a successful outcome
   unsuccessful means continued testing, in progress (20.38 (c)), or awaiting the Secretary of State
   when a referral is recorded (20.38 (d)); a recorded determination decides (20.40);
5. unsuccessful — thresholds exceeded per entry or in aggregate (20.33 (a)(iii), Table 20.1; an issue
   excluded in respect of the entry, 20.29, is left out of both counts for it), the Panel determined the
   MTAD Migration Test Phase did not complete (20.33 (a)(iv)), or a pack's own (20.16) or the profile's
   minimum pass rate is missed;
6. in progress — under the MTAD and the Panel has not yet determined (20.32 (c));
7. successful (20.32), listing ``depends_on_tag``: the pending TAG reviews (exclusions, severities) whose
   acceptance would turn it unsuccessful (20.38, 20.39 (b), (c)).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from harness.errors import DmctInputError
from harness.model.interchange import (
    Exclusion,
    Issue,
    Outcome,
    Plan,
    PlanEntry,
    ResultRecord,
    format_at,
    parse_result_line,
)
from harness.rules.profiles import SEVERITIES, UNIT_SCOPES, Profile
from harness.rules.routes import through, where

Status = Literal[
    "successful", "unsuccessful", "in_progress", "awaiting_tag", "awaiting_sos", "not_undertaken"
]
STATUSES: tuple[Status, ...] = (
    "successful", "unsuccessful", "in_progress", "awaiting_tag", "awaiting_sos", "not_undertaken"
)

#: A test execution's identity; re-runs share it and the latest ``at`` counts (20.22).
Key = tuple[str, str, str]
#: A threshold bucket: (scope, scope key, severity). The key is the unit id for ``entry``/``phase``,
#: ``""`` for ``aggregate`` and the DCC Service Provider for ``service_provider``.
Bucket = tuple[str, str, int]

_SCOPE_ORDER = {"entry": 0, "phase": 0, "aggregate": 1, "service_provider": 2}

#: Issues without a ``service_provider`` are counted together under this name (and listed).
UNASSIGNED_SP = "(unassigned)"

#: Above this many candidate disputes the exact "could a TAG decision clear the thresholds?" search is
#: replaced by a greedy attempt; if that fails the entry is conservatively held for the TAG (14.5).
DISPUTE_SEARCH_LIMIT = 14


# ------------------------------------------------------------------------------------ results fold


class ResultIndex:
    """Folds a results stream into what a verdict needs, in memory proportional to the planned tests.

    A night's journal holds close to a million lines; only the latest execution of each
    (entry, pack, test) matters (20.22) plus the issue ids named on any line (the ``issues`` field links a
    failed result to Testing Issues, 20.34 (d)). Callers that read files pass ``source``/``line`` so a
    result for an entry the plan does not list is reported where it is.

    :meth:`add_line` is the fast path for journals: it validates a line exactly as
    :func:`harness.model.interchange.parse_result_line` does (falling back to it for the error message) but
    builds no :class:`ResultRecord`, which roughly halves the cost of a million-line journal. The extra
    fields of the counting executions are kept only with ``keep_records=True`` (for :meth:`latest`).
    """

    __slots__ = ("_entries", "_keep", "heads", "lines", "links")

    def __init__(self, plan: Plan, *, keep_records: bool = False) -> None:
        self._entries = frozenset(e.id for e in plan.entries)
        self._keep = keep_records
        #: For each (entry, pack, test): (``at``, outcome value, the record or its raw JSON object when
        #: records are kept, else None) of the execution that counts so far.
        self.heads: dict[Key, tuple[datetime, str, ResultRecord | dict[str, Any] | None]] = {}
        #: Issue ids named on any result line of each (entry, pack, test).
        self.links: dict[Key, set[str]] = {}
        #: Number of execution records folded in.
        self.lines = 0

    def add(self, rec: ResultRecord, source: str = "results", line: int | None = None) -> None:
        """Fold one execution in; an unknown entry or a malformed ``issues`` field is bad input."""
        if rec.entry not in self._entries:
            raise DmctInputError(source, f"unknown entry {rec.entry!r} (not in the plan)", field="entry",
                                 line=line)
        linked = rec.extra.get("issues") if rec.extra else None
        self._fold((rec.entry, rec.pack, rec.test), rec.at, rec.outcome.value, rec, linked, source, line)

    def add_line(self, text: str, source: str, line: int) -> dict[str, Any] | None:
        """Parse and fold one JSON Lines record (blank lines are the caller's to skip).

        Returns the parsed object when the fast path took it, so a caller that also needs the line's
        other fields (the reports' re-run history) parses each line once.
        """
        try:
            obj = _loads(text)
        except ValueError:
            obj = None
        if type(obj) is dict:
            entry, pack, test = obj.get("entry"), obj.get("pack"), obj.get("test")
            outcome, at = obj.get("outcome"), obj.get("at")
            if (type(entry) is str and entry and type(pack) is str and pack and type(test) is str and test
                    and type(outcome) is str and outcome in _OUTCOME_VALUES and type(at) is str):
                try:
                    when: datetime | None = _fromisoformat(at)
                except ValueError:
                    when = None
                if when is not None and when.tzinfo is not None:
                    if when.tzinfo is not UTC:
                        when = when.astimezone(UTC)
                    if entry not in self._entries:
                        raise DmctInputError(source, f"unknown entry {entry!r} (not in the plan)",
                                             field="entry", line=line)
                    self._fold((entry, pack, test), when, outcome, obj, obj.get("issues"), source, line)
                    return obj
        # Anything unusual takes the reference parser: it raises the one-line error or returns the record.
        self.add(parse_result_line(text, source, line), source, line)
        return None

    def _fold(self, key: Key, at: datetime, outcome: str, payload: ResultRecord | dict[str, Any],
              linked: Any, source: str, line: int | None) -> None:
        self.lines += 1
        cur = self.heads.get(key)
        # Same tie-break as interchange.latest_results: never depends on line order.
        if cur is None or at > cur[0] or (at == cur[0] and outcome > cur[1]):
            self.heads[key] = (at, outcome, payload if self._keep else None)
        if linked is not None:
            if type(linked) is not list or not all(
                isinstance(i, str | int) and not isinstance(i, bool) for i in linked
            ):
                raise DmctInputError(source, "must be a list of issue ids", field="issues", line=line)
            if linked:
                self.links.setdefault(key, set()).update(str(i) for i in linked)

    def extend(self, records: Iterable[ResultRecord], source: str = "results") -> ResultIndex:
        for rec in records:
            self.add(rec, source)
        return self

    def latest(self) -> dict[Key, ResultRecord]:
        """The execution that counts for each (entry, pack, test), as records (built on demand; their
        extra fields are empty unless the index keeps records)."""
        out: dict[Key, ResultRecord] = {}
        for key, (at, outcome, payload) in self.heads.items():
            if isinstance(payload, ResultRecord):
                out[key] = payload
            else:
                extra = {k: v for k, v in (payload or {}).items() if k not in _RESULT_FIELDS}
                out[key] = ResultRecord(key[0], key[1], key[2], Outcome(outcome), at, extra)
        return out


_loads = json.loads
_fromisoformat = datetime.fromisoformat
_OUTCOME_VALUES = frozenset(o.value for o in Outcome)
_EXECUTED = frozenset(o.value for o in Outcome if o.executed)
_RESULT_FIELDS = frozenset({"entry", "pack", "test", "outcome", "at"})


# ----------------------------------------------------------------------------------------- verdict


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason: the rule, the clause it comes from, the status it pushes towards, and the facts."""

    rule: str
    clause: str
    status: Status
    message: str

    @property
    def text(self) -> str:
        return f"{self.clause}: {self.message}" if self.clause else self.message

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "clause": self.clause, "status": self.status, "message": self.message}


@dataclass(slots=True)
class PackCounts:
    planned: int = 0
    executed: int = 0
    passed: int = 0
    failed: int = 0
    min_pass_rate: float | None = None

    @property
    def not_executed(self) -> int:
        return self.planned - self.executed

    @property
    def pass_rate(self) -> float | None:
        return _rate(self.passed, self.executed)

    @property
    def min_pass_rate_met(self) -> bool | None:
        if self.min_pass_rate is None:
            return None
        rate = self.pass_rate
        return rate is None or rate >= self.min_pass_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "executed": self.executed,
            "passed": self.passed,
            "failed": self.failed,
            "not_executed": self.not_executed,
            "pass_rate": self.pass_rate,
            "min_pass_rate": self.min_pass_rate,
            "min_pass_rate_met": self.min_pass_rate_met,
        }


@dataclass(slots=True)
class EntryVerdict:
    """The verdict for one unit (a planned entry on the EPCL for DMCT) and everything behind it."""

    id: str
    entry: PlanEntry
    status: Status
    findings: list[Finding]
    packs: dict[str, PackCounts]
    extant: dict[int, int]
    limits: dict[str, dict[int, int]]
    depends_on_tag: list[str]
    tag_sensitivity: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    unrouted: list[str]
    evidence_gaps: list[dict[str, Any]]
    not_executed_tests: list[dict[str, Any]]
    unplanned_results: list[dict[str, Any]]
    linked_failures: int
    pass_rate_excluding_linked: float | None
    #: The TAG's recorded disagreements bearing on the unit (20.38 (a), (b)) and whether they flip it.
    tag_disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [f.text for f in self.findings]

    @property
    def planned(self) -> int:
        return sum(p.planned for p in self.packs.values())

    @property
    def executed(self) -> int:
        return sum(p.executed for p in self.packs.values())

    @property
    def passed(self) -> int:
        return sum(p.passed for p in self.packs.values())

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.packs.values())

    @property
    def not_executed(self) -> int:
        return self.planned - self.executed

    @property
    def pass_rate(self) -> float | None:
        return _rate(self.passed, self.executed)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": self.reasons,
            "planned": self.planned,
            "executed": self.executed,
            "passed": self.passed,
            "failed": self.failed,
            "not_executed": self.not_executed,
            "pass_rate": self.pass_rate,
            "extant": _sev_json(self.extant),
            "depends_on_tag": self.depends_on_tag,
            "packs": {name: counts.to_json() for name, counts in self.packs.items()},
            # Extra keys (the issue's shape above, then what an auditor needs to check it).
            "findings": [f.to_json() for f in self.findings],
            "limits": {scope: _sev_json(lim) for scope, lim in self.limits.items()},
            "tag_sensitivity": self.tag_sensitivity,
            "excluded": self.excluded,
            "disputes": self.disputes,
            "unrouted": self.unrouted,
            "evidence_gaps": self.evidence_gaps,
            "not_executed_tests": self.not_executed_tests,
            "unplanned_results": self.unplanned_results,
            "linked_failures": self.linked_failures,
            "pass_rate_excluding_linked": self.pass_rate_excluding_linked,
            "tag_disagreements": self.tag_disagreements,
            "dmc": self.entry.dmc,
            "installation": self.entry.installation,
            "mt_under_mtad": self.entry.mt_under_mtad,
            "mt_phase_complete": self.entry.mt_phase_complete,
            "abandoned": self.entry.abandoned,
            "referred_to_sos": self.entry.referred_to_sos,
            "sos_determination": self.entry.sos_determination,
        }


@dataclass(slots=True)
class Verdict:
    """Verdicts for every unit of a plan plus the aggregate position of the Testing Issue log."""

    profile: Profile
    entries: dict[str, EntryVerdict]
    aggregate_extant: dict[int, int]
    exceeded: list[dict[str, Any]]
    by_service_provider: dict[str, dict[int, int]]
    issue_totals: dict[str, int]
    issues_outside_plan: list[dict[str, Any]]
    result_lines: int
    disputes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def statuses(self) -> dict[str, int]:
        counts = Counter(e.status for e in self.entries.values())
        return {s: counts.get(s, 0) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        agg: dict[str, Any] = {
            "extant": _sev_json(self.aggregate_extant),
            "limits": {scope: _sev_json(t.limits) for scope, t in self.profile.thresholds.items()},
            "exceeded": self.exceeded,
            "statuses": self.statuses(),
            "issues": self.issue_totals,
            "disputes": self.disputes,
            "issues_outside_plan": self.issues_outside_plan,
            "result_lines": self.result_lines,
        }
        if "service_provider" in self.profile.thresholds:
            agg["by_service_provider"] = {sp: _sev_json(c) for sp, c in self.by_service_provider.items()}
        return {
            "profile": self.profile.name,
            "profile_title": self.profile.title,
            "unit": self.profile.unit,
            "entries": {eid: ev.to_json() for eid, ev in self.entries.items()},
            "aggregate": agg,
            "notes": self.notes,
        }


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _sev_json(counts: dict[int, int]) -> dict[str, int]:
    return {str(s): counts.get(s, 0) for s in SEVERITIES}


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


# ------------------------------------------------------------------------------- issue preparation


@dataclass(frozen=True, slots=True)
class _IssueView:
    """How one issue takes part in the verdict under a profile (computed once, shared by all units).

    ``counted``/``counted_tag``/``pending_excluded`` follow the issue-wide ``exclusion``; an exclusion
    "in respect of" one entry (``Issue.exclusions``, 20.29) changes them only when judging that entry
    (:meth:`_Context.judge`).
    """

    issue: Issue
    counted: bool  # extant in the draft (the DCC's treatment): open and not excluded (20.28, 13.25)
    counted_tag: bool  # extant once the TAG's recorded disagreements apply (20.38 (b); DMCT only)
    pending_excluded: bool  # left out of the count only until the TAG decides (20.29 (a), 20.38)
    disputed_to: int | None  # a pending severity dispute that would change the count (14.2, 14.5)
    review_to: int | None  # DMCT: a pending TAG severity review that would change the count (20.38 (a))
    tag_severity: int  # the severity the TAG considers right where it disagreed (20.38 (a)), else severity
    sp: str


def _treatment(exclusion: Exclusion | None, is_open: bool, profile: Profile) -> tuple[bool, bool, bool]:
    """(counted in the draft, counted in the TAG's view, pending TAG review) for one exclusion state.

    DMCT (``rules.tag_review``): the DCC's proposal keeps the issue out of the draft's count whatever the
    TAG says — a disagreement is for 20.38 (c)/(d) and 20.40 to settle, never a count by itself. Other
    profiles count an issue the TAG disagreed to exclude (13.25: excluded "only if the TAG agrees").
    """
    if not is_open:
        return False, False, False
    if exclusion is None:
        return True, True, False
    if exclusion.tag == "agreed":
        return False, False, False
    if exclusion.tag == "pending":
        out = not profile.pending_exclusion_excludes
        return out, out, not out
    return not profile.rules.tag_review, True, False


def _exclusions_of(issue: Issue) -> list[Exclusion]:
    return ([issue.exclusion] if issue.exclusion else []) + list(issue.exclusions.values())


def _prepare_issues(issues: Sequence[Issue], profile: Profile) -> list[_IssueView]:
    views = []
    for issue in sorted(issues, key=lambda i: i.id):  # order-free: every list below is sorted by id
        counted, counted_tag, pending = _treatment(issue.exclusion, issue.status == "open", profile)
        dispute = issue.dispute
        differs = dispute is not None and dispute.severity != issue.severity
        disputed_to = (
            dispute.severity
            if profile.rules.severity_disputes and counted and differs and dispute is not None
            and dispute.state == "pending"
            else None
        )
        review_to = (
            dispute.severity
            if profile.rules.tag_review and differs and dispute is not None and dispute.state == "pending"
            else None
        )
        tag_severity = (
            dispute.severity
            if profile.rules.tag_review and differs and dispute is not None and dispute.state == "disagreed"
            else issue.severity
        )
        views.append(_IssueView(
            issue=issue,
            counted=counted,
            counted_tag=counted_tag,
            pending_excluded=pending,
            disputed_to=disputed_to,
            review_to=review_to,
            tag_severity=tag_severity,
            sp=issue.service_provider or UNASSIGNED_SP,
        ))
    return views


class _Buckets:
    """Threshold buckets an issue falls in for a given unit, and their limits, under one profile."""

    def __init__(self, profile: Profile) -> None:
        self.limits: dict[str, dict[int, int]] = {s: dict(t.limits) for s, t in profile.thresholds.items()}
        self.clauses: dict[str, str] = {s: t.clause for s, t in profile.thresholds.items()}
        unit = profile.unit_threshold()
        self.unit_scope: str | None = unit[0] if unit else None

    def of(self, view: _IssueView, unit_id: str | None, severity: int) -> list[Bucket]:
        """Buckets the issue counts in at ``severity``; ``unit_id=None`` means global scopes only."""
        out: list[Bucket] = []
        if self.unit_scope and unit_id is not None and unit_id in view.issue.entries:
            out.append((self.unit_scope, unit_id, severity))
        if "aggregate" in self.limits:
            out.append(("aggregate", "", severity))
        if "service_provider" in self.limits:
            out.append(("service_provider", view.sp, severity))
        return out

    def limit(self, bucket: Bucket) -> int:
        return self.limits[bucket[0]][bucket[2]]

    def over(self, counts: dict[Bucket, int]) -> list[Bucket]:
        """Buckets over their limit: the unit's first (20.28 (a)), then aggregate (b), then per SP."""
        return sorted((b for b, c in counts.items() if c > self.limit(b)),
                      key=lambda b: (_SCOPE_ORDER[b[0]], b[1], b[2]))


# ------------------------------------------------------------------- dispute and TAG dependence


@dataclass(frozen=True, slots=True)
class _Move:
    """A pending dispute as a move of one issue between severity buckets (14.2)."""

    issue_id: str
    pairs: tuple[tuple[Bucket, Bucket], ...]


def _dispute_could_change(
    counts: dict[Bucket, int], buckets: _Buckets, moves: list[_Move]
) -> tuple[bool, list[str], bool]:
    """Could some combination of TAG decisions on ``moves`` flip "thresholds exceeded"? (14.5)

    Returns (could change, the disputes that matter, whether the answer is exact). Not exceeded now:
    exceeding needs one bucket over its limit, so flip exactly the disputes moving *into* that bucket —
    exact and linear. Exceeded now: every over-limit bucket must come down at once; only disputes moving
    *out of* an over-limit bucket can help, so search their subsets smallest first (exact up to
    :data:`DISPUTE_SEARCH_LIMIT` candidates, else a greedy attempt and, failing that, "could change").
    """
    over = set(buckets.over(counts))
    if not over:
        into: dict[Bucket, list[str]] = defaultdict(list)
        for move in moves:
            for _src, dst in move.pairs:
                into[dst].append(move.issue_id)
        hit = {i for b, ids in into.items() if counts.get(b, 0) + len(ids) > buckets.limit(b) for i in ids}
        return bool(hit), sorted(hit), True
    out = Counter(src for move in moves for src, _dst in move.pairs)
    if any(counts[b] - out[b] > buckets.limit(b) for b in over):
        return False, [], True
    candidates = [m for m in moves if any(src in over for src, _dst in m.pairs)]

    def clears(chosen: Iterable[_Move]) -> bool:
        trial = dict(counts)
        for move in chosen:
            for src, dst in move.pairs:
                trial[src] -= 1
                trial[dst] = trial.get(dst, 0) + 1
        return not buckets.over(trial)

    if len(candidates) <= DISPUTE_SEARCH_LIMIT:
        for size in range(1, len(candidates) + 1):
            for chosen in itertools.combinations(candidates, size):
                if clears(chosen):
                    return True, sorted(m.issue_id for m in chosen), True
        return False, [], True
    # Greedy fallback: take each helpful dispute unless it pushes a bucket within its limit over it.
    greedy: list[_Move] = []
    for move in candidates:
        if not _adds_over(counts, buckets, [*greedy, move]):
            greedy.append(move)
    if clears(greedy):
        return True, sorted(m.issue_id for m in greedy), True
    return True, sorted(m.issue_id for m in candidates), False


def _adds_over(counts: dict[Bucket, int], buckets: _Buckets, chosen: list[_Move]) -> bool:
    """Whether applying ``chosen`` pushes any bucket that is within its limit over it."""
    trial = dict(counts)
    for move in chosen:
        for src, dst in move.pairs:
            trial[src] -= 1
            trial[dst] = trial.get(dst, 0) + 1
    return any(trial[b] > buckets.limit(b) >= counts.get(b, 0) for b in trial)


def _tag_dependence(
    counts: dict[Bucket, int], buckets: _Buckets, pending: list[tuple[str, list[Bucket]]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The pending exclusions whose rejection by the TAG would make a successful unit unsuccessful.

    Un-excluding issues only raises counts, so "exceeded" is monotone in the set the TAG rejects. A
    minimal flipping set lies inside one bucket (the one it pushes over), so the union of all minimal
    flipping sets is exactly the pending issues of each bucket where ``count + pending > limit``;
    ``needed`` says how many of them the TAG must reject together (1 = any one alone flips it) (20.38).
    """
    adds: dict[Bucket, list[str]] = defaultdict(list)
    for issue_id, its_buckets in pending:
        for b in its_buckets:
            adds[b].append(issue_id)
    ids: set[str] = set()
    detail = []
    for b in sorted(adds):
        count, limit, pend = counts.get(b, 0), buckets.limit(b), sorted(adds[b])
        if count + len(pend) > limit:
            ids.update(pend)
            detail.append({
                "scope": b[0], "key": b[1], "severity": b[2], "extant": count, "limit": limit,
                "pending_exclusions": pend, "needed": limit - count + 1,
            })
    return sorted(ids), detail


# ---------------------------------------------------------------------------------------- engine


def planned_tests(plan: Plan, entry: PlanEntry, profile: Profile) -> dict[str, list[str]]:
    """The unit's planned tests per pack.

    DMCT: the required packs only (20.14), the entry's own list overriding the pack's (20.17). Other
    profiles have no required-pack rule: every pack of the plan counts, plus packs only the entry lists.
    """
    if profile.rules.required_packs:
        return plan.planned_tests(entry)
    own = entry.tests or {}
    out = {p: list(own.get(p, pack.tests)) for p, pack in plan.packs.items()}
    out.update({p: list(t) for p, t in own.items() if p not in out})
    return out


def compute_verdict(
    plan: Plan,
    results: Iterable[ResultRecord] | ResultIndex,
    issues: Sequence[Issue],
    profile: Profile,
) -> Verdict:
    """The verdict of every plan entry under ``profile`` (see the module docstring for the rules).

    ``results`` may be a prebuilt :class:`ResultIndex` (what the CLI streams into, so an unknown entry is
    reported with its file and line) or any iterable of records (an unknown entry is then reported
    against ``results`` without a line).
    """
    index = results if isinstance(results, ResultIndex) else ResultIndex(plan).extend(results)
    buckets = _Buckets(profile)
    views = _prepare_issues(issues, profile)
    plan_ids = {e.id for e in plan.entries}

    # Everything that does not depend on the unit is computed once: aggregate and per Service Provider
    # counts (the draft's, and with the TAG's recorded disagreements), issue -> entry index, test links
    # (20.34 (d)), results grouped by entry, and the issues excluded in respect of one entry (20.29).
    global_counts: dict[Bucket, int] = Counter()
    global_tag: dict[Bucket, int] = Counter()
    aggregate_extant: dict[int, int] = Counter()
    by_sp: dict[str, dict[int, int]] = defaultdict(Counter)
    by_entry: dict[str, list[_IssueView]] = defaultdict(list)
    by_exclusion_entry: dict[str, list[_IssueView]] = defaultdict(list)
    links_open: set[Key] = set()
    links_any: set[Key] = set()
    open_ids: set[str] = set()
    outside: list[dict[str, Any]] = []
    for v in views:
        for eid in dict.fromkeys(v.issue.entries):
            by_entry[eid].append(v)
        for eid in v.issue.exclusions:
            by_exclusion_entry[eid].append(v)
        unknown = sorted(set(v.issue.entries) - plan_ids)
        if unknown:
            outside.append({"id": v.issue.id, "entries": unknown})
        refs = {(t.entry, t.pack, t.test) for t in v.issue.tests}
        links_any |= refs
        if v.issue.status == "open":
            links_open |= refs
            open_ids.add(v.issue.id)
        if v.counted:
            aggregate_extant[v.issue.severity] += 1
            by_sp[v.sp][v.issue.severity] += 1
            for b in buckets.of(v, None, v.issue.severity):
                global_counts[b] += 1
        if v.counted_tag:
            for b in buckets.of(v, None, v.tag_severity):
                global_tag[b] += 1
    results_by_entry: dict[str, list[Key]] = defaultdict(list)
    for key in index.heads:
        results_by_entry[key[0]].append(key)

    ctx = _Context(plan, profile, index, buckets, dict(global_counts), dict(global_tag), links_open,
                   links_any, open_ids,
                   disputed=[v for v in views if v.disputed_to is not None],
                   pending=[v for v in views if v.pending_excluded or v.review_to is not None],
                   disagreed=[v for v in views if v.issue.status == "open" and (
                       v.tag_severity != v.issue.severity
                       or any(x.tag == "disagreed" for x in _exclusions_of(v.issue)))])
    entries = {
        e.id: ctx.judge(e, by_entry.get(e.id, []), results_by_entry.get(e.id, []),
                        by_exclusion_entry.get(e.id, []))
        for e in plan.entries
    }
    exceeded = [
        {"scope": b[0], "key": b[1], "severity": b[2], "extant": global_counts[b],
         "limit": buckets.limit(b), "clause": buckets.clauses[b[0]]}
        for b in buckets.over(global_counts)
    ]
    notes = []
    if "service_provider" in profile.thresholds and UNASSIGNED_SP in by_sp:
        notes.append(f"extant issues without a service_provider are counted together as {UNASSIGNED_SP!r}")
    if outside:
        notes.append(f"{len(outside)} issue(s) name entries outside this plan (counted in aggregate scopes)")
    totals = {
        "total": len(views),
        "open": sum(1 for v in views if v.issue.status == "open"),
        "extant": sum(1 for v in views if v.counted),
        "excluded": sum(1 for v in views if v.issue.status == "open" and not v.counted),
        "pending_exclusion": sum(1 for v in views if v.pending_excluded),
        "disputed": sum(1 for v in views if v.disputed_to is not None),
    }
    return Verdict(
        profile=profile,
        entries=entries,
        aggregate_extant={s: aggregate_extant.get(s, 0) for s in SEVERITIES},
        exceeded=exceeded,
        by_service_provider={sp: dict(c) for sp, c in sorted(by_sp.items())},
        issue_totals=totals,
        issues_outside_plan=outside,
        result_lines=index.lines,
        disputes=[{"id": v.issue.id, "severity": v.issue.severity, "disputed_severity": v.disputed_to,
                   "entries": v.issue.entries} for v in ctx.disputed],
        notes=notes,
    )


@dataclass(slots=True)
class _Context:
    """What every unit's judgement shares; :meth:`judge` applies the rules to one unit."""

    plan: Plan
    profile: Profile
    index: ResultIndex
    buckets: _Buckets
    global_counts: dict[Bucket, int]
    #: The same counts with the TAG's recorded disagreements applied (20.38 (a), (b); DMCT only).
    global_tag: dict[Bucket, int]
    links_open: set[Key]
    links_any: set[Key]
    open_ids: set[str]
    #: Issues with a pending severity dispute that would change their count (14.5), and issues whose
    #: exclusion or severity awaits the TAG's review (20.38, 20.39): few, and checked for every unit.
    disputed: list[_IssueView]
    pending: list[_IssueView]
    #: Issues the TAG disagreed on (an exclusion, issue-wide or for some entry, or a severity; 20.38).
    disagreed: list[_IssueView] = field(default_factory=list)

    def judge(self, entry: PlanEntry, mine: list[_IssueView], result_keys: list[Key],
              excluded_here: Sequence[_IssueView] = ()) -> EntryVerdict:
        profile, rules, clause = self.profile, self.profile.rules, self.profile.clause
        tally = self._tally(entry, result_keys)
        packs = tally.packs
        planned = sum(p.planned for p in packs.values())
        executed = sum(p.executed for p in packs.values())
        passed = sum(p.passed for p in packs.values())
        findings: list[Finding] = []

        # The unit's threshold counts: the global buckets plus its own (20.28 (a) / 13.23 (a)). An issue
        # excluded in respect of this entry (20.29) leaves its own count and the aggregate used to judge
        # it, and still counts when judging the others.
        counts_now = dict(self.global_counts)
        counts_tag = dict(self.global_tag)
        for v in excluded_here:
            base, base_tag, _ = _treatment(v.issue.exclusion, v.issue.status == "open", profile)
            here, here_tag, _ = _treatment(v.issue.exclusion_for(entry.id), v.issue.status == "open", profile)
            for counts, before, after, sev in ((counts_now, base, here, v.issue.severity),
                                               (counts_tag, base_tag, here_tag, v.tag_severity)):
                if before != after:
                    for b in self.buckets.of(v, None, sev):
                        counts[b] = counts.get(b, 0) + (1 if after else -1)
        treated = {v.issue.id: _treatment(v.issue.exclusion_for(entry.id), v.issue.status == "open", profile)
                   for v in mine}
        counted = [v for v in mine if treated[v.issue.id][0]]
        for v in mine:
            now, tag, _ = treated[v.issue.id]
            for counts, on, sev in ((counts_now, now, v.issue.severity), (counts_tag, tag, v.tag_severity)):
                if on:
                    for b in self.buckets.of(v, entry.id, sev):
                        if b[0] in UNIT_SCOPES:
                            counts[b] = counts.get(b, 0) + 1

        # 1. 20.33 (b): recorded that not all tests can be executed / MTAD MT cannot complete.
        if rules.abandoned and entry.abandoned:
            findings.append(Finding(
                "abandoned", clause("abandoned"), "unsuccessful",
                "recorded that not all tests can be executed (abandoned)"
                + (", MT under the MTAD included" if rules.mtad and entry.mt_under_mtad else "")))

        # 2. 20.32 (a) / 12.9 (a): every planned test of a required pack executed (passed or failed).
        share = executed / planned if planned else 1.0
        if share < profile.min_executed:
            by_pack = ", ".join(f"{p} {c.not_executed}" for p, c in packs.items() if c.not_executed)
            need = "every planned test" if profile.min_executed >= 1.0 else _pct(profile.min_executed)
            findings.append(Finding(
                "not_executed", clause("not_executed"), "in_progress",
                f"{planned - executed} of {planned} planned tests not executed ({by_pack}); "
                f"{need} must be executed"))

        # 3. 20.32 (b): every open issue of the entry has been through 20.20-20.27: its route's process is
        #    done (a route recorded without a process, in files from before them, counts).
        pending_routes = sorted((v.issue for v in mine if v.issue.status == "open" and not through(v.issue)),
                                key=lambda i: i.id)
        unrouted = [i.id for i in pending_routes]
        if rules.route_required and unrouted:
            findings.append(Finding(
                "route", clause("route"), "in_progress",
                f"{len(unrouted)} open issue(s) not yet through 20.20-20.27: "
                + ", ".join(f"{i.id} ({where(i)})" for i in pending_routes)))
        # 1b. 20.25: route (c) agreed by the Secretary of State -- the DMCT Process is no longer undertaken
        #     for the DMC (a firmware upgrade), or it is excluded until evidence (a configuration change).
        if rules.route_required:
            for v in mine:
                proc = v.issue.route_process
                if (v.issue.status == "open" and v.issue.route == "c" and proc is not None
                        and proc.state == "done" and proc.outcome):
                    clause_text, _, what = proc.outcome.partition(": ")
                    findings.append(Finding("device_change", clause_text, "not_undertaken",
                                            f"{v.issue.id}: {what}"))

        # 5. thresholds (20.33 (a)(iii)), the MTAD determination (20.33 (a)(iv)), pass rates (the pack's
        #    own criterion, 12.9 (b)). Evaluated before 4, which asks whether a review could change it.
        over = self.buckets.over(counts_now)
        threshold_findings = [self._threshold_finding(b, counts_now[b]) for b in over]
        fixed: list[Finding] = []  # unsuccessful whatever the TAG decides on severities
        mtad = rules.mtad and entry.mt_under_mtad
        if mtad and entry.mt_phase_complete is False:
            fixed.append(Finding("mtad_not_complete", clause("mtad_not_complete"), "unsuccessful",
                                 "the Panel determined that the Migration Test Phase under the MTAD has not "
                                 "completed"))
        for pack, c in packs.items():
            if c.min_pass_rate_met is False:
                fixed.append(Finding(
                    "pack_min_pass_rate", clause("pack_min_pass_rate"), "unsuccessful",
                    f"pack {pack} pass rate {_pct(c.passed / c.executed)} ({c.passed}/{c.executed}) is below "
                    f"the {_pct(c.min_pass_rate or 0.0)} the pack itself prescribes (its own criterion, "
                    "reported under 20.34 (h))"))
        excl_rate = _rate(passed, executed - tally.linked_failures)
        rate = excl_rate if profile.pass_rate_excludes_linked_failures else _rate(passed, executed)
        if profile.min_pass_rate is not None and rate is not None and rate < profile.min_pass_rate:
            how = (f" (excluding {tally.linked_failures} failure(s) linked to open Testing Issues)"
                   if profile.pass_rate_excludes_linked_failures else "")
            fixed.append(Finding(
                "min_pass_rate", clause("min_pass_rate"), "unsuccessful",
                f"pass rate {_pct(rate)}{how} is below the required {_pct(profile.min_pass_rate)}"))

        # 4. 14.5 (not DMCT, 14.1): a pending severity dispute that could change the outcome holds the
        #    decision.
        moves = []
        for v in self.disputed:
            assert v.disputed_to is not None
            pairs = tuple(zip(self.buckets.of(v, entry.id, v.issue.severity),
                              self.buckets.of(v, entry.id, v.disputed_to), strict=True))
            if pairs:  # the dispute touches a threshold this unit is judged by
                moves.append(_Move(v.issue.id, pairs))
        could: list[str] = []
        if moves and not fixed:  # with a fixed reason the outcome is unsuccessful whatever the TAG says
            changes, could, exact = _dispute_could_change(counts_now, self.buckets, moves)
            if changes:
                detail = ", ".join(f"{v.issue.id}: severity {v.issue.severity} disputed as {v.disputed_to}"
                                   for v in self.disputed if v.issue.id in set(could))
                findings.append(Finding(
                    "dispute", clause("dispute"), "awaiting_tag",
                    f"a pending severity dispute could change the outcome ({detail}); no exit decision "
                    "until the TAG determines" + ("" if exact else " (too many disputes to search exactly)")))
        # The entry's own disputed issues, and any other whose TAG decision could change its outcome
        # (through an aggregate or Service Provider scope); the full list is in the aggregate, once.
        disputes = [
            {"id": v.issue.id, "severity": v.issue.severity, "disputed_severity": v.disputed_to,
             "could_change": v.issue.id in could}
            for v in self.disputed if entry.id in v.issue.entries or v.issue.id in could
        ]

        # 4 (DMCT). 20.38-20.40: the TAG's recorded disagreements (an exclusion, 20.38 (b); a severity,
        #    20.38 (a)) never make the entry unsuccessful by themselves. If they would turn a successful
        #    outcome unsuccessful, the DCC continues testing (20.38 (c)) or refers the matter to the
        #    Secretary of State (20.38 (d)); the Secretary of State's determination then decides (20.40).
        disagreements: list[dict[str, Any]] = []
        if rules.tag_review:
            over_tag = self.buckets.over(counts_tag)
            flips = bool(over_tag) and not over and not fixed
            disagreements = self._disagreements(entry.id, mine, excluded_here, everywhere=flips)
            for d in disagreements:
                d["flips"] = flips
            determination = entry.sos_determination
            if determination == "successful":
                # 20.40 (b): the status changes to successful; the counts stay reported.
                threshold_findings = []
                findings.append(Finding(
                    "sos_determination", clause("sos_successful"), "successful",
                    "the Secretary of State disagreed with the DCC's treatment and determined that "
                    "testing completed successfully"))
            elif determination == "unsuccessful":
                findings.append(Finding(
                    "sos_determination", clause("sos_unsuccessful"), "unsuccessful",
                    "the Secretary of State disagreed with the DCC's treatment and determined that "
                    "testing completed unsuccessfully"))
            elif determination == "further_tests":
                findings.append(Finding(
                    "sos_further_tests", clause("sos_further_tests"), "in_progress",
                    "the Secretary of State determined that further tests need to be run: the DCC "
                    "continues testing and 20.13 onwards apply again"))
            elif determination == "agrees":
                findings.append(Finding(
                    "sos_determination", clause("sos_agrees"), "successful",
                    "the Secretary of State agreed with the DCC's treatment of the referred matters"
                    + (" (the TAG's disagreement does not change the outcome)" if flips else "")))
            elif flips:
                ids = ", ".join(sorted({d["id"] for d in disagreements}))
                what = "; ".join(
                    f"{self.buckets.clauses[b[0]]}: {counts_tag[b]} severity {b[2]} issue(s) would exceed "
                    f"the limit of {self.buckets.limit(b)}" for b in over_tag)
                if entry.referred_to_sos:
                    findings.append(Finding(
                        "tag_disagreement", clause("tag_referred"), "awaiting_sos",
                        f"the TAG disagrees ({ids}) and that would make testing unsuccessful ({what}); the "
                        "DCC referred the matter to the Secretary of State, whose determination decides "
                        "(20.40)"))
                else:
                    findings.append(Finding(
                        "tag_disagreement", clause("tag_continue"), "in_progress",
                        f"the TAG disagrees ({ids}) and that would make testing unsuccessful ({what}); the "
                        "DCC continues testing (20.13 onwards apply again) unless it refers the matter to "
                        "the Secretary of State (20.38 (d))"))
            if entry.referred_to_sos and determination is None and not flips:
                findings.append(Finding(
                    "sos_referral", clause("tag_referred"), "successful",
                    "referred to the Secretary of State (20.37 or 20.38 (d)); the draft DMCT Testing "
                    "Report cannot become final before the determination (20.40)"))
        findings.extend(threshold_findings)
        findings.extend(fixed)

        # 6. 20.32 (c): under the MTAD, the Panel has not yet determined the Migration Test Phase.
        if mtad and entry.mt_phase_complete is None:
            findings.append(Finding("mtad_pending", clause("mtad_pending"), "in_progress",
                                    "Migration Testing under the MTAD: the Panel has not yet determined that "
                                    "the Migration Test Phase has completed"))

        status = _status(findings)

        # 7. successful (20.32), and what that depends on (20.38, 20.39 (b), (c)).
        depends: list[str] = []
        sensitivity: list[dict[str, Any]] = []
        if status == "successful":
            if rules.tag_dependence and entry.sos_determination is None:
                depends, sensitivity = _tag_dependence(counts_now, self.buckets,
                                                       self._pending(entry.id, treated, excluded_here))
            findings.append(Finding("successful", clause("successful"), "successful",
                                    self._success_statement(planned, executed)))
            if depends:
                alone = sorted({i for d in sensitivity if d["needed"] == 1 for i in d["pending_exclusions"]})
                findings.append(Finding(
                    "tag_dependence", clause("tag_dependence"), "successful",
                    "successful only while the TAG does not disagree with "
                    + ", ".join(depends)
                    + (f"; a disagreement on any one of {', '.join(alone)} alone flips it" if alone
                       else "; only a joint disagreement flips it")
                    + "; until the TAG's review the draft cannot become final (20.39 (b), (c))"))

        unit_scope = self.buckets.unit_scope
        return EntryVerdict(
            id=entry.id, entry=entry, status=status, findings=findings, packs=packs,
            extant={s: sum(1 for v in counted if v.issue.severity == s) for s in SEVERITIES},
            limits={unit_scope: self.buckets.limits[unit_scope]} if unit_scope else {},
            depends_on_tag=depends, tag_sensitivity=sensitivity,
            excluded=[
                {"id": v.issue.id, "severity": v.issue.severity, "tag": ex.tag,
                 "rationale": ex.rationale, "counted": treated[v.issue.id][0],
                 "scope": "entry" if entry.id in v.issue.exclusions else "issue"}
                for v in mine
                if v.issue.status == "open" and (ex := v.issue.exclusion_for(entry.id)) is not None
            ],
            disputes=disputes, unrouted=unrouted, evidence_gaps=tally.gaps,
            not_executed_tests=tally.not_run, unplanned_results=tally.unplanned,
            linked_failures=tally.linked_failures,
            pass_rate_excluding_linked=excl_rate if profile.pass_rate_excludes_linked_failures else None,
            tag_disagreements=disagreements,
        )

    def _pending(self, entry_id: str, treated: dict[str, tuple[bool, bool, bool]],
                 excluded_here: Sequence[_IssueView]) -> list[tuple[str, list[Bucket]]]:
        """What the TAG's pending reviews would add to this unit's buckets if it disagreed (20.38):
        a pending exclusion (issue-wide, or in respect of this entry) adds the issue at its severity; a
        pending severity review of a counted issue adds it at the severity under review."""
        out: list[tuple[str, list[Bucket]]] = []
        seen: set[str] = set()
        for v in [*self.pending, *excluded_here]:
            if v.issue.id in seen:
                continue
            seen.add(v.issue.id)
            now, _tag, pending = treated.get(v.issue.id) or _treatment(
                v.issue.exclusion_for(entry_id), v.issue.status == "open", self.profile)
            if pending:
                out.append((v.issue.id, self.buckets.of(v, entry_id, v.issue.severity)))
            elif now and v.review_to is not None:
                src = self.buckets.of(v, entry_id, v.issue.severity)
                dst = self.buckets.of(v, entry_id, v.review_to)
                out.append((v.issue.id, [b for b in dst if b not in src]))
        return out

    def _disagreements(self, entry_id: str, mine: list[_IssueView], excluded_here: Sequence[_IssueView],
                       *, everywhere: bool) -> list[dict[str, Any]]:
        """The TAG's recorded disagreements on this unit's own issues (20.38 (a), (b)) and, when they
        flip its outcome, every other one (they count in the aggregate, 20.28 (b))."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for v in [*mine, *excluded_here, *(self.disagreed if everywhere else ())]:
            if v.issue.id in seen or v.issue.status != "open":
                continue
            seen.add(v.issue.id)
            ex = v.issue.exclusion_for(entry_id)
            if ex is not None and ex.tag == "disagreed":
                out.append({"id": v.issue.id, "kind": "exclusion", "clause": "20.38 (b)",
                            "severity": v.issue.severity})
            if v.tag_severity != v.issue.severity and (ex is None or ex.tag == "disagreed"):
                out.append({"id": v.issue.id, "kind": "severity", "clause": "20.38 (a)",
                            "severity": v.issue.severity, "tag_severity": v.tag_severity})
        return out

    def _tally(self, entry: PlanEntry, result_keys: list[Key]) -> _Tally:
        """Per-pack counts from the latest executions (20.32 (a), 20.34 (b)(c)); gaps, links (20.34 (d))."""
        tally = _Tally()
        planned_keys: set[Key] = set()
        heads, links = self.index.heads, self.index.links
        for pack, tests in planned_tests(self.plan, entry, self.profile).items():
            spec = self.plan.packs.get(pack)
            counts = PackCounts(
                min_pass_rate=spec.min_pass_rate if spec and self.profile.rules.pack_min_pass_rate else None)
            for test in tests:
                key = (entry.id, pack, test)
                planned_keys.add(key)
                counts.planned += 1
                head = heads.get(key)
                if head is None or head[1] not in _EXECUTED:
                    tally.not_run.append({"pack": pack, "test": test,
                                          "latest": head[1] if head else None,
                                          "at": format_at(head[0]) if head else None})
                    continue
                counts.executed += 1
                if head[1] == "passed":
                    counts.passed += 1
                    continue
                counts.failed += 1
                named = links.get(key)
                if not named and key not in self.links_any:
                    tally.gaps.append({"pack": pack, "test": test, "at": format_at(head[0])})
                if key in self.links_open or (named and not named.isdisjoint(self.open_ids)):
                    tally.linked_failures += 1
            tally.packs[pack] = counts
        tally.unplanned = sorted(
            ({"pack": k[1], "test": k[2], "outcome": heads[k][1], "at": format_at(heads[k][0])}
             for k in result_keys if k not in planned_keys),
            key=lambda d: (str(d["pack"]), str(d["test"])),
        )
        return tally

    def _threshold_finding(self, bucket: Bucket, count: int) -> Finding:
        scope, key, sev = bucket
        where = {
            "entry": f"for this {self.profile.unit}",
            "phase": f"for this {self.profile.unit}",
            "aggregate": "in aggregate (irrespective of where they arose)",
            "service_provider": f"with DCC Service Provider {key}",
        }[scope]
        return Finding(f"{scope}_threshold", self.buckets.clauses[scope], "unsuccessful",
                       f"{count} extant severity {sev} issue(s) {where} exceed the limit of "
                       f"{self.buckets.limit(bucket)}")

    def _success_statement(self, planned: int, executed: int) -> str:
        parts = [f"all {planned} planned tests executed" if planned == executed
                 else f"{executed} of {planned} planned tests executed"]
        if self.profile.rules.route_required:
            parts.append("every open issue has been through 20.20-20.27")
        if self.profile.thresholds:
            cited = " and ".join(t.clause for t in self.profile.thresholds.values())
            parts.append(f"extant issues within {cited}")
        if self.profile.min_pass_rate is not None:
            parts.append(f"pass rate at or above {_pct(self.profile.min_pass_rate)}")
        return "; ".join(parts)


@dataclass(slots=True)
class _Tally:
    packs: dict[str, PackCounts] = field(default_factory=dict)
    not_run: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    unplanned: list[dict[str, Any]] = field(default_factory=list)
    linked_failures: int = 0


def _status(findings: list[Finding]) -> Status:
    """The rules page's order: 1 > 2, 3 > 4 > 5 > 6 > 7 (every finding is still reported)."""
    rules = {f.rule for f in findings}
    if "abandoned" in rules:
        return "unsuccessful"
    if "device_change" in rules:
        return "not_undertaken"
    if rules & {"not_executed", "route"}:
        return "in_progress"
    if "dispute" in rules:
        return "awaiting_tag"
    if "sos_further_tests" in rules:
        return "in_progress"
    for f in findings:
        if f.rule == "tag_disagreement":
            return f.status
    if any(f.status == "unsuccessful" for f in findings):
        return "unsuccessful"
    if "mtad_pending" in rules:
        return "in_progress"
    return "successful"
