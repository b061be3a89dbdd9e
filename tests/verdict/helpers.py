"""Builders for verdict tests: small plans, result streams and issue logs in the interchange models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.model.interchange import Issue, Outcome, Plan, ResultRecord
from harness.rules.profiles import Profile, load_profile
from harness.rules.verdict import compute_verdict

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MT = ("mt-1", "mt-2")
SRVT = ("s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7", "s-8", "s-9", "s-10")


def make_plan(
    *entries: dict[str, Any],
    srvt_min: float | None = None,
    profile: str = "dmct",
    extra_packs: dict[str, Sequence[str]] | None = None,
) -> Plan:
    """A plan with the two standard packs (20.15) and the given entries (default: one dormant E1)."""
    packs: dict[str, Any] = {"dormant-mt": {"tests": list(MT)}, "srvt": {"tests": list(SRVT)}}
    if srvt_min is not None:
        packs["srvt"]["min_pass_rate"] = srvt_min
    for name, tests in (extra_packs or {}).items():
        packs[name] = {"tests": list(tests)}
    rows = [
        dict({"dmc": f"DMC-{e['id']}", "installation": "dormant"}, **e) for e in entries or ({"id": "E1"},)
    ]
    return Plan.model_validate({"profile": profile, "packs": packs, "entries": rows})


def rec(
    entry: str, pack: str, test: str, outcome: str | Outcome = "passed", minutes: int = 0, **extra: Any
) -> ResultRecord:
    return ResultRecord(entry, pack, test, Outcome(outcome), T0 + timedelta(minutes=minutes), dict(extra))


def run_all(
    plan: Plan, outcome: str = "passed", entries: Iterable[str] | None = None, minutes: int = 0
) -> list[ResultRecord]:
    """One execution of every planned test of the given entries (default: all) with ``outcome``."""
    wanted = set(entries) if entries is not None else {e.id for e in plan.entries}
    out: list[ResultRecord] = []
    for entry in plan.entries:
        if entry.id not in wanted:
            continue
        for pack, tests in plan.planned_tests(entry).items():
            out.extend(rec(entry.id, pack, t, outcome, minutes) for t in tests)
    return out


_counter = iter(range(1, 10**9))


def issue(
    severity: int = 3,
    *,
    entries: Sequence[str] = ("E1",),
    status: str = "open",
    route: str | None = "a",
    id: str | None = None,
    **extra: Any,
) -> Issue:
    """A Testing Issue; routed (20.20 (a)) and tied to E1 unless told otherwise."""
    return Issue.model_validate(
        {
            "id": id or f"I{next(_counter):05d}",
            "severity": severity,
            "status": status,
            "entries": list(entries),
            "route": route,
            **extra,
        }
    )


def issues(n: int, severity: int = 3, **kw: Any) -> list[Issue]:
    return [issue(severity, **kw) for _ in range(n)]


def profile(name: str = "dmct") -> Profile:
    return load_profile(name)


def judge(
    plan: Plan, results: Iterable[ResultRecord], log: Sequence[Issue], profile_name: str | Profile = "dmct"
) -> dict[str, Any]:
    prof = profile_name if isinstance(profile_name, Profile) else load_profile(profile_name)
    out: dict[str, Any] = compute_verdict(plan, results, log, prof).to_json()
    return out


def rules_of(entry_json: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in entry_json["findings"]]
