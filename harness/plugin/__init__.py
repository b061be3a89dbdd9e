"""The dmct pytest plugin: lab options, markers, fixtures, and the results journal.

Registered once through the ``pytest11`` entry point. Inert unless ``--lab`` is given, so it costs
nothing in projects (including this one's own tests) that merely have dmct installed.

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

# pytest finds a plugin's hooks and fixtures among its module's attributes: the package re-exports
# those of its modules (the entry point, ``harness.plugin``, is unchanged).
from harness.plugin.collection import pytest_collection_modifyitems
from harness.plugin.fixtures import (
    _route_session,
    ch,
    dmc,
    dmct_entry,
    dmct_run_dir,
    esme,
    gsme,
    ihd,
    instruments,
    lab,
    links,
    ppmid,
    rig,
    route,
    transcript,
    utrn_source,
)
from harness.plugin.links import LinkPool
from harness.plugin.results import (
    pytest_report_teststatus,
    pytest_runtest_logreport,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_sessionstart,
)
from harness.plugin.session import (
    pytest_addoption,
    pytest_configure,
    pytest_configure_node,
    pytest_report_header,
    pytest_unconfigure,
    pytest_xdist_auto_num_workers,
)
from harness.plugin.state import MARKERS

__all__ = [
    "MARKERS",
    "LinkPool",
    "_route_session",
    "ch",
    "dmc",
    "dmct_entry",
    "dmct_run_dir",
    "esme",
    "gsme",
    "ihd",
    "instruments",
    "lab",
    "links",
    "ppmid",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_report_header",
    "pytest_report_teststatus",
    "pytest_runtest_logreport",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_unconfigure",
    "pytest_xdist_auto_num_workers",
    "rig",
    "route",
    "transcript",
    "utrn_source",
]
