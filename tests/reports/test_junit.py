"""`dmct report junit` read the way CI tools read it: the JUnit XSD (lxml) and junitparser.

The schema is the Jenkins xUnit plugin's junit-10.xsd, which pytest's own ``--junitxml`` follows
(:mod:`tests.reports.junit_schema` fetches it from pytest's sdist).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from lxml import etree

from harness.cli import main
from tests.reports.dataset import OK
from tests.reports.junit_schema import junit_xsd


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    path, why = junit_xsd()
    if path is None:
        pytest.skip(f"the JUnit XSD could not be had ({why}); set $DMCT_JUNIT_XSD to a copy")
    return etree.XMLSchema(etree.parse(str(path)))


def _valid(schema: etree.XMLSchema, path: str) -> None:
    doc = etree.parse(path)
    assert schema.validate(doc), [str(e) for e in schema.error_log][:5]


def _cases(path: str) -> dict[str, object]:
    xml = JUnitXml.fromfile(path)
    return {case.name: case for suite in xml for case in suite}


def test_junit_validates_against_the_ci_schema(ds: dict[str, Path], schema: etree.XMLSchema) -> None:
    assert main(["report", "junit", "--run", str(ds["R1"]), "-o", "j.xml"]) == 0
    _valid(schema, "j.xml")
    xml = JUnitXml.fromfile("j.xml")
    assert (xml.tests, xml.failures, xml.errors) == (10, 1, 0)
    suites = {s.name: s for s in xml}
    assert set(suites) == {f"{OK}/dormant-mt", f"{OK}/srvt"}
    props = {p.name: p.value for p in suites[f"{OK}/srvt"].properties()}
    assert props["lab"] == "acme-lab" and props["entry.id"] == OK
    assert props["dmc.esme.firmware_version"] == "1.0.0"
    assert props["dcc_system.S1SP"] == "4.2.0" and props["pack.srvt.version"] == "2.0.1"
    assert suites[f"{OK}/srvt"].skipped == 1 and suites[f"{OK}/dormant-mt"].failures == 1


def test_failures_and_skips_read_like_pytests(ds: dict[str, Path], schema: etree.XMLSchema) -> None:
    assert main(["report", "junit", "--run", str(ds["R1"]), "-o", "j.xml"]) == 0
    cases = _cases("j.xml")
    (failure,) = cases["mt-03"].result  # type: ignore[attr-defined]
    assert isinstance(failure, Failure)
    assert failure.type == "AssertionError" and failure.message == "credentials rejected"
    assert failure.text == "credentials rejected"
    (blocked,) = cases["srvt-6.2.4"].result  # type: ignore[attr-defined]
    assert isinstance(blocked, Skipped) and blocked.type == "dmct.blocked"
    assert blocked.message.startswith("blocked (lab fault, not executed; 9.4 (c)): LinkTimeout")
    out = cases["mt-03"].system_out  # type: ignore[attr-defined]
    assert "executions: 1" in out and "run: R1" in out


def test_planned_tests_that_did_not_run_are_skipped_with_the_reason(
    ds: dict[str, Path], schema: etree.XMLSchema
) -> None:
    journal = ds["R1"] / "results.jsonl"
    lines = journal.read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["test"] not in ("mt-04", "srvt-11.2")]
    assert len(kept) == len(lines) - 2
    journal.write_text("\n".join(kept) + "\n")  # an interrupted run: two planned tests never ran
    assert main(["report", "junit", "--run", str(ds["R1"]), "-o", "j.xml"]) == 0
    _valid(schema, "j.xml")
    xml = JUnitXml.fromfile("j.xml")
    assert xml.tests == 10  # every planned test, run or not
    cases = _cases("j.xml")
    for name in ("mt-04", "srvt-11.2"):
        (result,) = cases[name].result  # type: ignore[attr-defined]
        assert isinstance(result, Skipped) and result.type == "dmct.not_run", name
        assert result.message.startswith("planned, not run")


def test_error_and_exception_type_from_the_journal(ds: dict[str, Path], schema: etree.XMLSchema) -> None:
    journal = ds["R1"] / "results.jsonl"
    objs = [json.loads(line) for line in journal.read_text().splitlines()]
    for obj in objs:
        if obj["test"] == "mt-03":
            obj["exception"] = "device_drivers.errors.DeviceError"
        if obj["test"] == "mt-01":
            obj |= {"outcome": "error", "reason": "set-up error: RuntimeError: no key"}
            obj["exception"] = "RuntimeError"
    journal.write_text("".join(json.dumps(o) + "\n" for o in objs))
    assert main(["report", "junit", "--run", str(ds["R1"]), "-o", "j.xml"]) == 0
    _valid(schema, "j.xml")
    cases = _cases("j.xml")
    (failure,) = cases["mt-03"].result  # type: ignore[attr-defined]
    assert failure.type == "device_drivers.errors.DeviceError"
    (error,) = cases["mt-01"].result  # type: ignore[attr-defined]
    assert isinstance(error, Error) and error.type == "RuntimeError" and "no key" in error.message
