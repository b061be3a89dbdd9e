"""Pack manifests per Capability Release (20.16) and DMCT Non-Standard Test Packs (20.17).

The resolve function (removes, replaces, adds) is pure and shared by per-release manifests and
non-standard packs; every bad manifest is one line naming its file and field; a run reads the manifest
of its entry's release, refuses a non-standard pack for another DMC, deselects what a non-standard pack
for its DMC takes out (recording why) and plans the effective lists.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import DmctInputError
from harness.lab.inventory import load_lab
from harness.model.interchange import iter_results, load_plan
from harness.model.packs import (
    PackManifest,
    apply_changes,
    discover,
    find_pack_root,
    load_manifest,
    plan_for_dmc,
    standard_pack_roots,
    with_bases,
)
from tests.conftest import REPO, VIRTUAL_LAB, run_pack, virtual_lab_data

EXAMPLE = REPO / "examples" / "non_standard_pack"
REMOVED = "test_srv.py::test_future_dated[3.1-esme]"
REPLACED = "test_srv.py::test_positive[6.2.4-esme]"
REPLACEMENT = "test_vdmc1.py::test_esme_identity_matches_lab_record"
ADDED = "test_vdmc1.py::test_esme_load_limit_restores_supply_by_itself"

BASE = {
    "id": "base",
    "name": "Base pack",
    "version": "1.0.0",
    "capability_release": "IOC",
    "tests": [
        {"id": "t.py::test_a", "roles": ["esme"]},
        {"id": "t.py::test_b", "roles": ["gsme"], "requirements": ["R-B"]},
        "t.py::test_c",
    ],
}
NON_STANDARD = {
    "id": "ns",
    "name": "Non-standard pack",
    "version": "0.1.0",
    "capability_release": "IOC",
    "standard": False,
    "dmc": "VDMC1",
    "rationale": "agreed with the TAG for VDMC1",
    "based_on": "base",
    "removes": [{"id": "t.py::test_a", "rationale": "no such function on this DMC"}],
    "replaces": [{"id": "t.py::test_b", "by": "n.py::test_b_strict", "rationale": "stricter for this DMC"}],
    "tests": [{"id": "n.py::test_b_strict", "roles": ["gsme"]}, "n.py::test_extra"],
}


def _write(directory: Path, data: dict[str, Any], name: str = "pack.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _manifest(data: dict[str, Any], source: Path | None = None) -> PackManifest:
    manifest = PackManifest.model_validate(data)
    if source is not None:
        manifest._source = source
    return manifest


# ------------------------------------------------------------------------------ the resolve function


def test_apply_changes_removes_and_replaces_with_their_rationale() -> None:
    kept, changes = apply_changes(_manifest(BASE), _manifest(NON_STANDARD))
    assert [t.id for t in kept] == ["t.py::test_c"]
    assert [(c.pack, c.test, c.kind, c.by, c.changed_by) for c in changes] == [
        ("base", "t.py::test_a", "removed", None, "ns"),
        ("base", "t.py::test_b", "replaced", "n.py::test_b_strict", "ns"),
    ]
    assert changes[0].rationale == "no such function on this DMC"
    assert changes[1].to_json() == {
        "pack": "base",
        "test": "t.py::test_b",
        "change": "replaced",
        "rationale": "stricter for this DMC",
        "by": "n.py::test_b_strict",
        "changed_by": "ns",
    }


def test_a_per_release_manifest_derives_removes_replaces_and_adds(tmp_path: Path) -> None:
    _write(tmp_path, {**BASE, "min_pass_rate": 0.9})
    _write(
        tmp_path,
        {
            "id": "base",
            "name": "Base pack",
            "version": "2.0.0",
            "capability_release": "MOC",
            "derives_from": "pack.yaml",
            "removes": [{"id": "t.py::test_a", "rationale": "not in MOC"}],
            "replaces": [{"id": "t.py::test_c", "by": "t.py::test_c_moc", "rationale": "MOC variant"}],
            "tests": ["t.py::test_c_moc", "t.py::test_d"],
        },
        "pack.MOC.yaml",
    )
    ioc, moc = load_manifest(tmp_path, "IOC"), load_manifest(tmp_path, "MOC")
    assert ioc.test_ids == ["t.py::test_a", "t.py::test_b", "t.py::test_c"] and ioc.derived_from is None
    assert moc.test_ids == ["t.py::test_b", "t.py::test_c_moc", "t.py::test_d"]
    assert moc.roles_of("t.py::test_b") == ["gsme"] and moc.requirements_of("t.py::test_b") == ["R-B"]
    assert moc.min_pass_rate == 0.9, "what the pack prescribes (20.34 (h)) carries over"
    assert moc.label == "base 2.0.0 (MOC, pack.MOC.yaml)" and moc.derived_from == "pack.yaml 1.0.0"


def test_derivations_chain_and_a_loop_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, BASE)
    head = {"id": "base", "name": "b", "version": "1", "tests": []}
    _write(tmp_path, {**head, "capability_release": "MOC", "derives_from": "pack.yaml"}, "pack.MOC.yaml")
    _write(
        tmp_path,
        {**head, "capability_release": "FOC", "derives_from": "pack.MOC.yaml", "tests": ["t.py::test_f"]},
        "pack.FOC.yaml",
    )
    assert load_manifest(tmp_path, "FOC").test_ids[-1] == "t.py::test_f"
    _write(tmp_path, {**head, "capability_release": "MOC", "derives_from": "pack.FOC.yaml"}, "pack.MOC.yaml")
    with pytest.raises(
        DmctInputError,
        match=r"pack\.MOC\.yaml:\d+: derives_from: derivation loops: pack\.FOC\.yaml -> pack\.MOC",
    ):
        load_manifest(tmp_path, "FOC")


# --------------------------------------------------------------------- one line naming file and field

STANDARD_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({"dmc": "VDMC1"}, "dmc", "only a non-standard pack"),
    ({"based_on": "srvt"}, "based_on", "only a non-standard pack"),
    ({"removes": [{"id": "t.py::test_a", "rationale": "r"}]}, "removes", "give based_on"),
    (
        {"replaces": [{"id": "t.py::test_a", "by": "t.py::test_c", "rationale": "r"}]},
        "replaces",
        "give based_on",
    ),
    ({"capability_release": "MOC"}, "capability_release", "MOC in pack.yaml, the IOC manifest"),
    ({"tests": ["t.py::test_a", "t.py::test_a"]}, "tests[1]", "duplicate test id"),
    ({"standard": False, "rationale": "r"}, "dmc", "is for one DMC"),
    ({"standard": False, "dmc": "VDMC1"}, "rationale", "why the TAG agreed it"),
    ({"standard": False, "dmc": "VDMC1", "rationale": " "}, "rationale", "why the TAG agreed it"),
    ({"unknown": 1}, "unknown", "unknown field"),
]


@pytest.mark.parametrize(("change", "field", "message"), STANDARD_ERRORS)
def test_a_manifest_on_its_own(tmp_path: Path, change: dict[str, Any], field: str, message: str) -> None:
    path = _write(tmp_path / "p", {**BASE, **change})
    with pytest.raises(DmctInputError) as err:
        discover([tmp_path / "p"])
    text = str(err.value)
    assert text.startswith(f"{path}:") and f": {field}: " in text and message in text, text
    assert "\n" not in text


NON_STANDARD_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({"removes": [{"id": "t.py::nope", "rationale": "r"}]}, "removes[0].id", "'t.py::nope' is not a planned"),
    (
        {"replaces": [{"id": "t.py::nope", "by": "n.py::test_extra", "rationale": "r"}]},
        "replaces[0].id",
        "is not a planned test of base (pack.yaml)",
    ),
    (
        {"replaces": [{"id": "t.py::test_b", "by": "n.py::other", "rationale": "r"}]},
        "replaces[0].by",
        "'n.py::other' is not one of this manifest's tests",
    ),
    (
        {"removes": [{"id": "t.py::test_a", "rationale": ""}]},
        "removes[0].rationale",
        "a rationale is required",
    ),
    (
        {"replaces": [{"id": "t.py::test_b", "by": "n.py::test_extra"}]},
        "replaces[0].rationale",
        "required field is missing",
    ),
    (
        {"removes": [{"id": "t.py::test_b", "rationale": "r"}]},
        "replaces[0].id",
        "'t.py::test_b' is already in removes",
    ),
    ({"based_on": "nope"}, "based_on", "'nope' is not a standard pack of this run"),
    ({"based_on": "ns"}, "based_on", "is not a standard pack"),
    ({"derives_from": "pack.yaml"}, "derives_from", "write its manifest in full"),
    ({"based_on": None}, "removes", "give based_on"),
]


@pytest.mark.parametrize(("change", "field", "message"), NON_STANDARD_ERRORS)
def test_a_non_standard_manifest(tmp_path: Path, change: dict[str, Any], field: str, message: str) -> None:
    _write(tmp_path / "base", BASE)
    path = _write(tmp_path / "ns", {k: v for k, v in {**NON_STANDARD, **change}.items() if v is not None})
    with pytest.raises(DmctInputError) as err:
        discover([tmp_path])
    text = str(err.value)
    assert text.startswith(f"{path}:") and f": {field}: " in text and message in text, text
    assert "\n" not in text


def test_two_packs_with_one_id_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "a", BASE)
    second = _write(tmp_path / "b", BASE)
    with pytest.raises(DmctInputError, match=rf"^{second}:\d+: id: pack id 'base' is also that of "):
        discover([tmp_path])


def test_a_derived_manifest_keeps_its_packs_id(tmp_path: Path) -> None:
    _write(tmp_path, BASE)
    moc = _write(
        tmp_path,
        {
            "id": "other",
            "name": "b",
            "version": "1",
            "capability_release": "MOC",
            "derives_from": "pack.yaml",
        },
        "pack.MOC.yaml",
    )
    with pytest.raises(DmctInputError, match=rf"^{moc}:\d+: id: 'other' differs from 'base' of pack\.yaml"):
        load_manifest(tmp_path, "MOC")
    _write(tmp_path, {"id": "base", "name": "b", "version": "1", "capability_release": "MOC",
                      "derives_from": "pack.yaml", "tests": ["t.py::test_a"]}, "pack.MOC.yaml")  # fmt: skip
    with pytest.raises(DmctInputError, match=r"tests\[0\]: 't.py::test_a' is already planned by pack\.yaml"):
        load_manifest(tmp_path, "MOC")


# ------------------------------------------------------------------------------- release selection


def test_each_release_reads_its_own_manifest_of_the_standard_packs() -> None:
    ioc = {m.id: m for m in discover([], "IOC").values()}
    for release in ("MOC", "FOC"):
        packs = {m.id: m for m in discover([], release).values()}
        assert set(packs) == {"dormant-mt", "srvt"}
        for pid, manifest in packs.items():
            assert manifest.capability_release == release
            assert manifest.source.name == f"pack.{release}.yaml"
            # no TAG-agreed difference between cohorts is recorded: derived unchanged from IOC
            assert manifest.planned == ioc[pid].planned and manifest.min_pass_rate == ioc[pid].min_pass_rate
            assert manifest.derived_from == f"pack.yaml {ioc[pid].version}"


def test_per_release_manifests_are_not_extra_pack_roots(tmp_path: Path) -> None:
    assert len(standard_pack_roots()) == 2
    _write(tmp_path / "p", BASE)
    _write(tmp_path / "p", {**BASE, "capability_release": "FOC"}, "pack.FOC.yaml")
    assert [r for r in discover([tmp_path], "FOC") if r.is_relative_to(tmp_path)] == [tmp_path / "p"]
    only_foc = tmp_path / "q"
    _write(only_foc, {**BASE, "id": "q", "capability_release": "FOC"}, "pack.FOC.yaml")
    (only_foc / "sub").mkdir()
    assert find_pack_root(only_foc / "sub") == only_foc


def test_a_pack_without_a_manifest_for_the_release_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path / "p", BASE)
    with pytest.raises(DmctInputError) as err:
        discover([tmp_path / "p"], "MOC")
    assert str(err.value) == (
        f"{tmp_path / 'p'}: the pack has no manifest for Capability Release MOC (pack.MOC.yaml; it has: "
        "pack.yaml)"
    )


def test_entries_name_their_capability_release(lab_file: Any) -> None:
    lab = load_lab(VIRTUAL_LAB)
    assert {e.capability_release for e in lab.entries} == {"IOC"}

    def bad(data: dict[str, Any]) -> None:
        data["entries"][0]["capability_release"] = "EOC"

    path = lab_file(bad)
    with pytest.raises(DmctInputError, match=rf"^{path}:\d+: entries\[0\]\.capability_release: Input should"):
        load_lab(path)


# ----------------------------------------------------------------------------- non-standard packs


def test_the_example_pack_changes_srvt_for_vdmc1_only() -> None:
    packs = discover([EXAMPLE])
    example = next(m for m in packs.values() if m.id == "srvt-vdmc1")
    assert not example.standard and example.dmc == "VDMC1" and example.based_on == "srvt"
    assert example.test_ids == [REPLACEMENT, ADDED]
    plan = plan_for_dmc(packs, "VDMC1", "EPCL-VDMC1-D")
    srvt = next(m for m in packs.values() if m.id == "srvt")
    assert plan.tests["srvt"] == [t for t in srvt.test_ids if t not in (REMOVED, REPLACED)]
    assert plan.tests["srvt-vdmc1"] == [REPLACEMENT, ADDED]
    assert set(plan.dropped["srvt"]) == {REMOVED, REPLACED}
    assert [(c.test, c.by) for c in plan.changes["srvt-vdmc1"]] == [(REMOVED, None), (REPLACED, REPLACEMENT)]
    assert all(c.rationale.strip() for c in plan.changes["srvt-vdmc1"])
    # it runs with the standard pack it changes
    assert with_bases([EXAMPLE]) == [EXAMPLE, next(r for r, m in packs.items() if m.id == "srvt")]


def test_a_non_standard_pack_for_another_dmc_is_one_line() -> None:
    packs = discover([EXAMPLE])
    with pytest.raises(DmctInputError) as err:
        plan_for_dmc(packs, "VDMC2", "EPCL-VDMC2-D")
    text = str(err.value)
    assert text.startswith(f"{EXAMPLE / 'pack.yaml'}:") and ": dmc: " in text, text
    assert "'VDMC1'" in text and "EPCL-VDMC2-D" in text and "'VDMC2'" in text and "\n" not in text


def test_dmct_run_refuses_a_pack_for_another_dmc_before_any_lab_starts(tmp_path: Path) -> None:
    pack = tmp_path / "other"
    _write(pack, {**NON_STANDARD, "dmc": "OTHER", "based_on": None, "removes": [], "replaces": [],
                  "tests": ["test_x.py::test_x"]})  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--pack", str(pack), "--results-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert (
        f"{pack / 'pack.yaml'}:" in proc.stderr and "dmc: " in proc.stderr and "EPCL-VDMC1-D" in proc.stderr
    )
    assert "dmct lab: ready" not in proc.stdout


TOY_BASE = """
def test_a():
    pass

