"""Run directories are never reused (issue 18): an existing ``--run-id`` is refused up front, before any
lab starts; ``--resume`` continues a run only after its plan, facts and journal were checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import DmctInputError
from harness.model.interchange import iter_results
from harness.paths import check_run_dir, check_run_id
from tests.conftest import REPO, RunningLab, run_pack, write_pack

LAB = str(REPO / "labs/virtual.yaml")


@pytest.mark.parametrize("run_id", ["20270111T090000Z-ab12", "night.2027-01-11", "E1_rerun", "a" * 64])
def test_safe_run_ids_are_accepted(run_id: str) -> None:
    assert check_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["../evil", "..", ".hidden", "a/b", "", "x" * 65, "-n", "a..b", "é", " x"])
def test_hostile_run_ids_are_refused(run_id: str) -> None:
    with pytest.raises(DmctInputError, match=r"--run-id: .*a run id is 1-64"):
        check_run_id(run_id)


def test_a_run_directory_is_taken_once_it_holds_a_run_file(tmp_path: Path) -> None:
    check_run_dir(tmp_path / "new", resume=False)  # nothing there: fine
    (tmp_path / "empty").mkdir()
    check_run_dir(tmp_path / "empty", resume=False)  # an empty directory is not a run
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.jsonl").write_text("")
    with pytest.raises(DmctInputError, match=r"old: a run with this id exists .* or --resume"):
        check_run_dir(tmp_path / "old", resume=False)
    check_run_dir(tmp_path / "old", resume=True)
    with pytest.raises(DmctInputError, match=r"--resume: .*no run to resume"):
        check_run_dir(tmp_path / "new", resume=True)


@pytest.fixture
def no_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a lab or pytest fails the test: refusals must come first."""
    import subprocess

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"started a process before checking the arguments: {args}")

    monkeypatch.setattr(subprocess, "Popen", forbidden)


@pytest.mark.usefixtures("no_lab")
@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--run-id", "taken"], "taken: a run with this id exists"),
        (["--run-id", "../evil"], "--run-id: '../evil': a run id is 1-64"),
        (["--run-id", "fresh", "--resume"], "--resume: "),
        (["--resume"], "--resume: say which run: --run-id ID"),
        (["-n", "abc"], "-n: must be a whole number, got 'abc'"),
        (["-n", "-1"], "-n: must be 0-256, got -1"),
        (["--rigs", "0"], "--rigs: must be 1-256, got 0"),
        (["--pack", "/nonexistent"], "--pack: /nonexistent: no such pack directory"),
        (["--results-dir", "FILE"], "--results-dir: FILE: exists and is not a directory"),
        (["--entry", "NO-SUCH"], "NO-SUCH"),
    ],
)
def test_run_refuses_bad_arguments_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    results = tmp_path / "results"
    (results / "taken").mkdir(parents=True)
    (results / "taken" / "results.jsonl").write_text('{"kept": true}\n')
    (tmp_path / "FILE").write_text("a file\n")
    argv = [str(tmp_path / "FILE") if a == "FILE" else a for a in argv]
    fragment = fragment.replace("FILE", str(tmp_path / "FILE"))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["run", "--lab", LAB, "--results-dir", str(results), *argv])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and fragment in captured.err, captured.err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (results / "taken" / "results.jsonl").read_text() == '{"kept": true}\n'
    assert not (tmp_path / "evil").exists()


PACK = "def test_one():\n    assert True\n"


@pytest.mark.slow  # `make slow` (in .ci/run): two `dmct run` sessions against a lab
def test_resume_continues_a_run_and_reuse_is_refused(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab]
) -> None:
    running = virtual_lab()
    pack = write_pack(tmp_path, "tiny", PACK, ["test_pack.py::test_one"])
    results, run_dir = tmp_path / "r", tmp_path / "r" / "one"
    first = run_pack(pack, results, "one", endpoints=running.endpoints, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    plan = (run_dir / "plan.json").read_bytes()
    (run_dir / "migrations").mkdir()  # as the standard packs leave them: stale for a new lab session

    again = run_pack(pack, results, "one", endpoints=running.endpoints, timeout=120)
    assert again.returncode == 4  # pytest's usage error: nothing ran
    assert "one: a run with this id exists" in again.stderr and "Traceback" not in again.stderr
    assert len(list(iter_results(run_dir / "results.jsonl"))) == 1

    resumed = run_pack(pack, results, "one", endpoints=running.endpoints, extra=("--resume",), timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(list(iter_results(run_dir / "results.jsonl"))) == 2  # appended, the first line kept
    assert (run_dir / "plan.json").read_bytes() == plan
    facts = json.loads((run_dir / "run.json").read_text())
    assert facts["run_id"] == "one" and facts["counts"] and len(facts["resumed"]) == 1
    assert facts["resumed"][0]["counts"] and (run_dir / "migrations.before-resume-1").is_dir()

    # Another pack is another plan: resuming with it is refused, and nothing changes.
    (tmp_path / "o").mkdir()
    other = write_pack(tmp_path / "o", "other", PACK, ["test_pack.py::test_one"])
    journal = (run_dir / "results.jsonl").read_bytes()
    refused = run_pack(other, results, "one", endpoints=running.endpoints, extra=("--resume",), timeout=120)
    assert refused.returncode == 4 and "cannot resume: this session's plan differs" in refused.stderr
    assert (run_dir / "results.jsonl").read_bytes() == journal

    # A garbage journal is named in one line before anything is appended to it.
    (run_dir / "results.jsonl").write_bytes(journal + b"\xff\xfe garbage\n")
    broken = run_pack(pack, results, "one", endpoints=running.endpoints, extra=("--resume",), timeout=120)
    assert broken.returncode == 4 and "results.jsonl" in broken.stderr and "Traceback" not in broken.stderr
    assert (run_dir / "results.jsonl").read_bytes() == journal + b"\xff\xfe garbage\n"
