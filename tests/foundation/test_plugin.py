"""The plugin under pytester: one journal line per test execution, right outcomes, also with xdist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.model.interchange import Outcome, iter_results, load_plan
from tests.conftest import VIRTUAL_LAB

PACK = """
id: toy
name: Toy pack
version: 0.0.1
capability_release: IOC
tests:
  - {id: test_toy.py::test_passes, requirements: [REQ-1, REQ-2]}
  - test_toy.py::test_fails
  - test_toy.py::test_lab_trouble
  - test_toy.py::test_setup_breaks
  - test_toy.py::test_skipped
  - test_toy.py::test_param[a]
  - test_toy.py::test_param[b]
"""

TESTS = """
import pytest
from device_drivers.errors import LinkTimeout

@pytest.mark.dmct_requirement("REQ-1", "REQ-2")
@pytest.mark.dmct_srv("4.1.1")
@pytest.mark.dmct_group("Reads")
def test_passes(dmct_entry):
    assert dmct_entry.id == "EPCL-VDMC1-D"

def test_fails():
    assert 1 == 2, "device said 2"

def test_lab_trouble():
    raise LinkTimeout("rig-1/esme", "no answer within 2 s")

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_setup_breaks(broken):
    pass

def test_skipped():
    pytest.skip("not applicable here")

@pytest.mark.parametrize("x", ["a", "b"])
def test_param(x):
    assert x
"""


TOY_TTM = """
requirements:
  - {id: REQ-1, source: {kind: svtad, ref: "20.17"}, text: first toy requirement, group: Reads}
  - {id: REQ-2, source: {kind: svtad, ref: "20.17"}, text: second toy requirement, group: Reads}
