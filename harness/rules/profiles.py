"""Exit profiles: the criteria of each Test Phase as data, read by one verdict engine.

The SVTAD gives every Test Phase the same shape of exit criteria (12.9): a share of planned tests
executed, a pass rate, and Testing Issue Thresholds per severity for some scope. Only the numbers, the
scopes and a few DMCT-only rules (20.14 required packs, 20.32 (b) routes, 20.32 (c)/20.33 (a)(iv) MTAD,
20.38 TAG dependence) differ. Keeping them in ``profiles.yaml`` instead of ``if profile == ...`` branches
means an auditor can read the criteria a verdict used, and a lab can correct a number without a release.

Profiles without a DMCT "planned entry" concept (SIT, PIT, SCT, UTS, regression) judge each plan entry as
their unit: the DMC for SIT IOC (Table 13.1 1A: pass rate "on the same DMC"), the SIT Test Phase for
MOC/FOC (Table 13.1 1B, 13.23 (a)), a test cycle otherwise. ``Profile.unit`` names it in reports.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from harness.errors import DmctInputError
from harness.yamlio import read_document, validate

#: Where a threshold applies. ``entry`` and ``phase`` count extant issues tied to the unit (an issue's
#: ``entries``); ``aggregate`` counts every extant issue in the log "irrespective of where they arose"
#: (20.28 (b), 13.23 (b)); ``service_provider`` counts every extant issue per DCC Service Provider (13.22).
Scope = Literal["entry", "phase", "aggregate", "service_provider"]
SCOPES: tuple[Scope, ...] = ("entry", "phase", "aggregate", "service_provider")
#: Scopes whose count depends on the unit being judged (the others are the same for every unit).
UNIT_SCOPES: frozenset[str] = frozenset({"entry", "phase"})
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")

#: Clause keys a profile must cite when the matching rule is on (reasons always carry a clause).
_RULE_CLAUSES: dict[str, tuple[str, ...]] = {
    "abandoned": ("abandoned",),
    "route_required": ("route",),
    "severity_disputes": ("dispute",),
    "mtad": ("mtad_not_complete", "mtad_pending"),
    "tag_dependence": ("tag_dependence",),
    "tag_review": (
        "tag_continue",
        "tag_referred",
        "sos_agrees",
        "sos_successful",
        "sos_unsuccessful",
        "sos_further_tests",
    ),
    "pack_min_pass_rate": ("pack_min_pass_rate",),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """Testing Issue Thresholds for one scope: the most extant issues allowed per severity 1-5."""

    limits: dict[int, int]
    clause: str = Field(min_length=1)

    @field_validator("limits")
    @classmethod
    def _all_severities(cls, limits: dict[int, int]) -> dict[int, int]:
        if sorted(limits) != list(SEVERITIES):
            raise ValueError("limits must give severities 1 to 5 exactly")
        if any(v < 0 for v in limits.values()):
            raise ValueError("limits must not be negative")
        return limits

    def exceeded(self, counts: dict[int, int]) -> list[int]:
        """Severities whose count is *greater than* the limit (20.28: "exceed")."""
        return [s for s in SEVERITIES if counts.get(s, 0) > self.limits[s]]


class Rules(_Strict):
    """Which rules beyond executed/pass-rate/thresholds apply. All default off: a profile opts in."""

    #: 20.14: plan only ``srvt`` under the MTAD, else ``dormant-mt`` and ``srvt``. Off: every pack counts.
    required_packs: bool = False
    #: 20.33 (b): an entry recorded as unable to complete is unsuccessful.
    abandoned: bool = False
    #: 20.32 (b): every open issue of the entry has been through 20.20-20.27 (has a route).
    route_required: bool = False
    #: 14.5: no exit decision while a severity dispute could change it (SIT, UTS, SCT, MT: 14.1).
    severity_disputes: bool = False
    #: DMCT 20.38-20.40 instead of 14.5: the TAG reviews severities and exclusions after the draft; a
    #: recorded disagreement that would flip a successful outcome means continued testing (20.38 (c)) or
    #: a referral to the Secretary of State (20.38 (d)), whose determination decides (20.40).
    tag_review: bool = False
    #: 20.32 (c), 20.33 (a)(iv): the Panel's determination of the Migration Test Phase under the MTAD.
    mtad: bool = False
    #: 20.38: list the pending exclusions a TAG disagreement would turn into "unsuccessful".
    tag_dependence: bool = False
    #: 20.34 (h): a pack's own ``min_pass_rate`` is one more criterion.
    pack_min_pass_rate: bool = False


class Profile(_Strict):
    """One exit profile. ``name`` is filled in from its key in the profiles file."""

    name: str
    title: str
    unit: str = "plan entry"
    thresholds: dict[Scope, Threshold] = Field(default_factory=dict)
    #: Share of planned tests that must be executed (passed or failed) — 1.0 = all (12.9 (a), 20.32 (a)).
    min_executed: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Lowest acceptable passed ÷ executed for the unit, or null for none (12.9 (b)).
    min_pass_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Table 13.1 2A/2B: "100% pass rate excluding known defects" — failed tests linked to an open
    #: Testing Issue leave the pass-rate denominator.
    pass_rate_excludes_linked_failures: bool = False
    #: Whether an exclusion the TAG has not yet decided already leaves the count: yes in a DMCT draft
    #: report (20.29 (a), reviewed under 20.38); no for SIT/UTS, excluded "only if the TAG agrees" (13.25).
    pending_exclusion_excludes: bool = False
    rules: Rules = Field(default_factory=Rules)
    #: Clause cited by each kind of reason (keys: not_executed, min_pass_rate, successful, ...).
    clauses: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> Profile:
        if self.rules.mtad and not self.rules.required_packs:
            raise ValueError("rules.mtad needs rules.required_packs (20.14 ties them together)")
        if self.rules.tag_dependence and not self.pending_exclusion_excludes:
            raise ValueError("rules.tag_dependence needs pending_exclusion_excludes (20.29 (a), 20.38)")
        if self.rules.tag_review and self.rules.severity_disputes:
            raise ValueError(
                "rules.tag_review (20.38) and rules.severity_disputes (14.5) exclude each "
                "other: clause 14 does not apply to DMCT (14.1)"
            )
        if "entry" in self.thresholds and "phase" in self.thresholds:
            raise ValueError("thresholds: give 'entry' or 'phase', not both (they count the same issues)")
        needed = ["not_executed", "successful"]
        if self.min_pass_rate is not None:
            needed.append("min_pass_rate")
        for rule, keys in _RULE_CLAUSES.items():
            if getattr(self.rules, rule):
                needed.extend(keys)
        missing = [k for k in needed if not self.clauses.get(k)]
        if missing:
            raise ValueError(f"clauses: missing citation for {', '.join(missing)}")
        return self

    def clause(self, key: str) -> str:
        """The clause a reason of kind ``key`` cites."""
        return self.clauses.get(key, "")

    def unit_threshold(self) -> tuple[Scope, Threshold] | None:
        """The per-unit threshold (``entry`` or ``phase``), if the profile has one."""
        for scope in ("entry", "phase"):
            if scope in self.thresholds:
                return scope, self.thresholds[scope]
        return None


_PROFILES_DOC: TypeAdapter[dict[str, dict[str, Any]]] = TypeAdapter(dict[str, dict[str, Any]])


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Every profile in ``path`` (default: the packaged ``profiles.yaml``), validated."""
    return dict(_load_profiles(path or PROFILES_FILE))


@lru_cache(maxsize=8)
def _load_profiles(path: Path) -> tuple[tuple[str, Profile], ...]:
    data = read_document(path)
    raw: dict[str, dict[str, Any]] = validate(_PROFILES_DOC, data if data is not None else {}, path)
    out: list[tuple[str, Profile]] = []
    for name, body in raw.items():
        if "name" in body:
            raise DmctInputError(str(path), "the profile name is its key", field=f"{name}.name")
        # Validate under the profile's key so a field error reads "dmct.thresholds.entry.limits".
        by_name: dict[str, Profile] = validate(
            TypeAdapter(dict[str, Profile]), {name: {"name": name, **body}}, path
        )
        out.append((name, by_name[name]))
    return tuple(out)


def profile_names(path: Path | None = None) -> list[str]:
    return list(load_profiles(path))


def load_profile(name: str, *, path: Path | None = None, source: str = "--profile") -> Profile:
    """The profile called ``name``; an unknown name is bad input reported against ``source``."""
    profiles = load_profiles(path)
    try:
        return profiles[name]
    except KeyError:
        known = ", ".join(profiles)
        raise DmctInputError(source, f"unknown profile {name!r} (known: {known})", field="profile") from None
