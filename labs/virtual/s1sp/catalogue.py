"""The route's SRV catalogue (``srv_catalogue.yaml``), loaded and validated with pydantic.

Which SRVs apply to SMETS1 is an assessment, not a confirmed fact (SMETS1 notes), so it is data a lab
can correct without touching code. The route consults it for every request: unknown SRV (E4), not
applicable (E13), critical (signature and DCO gate), future-dating pattern, eligible roles (E7) and
target device types.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CATALOGUE_FILE = Path(__file__).with_name("srv_catalogue.yaml")
DeviceType = Literal["ESME", "GSME", "CHF", "GPF", "PPMID", "IHD", "HCALCS", "CAD"]
SMETS1_DEVICE_TYPES: tuple[str, ...] = ("CHF", "ESME", "GSME", "PPMID", "IHD")
UserRole = Literal["IS", "GS", "ED", "GT", "ES", "RSA", "OU"]
_SRV = re.compile(r"^\d+(\.\d+){1,2}$")


class SrvCatalogueError(Exception):
    """The SRV catalogue file is unreadable or inconsistent."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SrvEntry(_Strict):
    name: str = Field(min_length=1)
    critical: bool
    future_dating: Literal["none", "device", "dsp", "dsp_and_device"]
    dcc_scheduled: bool
    non_device: bool
    roles: tuple[UserRole, ...]
    targets: tuple[DeviceType, ...]
    smets1: Literal["applicable", "not_applicable", "unassessed"]
    reason: str | None = None

    @property
    def applicable(self) -> bool:
        return self.smets1 == "applicable"

    @property
    def future_datable(self) -> bool:
        return self.future_dating != "none"


class DccAlertInfo(_Strict):
    name: str
    confirmed: bool


class SrvCatalogue(_Strict):
    catalogue_version: int
    s1sp_id: str = Field(min_length=1, max_length=30)
    region: str
    role_device_types: dict[UserRole, tuple[DeviceType, ...]]
    dcc_alerts: dict[str, DccAlertInfo]
    #: The DCC alert sent when the DSP/DCO gate refuses a request (E7-E10); one of ``dcc_alerts``.
    dco_refusal_alert: str
    srvs: dict[str, SrvEntry]

    @model_validator(mode="after")
    def _consistent(self) -> SrvCatalogue:
        problems = [f"SRV id {s!r} is malformed" for s in self.srvs if not _SRV.match(s)]
        if self.dco_refusal_alert not in self.dcc_alerts:
            problems.append(f"dco_refusal_alert {self.dco_refusal_alert!r} is not one of dcc_alerts")
        for srv, entry in self.srvs.items():
            if entry.applicable:
                bad = [t for t in entry.targets if t not in SMETS1_DEVICE_TYPES]
                if bad or not entry.targets:
                    problems.append(
                        f"{srv}: a SMETS1-applicable SRV needs SMETS1 targets (has {bad or 'none'})"
                    )
            if entry.smets1 == "not_applicable" and not entry.reason:
                problems.append(f"{srv}: not_applicable needs a reason")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def applicable(self) -> list[str]:
        return [s for s, e in self.srvs.items() if e.applicable]

    def may_act_on(self, role: str, device_type: str) -> bool:
        allowed = self.role_device_types.get(role)  # type: ignore[call-overload]
        return allowed is not None and device_type in allowed


def load_srv_catalogue(path: Path | None = None) -> SrvCatalogue:
    """The packaged catalogue (cached) or the one at ``path``."""
    return _default() if path is None else _load(path)


@functools.cache
def _default() -> SrvCatalogue:
    return _load(CATALOGUE_FILE)


def _load(path: Path) -> SrvCatalogue:
    try:
        return SrvCatalogue.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SrvCatalogueError(f"{path}: {exc}") from exc
