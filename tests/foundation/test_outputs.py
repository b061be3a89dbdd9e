"""Output files follow the umask and run-scoped lab files go with the lab (issue 18)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import DmctInputError
from harness.outputs import atomic_write, atomic_writer, check_output_file, current_umask
from tests.conftest import REPO


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_writes_get_the_mode_the_umask_gives(tmp_path: Path, mask: int) -> None:
    os.umask(mask)
    assert current_umask() == mask
    atomic_write(tmp_path / "report.md", "# report\n")
    with atomic_writer(tmp_path / "plan.json") as handle:
        handle.write("{}\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("as any program would\n")
    expected = stat.S_IMODE(plain.stat().st_mode)
    assert expected == 0o666 & ~mask
    for name in ("report.md", "plan.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt", "plan.json", "report.md"]  # no .tmp


def test_output_paths_are_checked_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(DmctInputError, match="is a directory"):
        check_output_file(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DmctInputError, match="is not a directory"):
        check_output_file(tmp_path / "file" / "out.md")
    assert check_output_file(tmp_path / "new" / "out.md") == tmp_path / "new" / "out.md"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_cli_outputs_are_readable_by_others(tmp_path: Path) -> None:
    # A real process with umask 022: the export must be 0644, not mkstemp's 0600.
    url = f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    script = (
        "import os, sys; os.umask(0o022); from harness.cli import main; "
        f"main(['issues', 'add', '--title', 't', '--severity', '3', '--store', {url!r}]); "
        f"sys.exit(main(['issues', 'export', '-o', {str(tmp_path / 'issues.yaml')!r}, '--store', {url!r}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "issues.yaml").stat().st_mode) == 0o644


def test_a_stopped_lab_leaves_nothing_in_results_lab(tmp_path: Path) -> None:
    endpoints = tmp_path / ".lab" / "run-1.endpoints.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "lab", "up", str(REPO / "labs/virtual.yaml"), "--endpoints",
         str(endpoints), "--rigs", "2", "--exit-with-stdin"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().decode()
    assert line.startswith("dmct lab: ready"), line
    left = sorted(p.name for p in (tmp_path / ".lab").iterdir())
    assert "run-1.endpoints.lab.yaml" in left and "run-1.endpoints.route-keys" in left, left
    proc.stdin.close()  # what `dmct run` does when it is done
    proc.wait(30)
    assert sorted(p.name for p in (tmp_path / ".lab").iterdir()) == []
