"""JUnit XML from a run directory, for CI servers and test-management tools.

Every CI system reads JUnit XML, so a lab's pipeline can show a dmct run next to its other jobs without a
plugin. The document follows the JUnit schema the CI tools use — the Jenkins xUnit plugin's
``junit-10.xsd``, which pytest's own ``--junitxml`` also follows (``tests/reports/test_junit.py``
validates against it) — so it has no ``<properties>`` in a test case and no ``skipped`` count on
``<testsuites>``.

The run's context — lab, entry, DMC and each device's versions, the DCC Systems (20.34 (a)), pack
versions — goes into each suite's ``<properties>`` so the XML alone says what was tested against what;
what belongs to one test (requirements, functional group, SRV, rig, executions, evidence) goes into its
``<system-out>``, which every CI tool shows beside the test.

Outcomes map as pytest's do: passed → a plain test case; failed → ``<failure type=EXCEPTION
message=...>``; error → ``<error>``; skipped → ``<skipped type="pytest.skip">``; blocked →
``<skipped type="dmct.blocked">`` (a lab fault: not executed, never a product failure, 9.4 (c)); not
applicable → ``<skipped type="dmct.not_applicable">``; a test the plan lists that has no execution in
the run (an interrupted run, a crash before collection) → ``<skipped type="dmct.not_run">``, so the
document lists every planned test (20.32 (a): planned but not executed). Only the latest execution of
each test counts (20.22); the number of executions is shown with the test.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError
from harness.reports.data import RUN_PLAN, RUN_RESULTS, read_facts

#: Skip types of the outcomes that are not pytest's own skips.
SKIP_TYPES = {
    "blocked": "dmct.blocked",
    "not_applicable": "dmct.not_applicable",
    "not_run": "dmct.not_run",
    "skipped": "pytest.skip",
}
NOT_RUN_REASON = "planned, not run: no execution of this test in the run"


def run_properties(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """Flat (name, value) pairs of a ``run.json``."""
    props: list[tuple[str, str]] = []
    for key in ("run_id", "lab", "lab_file", "dmct_version", "python", "started", "finished"):
        if facts.get(key) is not None:
            props.append((key, str(facts[key])))
    entry = facts.get("entry")
    if isinstance(entry, dict):
        props += [(f"entry.{k}", str(v)) for k, v in entry.items()]
    dmc = facts.get("dmc")
    if isinstance(dmc, dict):
        for role, dev in dmc.items():
            if isinstance(dev, dict):
                props += [(f"dmc.{role}.{k}", str(v)) for k, v in dev.items()]
            else:
                props.append((f"dmc.{role}", str(dev)))
    env = facts.get("environment")
    if isinstance(env, dict):
        props.append(("environment.name", str(env.get("name", ""))))
        for system in env.get("dcc_systems") or []:
            if isinstance(system, dict):
                props.append((f"dcc_system.{system.get('name')}", str(system.get("version"))))
    packs = facts.get("packs")
    if isinstance(packs, dict):
        for pid, p in packs.items():
            if isinstance(p, dict):
                props += [
                    (f"pack.{pid}.{k}", v if isinstance(v, str) else json.dumps(v)) for k, v in p.items()
                ]
    return props


def _latest(lines: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[dict[str, Any], int]]:
    from harness.model.interchange import parse_at

    latest: dict[tuple[str, str, str], tuple[dict[str, Any], int]] = {}
    for obj in lines:
        key = (obj["entry"], obj["pack"], obj["test"])
        cur = latest.get(key)
        n = (cur[1] if cur else 0) + 1
        if cur is None or (parse_at(obj["at"]), obj["outcome"]) > (parse_at(cur[0]["at"]), cur[0]["outcome"]):
            latest[key] = (obj, n)
        else:
            latest[key] = (cur[0], n)
    return latest


def _planned(run_dir: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every (entry, pack, test) the run's plan lists, in plan order, with its group and requirements."""
    from harness.model.interchange import load_plan

    plan = load_plan(run_dir / RUN_PLAN)
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for entry in plan.entries:
        for pack, tests in plan.planned_tests(entry).items():
            about = plan.packs[pack].about or {} if pack in plan.packs else {}
            for test in tests:
                info = about.get(test)
                out[(entry.id, pack, test)] = info.model_dump(exclude_none=True) if info is not None else {}
    return out


