"""Defect detection coverage: can every pack test fail? (pure rules, no I/O).

A test that cannot fail proves nothing. The virtual lab's device catalogue holds named *seeded defects*
(``labs/virtual/devices/catalogue.yaml``); a pack test is shown able to fail when it passes on the clean
DMC and fails on the same DMC with one seeded defect switched on. The *defect detection coverage* of a
pack is the share of its planned tests shown so (issue 7's goal: 100 %).

Counted two ways, reported side by side:

* the **per-test coverage**: the share of planned tests some defect makes fail (can every test fail?);
* the **defect detection rate**: the share of the catalogue's defects applicable to the DMC (each
  defect on each role the DMC has, and the virtual route's own) that make *at least one* planned test
  fail (does the pack catch defective devices?). A pack can reach 100 % per test and still pass most
  defects; issue 14's goal is 100 % on this one.

Two ways to show them:

* the **full matrix** (``dmct defects coverage --all``): every applicable defect against every test —
  slow (one pack session per defect), for the nightly job and for a lab writing a new pack;
* a **killer plan** (``test_packs/defect_killers.yaml``): indexed by defect — *every* applicable
  catalogue defect with the test(s) it must make fail, and every planned test under some defect
  (:func:`choose_killers` then :func:`index_by_defect`); one short session per defect. The
  project's meta-test runs the plan on every change: cheap enough for ``make test``, and still an
  honest observation — each listed test is executed against its defect and must come out *failed*.

Keys: a defect is ``role:name`` (the device it is switched on for: ``esme:clock_drifts``); a test is
``pack-id::test-id`` (the manifest id, so the same key works across checkouts).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.model.interchange import Outcome

CLEAN = "clean"
#: The pseudo-role of the virtual route's own seeded defects (``route:dco_gate_open``).
ROUTE = "route"


def defect_key(role: str, name: str) -> str:
    return f"{role}:{name}"


def split_defect(key: str) -> tuple[str, str]:
    """``esme:clock_drifts`` → ``("esme", "clock_drifts")``; a ValueError names a malformed key."""
    role, sep, name = key.partition(":")
    if not sep or not role or not name:
        raise ValueError(f"defect {key!r} must be written role:name (e.g. esme:clock_drifts)")
    return role, name


def test_key(pack: str, test: str) -> str:
    return f"{pack}::{test}"


def split_test(key: str) -> tuple[str, str]:
    pack, sep, test = key.partition("::")
    if not sep or not pack or not test:
        raise ValueError(f"test {key!r} must be written pack-id::test-id")
    return pack, test


def applicable_defects(defect_roles: Mapping[str, Iterable[str]], dmc_roles: Iterable[str]) -> list[str]:
    """Every ``role:name`` a DMC with ``dmc_roles`` can carry, from the catalogue's defect → roles."""
    have = set(dmc_roles)
    return sorted(defect_key(r, name) for name, roles in defect_roles.items() for r in roles if r in have)


def with_defect(lab: Mapping[str, Any], defect: str) -> dict[str, Any]:
    """A copy of lab-file data with ``defect`` switched on for every device of its role, on every rig.

    Every rig, not only the standard one: the rigs prepared for the MT negative paths run tests too,
    and a defect that only some rigs carried would leave those tests unexposed. The lab's simulated
    clock rate is its first device's, so a device gaining a ``virtual`` block keeps the lab's rate.
    """
    role, name = split_defect(defect)
    data: dict[str, Any] = copy.deepcopy(dict(lab))
    if role == ROUTE:  # a defect of the simulated S1SP/DCO itself
        route = data.get("route")
        if not isinstance(route, dict):
            raise ValueError(f"defect {defect!r}: the lab has no route to carry it")
        route["defects"] = [*route.get("defects", []), name]
        return data
    rate = next(
        (
            d["virtual"]["clock_rate"]
            for r in data.get("rigs", [])
            for d in r.get("devices", [])
            if isinstance(d.get("virtual"), dict) and d["virtual"].get("clock_rate")
        ),
        None,
    )
    found = False
    for rig in data.get("rigs", []):
        for device in rig.get("devices", []):
            if device.get("role") != role:
                continue
            config = device.setdefault("virtual", {})
            if rate is not None:
                config.setdefault("clock_rate", rate)
            config["defects"] = [*config.get("defects", []), name]
            found = True
    if not found:
        raise ValueError(f"defect {defect!r}: the lab has no {role} device to carry it")
    return data


