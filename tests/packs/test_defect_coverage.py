"""Every pack test can fail (issue 7, item 5): the defect detection coverage meta-test.

The killer plan (``test_packs/defect_killers.yaml``, chosen from a full matrix by
``dmct defects coverage --write-killers``) gives each pack test a seeded defect of the virtual lab's
device catalogue. Here the plan is *executed*, not trusted: ``dmct defects coverage --killers`` runs the
planned tests on the clean default DMC (each must pass) and, for each defect, on a copy of the lab with
that defect switched on (each listed test must come out *failed* — an error or a blocked test does not
count). The plan's ``undetected`` list names the planned tests no seeded defect is known to fail yet;
the coverage printed is the share of applicable planned tests shown able to fail (goal: 100 %).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.model.packs import PackManifest, discover
from harness.rules.defects import KillerPlan
from harness.rules.defects import test_key as key_of
from harness.yamlio import load_model
from tests.conftest import REPO, VIRTUAL_LAB

PLAN = REPO / "test_packs" / "defect_killers.yaml"


def applicable_planned() -> list[str]:
    """The standard packs' planned tests applicable to the default virtual DMC (CH, ESME, GSME)."""
    return [key_of(m.id, t) for m in discover([]).values() for t in m.applicable(("ch", "esme", "gsme"))]


def test_the_plan_classifies_every_planned_test() -> None:
    plan = load_model(KillerPlan, PLAN)
    planned = applicable_planned()
    assert plan.missing(planned) == [], "planned tests neither given a defect nor listed as undetected"
    unknown = sorted((set(plan.tests()) | set(plan.undetected)) - set(planned))
    assert not unknown, f"the plan names tests the packs do not plan: {unknown[:5]}"
    assert not set(plan.tests()) & set(plan.undetected), "a test is both given a defect and undetected"


def test_every_planned_test_has_a_killer() -> None:
    """The goal is the state: every applicable planned test is given a defect (coverage 100 %)."""
    plan = load_model(KillerPlan, PLAN)
    assert plan.undetected == [], f"planned tests no seeded defect fails: {plan.undetected}"


def test_every_planned_killer_fails_its_test_and_the_test_passes_clean(tmp_path: Path) -> None:
    plan = load_model(KillerPlan, PLAN)
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "defects", "coverage", "--lab", str(VIRTUAL_LAB),
         "--killers", str(PLAN), "-j", "2", "-o", str(tmp_path / "cov"), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert out.stdout.strip(), out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert not report["session_errors"], report["session_errors"]
    assert report["not_clean"] == {}, f"tests that did not pass on the clean DMC: {report['not_clean']}"
    missed = sorted(set(plan.tests()) - set(report["detected_by"]))
    assert not missed, f"planned killers that did not fail their tests: {missed}"
    assert sorted(report["undetected"]) == sorted(plan.undetected)
    print(
        f"\ndefect detection coverage: {report['detected']}/{report['applicable']} "
        f"= {report['coverage']:.1%} "
        f"({len(plan.defects)} defects, {report['seconds']} s)"
    )


def test_the_example_non_standard_pack_can_fail_too(tmp_path: Path) -> None:
    """20.17 packs are pack tests as well: the example's replacement and addition each pass clean and
    fail against their seeded defect (examples/non_standard_pack/defect_killers.yaml)."""
    example = REPO / "examples" / "non_standard_pack"
    plan = load_model(KillerPlan, example / "defect_killers.yaml")
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "defects", "coverage", "--lab", str(VIRTUAL_LAB),
         "--pack", str(example), "--killers", str(example / "defect_killers.yaml"), "-j", "2",
         "-o", str(tmp_path / "cov"), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.stdout.strip(), out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert not report["session_errors"] and report["not_clean"] == {}, report
    own = {key_of("srvt-vdmc1", t) for t in load_model(PackManifest, example / "pack.yaml").test_ids}
    assert set(plan.tests()) == own, "every test of the example pack has a killer"
    assert own <= set(report["detected_by"]), (
        f"not shown able to fail: {sorted(own - set(report['detected_by']))}"
    )