def _details(obj: dict[str, Any], count: int) -> str:
    """What CI tools show beside a test: its TTM traceability and where it ran."""
    lines = []
    for name in ("requirements", "group", "srv", "rig", "run", "at", "worker"):  # plan's, for one not run
        value = obj.get(name)
        if value:
            lines.append(f"{name}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if count:
        lines.append(f"executions: {count}")
    for path in obj.get("evidence") or []:
        lines.append(f"evidence: {path}")
    return "\n".join(lines)


def _outcome_element(case: ET.Element, obj: dict[str, Any]) -> str | None:
    """Add the failure/error/skipped child of a test case; return the suite counter it adds to."""
    outcome = obj["outcome"]
    reason = str(obj.get("reason") or "")
    if outcome == "failed":
        # pytest: message = the crash line, text = the report; type = the exception's class
        kind = str(obj.get("exception") or "AssertionError")
        ET.SubElement(case, "failure", type=kind, message=reason or "failed").text = reason or "failed"
        return "failures"
    if outcome == "error":
        kind = str(obj.get("exception") or "error")
        ET.SubElement(case, "error", type=kind, message=reason or "error").text = reason or "error"
        return "errors"
    if outcome in ("blocked", "skipped", "not_run"):
        kind = "not_applicable" if obj.get("not_applicable") else outcome
        if outcome == "blocked":
            message = f"blocked (lab fault, not executed; 9.4 (c)): {reason}" if reason else "blocked"
        else:
            message = reason or outcome
        ET.SubElement(case, "skipped", type=SKIP_TYPES[kind], message=message).text = message
        return "skipped"
    return None


def junit_xml(run_dir: Path) -> bytes:
    """The JUnit XML document of one run: a ``<testsuite>`` per (entry, pack), every planned test."""
    from harness.model.interchange import iter_results

    if not (run_dir / RUN_PLAN).is_file():
        raise DmctInputError(str(run_dir), "not a run directory (no plan.json)", field="--run")
    facts = read_facts(run_dir)
    journal = run_dir / RUN_RESULTS
    records = list(iter_results(journal)) if journal.exists() else []  # validates every line
    latest = _latest(json.loads(r.to_json()) for r in records)
    cases: dict[tuple[str, str, str], tuple[dict[str, Any], int]] = {}
    for key, info in _planned(run_dir).items():
        not_run = {"entry": key[0], "pack": key[1], "test": key[2], "outcome": "not_run"}
        not_run["reason"] = NOT_RUN_REASON
        cases[key] = latest.get(key) or ({**info, **not_run}, 0)
    cases.update((k, v) for k, v in latest.items() if k not in cases)  # executed though not planned
    root = ET.Element("testsuites", name=f"dmct {facts.get('run_id', run_dir.name)}")
    suites: dict[tuple[str, str], ET.Element] = {}
    counts: dict[tuple[str, str], dict[str, float]] = {}
    props = run_properties(facts)
    for (entry, pack, test), (obj, count) in cases.items():
        suite = suites.get((entry, pack))
        if suite is None:
            suite = ET.SubElement(root, "testsuite", name=f"{entry}/{pack}")
            if facts.get("host"):
                suite.set("hostname", str(facts["host"]))
            if facts.get("started"):
                suite.set("timestamp", str(facts["started"]))
            pe = ET.SubElement(suite, "properties")
            for name, value in props:
                ET.SubElement(pe, "property", name=name, value=value)
            suites[(entry, pack)] = suite
            counts[(entry, pack)] = dict.fromkeys(("tests", "failures", "errors", "skipped", "time"), 0.0)
        duration = float(obj.get("duration_s") or 0.0)
        case = ET.SubElement(
            suite, "testcase", classname=f"{entry}.{pack}", name=test, time=f"{duration:.3f}"
        )
        tally = counts[(entry, pack)]
        counter = _outcome_element(case, obj)
        if counter:
            tally[counter] += 1
        tally["tests"] += 1
        tally["time"] += duration
        details = _details(obj, count)
        if details:
            ET.SubElement(case, "system-out").text = details
    total = dict.fromkeys(("tests", "failures", "errors", "time"), 0.0)
    for suite_key, suite in suites.items():
        for counter, n in counts[suite_key].items():
            suite.set(counter, f"{n:.3f}" if counter == "time" else str(int(n)))
            if counter in total:
                total[counter] += n
    for counter, n in total.items():
        root.set(counter, f"{n:.3f}" if counter == "time" else str(int(n)))
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"
