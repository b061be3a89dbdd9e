"""The route fixture: migrate the virtual rig through the S1SP, then an SRV read agrees with the meter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.model.interchange import Outcome, iter_results
from tests.conftest import RunningLab, run_pack, write_pack

PACK_TEST = """
from decimal import Decimal

ESME = "00-1A-2B-FF-FE-00-00-02"

def test_migrate_then_read(route, esme):
    result = route.migrate("rig-1", user="supplier")
    assert result.migrated, result
    inventory = route.inventory(ESME, user="supplier")
    assert inventory, inventory
    srv = route.submit("4.1.1", ESME, {}, user="supplier")
    assert srv.code == "I0", srv
    assert srv.result, srv
    optical_total = esme.read_import_registers().total
    assert optical_total > 0

def test_ch_through_route(route, ch):
    from device_drivers.route import RouteError
    try:
        route.migrate("rig-1", user="supplier")
    except RouteError as exc:  # the other test of this session migrated it already
        assert exc.code == "E14", exc
    assert ch.firmware_version() == "2.1.0"
    ids = {d.get("eui") for d in ch.device_log()}
    assert "00-1A-2B-FF-FE-00-00-02" in ids, ids
"""


def test_route_fixture_against_virtual_lab(tmp_path: Path, virtual_lab: Callable[..., RunningLab]) -> None:
    running = virtual_lab()
    pack = write_pack(tmp_path, "routepack", PACK_TEST, [
        {"id": "test_pack.py::test_migrate_then_read", "roles": ["esme"]},
        {"id": "test_pack.py::test_ch_through_route", "roles": ["ch"]},
    ])  # fmt: skip
    out = run_pack(pack, tmp_path / "r", "rt", endpoints=running.endpoints, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    records = list(iter_results(tmp_path / "r" / "rt" / "results.jsonl"))
    assert len(records) == 2 and {r.outcome for r in records} == {Outcome.PASSED}
    transcript = "".join(p.read_text() for p in (tmp_path / "r" / "rt" / "transcripts").rglob("*.jsonl"))
    assert "service-route" in transcript