@dataclass
class Matrix:
    """Outcomes per session (``clean`` or a defect key) per test key."""

    planned: list[str]
    sessions: dict[str, dict[str, Outcome]] = field(default_factory=dict)

    def outcome(self, session: str, test: str) -> Outcome | None:
        return self.sessions.get(session, {}).get(test)

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "sessions": {
                s: {t: o.value for t, o in sorted(r.items())} for s, r in sorted(self.sessions.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Matrix:
        return cls(
            planned=list(data["planned"]),
            sessions={s: {t: Outcome(o) for t, o in r.items()} for s, r in data["sessions"].items()},
        )


@dataclass(frozen=True)
class Coverage:
    """What a matrix shows. ``detected[test]`` lists the defects that made it fail."""

    planned: tuple[str, ...]
    detected: dict[str, tuple[str, ...]]
    undetected: tuple[str, ...]  # passed clean and failed against no defect tried, or never tried
    not_clean: dict[str, str]  # did not pass clean (outcome): cannot show anything
    not_applicable: tuple[str, ...]  # not applicable to the DMC (role missing): outside the ratio

    @property
    def judged(self) -> int:
        return len(self.planned) - len(self.not_applicable)

    @property
    def ratio(self) -> float:
        """Share of the applicable planned tests shown able to fail (1.0 when none is applicable)."""
        return len(self.detected) / self.judged if self.judged else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": len(self.planned),
            "applicable": self.judged,
            "detected": len(self.detected),
            "coverage": round(self.ratio, 6),
            "undetected": list(self.undetected),
            "not_clean": self.not_clean,
            "not_applicable": list(self.not_applicable),
            "detected_by": {t: list(d) for t, d in sorted(self.detected.items())},
        }


def coverage(matrix: Matrix, *, not_applicable: Iterable[str] = ()) -> Coverage:
    """A test counts as detected when it *passed* on the clean DMC and *failed* (not errored, not
    blocked: a defect must be caught by the test's assertions, not by a crash) with a defect on."""
    na = set(not_applicable)
    clean = matrix.sessions.get(CLEAN, {})
    detected: dict[str, tuple[str, ...]] = {}
    undetected: list[str] = []
    not_clean: dict[str, str] = {}
    for test in matrix.planned:
        if test in na:
            continue
        got = clean.get(test)
        if got is None and not any(test in r for r in matrix.sessions.values()):
            undetected.append(test)  # never tried (a killer plan that gives it no defect)
            continue
        if got is not Outcome.PASSED:
            not_clean[test] = got.value if got is not None else "not run"
            continue
        killers = tuple(
            sorted(s for s, r in matrix.sessions.items() if s != CLEAN and r.get(test) is Outcome.FAILED)
        )
        if killers:
            detected[test] = killers
        else:
            undetected.append(test)
    return Coverage(
        planned=tuple(matrix.planned),
        detected=detected,
        undetected=tuple(undetected),
        not_clean=not_clean,
        not_applicable=tuple(t for t in matrix.planned if t in na),
    )


def choose_killers(detected: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """A small set of defects that together fail every detected test (greedy set cover), and for each
    defect the tests it is to fail: few sessions, so the plan is cheap to re-check on every change.
    Ties go to the alphabetically first defect, so the plan is stable across runs."""
    left = {t: set(d) for t, d in detected.items()}
    plan: dict[str, list[str]] = {}
    while left:
        counts: dict[str, int] = {}
        for defects in left.values():
            for d in defects:
                counts[d] = counts.get(d, 0) + 1
        best = min(counts, key=lambda d: (-counts[d], d))
        plan[best] = sorted(t for t, d in left.items() if best in d)
        for t in plan[best]:
            del left[t]
    return dict(sorted(plan.items()))


@dataclass(frozen=True)
class DefectDetection:
    """What a matrix shows per defect. ``detected[defect]`` lists the planned tests it made fail (each
    passed on the clean DMC); ``untried`` were applicable but had no session (a killer plan that lists
    them as undetected); both they and ``undetected`` count against the rate."""

    applicable: tuple[str, ...]
    detected: dict[str, tuple[str, ...]]
    undetected: tuple[str, ...]
    untried: tuple[str, ...]

    @property
    def rate(self) -> float:
        """Share of the applicable defects some planned test catches (1.0 when none is applicable)."""
        return len(self.detected) / len(self.applicable) if self.applicable else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "applicable": len(self.applicable),
            "detected": len(self.detected),
            "rate": round(self.rate, 6),
            "undetected": list(self.undetected),
            "untried": list(self.untried),
            "detected_by": {d: list(t) for d, t in sorted(self.detected.items())},
        }


def defect_detection(
    matrix: Matrix, applicable: Iterable[str], *, not_applicable: Iterable[str] = ()
) -> DefectDetection:
    """Per defect: the planned, applicable tests that passed clean and *failed* with it on (an error or
    a block is no detection, as in :func:`coverage`)."""
    na = set(not_applicable)
    clean = matrix.sessions.get(CLEAN, {})
    judged = [t for t in matrix.planned if t not in na and clean.get(t) is Outcome.PASSED]
    detected: dict[str, tuple[str, ...]] = {}
    undetected: list[str] = []
    untried: list[str] = []
    defects = sorted(set(applicable))
    for defect in defects:
        row = matrix.sessions.get(defect)
        if row is None:
            untried.append(defect)
            continue
        failed = tuple(sorted(t for t in judged if row.get(t) is Outcome.FAILED))
        if failed:
            detected[defect] = failed
        else:
            undetected.append(defect)
    return DefectDetection(tuple(defects), detected, tuple(undetected), tuple(untried))


def index_by_defect(
    test_plan: Mapping[str, Iterable[str]], defect_tests: Mapping[str, Iterable[str]]
) -> dict[str, list[str]]:
    """A killer plan with every detected defect in it: ``test_plan`` (each test under some defect, from
    :func:`choose_killers`) plus, for each detected defect it leaves out, the first test that defect
    fails (one short session each, so ``make test`` proves every catalogue defect is caught)."""
    plan = {d: sorted(t) for d, t in test_plan.items()}
    for defect, tests in sorted(defect_tests.items()):
        ordered = sorted(tests)
        if defect not in plan and ordered:
            plan[defect] = ordered[:1]
    return dict(sorted(plan.items()))


class KillerPlan(BaseModel):
    """``test_packs/defect_killers.yaml``: for each seeded defect, the pack tests it must make fail."""

    model_config = ConfigDict(extra="forbid")

    lab: str = Field(min_length=1, description="lab file the plan was chosen on")
    entry: str = Field(min_length=1)
    defects: dict[str, list[str]]
    #: Planned tests no seeded defect is known to fail yet: the open gap, kept in view (goal: none).
    undetected: list[str] = Field(default_factory=list)
    #: Applicable catalogue defects no planned test is known to fail yet: the open gap (goal: none).
    undetected_defects: list[str] = Field(default_factory=list)

    @field_validator("defects")
    @classmethod
    def _keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, tests in value.items():
            split_defect(key)
            for t in tests:
                split_test(t)
        return value

    @field_validator("undetected")
    @classmethod
    def _tests(cls, value: list[str]) -> list[str]:
        for t in value:
            split_test(t)
        return value

    @field_validator("undetected_defects")
    @classmethod
    def _defect_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            split_defect(key)
        return value

    def unlisted_defects(self, applicable: Iterable[str]) -> list[str]:
        """Applicable defects the plan neither gives tests to nor lists as undetected."""
        have = set(self.defects) | set(self.undetected_defects)
        return sorted(d for d in applicable if d not in have)

    def tests(self) -> list[str]:
        return sorted({t for tests in self.defects.values() for t in tests})

    def missing(self, planned: Iterable[str]) -> list[str]:
        """Planned tests the plan neither gives a defect to nor lists as undetected (unclassified)."""
        have = set(self.tests()) | set(self.undetected)
        return sorted(t for t in planned if t not in have)
