"""The dmct pytest plugin: lab options, markers, fixtures, and the results journal.

Registered once through the ``pytest11`` entry point. Inert unless ``--lab`` is given, so it costs
nothing in projects (including this one's own tests) that merely have dmct installed: this module
imports only pytest; with ``--lab`` it imports and registers the modules that do the work (session,
collection, results, fixtures), so a session without a lab never loads the drivers, the lab model or
the manifests (issue 21: +1.3 CPU-s per xdist worker otherwise).

With ``--lab`` it:
- validates the lab file and the chosen entry (bad input is one ``UsageError`` line, no traceback);
- creates ``results/<run-id>/`` and writes ``plan.json`` (from the pack manifests) and ``run.json``
  (lab, environment, device versions: the facts a DMCT Testing Report needs, 20.34 (a));
- gives tests the fixtures ``lab``, ``dmct_entry``, ``dmc``, ``rig``, ``transcript``, ``esme``;
- records every test execution as one line of ``results.jsonl`` in the interchange format, with its
  requirements, SRV, rig, duration and transcript path. Under pytest-xdist only the controller writes,
  from the reports workers send as each test finishes, so every result is written exactly once and a
  crashed worker loses nothing already finished;
- reports a test whose failure is an :class:`~device_drivers.errors.InfrastructureFault` as
  *blocked* (lab trouble), never *failed* (a product failure).
"""

from __future__ import annotations

import importlib

import pytest

from harness.plugin.markers import MARKERS as MARKERS
from harness.plugin.markers import register as _register_markers

#: The markers' own entry point (harness/plugin/markers.py), so ``-p no:dmct`` still collects the packs.
MARKERS_PLUGIN = "dmct_markers"

#: The modules registered as plugins of a session with ``--lab``, in this order.
ACTIVE_MODULES = ("session", "collection", "results", "fixtures")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dmct", "SMETS1 DMC testing (dmct)")
    group.addoption("--lab", metavar="FILE", help="lab inventory (labs/*.yaml); enables dmct")
    group.addoption("--entry", metavar="ID", action="append", help="planned EPCL entry to test")
    group.addoption("--run-id", metavar="ID", help="run id (default: UTC time + random suffix)")
    group.addoption("--results-dir", metavar="DIR", help="where runs are written (default results/)")
    group.addoption(
        "--resume",
        action="store_true",
        help="continue the existing run --run-id (its plan, facts and journal are checked first)",
    )
    group.addoption("--lab-endpoints", metavar="FILE", help="endpoints file of a running virtual lab")
    group.addoption(
        "--lease-wait",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="how long to wait for a rig leased by another session (default 30; 0 = refuse at once)",
    )
    group.addoption(
        "--share-rigs",
        action="store_true",
        help="let more xdist workers than rigs share them, one test at a time (only for packs whose tests "
        "do not depend on their order on a rig; the standard packs do, so -n is capped at the rigs)",
    )
    group.addoption(
        "--ttm-url",
        metavar="TEMPLATE",
        help="with --alluredir: where a requirement link points, {} = the requirement id "
        "(default ttm.html#{}: the page `dmct ttm --html` writes beside the Allure report)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(MARKERS_PLUGIN):  # loaded without its entry points
        _register_markers(config)
    lab_opt = config.getoption("--lab")
    if not lab_opt:
        return
    for name in ACTIVE_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, f"dmct.{name}")
    if getattr(config.option, "allure_report_dir", None):  # allure-pytest writes results
        module = importlib.import_module(f"{__name__}.allure_labels")
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, "dmct.allure_labels")
    importlib.import_module(f"{__name__}.session").start(config, lab_opt)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` means one worker per rig that hosts the entry's DMC (asked before ``pytest_configure``)."""
    if not config.getoption("--lab", None):
        return None
    auto: int | None = importlib.import_module(f"{__name__}.session").auto_num_workers(config)
    return auto
