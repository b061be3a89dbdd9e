"""The packs' API: the route interface, the plug-in point, data files, and the import boundaries."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from device_drivers.route import (
    ROUTE_ENTRY_POINT_GROUP,
    ServiceRoute,
    SrvResult,
    VirtualServiceRoute,
    load_route,
)
from labs.virtual.devices import load_catalogue
from labs.virtual.s1sp import load_srv_catalogue
from labs.virtual.s1sp.executors import EXECUTORS

from .conftest import RouteLab

REPO = Path(__file__).resolve().parents[2]


def test_load_route_builds_the_virtual_route(lab: RouteLab) -> None:
    route = load_route("virtual", url=lab.url, keys_dir=lab.keys_dir, timeout=5.0, poll_s=0.02)
    assert isinstance(route, VirtualServiceRoute)
    lab.routes.append(route)
    assert route.inventory(lab.inst().esme.device_id, user="supplier")["status"] == "Commissioned"


class FakeRoute(ServiceRoute):
    def __init__(self, **config: Any) -> None:
        self.config = config

    def submit(self, srv: str, device: str, params: Any = None, **kw: Any) -> SrvResult:
        return SrvResult("x", srv, device, "I0", result={"echo": self.config})

    def wait_result(self, request_id: str, **kw: Any) -> SrvResult:
        raise NotImplementedError

    def wait_alerts(self, predicate: Any, timeout: float, *, count: int = 1) -> list[Any]:
        return []

    def migrate(self, rig: str, **kw: Any) -> Any:
        raise NotImplementedError


def test_a_lab_plugs_in_its_own_route_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = importlib.metadata.EntryPoint("acme", f"{__name__}:FakeRoute", ROUTE_ENTRY_POINT_GROUP)

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return [ep] if group == ROUTE_ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    route = load_route("acme", bridge="tcp://bridge:1")
    assert isinstance(route, FakeRoute)
    assert route.inventory("dev", user="u") == {"echo": {"bridge": "tcp://bridge:1"}}
    with pytest.raises(LookupError, match="acme"):
        load_route("nonesuch")


def test_srv_catalogue_matches_the_matrix_facts() -> None:
    cat = load_srv_catalogue()
    assert len(cat.srvs) == 129
    assert sum(1 for e in cat.srvs.values() if e.critical) == 37
    applicable = set(cat.applicable())
    assert applicable == set(EXECUTORS)
    assert applicable == set(load_catalogue().smets1_srvs)  # the device catalogue agrees
    for srv in ("6.28", "6.15.2", "8.1.1", "8.14.1", "12.1"):
        assert cat.srvs[srv].smets1 == "not_applicable" and cat.srvs[srv].reason
    assert cat.srvs["1.1.1"].critical and cat.srvs["1.1.1"].future_dating == "device"
    assert cat.srvs["3.1"].future_dating == "dsp" and not cat.srvs["3.1"].critical


def test_key_files_for_the_harness(lab: RouteLab) -> None:
    index = json.loads((lab.keys_dir / "keys.json").read_text())
    assert set(index["users"]) == {"supplier", "network_operator", "gas_transporter", "supplier_gs"}
    assert index["users"]["supplier"]["roles"] == ["IS", "GS"]
    # the supplier's User ID for its Gas Supplier role alone (the DCC issues one per User Role)
    gs = index["users"]["supplier_gs"]
    assert (gs["roles"], gs["party"]) == (["GS"], "supplier")
    assert gs["user_id"] != index["users"]["supplier"]["user_id"]
    key = lab.keys_dir / index["users"]["supplier"]["key"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (lab.keys_dir / index["s1sp_cert"]).read_text().startswith("-----BEGIN CERTIFICATE-----")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_simulator_and_client_stay_independent() -> None:
    simulator = [
        *(REPO / "labs" / "virtual" / "s1sp").glob("*.py"),
        REPO / "labs" / "virtual" / "display_objects.py",
    ]
    for path in simulator:
        bad = {m for m in _imports(path) if m.startswith(("device_drivers", "harness"))}
        assert not bad, f"{path.name} imports {bad}"
    for path in (
        REPO / "device_drivers" / "route.py",
        REPO / "device_drivers" / "lab_control.py",
        REPO / "device_drivers" / "protocols" / "service_route.py",
        REPO / "device_drivers" / "protocols" / "display.py",
    ):
        bad = {m for m in _imports(path) if m.startswith(("labs", "harness"))}
        assert not bad, f"{path.name} imports {bad}"
