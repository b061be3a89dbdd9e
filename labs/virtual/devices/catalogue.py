"""The catalogue of simulated device models (``catalogue.yaml``, package data) and its queries.

A lab file names devices by manufacturer, model and firmware version, exactly as the EPCL does; the
catalogue says what such a device *is* in the virtual lab: which SRVs that firmware supports, how it
differs (:class:`~.behaviour.Behaviour`), which seeded defects it carries, and whether it needs a
firmware upgrade before migration. Defects can also be added per device in the lab file; both routes
meet in :func:`resolve_defects`, which refuses names it does not know (listing the ones it does) so a
typo never silently yields a clean device.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .base import Profile
from .behaviour import Behaviour
from .errors import UnknownDefectError

Role = Literal["ch", "esme", "gsme", "ppmid", "ihd"]
CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_SRV = re.compile(r"^\d+(?:\.\d+)*$")


class CatalogueError(ValueError):
    """An unknown model or firmware version, or an inconsistent catalogue file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SrvInfo(_Strict):
    name: str
    targets: list[Role] = Field(min_length=1)
    critical: bool = False
    future_dated: str | None = None
    non_device: bool = False


class DefectInfo(_Strict):
    roles: list[Role] = Field(min_length=1)
    description: str = Field(min_length=1)
    #: The requirement (SRV, alert code or SMETS1 behaviour) the defect breaks.
    requirement: str | None = Field(default=None, min_length=1)
    #: What a device must be capable of for the defect to be possible on it at all (behaviour fields: a
    #: number is a minimum, a boolean must match). ``{max_tou_rates: 5}``: a bug in the 5th TOU rate
    #: cannot occur on a meter that holds 4 - such a DMC is outside the defect's reach, not a gap.
    needs: dict[str, int | float | bool] = Field(default_factory=dict)

    @field_validator("needs")
    @classmethod
    def _behaviour_fields(cls, value: dict[str, int | float | bool]) -> dict[str, int | float | bool]:
        unknown = sorted(set(value) - set(Behaviour.model_fields))
        if unknown:
            raise ValueError(f"needs names {unknown[0]!r}, not a behaviour field")
        return value


class FirmwareEntry(_Strict):
    version: str = Field(min_length=1)
    needs_firmware_upgrade_before_migration: bool = False
    behaviour: dict[str, Any] = Field(default_factory=dict)
    srvs_without: list[str] = Field(default_factory=list)
    defects: list[str] = Field(default_factory=list)
    notes: str = ""


class ModelEntry(_Strict):
    role: Role
    manufacturer: str = Field(min_length=1, max_length=30)
    model: str = Field(min_length=1, max_length=30)
    hardware_versions: list[str] = Field(min_length=1)
    variant: str | None = None
    behaviour: dict[str, Any] = Field(default_factory=dict)
    firmware: list[FirmwareEntry] = Field(min_length=1)

    @property
    def versions(self) -> list[str]:
        return [f.version for f in self.firmware]

    def firmware_entry(self, version: str) -> FirmwareEntry:
        for entry in self.firmware:
            if entry.version == version:
                return entry
        raise CatalogueError(
            f"{self.manufacturer} {self.model} has no firmware {version!r} in the catalogue "
            f"(known: {', '.join(self.versions)})"
        )

    def behaviour_for(self, version: str) -> Behaviour:
        """Model-wide behaviour overridden by the firmware's."""
        return Behaviour.model_validate({**self.behaviour, **self.firmware_entry(version).behaviour})


