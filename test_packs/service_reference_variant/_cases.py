"""The SRVT case table: what each SMETS1 SRV pack test does, keyed by SRV, with the roles it targets.

A case is registered with :func:`case` (SRV, TTM functional group, target roles) and becomes one
parametrised test per role (``test_srv.py::test_positive[4.1.1-esme]``): the manifest lists those ids.
``also`` names further roles a role's variant needs (the CH's join test joins the ESME).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from test_packs.service_reference_variant._srvt import ROLE_TYPE, SrvtRig

Run = Callable[[SrvtRig, str], None]


@dataclass(frozen=True)
class SrvCase:
    srv: str
    group: str
    roles: tuple[str, ...]
    run: Run
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requirement_type: dict[str, str] = field(default_factory=dict)  # role -> TTM type, if not ROLE_TYPE

    def requirement(self, role: str) -> str:
        return f"SRVT-{self.srv}-{self.requirement_type.get(role, ROLE_TYPE[role])}"

    def needs(self, role: str) -> list[str]:
        """The device roles the variant needs (a pseudo-role such as ``inventory`` is not one)."""
        own = [] if role == "inventory" else [role]
        return [*own, *self.also.get(role, ())]


def srv_key(srv: str) -> tuple[int, ...]:
    return tuple(int(p) for p in srv.split("."))


class CaseTable:
    def __init__(self) -> None:
        self.cases: dict[str, SrvCase] = {}

    def case(
        self, srv: str, group: str, *roles: str, also: Mapping[str, tuple[str, ...]] | None = None,
        requirement_type: dict[str, str] | None = None,
    ) -> Callable[[Run], Run]:  # fmt: skip
        def register(fn: Run) -> Run:
            if srv in self.cases:
                raise ValueError(f"two cases for SRV {srv}")
            self.cases[srv] = SrvCase(srv, group, roles, fn, dict(also or {}), requirement_type or {})
            return fn

        return register

    def params(self) -> list[Any]:
        out = []
        for srv in sorted(self.cases, key=srv_key):
            c = self.cases[srv]
            for role in c.roles:
                out.append(
                    pytest.param(
                        srv,
                        role,
                        id=f"{srv}-{role}",
                        marks=[
                            pytest.mark.dmct_srv(srv),
                            pytest.mark.dmct_group(c.group),
                            pytest.mark.dmct_requirement(c.requirement(role)),
                            pytest.mark.dmct_roles(*c.needs(role)),
                        ],
                    )
                )
        return out
