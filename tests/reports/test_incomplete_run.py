"""An incomplete run is reported as completely as a finished one: the plan carries each planned test's
functional group and requirements, so the heatmap, the DMCT Testing Report and JUnit trace tests that
never ran (Table 13.1 #7, 19.4 (b)); the weekly trend leaves weeks before any run blank, not 0 %."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from harness.cli import main
from harness.reports.data import UNGROUPED, gather
from harness.reports.heatmap import build_heatmap
from harness.reports.render import render_markdown
from harness.reports.testing import build_testing_report
from tests.reports.dataset import MT, OK, SRVT

NEVER_RAN = {"mt-04", "srvt-6.2.4", "srvt-6.2.5"}  # all of "Tariff" and one "Migration" test


def _interrupt(run: Path) -> None:
    """R1 as the plugin writes it now (the plan says each test's group and requirements), interrupted:
    the tests in NEVER_RAN have no line in the journal."""
    plan = json.loads((run / "plan.json").read_text())
    for pack, groups in (("dormant-mt", MT), ("srvt", SRVT)):
        plan["packs"][pack]["about"] = {
            t: {"group": g, "requirements": [f"REQ-{t.upper()}"]} for t, g in groups.items()
        }
    (run / "plan.json").write_text(json.dumps(plan))
    journal = run / "results.jsonl"
    kept = [ln for ln in journal.read_text().splitlines() if json.loads(ln)["test"] not in NEVER_RAN]
    journal.write_text("\n".join(kept) + "\n")


def test_heatmap_of_an_interrupted_run_uses_the_plans_groups(ds: dict[str, Path]) -> None:
    _interrupt(ds["R1"])
    data = gather([ds["R1"]], issues_file=Path("issues.json"))
    heat = build_heatmap(data, [(OK, [OK])], "R1")
    assert UNGROUPED not in heat.groups
    cells = dict(zip(heat.groups, heat.cells[0], strict=True))
    tariff, migration = cells["Tariff"], cells["Migration"]
    assert tariff is not None and (tariff.planned, tariff.executed) == (2, 0)
    assert migration is not None and (migration.planned, migration.executed) == (2, 1)
    assert data.requirements[("srvt", "srvt-6.2.5")] == ("REQ-SRVT-6.2.5",)


def test_testing_report_lists_group_and_requirements_of_tests_not_run(ds: dict[str, Path]) -> None:
    _interrupt(ds["R1"])
    data = gather([ds["R1"]], issues_file=Path("issues.json"))
    text = render_markdown(build_testing_report(data, OK, date(2026, 11, 30)))
    assert "| srvt | srvt-6.2.5 | Tariff | REQ-SRVT-6.2.5 |" in text
    assert UNGROUPED not in text


def test_junit_traces_tests_not_run(ds: dict[str, Path]) -> None:
    import xml.etree.ElementTree as ET

    _interrupt(ds["R1"])
    assert main(["report", "junit", "--run", str(ds["R1"]), "-o", "j.xml"]) == 0
    case = next(c for c in ET.parse("j.xml").getroot().iter("testcase") if c.get("name") == "srvt-6.2.5")
    assert case.find("skipped") is not None
    out = case.findtext("system-out") or ""
    assert "requirements: REQ-SRVT-6.2.5" in out and "group: Tariff" in out
