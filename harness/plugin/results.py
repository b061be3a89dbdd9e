"""Result capture: one journal line per test, written by the controller, exactly once.

Workers send their reports as each test finishes; the controller folds the setup/call/teardown
phases into one outcome. An :class:`~device_drivers.errors.InfrastructureFault` makes a test
*blocked*, never *failed* (9.4 (c)); a crashed worker's unfinished test is journalled blocked.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import pytest

from device_drivers.errors import InfrastructureFault, RouteCannotExpress
from harness.model.interchange import Outcome, ResultRecord
from harness.plugin.state import (
    _BLOCKED,
    _EVIDENCE,
    _EXCEPTION,
    _NOT_APPLICABLE,
    _PROP,
    _RUN_KEY,
    _Run,
    pack_meta,
)

# ------------------------------------------------------------------------------------ reporting


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(RouteCannotExpress):
        _not_applicable_on_route(item, call, report)
    elif call.excinfo is not None and call.excinfo.errisinstance(InfrastructureFault):
        report.user_properties.append((_BLOCKED, str(call.excinfo.value)))
    elif call.excinfo is not None and report.failed:
        report.user_properties.append((_EXCEPTION, exception_name(call.excinfo.type)))
    return report


def _not_applicable_on_route(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> None:
    """The route cannot express what the test sends (:class:`RouteCannotExpress`): the test is *not
    applicable* on this route — a skip with the route's reason, not a failure of the product."""
    assert call.excinfo is not None
    route = getattr(call.excinfo.value, "route", "") or "this"
    reason = f"not applicable: on the {route} route, {call.excinfo.value}"
    _, lineno, _ = item.location
    report.outcome = "skipped"
    report.longrepr = (str(item.path), (lineno or 0) + 1, f"Skipped: {reason}")
    report.user_properties.append((_NOT_APPLICABLE, reason))
    item.user_properties.append((_NOT_APPLICABLE, reason))  # the teardown report, which is journalled