class Catalogue(_Strict):
    catalogue_version: int
    smets1_srvs: dict[str, SrvInfo]
    defects: dict[str, DefectInfo]
    models: list[ModelEntry]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        problems: list[str] = []
        problems += [f"SRV id {s!r} is malformed" for s in self.smets1_srvs if not _SRV.match(s)]
        problems += [f"defect name {d!r} is not snake_case" for d in self.defects if not _SNAKE.match(d)]
        seen: set[tuple[str, str]] = set()
        for m in self.models:
            key = (m.manufacturer, m.model)
            if key in seen or any(other.model == m.model for other in self.models if other is not m):
                problems.append(f"model {m.model!r} is listed more than once")
            seen.add(key)
            if len(set(m.versions)) != len(m.versions):
                problems.append(f"{m.model}: duplicate firmware versions")
            for fw in m.firmware:
                where = f"{m.model} {fw.version}"
                try:
                    m.behaviour_for(fw.version)
                except ValidationError as exc:
                    problems.append(
                        f"{where}: behaviour: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})"
                    )
                for srv in fw.srvs_without:
                    if srv not in self.smets1_srvs or m.role not in self.smets1_srvs[srv].targets:
                        problems.append(
                            f"{where}: srvs_without lists {srv!r}, not a SMETS1 SRV for a {m.role}"
                        )
                for name in fw.defects:
                    info = self.defects.get(name)
                    if info is None or m.role not in info.roles:
                        problems.append(f"{where}: defect {name!r} is not a known {m.role} defect")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- queries -------------------------------------------------------------------------------------------
    def model(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.model == name:
                return m
        known = ", ".join(m.model for m in self.models)
        raise CatalogueError(f"unknown device model {name!r} (catalogue has: {known})")

    def find(self, manufacturer: str, model: str, hardware_version: str | None = None) -> ModelEntry:
        """The entry a lab file's device names (manufacturer and model must both match)."""
        entry = self.model(model)
        if entry.manufacturer != manufacturer:
            raise CatalogueError(f"model {model!r} is made by {entry.manufacturer!r}, not {manufacturer!r}")
        if hardware_version is not None and hardware_version not in entry.hardware_versions:
            raise CatalogueError(
                f"{model} has no hardware version {hardware_version!r} "
                f"(known: {', '.join(entry.hardware_versions)})"
            )
        return entry

    def role_srvs(self, role: Role) -> frozenset[str]:
        """Every SMETS1 SRV that targets ``role``."""
        return frozenset(s for s, info in self.smets1_srvs.items() if role in info.targets)

    def srvs_for(self, model: str | ModelEntry, firmware: str) -> frozenset[str]:
        entry = self._entry(model)
        return self.role_srvs(entry.role) - set(entry.firmware_entry(firmware).srvs_without)

    def defects_for_role(self, role: Role) -> frozenset[str]:
        return frozenset(n for n, info in self.defects.items() if role in info.roles)

    def impossible(self, name: str, model: str | ModelEntry, firmware: str) -> str | None:
        """Why defect ``name`` cannot occur on ``model`` at ``firmware`` (its role, or a capability it
        ``needs`` the device lacks), or ``None`` when it can."""
        entry, info = self._entry(model), self.defects[name]
        if entry.role not in info.roles:
            return f"{'an' if entry.role[0] in 'aeiou' else 'a'} {entry.role} cannot carry it"
        behaviour = entry.behaviour_for(firmware)
        for key, want in info.needs.items():
            have = getattr(behaviour, key)
            if (have != want) if isinstance(want, bool) else (have < want):
                rule = f"= {want}" if isinstance(want, bool) else f">= {want}"
                return f"{entry.model} {firmware} has {key} {have} (the defect needs {rule})"
        return None

    def defects_on(
        self, devices: Mapping[str, tuple[str, str]]
    ) -> tuple[dict[str, list[str]], dict[str, str]]:
        """For a DMC's devices (role -> (model, firmware)): each defect with the roles that can carry it,
        and ``{"role:name": why}`` for each defect its role has but the device cannot have."""
        roles: dict[str, list[str]] = {}
        impossible: dict[str, str] = {}
        for name, info in self.defects.items():
            roles[name] = []
            for role in info.roles:
                if role not in devices:
                    continue
                why = self.impossible(name, *devices[role])
                if why is None:
                    roles[name].append(role)
                else:
                    impossible[f"{role}:{name}"] = why
        return roles, impossible

    def resolve_defects(
        self, model: str | ModelEntry, firmware: str, extra: Iterable[str] = ()
    ) -> frozenset[str]:
        """The firmware's catalogue defects plus ``extra`` (per device, from the lab file).

        Raises :class:`UnknownDefectError` for a name the catalogue does not know or that the model's
        role cannot have, listing the defects that role can have.
        """
        entry = self._entry(model)
        out = set(entry.firmware_entry(firmware).defects)
        allowed = self.defects_for_role(entry.role)
        for name in extra:
            if name not in allowed:
                raise UnknownDefectError(name, sorted(allowed), entry.role)
            out.add(name)
        return frozenset(out)

    def profile(self, model: str | ModelEntry, firmware: str, extra: Iterable[str] = ()) -> Profile:
        """Everything firmware-dependent a device model needs (see :class:`~.base.Profile`)."""
        entry = self._entry(model)
        fw = entry.firmware_entry(firmware)
        return Profile(
            defects=self.resolve_defects(entry, firmware, extra),
            srvs=self.srvs_for(entry, firmware),
            behaviour=entry.behaviour_for(firmware),
            needs_firmware_upgrade_before_migration=fw.needs_firmware_upgrade_before_migration,
        )

    def _entry(self, model: str | ModelEntry) -> ModelEntry:
        return model if isinstance(model, ModelEntry) else self.model(model)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate a catalogue file (the packaged one by default, cached)."""
    if path is None:
        return _default()
    return _load(path)


@functools.cache
def _default() -> Catalogue:
    return _load(CATALOGUE_FILE)


def _load(path: Path) -> Catalogue:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Catalogue.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


def resolve_defects(model: str | ModelEntry, firmware: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Defects of ``model`` at ``firmware`` plus per-device ``extra`` ones, from the packaged catalogue."""
    return load_catalogue().resolve_defects(model, firmware, extra)