def test_b():
    pass

def test_c():
    pass
"""
TOY_NS = """
def test_b_strict():
    pass

def test_extra():
    pass
"""


def _toy_packs(root: Path) -> None:
    base = {**BASE, "tests": ["test_base.py::test_a", "test_base.py::test_b", "test_base.py::test_c"]}
    _write(root / "toybase", base)
    (root / "toybase" / "test_base.py").write_text(TOY_BASE)
    ns = {
        **NON_STANDARD,
        "removes": [{"id": "test_base.py::test_a", "rationale": "why a goes"}],
        "replaces": [{"id": "test_base.py::test_b", "by": "test_ns.py::test_b_strict", "rationale": "why b"}],
        "tests": ["test_ns.py::test_b_strict", "test_ns.py::test_extra"],
    }
    _write(root / "toyns", ns)
    (root / "toyns" / "test_ns.py").write_text(TOY_NS)


def test_the_plugin_deselects_what_a_non_standard_pack_takes_out(pytester: pytest.Pytester) -> None:
    _toy_packs(pytester.path)
    results = pytester.path / "results"
    out = pytester.runpytest("toybase", "toyns", "--lab", str(VIRTUAL_LAB), "--results-dir", str(results))
    assert out.parseoutcomes() == {"passed": 3, "deselected": 2}, out.stdout.str()
    out.stdout.fnmatch_lines(["*dmct: non-standard pack ns for DMC VDMC1 (20.17): 2 own test(s); removes 1, "
                              "replaces 1 of base*"])  # fmt: skip
    (run,) = [p for p in results.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert {(r.pack, r.test) for r in iter_results(run / "results.jsonl")} == {
        ("base", "test_base.py::test_c"),
        ("ns", "test_ns.py::test_b_strict"),
        ("ns", "test_ns.py::test_extra"),
    }
    plan = load_plan(run / "plan.json")
    assert plan.packs["base"].tests == [
        "test_base.py::test_a",
        "test_base.py::test_b",
        "test_base.py::test_c",
    ]
    assert plan.entries[0].tests is not None
    assert plan.entries[0].tests["base"] == ["test_base.py::test_c"]
    assert plan.entries[0].tests["ns"] == ["test_ns.py::test_b_strict", "test_ns.py::test_extra"]
    facts = json.loads((run / "run.json").read_text())["packs"]
    assert facts["base"] == {"name": "Base pack", "version": "1.0.0", "capability_release": "IOC",
                             "standard": True, "manifest": "pack.yaml"}  # fmt: skip
    assert facts["ns"]["dmc"] == "VDMC1" and facts["ns"]["rationale"] == "agreed with the TAG for VDMC1"
    assert facts["ns"]["changes"] == [
        {"pack": "base", "test": "test_base.py::test_a", "change": "removed", "rationale": "why a goes",
         "changed_by": "ns"},
        {"pack": "base", "test": "test_base.py::test_b", "change": "replaced", "rationale": "why b",
         "by": "test_ns.py::test_b_strict", "changed_by": "ns"},
    ]  # fmt: skip


def test_the_plugin_reads_the_entrys_release_and_refuses_a_pack_without_it(tmp_path: Path) -> None:
    data = virtual_lab_data()
    data["entries"][0]["capability_release"] = "MOC"
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    _write(tmp_path / "toy", {**BASE, "id": "toy", "tests": ["test_toy.py::test_t"]})
    (tmp_path / "toy" / "test_toy.py").write_text("def test_t():\n    pass\n")
    proc = run_pack(tmp_path / "toy", tmp_path / "results", "r1", lab=lab, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert (
        f"ERROR: {tmp_path / 'toy'}: the pack has no manifest for Capability Release MOC (pack.MOC.yaml; "
        "it has: pack.yaml)" in proc.stderr
    ), proc.stderr
    _write(tmp_path / "toy", {"id": "toy", "name": "toy", "version": "2", "capability_release": "MOC",
                              "derives_from": "pack.yaml"}, "pack.MOC.yaml")  # fmt: skip
    proc = run_pack(tmp_path / "toy", tmp_path / "results", "r2", lab=lab, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    facts = json.loads((tmp_path / "results" / "r2" / "run.json").read_text())
    assert facts["entry"]["capability_release"] == "MOC"
    assert facts["packs"]["toy"]["manifest"] == "pack.MOC.yaml"
    assert facts["packs"]["toy"]["derives_from"] == "pack.yaml 1.0.0"
    assert facts["packs"]["srvt"]["manifest"] == "pack.MOC.yaml"


# ------------------------------------------------------------------------------------- end to end


def test_the_example_pack_runs_against_the_virtual_lab(tmp_path: Path) -> None:
    """``dmct run --pack examples/non_standard_pack -- -k ...``: the srvt pack runs with it, the removed
    and replaced standard tests are deselected and recorded with their rationale, the replacement and
    the addition run, and the verdict plans the effective list."""
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--entry", "EPCL-VDMC1-D", "--pack", str(EXAMPLE),
         "-n", "0", "--results-dir", str(results), "--run-id", "ns",
         "--", "-k", "3.1-esme or 6.2.4-esme or vdmc1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # A -k selection leaves most planned tests unexecuted: the entry is in progress (20.32 (a)), and
    # dmct run's status follows the verdict (docs/exit-codes.md), so 1 — with every selected test passed.
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "in_progress" in proc.stdout and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert "also running" in proc.stdout and "service_reference_variant" in proc.stdout
    run = results / "ns"
    outcomes = {(r.pack, r.test): r.outcome.value for r in iter_results(run / "results.jsonl")}
    assert outcomes == {
        ("srvt", "test_srv.py::test_positive[3.1-esme]"): "passed",
        ("srvt-vdmc1", REPLACEMENT): "passed",
        ("srvt-vdmc1", ADDED): "passed",
    }
    changes = json.loads((run / "run.json").read_text())["packs"]["srvt-vdmc1"]["changes"]
    assert [(c["test"], c["change"], c.get("by")) for c in changes] == [
        (REMOVED, "removed", None),
        (REPLACED, "replaced", REPLACEMENT),
    ]
    assert all(c["rationale"].startswith("Example") for c in changes)
    plan = load_plan(run / "plan.json")
    assert plan.entries[0].tests is not None
    srvt = plan.entries[0].tests["srvt"]
    assert REMOVED not in srvt and REPLACED not in srvt and "test_srv.py::test_positive[3.1-esme]" in srvt
    verdict = json.loads((run / "verdict.json").read_text())["entries"]["EPCL-VDMC1-D"]
    not_run = {(t["pack"], t["test"]) for t in verdict["not_executed_tests"]}
    assert ("srvt", REMOVED) not in not_run and ("srvt", REPLACED) not in not_run
    own = plan.entries[0].tests["srvt-vdmc1"]
    assert sorted(own) == sorted([REPLACEMENT, ADDED])  # 20.17: the DMC's own tests are planned too
    assert verdict["planned"] == len(srvt) + len(plan.packs["dormant-mt"].tests) + len(own)
    assert verdict["packs"]["srvt-vdmc1"]["planned"] == 2 and ("srvt-vdmc1", ADDED) not in not_run
    report = tmp_path / "testing.md"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "testing", "--run", str(run), "--runs", str(results),
         "--entry", "EPCL-VDMC1-D", "-o", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = report.read_text()
    assert "Manifests used: dormant-mt 1.2.0 (IOC, pack.yaml); srvt " in text
    assert (
        "Non-Standard Test Pack (20.17) srvt-vdmc1 0.1.0 (IOC, pack.yaml) for DMC VDMC1, changing srvt"
        in text
    )
    assert f"| srvt | {REMOVED} | removed | — | Example" in text


def test_the_manifest_is_named_by_dmct_ttm(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["ttm", "--release", "FOC", "--json"]) == 0
    packs = {p["id"]: p for p in json.loads(capsys.readouterr().out)["packs"]}
    assert packs["srvt"]["manifest"] == "pack.FOC.yaml" and packs["srvt"]["capability_release"] == "FOC"
    assert main(["ttm", "--json", str(EXAMPLE)]) == 0
    packs = {p["id"]: p for p in json.loads(capsys.readouterr().out)["packs"]}
    assert packs["srvt-vdmc1"] == {"id": "srvt-vdmc1", "version": "0.1.0", "capability_release": "IOC",
                                   "manifest": "pack.yaml", "standard": False}  # fmt: skip
