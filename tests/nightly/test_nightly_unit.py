"""The pure pieces of ci/nightly: the night's plan, scheduling, the exit rule, pointers, options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.model.interchange import Plan
from harness.regression.diff import diff_paths
from harness.regression.night_files import prune, read_latest, write_latest
from harness.regression.night_rules import (
    EXIT_BAD_INPUT,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_REGRESSION,
    EntryNight,
    night_label,
    restrict_plan,
    schedule,
)
from harness.regression.nightly import main
from tests.nightly.runs import ENTRY, MT, SRVT, at, facts, line, plan, write_run


def test_the_nights_plan_is_what_pytest_selected() -> None:
    full = Plan.model_validate(plan(tests={"srvt": SRVT[:4]}))
    everything = restrict_plan(full, None)
    assert everything.profile == "regression"
    assert everything.entries[0].tests == {"dormant-mt": MT, "srvt": SRVT[:4]}  # the entry's own list (20.17)
    subset = restrict_plan(full, {"srvt": {"srvt-02", "srvt-07"}, "other": {"x"}})
    assert subset.entries[0].tests == {"srvt": ["srvt-02"]}  # srvt-07 is not planned for this entry
    mtad = Plan.model_validate(plan(mt_under_mtad=True))
    assert set(restrict_plan(mtad, None).entries[0].tests or {}) == {"srvt"}  # 20.14: SRVT only under MTAD


def test_entries_sharing_a_rig_never_run_together() -> None:
    rigs = {"A": frozenset({"r1"}), "B": frozenset({"r1", "r2"}), "C": frozenset({"r3"}), "D": frozenset()}
    assert schedule(["A", "B", "C", "D"], [], rigs, jobs=10) == ["A", "C", "D"]
    assert schedule(["B", "C"], ["A"], rigs, jobs=10) == ["C"]
    assert schedule(["B", "C", "D"], [], rigs, jobs=1) == ["B"]
    assert schedule(["D"], ["A", "C"], rigs, jobs=2) == []


def _night(status: str = "successful", complete: bool = True) -> EntryNight:
    e = EntryNight(ENTRY, "r", Path("r"), status=0 if complete else 2, complete=complete)
    if complete:
        e.regression = {"status": status, "reasons": ["Table 13.1 2B: why"]}
    else:
        e.problems = ["dmct run exited 2 without results"]
    return e


def test_exit_rule(tmp_path: Path) -> None:
    from harness.regression.night_rules import exit_reasons

    assert exit_reasons([_night()], None) == (EXIT_OK, [])
    status, why = exit_reasons([_night("in_progress")], None)
    assert status == EXIT_REGRESSION and why == [
        f"{ENTRY}: regression profile in_progress: Table 13.1 2B: why"
    ]
    assert exit_reasons([_night(), _night(complete=False)], None)[0] == EXIT_INCOMPLETE
    a = write_run(tmp_path, "a", [line("mt-01", "passed", at(20)), line("mt-02", "passed", at(20))])
    b = write_run(tmp_path, "b", [line("mt-01", "failed", at(21)), line("mt-02", "blocked", at(21))],
                  run_facts=facts("b", started=at(21)))  # fmt: skip
    status, why = exit_reasons([_night(), _night(complete=False)], diff_paths(a, b))
    assert status == EXIT_REGRESSION  # a regression beats an incomplete night
    assert why[:2] == [
        f"{ENTRY}: new failures vs the previous night (1): dormant-mt mt-01",
        f"{ENTRY}: newly blocked vs the previous night (1): dormant-mt mt-02",
    ]
    fixed = write_run(tmp_path, "c", [line("mt-01", "passed", at(22))], run_facts=facts("c", started=at(22)))
    assert exit_reasons([_night()], diff_paths(b, fixed)) == (EXIT_OK, [])  # fixed / not run: no regression


def test_latest_pointer_and_pruning(tmp_path: Path) -> None:
    out = tmp_path / "nightly"
    assert read_latest(out) is None
    names = [f"202611{d:02d}T020000Z" for d in range(20, 26)]
    for name in names:
        (out / name).mkdir(parents=True)
        (out / name / "summary.json").write_text("{}")
    (out / "not-a-night").mkdir()
    write_latest(out, names[2])
    assert read_latest(out) == (out / names[2]).resolve()
    write_latest(out, names[3])  # replaced atomically
    assert os.readlink(out / "latest") == names[3]
    removed = prune(out, 3, [out / names[0]])
    assert sorted(p.name for p in removed) == names[1:3]  # protected and newest kept, others untouched
    assert (out / "not-a-night").is_dir() and (out / names[0]).is_dir()
    (out / "latest").unlink()
    (out / "latest").write_text(names[4] + "\n")  # a pointer file where symlinks are not available
    assert read_latest(out) == out / names[4]
    assert night_label(names[0]) == "11-20 02:00" and night_label(names[0], True) == "11-20 02:00:00"


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--lab", "nowhere.yaml"], "nowhere.yaml"),
        (["--rigs", "0"], "--rigs"),
        (["--night-id", "yesterday"], "--night-id"),
        (["--entry", "EPCL-NOPE"], "unknown entry 'EPCL-NOPE'"),
        (["--entry", "EPCL-VDMC1-D", "--", "-k", "no_such_test_anywhere"], "select no test"),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str], text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path / "out"), *argv]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("ci/nightly: error:") and err.count("\n") == 1 and text in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("2*"))


def test_ci_variables_join_the_command_line() -> None:
    from harness.regression.nightly import combined_argv

    assert combined_argv(["--lab", "l.yaml"], "") == ["--lab", "l.yaml"]
    assert combined_argv(["--lab", "l.yaml", "--", "-x"], "--rigs 2 -- -k 'a and b'") == [
        "--rigs", "2", "--lab", "l.yaml", "--", "-k", "a and b", "-x",
    ]  # fmt: skip
    with pytest.raises(Exception, match="DMCT_NIGHTLY_ARGS"):
        combined_argv([], "-k 'unbalanced")
