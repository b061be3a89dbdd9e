"""EPCL report (20.41-20.42), weekly report (16.1-16.4, 9.4 (c)), heatmap counts and pictures, JUnit XML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.data import find_runs, gather
from harness.reports.epcl import build_epcl_report
from harness.reports.heatmap import build_heatmap, render_png, render_svg
from harness.reports.render import render_markdown
from harness.reports.weekly import build_weekly_report, issue_state_at, parse_week
from tests.reports.dataset import BAD, OK, issues

DAY = date(2026, 11, 30)


def _data() -> object:
    return gather(find_runs(Path("results")), issues_file=Path("issues.json"))


def test_epcl_proposes_successful_entries_only(ds: dict[str, Path]) -> None:
    data = gather(find_runs(Path("results")), issues_file=Path("issues.json"))
    doc = build_epcl_report(
        data, [OK, BAD, "EPCL-ACME1-A"] if False else [OK, BAD], DAY, report_refs={OK: "r.md (SHA-256 abc)"}
    )
    text = render_markdown(doc)
    assert doc.meta[2] == ("Proposed", OK)
    assert "| EPCL-ACME1-D | ACME1 | dormant |" in text and "own testing (20.41 (b)(i))" in text
    assert f"{BAD}: unsuccessful — not proposed" in text
    assert "DMCT Testing Report EPCL-ACME1-D" in text and "r.md (SHA-256 abc)" in text


def test_epcl_relies_on_and_cli_reference(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    Path("tr.md").write_text("report")
    assert (
        main(
            [
                "report",
                "epcl",
                "--entry",
                BAD,
                "--relies-on",
                f"{BAD}={OK}",
                "--testing-report",
                f"{OK}=tr.md",
                # 20.41 (b)(ii): "a reference to a prior final DMCT Testing Report" (no store here to
                # follow the draft to final)
                "--final-report",
                f"{OK}=DMCT Testing Report {OK} (final 2026-12-14)",
                "--issues",
                "issues.json",
                "--date",
                "2026-11-30",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"relies on {OK} (20.9, 20.41 (b)(ii))" in out
    assert "tr.md (SHA-256 " in out and "MISSING (give --testing-report)" not in out


def test_heatmap_counts_and_pictures(ds: dict[str, Path]) -> None:
    data = gather([ds["R1"]], issues_file=Path("issues.json"))
    heat = build_heatmap(data, [(OK, [OK])], "t")
    cells = dict(zip(heat.groups, heat.cells[0], strict=True))
    tariff, migration = cells["Tariff"], cells["Migration"]
    assert tariff is not None and (tariff.planned, tariff.executed, tariff.passed) == (2, 1, 1)  # one blocked
    assert migration is not None and migration.success == 0.5 and migration.coverage == 1.0
    png = render_png(heat)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    svg = render_svg(heat)
    assert svg.startswith("<svg") and "Tariff" in svg  # text kept as text


def test_heatmap_ungrouped(ds: dict[str, Path]) -> None:
    data = gather([ds["R1"]], issues_file=Path("issues.json"))
    data.groups.clear()
    heat = build_heatmap(data, [(OK, [OK])], "t")
    assert heat.groups == ("ungrouped",)


def test_weekly(ds: dict[str, Path]) -> None:
    data = gather(find_runs(Path("results")), issues_file=Path("issues.json"))
    w47 = render_markdown(build_weekly_report(data, parse_week("2026-W47"), DAY))
    assert "| dmct | srvt | 12 | 5 | 5 | 0 | 7 | 100.0% | 6 |" in w47  # only R1 by the end of W47
    assert "LinkTimeout" in w47 and "| blocked |" in w47  # 9.4 (c): why not run
    assert "| 2026-W47 | 0 | 0 | 1 | 0 | 0 | 1 |" in w47
    w48 = render_markdown(build_weekly_report(data, parse_week("2026-W48"), DAY))
    assert "| 2026-W48 | 0 | 0 | 2 | 1 | 0 | 3 |" in w48 and "3 issue(s) raised, 1 closed" in w48


def test_issue_state_from_history() -> None:
    from datetime import UTC, datetime

    from harness.model.interchange import Issue

    ti1 = Issue.model_validate(issues()[0])
    assert issue_state_at(ti1, datetime(2026, 11, 15, tzinfo=UTC)) is None
    assert issue_state_at(ti1, datetime(2026, 11, 20, tzinfo=UTC)) == ("open", 3)
    assert issue_state_at(ti1, datetime(2026, 11, 24, tzinfo=UTC)) == ("closed", 3)


@pytest.mark.parametrize("week", ["2026-48", "2026-W54", "x"])
def test_bad_week(ds: dict[str, Path], capsys: pytest.CaptureFixture[str], week: str) -> None:
    assert main(["report", "weekly", "--week", week]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_errors_are_one_line(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ["report", "testing", "--entry", OK, "--format", "pdf"],  # pdf needs -o
        ["report", "testing", "--entry", OK, "--run", "nowhere"],
        ["report", "testing", "--entry", OK, "--date", "30/11/2026"],
        ["report", "testing", "--entry", OK, "--heatmap", "h.gif"],
        ["report", "epcl", "--entry", OK, "--relies-on", "nonsense"],
        ["report", "junit", "--run", "nowhere"],
        ["report", "testing", "--entry", OK, "--runs", "empty"],
    ]
    Path("empty").mkdir()
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("dmct: error:") and err.count("\n") == 1, (argv, err)


def test_heatmap_of_many_groups_stays_legible() -> None:
    """18 functional groups: the grid goes down the page for one entry and in bands of 6 for many, and
    the picture stacks bands instead of squeezing 18 columns into one row (2 pt labels when printed)."""
    from harness.reports.heatmap import BAND, render_grid
    from harness.reports.model import Heatmap, HeatmapCell

    groups = tuple(f"Group {i:02d}" for i in range(18))
    one = Heatmap("one", groups, ("E1",), ((HeatmapCell(2, 1, 1),) * 18,))
    grid = render_grid(one)
    assert grid.count("<table") == 1 and grid.count('<th scope="row">Group') == 18
    many = Heatmap("many", groups, tuple(f"E{i}" for i in range(10)), ((HeatmapCell(2, 2, 1),) * 18,) * 10)
    assert render_grid(many).count("<table") == 18 // BAND
    from io import BytesIO

    from PIL import Image

    width_px, _ = Image.open(BytesIO(render_png(many, dpi=100))).size
    assert width_px <= 100 * (3.5 + 1.45 * BAND + 0.2), width_px  # fits an A4 page at ~ natural size
