"""Allure labels for a run with ``--alluredir``: each test filed the way a lab browses (pack, functional
group, SRV, requirements with links to the TTM page, linked Testing Issues), its transcript attached to
the test body, and pytest's anonymous fixture finalizers kept out of the teardown steps.

Registered (by :mod:`harness.plugin`) only when allure-pytest writes results, so a run without Allure
pays nothing per test for it: these hooks run for every test and every fixture.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import quote

import pytest

from device_drivers.transcript import Transcript
from harness.errors import DmctInputError
from harness.plugin.state import _RUN_KEY, _Run, pack_meta

#: Where a requirement link points (``{}`` = the requirement id): the TTM page ``dmct ttm --html`` writes,
#: which ``make report`` puts beside the Allure report's ``index.html``.
TTM_URL = "ttm.html#{}"


def _attach_transcript(item: pytest.Item) -> None:
    """With ``--alluredir``: the test's transcript as an attachment of the test body (not of a fixture's
    teardown step, where a reader would not look for it)."""
    record = getattr(item, "funcargs", {}).get("transcript")
    if not isinstance(record, Transcript) or not record.entries:
        return
    import allure

    body = "".join(entry.to_json() + "\n" for entry in record.entries)
    allure.attach(body, name="transcript", attachment_type="text/plain", extension="jsonl")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """With ``--alluredir``: allure-pytest makes every fixture finalizer a teardown step; pytest's own
    anonymous ones show as ``<lambda>`` steps of status *unknown*. Unwrap those: only named teardowns stay."""
    try:
        return (yield)
    finally:  # also when the fixture raised: its finalizers still run
        finalizers = getattr(fixturedef, "_finalizers", [])
        for index, finalizer in enumerate(finalizers):
            if str(getattr(finalizer, "_name", "")).endswith("::<lambda>"):
                finalizers[index] = getattr(finalizer, "_fixture_function", finalizer)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """With ``--alluredir``: label the test the way a lab browses (pack → group → SRV, requirements)."""
    run = item.config.stash.get(_RUN_KEY, None)
    meta = pack_meta(item.user_properties)
    if run is None or meta is None:
        return
    import allure

    manifest = next(m for m in run.packs.values() if m.id == meta["pack"])
    allure.dynamic.epic(manifest.name)
    if meta.get("group"):
        allure.dynamic.feature(meta["group"])
    if meta.get("srv"):
        allure.dynamic.story(f"SRV {meta['srv']}")
    for requirement in meta["requirements"]:
        allure.dynamic.label("requirement", requirement)
    allure.dynamic.label("entry", run.entry.id)
    allure.dynamic.label("dmc", run.entry.dmc)
    allure.dynamic.parameter("pack version", manifest.version)
    ttm_url = str(item.config.getoption("--ttm-url", None) or TTM_URL)
    for requirement in meta["requirements"]:  # a TMS link per requirement: the TTM page's row
        allure.dynamic.link(ttm_url.replace("{}", quote(requirement)), link_type="tms", name=requirement)
    for issue_id, title in _linked_issues(run).get((meta["entry"], meta["pack"], meta["test"]), []):
        allure.dynamic.issue(f"dmct-issue:{issue_id}", name=f"{issue_id} {title}".strip())


def _linked_issues(run: _Run) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """Testing Issues linked to each (entry, pack, test), read once from the project's issue log."""
    if run.issue_links is None:
        run.issue_links = {}
        try:
            from harness.store.issue_log import open_store

            with open_store(None, results_dir=run.run_dir.parent, create=False) as store:
                for issue in store.export_issues():
                    for ref in issue.tests:
                        key = (ref.entry, ref.pack, ref.test)
                        run.issue_links.setdefault(key, []).append((issue.id, issue.title))
        except DmctInputError:
            pass  # no issue log yet: nothing to link
    return run.issue_links


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call":
        _attach_transcript(item)
    return report
