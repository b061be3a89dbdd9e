"""Every planned test of the standard packs says what it checks and against what (issue 14).

A test that passes a broken meter signs a false report; the first defence is a reviewer who can see,
in the test's own docstring, the requirement it checks (one of the TTM requirements the manifest
gives it, e.g. ``SRVT-6.8`` for ``SRVT-6.8-ESME`` or ``MT-SMOKE``) and the oracle it compares the
device with (``Compared with: ...`` or an ``oracle`` module) — so an agreement-only check shows.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.model.packs import load_manifest
from tests.conftest import REPO

PACKS = {"srvt": "service_reference_variant", "dormant-mt": "dormant_migration"}
ORACLE = re.compile(r"[Cc]ompared\s+with|[Oo]racle")
PARAM = re.compile(r"\[(?P<param>[^\]]*)\]$")


def _function(package: str, test_id: str) -> Callable[..., Any]:
    """The function whose docstring documents ``test_id``: an SRVT case's own function for the
    generic ``test_positive``/``test_future_dated`` runners (they dispatch by SRV), else the test."""
    module_name, _, rest = test_id.partition("::")
    name = PARAM.sub("", rest)
    module = importlib.import_module(f"test_packs.{package}.{module_name.removesuffix('.py')}")
    match = PARAM.search(rest)
    srv = match.group("param").rsplit("-", 1)[0] if match else ""
    if name == "test_positive":
        return module.CASES[srv].run  # type: ignore[no-any-return]
    if name == "test_future_dated":
        return module.FUTURE_RUN[srv]  # type: ignore[no-any-return]
    return getattr(module, name)  # type: ignore[no-any-return]


def _planned() -> Iterator[tuple[str, str, list[str]]]:
    for pack, package in PACKS.items():
        manifest = load_manifest(REPO / "test_packs" / package)
        assert manifest.id == pack
        for planned in manifest.planned:
            yield package, planned.id, planned.requirements


def _names(requirement: str) -> set[str]:
    """A requirement and its SRV-level name (``SRVT-6.8-ESME`` is documented as ``SRVT-6.8``)."""
    head, _, tail = requirement.rpartition("-")
    srv_level = bool(head) and tail.isalpha() and tail.isupper() and "." in head
    return {requirement, head} if srv_level else {requirement}


def test_every_planned_test_names_its_requirement_and_oracle() -> None:
    missing: list[str] = []
    seen = 0
    for package, test_id, requirements in _planned():
        doc = inspect.getdoc(_function(package, test_id)) or ""
        seen += 1
        if not requirements:
            missing.append(f"{package}/{test_id}: the manifest gives it no requirement")
            continue
        if not any(name in doc for r in requirements for name in _names(r)):
            missing.append(f"{package}/{test_id}: docstring names none of {requirements}")
        if not ORACLE.search(doc):
            missing.append(f"{package}/{test_id}: docstring names no oracle ('Compared with:' or 'oracle')")
    assert seen > 200, f"only {seen} planned tests found"
    assert not missing, "\n".join(sorted(set(missing)))


@pytest.mark.parametrize(
    ("requirement", "names"),
    [("SRVT-6.8-ESME", {"SRVT-6.8-ESME", "SRVT-6.8"}), ("MT-SMOKE", {"MT-SMOKE"}),
     ("SRVT-FD-1.2.1", {"SRVT-FD-1.2.1"}), ("MISUSE-OLD-CREDENTIAL", {"MISUSE-OLD-CREDENTIAL"})],
)  # fmt: skip
def test_requirement_names(requirement: str, names: set[str]) -> None:
    assert _names(requirement) == names
