"""The DMCT Testing Report: golden Markdown for both variants, every item (a)-(i), missing shown."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.data import find_runs, gather
from harness.reports.model import Missing
from harness.reports.render import render_html, render_markdown
from harness.reports.testing import ITEMS, build_testing_report
from tests.reports.dataset import BAD, OK

GOLDEN = Path(__file__).with_name("golden")
DAY = date(2026, 11, 30)


def _report(entry: str) -> str:
    data = gather(find_runs(Path("results"), entry), keep={entry}, issues_file=Path("issues.json"))
    return render_markdown(build_testing_report(data, entry, DAY))


@pytest.mark.parametrize(
    ("entry", "name", "clause"),
    [(OK, "testing-successful.md", "20.34"), (BAD, "testing-unsuccessful.md", "20.35")],
)
def test_golden(ds: dict[str, Path], entry: str, name: str, clause: str) -> None:
    text = _report(entry)
    golden = GOLDEN / name
    if os.environ.get("DMCT_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    for key, _title in ITEMS:
        assert f"## ({key}) " in text and f"{clause} ({key})" in text


def test_successful_content(ds: dict[str, Path]) -> None:
    data = gather(find_runs(Path("results"), OK), keep={OK}, issues_file=Path("issues.json"))
    doc = build_testing_report(data, OK, DAY, certificate_date=date(2026, 12, 4))
    assert doc.status == "successful" and not doc.banner
    assert [s.key for s in doc.sections][:9] == list("abcdefghi")
    text = render_markdown(doc)
    # (e) re-run history: mt-03 failed in R1 then passed in R2 after the firmware moved 1.0.0 -> 1.0.1.
    assert re.search(r"mt-03 \| failed \(R1, [^)]*\) → passed \(R2", text)
    assert "esme 1.0.0" in text and "esme 1.0.1" in text
    # (f) TI-0003 excluded, pending TAG, with rationale; (g) TI-0002 Work Off Plan: 40 WD from 4 Dec 2026.
    assert "| TI-0003 | 3 | DCO log noise | pending | no | lies in the DCO test stub" in text
    assert "| TI-0002 | 4 |" in text and "2027-02-03" in text
    assert "cosmetic delay" in text
    assert "Confirmed: all 2 open Testing Issues" in text
    assert not any(s.missing for s in doc.sections[:9])


def test_unsuccessful_content(ds: dict[str, Path]) -> None:
    data = gather(find_runs(Path("results"), BAD), keep={BAD}, issues_file=Path("issues.json"))
    doc = build_testing_report(data, BAD, DAY)
    assert doc.status == "unsuccessful"
    assert "pass rate 50.0% (3/6) is below the 60.0%" in " ".join(doc.section("i").blocks[1].items)  # type: ignore[union-attr]
    assert any("20.18" in m for m in doc.section("a").missing)  # explicit, not omitted
    assert "srvt-6.2.5" in render_markdown(doc).split("Evidence gaps")[1]
    html = render_html(doc)
    assert html.count('class="missing"') == sum(
        isinstance(b, Missing) for s in doc.sections for b in s.blocks
    )
    for key in "abcdefghi":
        assert f'id="item-{key}"' in html
    assert 'class="heatmap-grid"' in html and "Reads" in html  # the heatmap as a grid of real text


def test_in_progress_gets_banner(ds: dict[str, Path]) -> None:
    data = gather([ds["R1"]], keep={OK}, issues_file=Path("issues.json"))
    doc = build_testing_report(data, OK, DAY)
    assert doc.status == "in_progress"
    assert "Not a draft DMCT Testing Report" in doc.banner and "20.31" in doc.banner


def test_missing_issue_log_is_shown(ds: dict[str, Path]) -> None:
    data = gather(find_runs(Path("results"), OK), keep={OK})
    doc = build_testing_report(data, OK, DAY)
    assert any("Testing Issue log" in m for m in doc.section("d").missing)


def test_cli_writes_html_atomically(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "report",
                "testing",
                "--entry",
                OK,
                "--issues",
                "issues.json",
                "--date",
                "2026-11-30",
                "-o",
                "out/report.html",
                "--heatmap",
                "out/heat.svg",
            ]
        )
        == 0
    )
    html = Path("out/report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and 'class="heatmap-grid"' in html
    assert Path("out/heat.svg").read_text().lstrip().startswith("<svg")
    assert sorted(p.name for p in Path("out").iterdir()) == ["heat.svg", "report.html"]  # no temp files left


def test_cli_unknown_entry_is_one_line(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["report", "testing", "--entry", "NOPE", "--run", "results/R1", "--issues", "issues.json"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "NOPE" in err and err.startswith("dmct: error:")
