"""The HTML report in headless Chromium: renders, no console errors, heatmap visible; screenshot kept."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.render import CHROMIUM_FLAGS, find_chromium
from tests.reports.dataset import BAD

REPO = Path(__file__).resolve().parents[2]
BROWSER = find_chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="Chromium not installed (apt-get install -y chromium)"
)


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    argv = [
        BROWSER,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp}/profile",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


def test_html_report_in_headless_chromium(ds: dict[str, Path], tmp_path: Path) -> None:
    assert (
        main(
            [
                "report",
                "testing",
                "--entry",
                BAD,
                "--issues",
                "issues.json",
                "--date",
                "2026-11-30",
                "-o",
                "report.html",
            ]
        )
        == 0
    )
    url = Path("report.html").resolve().as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="item-i"' in dom.stdout and "<svg" in dom.stdout and "Heatmap" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    # Kept for a person to look at only where asked ($DMCT_SCREENSHOTS): tests write nothing into the repo.
    shots = Path(os.environ.get("DMCT_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "dmct-testing-report.png"
    shot.unlink(missing_ok=True)
    res = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", "--hide-scrollbars", url)
    assert res.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000, res.stderr[-2000:]
    # The heatmap is visible: its figure has real size in the rendered page (layout checked by Chromium).
    probe = Path("probe.html")
    probe.write_text(
        Path("report.html")
        .read_text()
        .replace(
            "</body>",
            "<script>const r=document.querySelector('figure.heatmap svg').getBoundingClientRect();"
            "document.body.setAttribute('data-heat', r.width > 200 && r.height > 60 ? 'visible' : 'hidden');"
            "</script></body>",
        )
    )
    dom = _chromium(tmp_path, "--dump-dom", probe.resolve().as_uri())
    assert 'data-heat="visible"' in dom.stdout, dom.stdout[:500]


def test_pdf(ds: dict[str, Path]) -> None:
    assert main(["report", "testing", "--entry", BAD, "--issues", "issues.json", "-o", "report.pdf"]) == 0
    assert Path("report.pdf").read_bytes()[:5] == b"%PDF-"