def exception_name(cls: type[BaseException]) -> str:
    """``AssertionError`` for a builtin, ``device_drivers.errors.DeviceError`` otherwise (as JUnit
    tools show a failure's type: the exception's class)."""
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    props = getattr(report, "user_properties", ())  # collection reports have none
    if report.failed and any(k == _BLOCKED for k, _ in props):
        return "blocked", "B", "BLOCKED"
    if report.skipped and any(k == _NOT_APPLICABLE for k, _ in props):
        return "not_applicable", "n", "N/A"
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    """pytest-xdist: a worker died while running ``crashitem``. Its journal line says *blocked* (the
    lab, not the product, stopped it: 9.4 (c)), so the console must say so too, not FAILED."""
    report.user_properties.append((_BLOCKED, "the worker running this test stopped before it finished"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the phases of each test; on teardown, write its one journal line (controller only).

    The metadata (JSON) is read once per test, at teardown — from the dict collection kept for it when
    this process collected the test, parsed otherwise (an xdist worker's); the set-up and call phases
    only look for its key (a per-phase parse was a third of the plugin's cost per test)."""
    run = _current_run
    if run is None or run.journal is None:
        return
    if not any(k == _PROP for k, _ in report.user_properties):
        return
    phases = run.phases.setdefault(report.nodeid, [])
    phases.append(report)
    if report.when != "teardown":
        return
    del run.phases[report.nodeid]
    props = _props(report)
    raw = props[_PROP]
    meta = run.metas.pop(raw, None) if isinstance(raw, str) else None
    if meta is None:
        meta = pack_meta(report.user_properties)
    assert meta is not None  # the key is there (checked above)
    outcome, reason = _outcome(phases)
    exception = next((e for e in (_prop(p, _EXCEPTION) for p in phases) if e), None)
    extra: dict[str, Any] = {
        "run": run.run_id,
        "nodeid": meta["nodeid"],
        "requirements": meta["requirements"],
        "duration_s": round(sum(p.duration for p in phases), 6),
        "rig": props.get("dmct_rig"),
        "worker": _worker_of(report),
    }
    for key in ("srv", "group"):
        if meta.get(key):
            extra[key] = meta[key]
    if reason:
        extra["reason"] = reason
    if exception and outcome in (Outcome.FAILED, Outcome.ERROR):
        extra["exception"] = exception
    if outcome is Outcome.SKIPPED and props.get(_NOT_APPLICABLE):
        extra["not_applicable"] = True
    evidence = props.get(_EVIDENCE)
    if evidence:
        extra["evidence"] = [evidence]
    extra = {k: v for k, v in extra.items() if v is not None}
    record = ResultRecord(meta["entry"], meta["pack"], meta["test"], outcome, datetime.now(UTC), extra)
    run.journal.append(record)
    run.counts[outcome.value] = run.counts.get(outcome.value, 0) + 1


def _outcome(phases: list[pytest.TestReport]) -> tuple[Outcome, str | None]:
    """Fold setup/call/teardown reports into one outcome (and a reason when not passed)."""
    for rep in phases:
        blocked = _prop(rep, _BLOCKED)
        if blocked:
            return Outcome.BLOCKED, str(blocked)
    by_when = {rep.when: rep for rep in phases}
    setup, call, teardown = by_when.get("setup"), by_when.get("call"), by_when.get("teardown")
    if setup is not None and setup.failed:
        return Outcome.ERROR, f"set-up error: {_short(setup)}"
    if setup is not None and setup.skipped:
        return Outcome.SKIPPED, _skip_reason(setup)
    if call is not None and call.skipped:
        return Outcome.SKIPPED, _skip_reason(call)
    if call is not None and call.failed:
        return Outcome.FAILED, _short(call)
    if teardown is not None and teardown.failed:
        return Outcome.ERROR, f"teardown error: {_short(teardown)}"
    if call is None:
        return Outcome.ERROR, "test did not run its call phase"
    return Outcome.PASSED, None


def _short(rep: pytest.TestReport) -> str:
    crash = getattr(rep.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(rep.longrepr)
    return text.strip().splitlines()[0][:300] if text.strip() else "failed"


def _skip_reason(rep: pytest.TestReport) -> str:
    if isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        return str(rep.longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


def _worker_of(report: pytest.TestReport) -> str | None:
    """The xdist worker that ran the test (the controller attaches ``node`` to relayed reports)."""
    node = getattr(report, "node", None)
    workerinput = getattr(node, "workerinput", None)
    return (
        str(workerinput["workerid"]) if isinstance(workerinput, dict) and "workerid" in workerinput else None
    )


def _prop(report: pytest.TestReport, key: str) -> Any:
    return next((v for k, v in report.user_properties if k == key), None)


def _props(report: pytest.TestReport) -> dict[str, Any]:
    """Every user property of the report in one pass, the first value of a key winning (as ``_prop``)."""
    out: dict[str, Any] = {}
    for k, v in report.user_properties:
        out.setdefault(k, v)
    return out


# The controller's run, for the logreport hook (which receives no config).
_current_run: _Run | None = None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _current_run
    _current_run = session.config.stash.get(_RUN_KEY, None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    global _current_run
    run = _current_run
    if run is not None and run.journal is not None:
        # A test with no teardown report (its worker crashed) still gets its line: blocked.
        for phases in list(run.phases.values()):
            phases.append(_synthetic_teardown(phases[-1]))
            pytest_runtest_logreport(phases[-1])
    _current_run = None


def _synthetic_teardown(last: pytest.TestReport) -> pytest.TestReport:
    props = [*last.user_properties, (_BLOCKED, "the worker running this test stopped before it finished")]
    return pytest.TestReport(
        last.nodeid, last.location, {}, "failed", None, "teardown", user_properties=props
    )