"""


@pytest.fixture
def toy(pytester: pytest.Pytester) -> Path:
    """A non-standard pack (20.17) with its own TTM requirements beside its manifest."""
    pack = pytester.mkdir("toy")
    (pack / "pack.yaml").write_text(PACK)
    (pack / "requirements.yaml").write_text(TOY_TTM)
    (pack / "test_toy.py").write_text(TESTS)
    return pack


def _run_dir(results: Path) -> Path:
    (run,) = [p for p in results.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return run


EXPECTED = {
    "test_toy.py::test_passes": Outcome.PASSED,
    "test_toy.py::test_fails": Outcome.FAILED,
    "test_toy.py::test_lab_trouble": Outcome.BLOCKED,
    "test_toy.py::test_setup_breaks": Outcome.ERROR,
    "test_toy.py::test_skipped": Outcome.SKIPPED,
    "test_toy.py::test_param[a]": Outcome.PASSED,
    "test_toy.py::test_param[b]": Outcome.PASSED,
}


def _check_journal(run: Path) -> list[Any]:
    records = list(iter_results(run / "results.jsonl"))
    toy = [r for r in records if r.pack == "toy"]
    assert len(toy) == len(records) == len(EXPECTED), [r.test for r in records]
    assert {r.test: r.outcome for r in toy} == EXPECTED
    by_test = {r.test: r for r in toy}
    passed = by_test["test_toy.py::test_passes"]
    assert passed.entry == "EPCL-VDMC1-D"
    assert passed.extra["requirements"] == ["REQ-1", "REQ-2"]
    assert passed.extra["srv"] == "4.1.1" and passed.extra["group"] == "Reads"
    assert passed.extra["run"] == run.name
    assert "no answer within 2 s" in by_test["test_toy.py::test_lab_trouble"].extra["reason"]
    assert "fixture exploded" in by_test["test_toy.py::test_setup_breaks"].extra["reason"]
    assert by_test["test_toy.py::test_skipped"].extra["reason"] == "not applicable here"
    assert "device said 2" in by_test["test_toy.py::test_fails"].extra["reason"]
    return records


def test_journal_records_each_outcome(pytester: pytest.Pytester, toy: Path) -> None:
    results = pytester.path / "results"
    out = pytester.runpytest("toy", "--lab", str(VIRTUAL_LAB), "--results-dir", str(results))
    assert out.parseoutcomes() == {"passed": 3, "failed": 1, "errors": 1, "skipped": 1, "blocked": 1}
    run = _run_dir(results)
    _check_journal(run)
    plan = load_plan(run / "plan.json")
    assert plan.packs["toy"].tests == list(EXPECTED)
    about = plan.packs["toy"].about or {}  # each planned test traced before it runs
    assert set(about) == set(EXPECTED)
    assert about["test_toy.py::test_passes"].group == "Reads"
    assert about["test_toy.py::test_passes"].requirements == ["REQ-1", "REQ-2"]
    assert {"srvt", "dormant-mt", "toy"} <= set(plan.packs)
    assert [e.id for e in plan.entries] == ["EPCL-VDMC1-D"]
    facts = json.loads((run / "run.json").read_text())
    assert facts["counts"] == {"passed": 3, "failed": 1, "blocked": 1, "error": 1, "skipped": 1}
    assert facts["dmc"]["esme"]["firmware_version"] == "1.4.2"
    assert facts["environment"]["dcc_systems"]


def test_journal_under_xdist_has_each_result_once(pytester: pytest.Pytester, toy: Path) -> None:
    results = pytester.path / "results"
    out = pytester.runpytest_subprocess(
        "toy", "--lab", str(VIRTUAL_LAB), "--results-dir", str(results), "-n", "2", "-p", "no:cacheprovider"
    )
    assert out.ret == 1
    run = _run_dir(results)
    records = _check_journal(run)
    workers = {r.extra.get("worker") for r in records}
    assert workers <= {"gw0", "gw1"} and workers, workers


def test_crashed_worker_loses_no_finished_result(pytester: pytest.Pytester) -> None:
    pack = pytester.mkdir("crashy")
    (pack / "pack.yaml").write_text(
        "id: crashy\nname: c\nversion: '1'\ncapability_release: IOC\n"
        "tests: [test_c.py::test_before, test_c.py::test_crash]\n"
    )
    (pack / "test_c.py").write_text(
        "import os\n\ndef test_before():\n    pass\n\ndef test_crash():\n    os._exit(3)\n"
    )
    results = pytester.path / "results"
    pytester.runpytest_subprocess(
        "crashy", "--lab", str(VIRTUAL_LAB), "--results-dir", str(results), "-n", "1", "-p", "no:randomly"
    )
    records = {r.test: r for r in iter_results(_run_dir(results) / "results.jsonl")}
    assert records["test_c.py::test_before"].outcome is Outcome.PASSED
    crash = records["test_c.py::test_crash"]
    assert crash.outcome is Outcome.BLOCKED, crash
    assert "worker" in crash.extra["reason"]
    assert len(records) == 2


def test_plugin_is_inert_without_lab(pytester: pytest.Pytester, toy: Path) -> None:
    out = pytester.runpytest("toy", "-k", "param")
    out.assert_outcomes(passed=2)
    assert not (pytester.path / "results").exists()


def test_bad_lab_is_a_one_line_usage_error(pytester: pytest.Pytester, toy: Path) -> None:
    bad = pytester.path / "bad.yaml"
    bad.write_text("lab: x\ndmcs: []\nentries: []\nrigs: [{id: r, dmc: D, devices: [{role: oven}]}]\n")
    out = pytester.runpytest("toy", "--lab", str(bad))
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    err = out.stderr.str()
    assert "Traceback" not in err and f"{bad}:" in err and "rigs[0].devices[0]" in err


def test_unknown_entry_is_a_usage_error(pytester: pytest.Pytester, toy: Path) -> None:
    out = pytester.runpytest("toy", "--lab", str(VIRTUAL_LAB), "--entry", "EPCL-NOPE")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown entry 'EPCL-NOPE'" in out.stderr.str()


def test_test_missing_from_manifest_is_refused(pytester: pytest.Pytester, toy: Path) -> None:
    (toy / "test_extra.py").write_text("def test_sneaked_in():\n    pass\n")
    out = pytester.runpytest("toy", "--lab", str(VIRTUAL_LAB), "--results-dir", str(pytester.path / "r"))
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "disagree with their pack manifest: toy: test_extra.py::test_sneaked_in is not planned" in (
        out.stderr.str()
    )


def test_test_needing_an_absent_role_is_not_applicable(pytester: pytest.Pytester) -> None:
    import yaml

    data = yaml.safe_load(VIRTUAL_LAB.read_text())
    data["dmcs"][0].pop("gsme")
    data["rigs"][0]["devices"] = [d for d in data["rigs"][0]["devices"] if d["role"] != "gsme"]
    lab = pytester.path / "nogas.yaml"
    lab.write_text(yaml.safe_dump(data))
    pack = pytester.mkdir("gaspack")
    (pack / "pack.yaml").write_text(
        "id: gaspack\nname: g\nversion: '1'\ncapability_release: IOC\ntests:\n"
        "  - {id: test_g.py::test_gas, roles: [gsme]}\n  - {id: test_g.py::test_marked_gas, roles: [gsme]}\n"
        "  - test_g.py::test_any\n"
    )
    (pack / "test_g.py").write_text(
        "import pytest\n\ndef test_gas():\n    pass\n\n"
        "@pytest.mark.dmct_roles('gsme')\ndef test_marked_gas():\n    pass\n\ndef test_any():\n    pass\n"
    )
    results = pytester.path / "results"
    out = pytester.runpytest("gaspack", "--lab", str(lab), "--results-dir", str(results))
    assert out.parseoutcomes() == {"passed": 1, "not_applicable": 2}
    run = _run_dir(results)
    records = {r.test: r for r in iter_results(run / "results.jsonl")}
    gas = records["test_g.py::test_gas"]
    assert gas.outcome is Outcome.SKIPPED and gas.extra["not_applicable"] is True
    assert "has no gsme" in gas.extra["reason"]
    plan = load_plan(run / "plan.json")
    # not applicable to this DMC: planned out of its entry (20.17), so they do not hold the verdict
    assert plan.entries[0].tests is not None and plan.entries[0].tests["gaspack"] == ["test_g.py::test_any"]


def test_role_marker_must_agree_with_the_manifest(pytester: pytest.Pytester) -> None:
    pack = pytester.mkdir("rolepack")
    (pack / "pack.yaml").write_text(
        "id: rp\nname: r\nversion: '1'\ncapability_release: IOC\ntests: [test_r.py::test_x]\n"
    )
    (pack / "test_r.py").write_text(
        "import pytest\n\n@pytest.mark.dmct_roles('gsme')\ndef test_x():\n    pass\n"
    )
    out = pytester.runpytest("rolepack", "--lab", str(VIRTUAL_LAB), "--results-dir", str(pytester.path / "r"))
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "rp: test_r.py::test_x is marked with role(s) gsme its manifest entry lacks" in out.stderr.str()


def test_requirement_the_ttm_lacks_is_refused(pytester: pytest.Pytester, toy: Path) -> None:
    (toy / "test_toy.py").write_text(TESTS.replace('"REQ-2"', '"REQ-404"'))
    out = pytester.runpytest("toy", "--lab", str(VIRTUAL_LAB), "--results-dir", str(pytester.path / "r"))
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "toy: test_toy.py::test_passes names requirement 'REQ-404' the TTM lacks" in out.stderr.str()


def test_allure_results_are_labelled_and_carry_transcripts(pytester: pytest.Pytester, toy: Path) -> None:
    (toy / "test_toy.py").write_text(
        TESTS
        + "\ndef test_with_transcript(transcript):\n"
        + "    transcript.record('rig-1/esme', 'tx', b'/?!\\r\\n')\n"
    )
    (toy / "pack.yaml").write_text(PACK + "  - test_toy.py::test_with_transcript\n")
    allure_dir = pytester.path / "allure"
    from harness.store.issue_log import open_store

    with open_store(None, results_dir=pytester.path / "r") as store:  # a Testing Issue linked to a test
        issue = store.add_issue(title="Register off by one", severity=3, entries=["EPCL-VDMC1-D"], actor="t")
        issue_id = issue.issue.id
        store.link_test(issue_id, "EPCL-VDMC1-D", "toy", "test_toy.py::test_passes", actor="t")
    pytester.runpytest(
        "toy",
        "--lab",
        str(VIRTUAL_LAB),
        "--results-dir",
        str(pytester.path / "r"),
        "--alluredir",
        str(allure_dir),
    )
    results = [json.loads(p.read_text()) for p in allure_dir.glob("*-result.json")]
    passed = next(r for r in results if r["name"] == "test_passes")
    labels = {(lab["name"], lab["value"]) for lab in passed["labels"]}
    assert {("epic", "Toy pack"), ("feature", "Reads"), ("story", "SRV 4.1.1")} <= labels
    assert {("requirement", "REQ-1"), ("requirement", "REQ-2"), ("entry", "EPCL-VDMC1-D")} <= labels
    links = {(link["type"], link["name"]) for link in passed["links"]}
    assert {("tms", "REQ-1"), ("tms", "REQ-2"), ("issue", f"{issue_id} Register off by one")} <= links
    assert {link["url"] for link in passed["links"] if link["type"] == "tms"} == {
        "ttm.html#REQ-1",
        "ttm.html#REQ-2",
    }
    with_transcript = next(r for r in results if r["name"] == "test_with_transcript")
    # the transcript belongs to the test body, not to a fixture's teardown step
    assert [a["name"] for a in with_transcript.get("attachments", [])] == ["transcript"], with_transcript
    containers = [json.loads(p.read_text()) for p in allure_dir.glob("*-container.json")]
    afters = [t for c in containers for t in c.get("afters", [])]
    assert not any("transcript" in [a["name"] for a in t.get("attachments", [])] for t in afters)
    noise = [t["name"] for t in afters if "<lambda>" in t["name"]]
    assert noise == [], noise  # no anonymous finalizer steps of status unknown


def test_junitxml_user_property_is_json_and_failures_name_their_exception(
    pytester: pytest.Pytester, toy: Path
) -> None:
    """pytest's own ``--junitxml`` carries the plugin's metadata as JSON, not a Python dict repr; the
    journal names the exception class that failed a test (the JUnit failure type)."""
    import xml.etree.ElementTree as ET

    results = pytester.path / "results"
    junit = pytester.path / "junit.xml"
    pytester.runpytest("toy", "--lab", str(VIRTUAL_LAB), "--results-dir", str(results), f"--junitxml={junit}")
    values = [
        p.get("value") or "" for p in ET.parse(junit).getroot().iter("property") if p.get("name") == "dmct"
    ]
    assert len(values) == len(EXPECTED)
    metas = [json.loads(v) for v in values]
    passes = next(m for m in metas if m["test"] == "test_toy.py::test_passes")
    assert passes["requirements"] == ["REQ-1", "REQ-2"] and passes["group"] == "Reads"
    records = {r.test: r for r in iter_results(_run_dir(results) / "results.jsonl")}
    assert records["test_toy.py::test_fails"].extra["exception"] == "AssertionError"
    assert records["test_toy.py::test_setup_breaks"].extra["exception"] == "RuntimeError"
    assert "exception" not in records["test_toy.py::test_lab_trouble"].extra  # blocked: a lab fault


def test_packs_collect_and_skip_with_the_plugin_disabled(pytester: pytest.Pytester, toy: Path) -> None:
    """The markers have their own entry point: ``-p no:dmct`` still collects a pack under
    ``--strict-markers`` and skips its tests with the reason, rather than failing on unknown markers."""
    out = pytester.runpytest("toy", "-p", "no:dmct", "--strict-markers", "-rs")
    out.assert_outcomes(skipped=len(EXPECTED))
    assert "the dmct plugin is disabled (-p no:dmct)" in out.stdout.str()
    markers = pytester.runpytest("--markers", "-p", "no:dmct").stdout.str()
    assert "@pytest.mark.dmct_srv(number)" in markers and "@pytest.mark.dmct_prepared_for(name)" in markers


def test_plugin_and_markers_are_registered_once(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest("--markers").stdout.str()
    assert out.count("@pytest.mark.dmct_requirement(") == 1
