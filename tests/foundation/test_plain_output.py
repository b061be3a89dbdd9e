"""Tables of every ``dmct`` command in a CI log or a pipe: never cut or wrapped at 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

LONG_ENTRY = "EPCL-ACME-SMETS1-DUAL-FUEL-DORMANT-0001-SUFFIX"
TITLE = "Register 0x1F read back as zero after the second firmware activation on the optical port"


def test_issue_table_off_a_terminal_keeps_each_issue_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DMCT_STORE", f"sqlite:///{tmp_path / 's.sqlite'}")
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["issues", "add", "--title", TITLE, "--severity", "3", "--entry", LONG_ENTRY]) == 0
    capsys.readouterr()
    assert main(["issues", "list"]) == 0
    out = capsys.readouterr().out  # captured: not a terminal
    (row,) = [line for line in out.splitlines() if "TI-0001" in line]
    assert TITLE in row and LONG_ENTRY in row and "…" not in out
