"""The route fixture: migrate the virtual rig through the S1SP, then an SRV read agrees with the meter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness.interchange import Outcome, iter_results
from tests.conftest import REPO, VIRTUAL_LAB, RunningLab

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
    pack = tmp_path / "routepack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(
        "id: routepack\nname: r\nversion: '1'\ncapability_release: IOC\ntests:\n"
        "  - {id: test_rp.py::test_migrate_then_read, roles: [esme]}\n"
        "  - {id: test_rp.py::test_ch_through_route, roles: [ch]}\n"
    )
    (pack / "test_rp.py").write_text(PACK_TEST)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(pack), "--lab", str(VIRTUAL_LAB),
         "--lab-endpoints", str(running.endpoints), "--results-dir", str(tmp_path / "r"), "--run-id", "rt"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=os.environ,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    records = list(iter_results(tmp_path / "r" / "rt" / "results.jsonl"))
    assert len(records) == 2 and {r.outcome for r in records} == {Outcome.PASSED}
    transcript = "".join(p.read_text() for p in (tmp_path / "r" / "rt" / "transcripts").rglob("*.jsonl"))
    assert "service-route" in transcript
