"""JUnit XML from a run directory, for CI servers and test-management tools.

Every CI system reads JUnit XML, so a lab's pipeline can show a dmct run next to its other jobs without a
plugin. The run's context — lab, entry, DMC and each device's versions, the DCC Systems (20.34 (a)), pack
versions — goes into ``<properties>`` so the XML alone says what was tested against what. Outcomes map as:
passed → a plain test case; failed → ``<failure>``; error → ``<error>``; blocked and skipped →
``<skipped>`` with the reason (blocked is a lab fault, not executed, never a product failure, 9.4 (c)).
Only the latest execution of each test counts (20.22); the number of executions is a property of the case.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError
from harness.reports.data import RUN_RESULTS, read_facts


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
                props += [(f"pack.{pid}.{k}", str(v)) for k, v in p.items()]
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


def junit_xml(run_dir: Path) -> bytes:
    """The JUnit XML document of one run: a ``<testsuite>`` per (entry, pack)."""
    from harness.model.interchange import iter_results

    if not (run_dir / "plan.json").is_file():
        raise DmctInputError(str(run_dir), "not a run directory (no plan.json)", field="--run")
    facts = read_facts(run_dir)
    journal = run_dir / RUN_RESULTS
    records = list(iter_results(journal)) if journal.is_file() else []  # validates every line
    lines = [json.loads(r.to_json()) for r in records]
    latest = _latest(lines)
    root = ET.Element("testsuites", name=f"dmct {facts.get('run_id', run_dir.name)}")
    suites: dict[tuple[str, str], ET.Element] = {}
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    props = run_properties(facts)
    for (entry, pack, test), (obj, count) in sorted(latest.items()):
        suite = suites.get((entry, pack))
        if suite is None:
            suite = ET.SubElement(root, "testsuite", name=f"{entry}/{pack}")
            pe = ET.SubElement(suite, "properties")
            for name, value in props:
                ET.SubElement(pe, "property", name=name, value=value)
            suites[(entry, pack)] = suite
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{entry}.{pack}",
            name=test,
            time=f"{float(obj.get('duration_s') or 0.0):.3f}",
        )
        cp = ET.SubElement(case, "properties")
        for name in ("requirements", "group", "srv", "rig", "run", "worker"):
            if obj.get(name):
                value = ", ".join(obj[name]) if isinstance(obj[name], list) else str(obj[name])
                ET.SubElement(cp, "property", name=name, value=value)
        ET.SubElement(cp, "property", name="executions", value=str(count))
        reason = str(obj.get("reason") or "")
        outcome = obj["outcome"]
        if outcome == "failed":
            ET.SubElement(case, "failure", message=reason or "failed", type="failed").text = reason
        elif outcome == "error":
            ET.SubElement(case, "error", message=reason or "error", type="error").text = reason
        elif outcome in ("blocked", "skipped"):
            ET.SubElement(case, "skipped", message=f"{outcome}: {reason}" if reason else outcome)
        if obj.get("evidence"):
            ET.SubElement(case, "system-out").text = "evidence: " + ", ".join(map(str, obj["evidence"]))
        key = {"failed": "failures", "error": "errors", "blocked": "skipped", "skipped": "skipped"}.get(
            outcome
        )
        totals["tests"] += 1
        if key:
            totals[key] += 1
    for suite in suites.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"
