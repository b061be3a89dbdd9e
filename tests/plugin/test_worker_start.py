"""What an xdist worker pays to start (issue 21 item 3: parallel start-up that does not eat the run).

Every worker loads the plugin, collects the packs and rebuilds the run's state before its first test;
on a 2-core lab PC four workers starting at once used to cost more than the tests. These checks keep
the cuts: loading the plugin's modules imports no device-protocol library (the fixture that first needs
a driver imports it), a readout-only meter driver does not import dlms-cosem, and a worker gets the lab
the controller parsed through ``workerinput`` instead of parsing the lab file again. bench/bench_parallel.py
measures the effect.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from harness.lab.inventory import Lab, lab_from_controller, lab_to_workers, load_lab
from tests.conftest import VIRTUAL_LAB

REPO = Path(__file__).resolve().parents[2]

#: Libraries under the drivers, each 25-300 ms of CPU to import: dlms-cosem (with structlog and rich),
#: pymodbus (instruments), cryptography (the route's signatures), lxml and signxml (DUIS).
HEAVY = ("dlms_cosem", "structlog", "pymodbus", "cryptography", "lxml", "signxml")


def _imported_after(code: str) -> list[str]:
    """The :data:`HEAVY` libraries a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.split()


def test_loading_the_plugin_imports_no_driver_library() -> None:
    """What a worker imports at configure: the plugin and every module it registers with ``--lab``."""
    modules = ", ".join(f"harness.plugin.{m}" for m in ("session", "collection", "results", "fixtures"))
    assert _imported_after(f"import pytest, harness.plugin, {modules}") == []


def test_a_readout_needs_no_dlms_library() -> None:
    """A meter driver and its (unopened) DLMS port are made without dlms-cosem: the DLMS client is
    imported when the first DLMS session opens, so a readout-only test never loads it."""
    code = (
        "from device_drivers.roles import EsmeDriver\n"
        "from device_drivers.protocols.meter_optical import MeterOptical\n"
        "from harness.plugin.links import LinkPool\n"
        "EsmeDriver('rig/esme', None, optical=MeterOptical('socket://127.0.0.1:9', device='rig/esme'))"
    )
    assert _imported_after(code) == []
    # ... and the DLMS client is still there when a session opens (same module, same errors).
    from device_drivers.protocols import dlms, dlms_errors, meter_optical

    assert dlms.DlmsLinkError is dlms_errors.DlmsLinkError is meter_optical.DlmsLinkError
    assert dlms.DlmsDeviceError is dlms_errors.DlmsDeviceError


def test_route_cannot_express_is_one_class() -> None:
    """The plugin recognises it from device_drivers.errors; packs import it from the route."""
    from device_drivers.errors import RouteCannotExpress
    from device_drivers.route import RouteCannotExpress as FromRoute

    assert FromRoute is RouteCannotExpress


def _fields_set(model: BaseModel, path: str = "lab") -> dict[str, frozenset[str]]:
    """Every nested model's ``model_fields_set``, by its path."""
    out = {path: frozenset(model.model_fields_set)}
    for name in type(model).model_fields:
        value: Any = getattr(model, name)
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list | tuple)
            else [(None, value)]
        )
        for key, item in items:
            if isinstance(item, BaseModel):
                out |= _fields_set(item, f"{path}.{name}" + ("" if key is None else f"[{key}]"))
    return out


@pytest.mark.parametrize("path", sorted((REPO / "labs").glob("*.yaml")), ids=lambda p: p.name)
def test_the_lab_a_worker_rebuilds_is_the_controllers(path: Path) -> None:
    lab = load_lab(path)
    rebuilt = lab_from_controller(lab_to_workers(lab))
    assert isinstance(rebuilt, Lab)
    assert rebuilt == lab
    assert rebuilt.model_dump(mode="json") == lab.model_dump(mode="json")
    assert _fields_set(rebuilt) == _fields_set(lab)  # defaults left unset stay unset


WORKER_TEST = """
from harness.lab.inventory import load_lab
from harness.plugin.state import _RUN_KEY

def test_worker_has_the_lab(request, lab, dmct_entry):
    # handed by the controller, not parsed from the file by this worker
    assert "dmct_lab" in request.config.workerinput
    assert lab == load_lab(request.config.stash[_RUN_KEY].lab_file)
    assert dmct_entry.id == "EPCL-VDMC1-D"
"""


def test_workers_get_the_controllers_lab(pytester: pytest.Pytester) -> None:
    pack = pytester.mkdir("wk")
    (pack / "pack.yaml").write_text(
        "id: wk\nname: w\nversion: '1'\ncapability_release: IOC\n"
        "tests: [test_w.py::test_worker_has_the_lab]\n"
    )
    (pack / "test_w.py").write_text(WORKER_TEST)
    results = pytester.path / "results"
    out = pytester.runpytest_subprocess(
        "wk", "--lab", str(VIRTUAL_LAB), "--results-dir", str(results), "-n", "1", "-p", "no:cacheprovider"
    )
    out.assert_outcomes(passed=1)
