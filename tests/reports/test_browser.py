"""The DMCT Testing Report as people see it, in headless Chromium: the HTML page at A4 width and each
page of the PDF. Checks legibility (smallest text), that nothing overflows the page, the A4 page size,
page numbers and the running header (entry, draft), that ids and timestamps are not broken letter by
letter, that evidence paths are links and the heatmap a legible grid. Screenshots of the HTML page and
of every PDF page are written to a temporary directory (printed in the output)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.render import CHROMIUM_FLAGS, find_chromium
from tests.reports.dataset import BAD

BROWSER = find_chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="Chromium not installed (apt-get install -y chromium; .ci/run installs it)"
)
A4_PT = (595.3, 841.9)
MIN_PT = 7.5  # smallest legible printed text (8 pt page furniture and table text, 1/2 pt of slack)
A4_PX = (794, 1123)  # A4 at 96 dpi: the page width a reader's browser window shows the report at


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots: {path}")
    return path


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


def _report(fmt: str) -> Path:
    out = Path(f"report.{fmt}")
    argv = ["report", "testing", "--entry", BAD, "--issues", "issues.json", "--date", "2026-11-30"]
    assert main([*argv, "-o", str(out)]) == 0
    return out


PROBE = """<script>
(() => {
  const sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode;
    if (n.textContent.trim() && n.parentElement.getClientRects().length)
      sizes.push(parseFloat(getComputedStyle(n.parentElement).fontSize));
  }
  const page = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('table, figure, pre, p, dl')]
    .filter(e => e.getBoundingClientRect().right > page + 0.5)
    .map(e => e.tagName + ':' + e.textContent.slice(0, 40));
  const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; };
  const brokenTs = [...document.querySelectorAll('td.ts')].filter(td => lines(td) > 1).length;
  const grid = document.querySelector('table.heatmap-grid');
  const out = {
    minPx: Math.min(...sizes), scroll: document.documentElement.scrollWidth, page, wide, brokenTs,
    links: document.querySelectorAll('#item-c a[href]').length,
    grid: grid ? [grid.getBoundingClientRect().width, grid.getBoundingClientRect().height] : null,
  };
  document.body.setAttribute('data-probe', JSON.stringify(out));
})();
</script></body>"""


def test_html_report_in_headless_chromium(ds: dict[str, Path], tmp_path: Path, shots: Path) -> None:
    html = _report("html")
    url = html.resolve().as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="item-i"' in dom.stdout and "heatmap-grid" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    shot = shots / "dmct-testing-report.png"
    size = f"--window-size={A4_PX[0]},4000"
    res = _chromium(tmp_path, f"--screenshot={shot}", size, "--hide-scrollbars", url)
    assert res.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000, res.stderr[-2000:]
    probe = Path("probe.html")
    probe.write_text(html.read_text().replace("</body>", PROBE))
    dom = _chromium(tmp_path, f"--window-size={A4_PX[0]},{A4_PX[1]}", "--dump-dom", probe.resolve().as_uri())
    start = dom.stdout.index("data-probe=") + len("data-probe=") + 1
    raw = dom.stdout[start : dom.stdout.index('"', start) if dom.stdout[start - 1] == '"' else None]
    found = json.loads(raw.replace("&quot;", '"').replace("&amp;", "&"))
    assert found["minPx"] * 0.75 >= MIN_PT, found  # CSS px -> pt
    assert found["scroll"] <= found["page"] and found["wide"] == [], found  # nothing wider than A4
    assert found["brokenTs"] == 0, found  # timestamps on one line
    assert found["links"] >= 10, found  # every execution's evidence is a link
    width, height = found["grid"]
    assert 150 < width <= found["page"] and height > 100, found  # the heatmap is a visible grid
    hrefs = [h for h in html.read_text().split('href="')[1:]]
    targets = [html.parent / h.split('"', 1)[0] for h in hrefs]
    assert targets and all(t.is_file() for t in targets), targets[:3]  # links open the transcripts


def test_pdf_is_a4_numbered_headed_and_legible_on_every_page(ds: dict[str, Path], shots: Path) -> None:
    import pdfplumber

    pdf_path = _report("pdf")
    assert pdf_path.read_bytes()[:5] == b"%PDF-"
    with pdfplumber.open(pdf_path) as pdf:
        pages = list(pdf.pages)
        assert len(pages) >= 2
        for number, page in enumerate(pages, start=1):
            size = (page.width, page.height)  # A4 within 1 pt (US Letter is 612 x 792)
            assert abs(size[0] - A4_PT[0]) < 1 and abs(size[1] - A4_PT[1]) < 1, (number, size)
            text = page.extract_text()
            assert f"Page {number} of {len(pages)}" in text, number
            assert text.splitlines()[0].startswith(f"{BAD} — draft DMCT Testing Report"), text[:80]
            sizes = [c["size"] for c in page.chars if c["text"].strip()]
            assert min(sizes) >= MIN_PT, (number, min(sizes))
            margin = 10 * 72 / 25.4  # text stays 10 mm inside the paper's edge (page margins are 14 mm)
            outside = [c["text"] for c in page.chars if c["x0"] < margin or c["x1"] > page.width - margin]
            assert outside == [], (number, "".join(outside)[:80])
            page.to_image(resolution=72).save(shots / f"dmct-testing-report-page-{number}.png")
        words = {w["text"] for p in pages for w in p.extract_words()}
    # ids and timestamps are whole words on the page, not split across lines letter by letter
    whole = {"srvt-4.1.1", "srvt-11.3", "dormant-mt", "2026-11-25T10:13:00.000000Z"}
    assert whole <= words, sorted(words)[:40]
    assert list(shots.glob("dmct-testing-report-page-*.png"))
