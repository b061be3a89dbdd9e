"""Test parameters that carry the dmct marks of a planned test, shared by both standard packs.

A test parametrised by device role is one planned test per role (``test_x[esme]``), each with the role
it needs (a DMC lacking it makes that test not applicable) and, where the whole test does not say them,
its SRV, functional group and requirements.
"""

from __future__ import annotations

from typing import Any

import pytest


def role_marks(
    role: str,
    *,
    srv: str | None = None,
    group: str | None = None,
    requirements: tuple[str, ...] = (),
    also: tuple[str, ...] = (),
) -> list[Any]:
    """The dmct marks of a test for ``role``: the roles it needs (``role`` and ``also``) and, when given,
    its SRV, group and requirements (for parameters that carry more than the role)."""
    marks = [pytest.mark.dmct_roles(role, *also)]
    if srv is not None:
        marks.append(pytest.mark.dmct_srv(srv))
    if group is not None:
        marks.append(pytest.mark.dmct_group(group))
    if requirements:
        marks.append(pytest.mark.dmct_requirement(*requirements))
    return marks


def role_param(
    role: str,
    *,
    srv: str | None = None,
    group: str | None = None,
    requirements: tuple[str, ...] = (),
    also: tuple[str, ...] = (),
) -> Any:
    """A ``role`` parameter with its :func:`role_marks`."""
    return pytest.param(
        role, id=role, marks=role_marks(role, srv=srv, group=group, requirements=requirements, also=also)
    )


def by_role(*roles: str) -> list[Any]:
    """One parameter per role, each marked with the role it needs."""
    return [role_param(role) for role in roles]
