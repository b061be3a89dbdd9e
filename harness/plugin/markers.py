"""The dmct markers, registered by their own ``pytest11`` entry point (``dmct_markers``).

Separate from the plugin proper (``dmct``) so that a pack still collects under ``--strict-markers`` when
the plugin is switched off (``-p no:dmct``) — as labgrid's markers do — and its tests are then skipped
with the reason instead of failing on missing lab fixtures. The names carry a ``dmct_`` prefix so they
cannot clash with another plugin's markers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: Marker name → the line ``pytest --markers`` shows.
MARKERS = {
    "dmct_requirement": "dmct_requirement(*ids): TTM requirement ids this test covers",
    "dmct_srv": "dmct_srv(number): the DUIS Service Request Variant exercised, e.g. '4.1.1'",
    "dmct_group": "dmct_group(name): the TTM functional group",
    "dmct_roles": "dmct_roles(*roles): device roles the test needs (ch, esme, gsme, ppmid, ihd)",
    "dmct_prepared_for": "dmct_prepared_for(name): run on the rig prepared for this negative path (lab file)",
}
PLUGIN = "dmct"  # the plugin proper's entry-point name
DISABLED = f"the dmct plugin is disabled (-p no:{PLUGIN}): pack tests need its lab fixtures"


def register(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)


def pytest_configure(config: pytest.Config) -> None:
    register(config)


def plugin_disabled(config: pytest.Config) -> bool:
    pm = config.pluginmanager
    return pm.is_blocked(PLUGIN) or not pm.has_plugin(PLUGIN)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the plugin, skip every pack test (a test under a pack manifest or with a dmct marker)."""
    if not plugin_disabled(config):
        return
    from harness.model.packs import find_pack_root

    roots: dict[Path, bool] = {}
    skip = pytest.mark.skip(reason=DISABLED)
    for item in items:
        directory = Path(item.path).parent
        if directory not in roots:
            roots[directory] = find_pack_root(directory) is not None
        if roots[directory] or any(m.name in MARKERS for m in item.iter_markers()):
            item.add_marker(skip)
