"""Markdown, HTML and PDF renderings of a report :class:`~harness.reports.model.Document`, written atomically.

Markdown is what a reviewer diffs; HTML is self-contained (inline CSS and heatmap SVG, no scripts, no
external resources) so it opens offline and prints the same everywhere; PDF is that HTML printed by
headless Chromium, the one renderer that handles the CSS and SVG faithfully and is a Debian package.
When Chromium is absent PDF output is a clear one-line error rather than a worse-looking fallback.

Every output is written to a temporary file in the target directory and renamed into place, so a report
is never seen half-written (a crash leaves the previous version, or nothing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from harness.errors import DmctInputError
from harness.reports.model import Document, Heatmap, HeatmapCell

Format = Literal["md", "html", "pdf"]
FORMATS: tuple[str, ...] = ("md", "html", "pdf")
TEMPLATES = Path(__file__).with_name("templates")
#: Browsers tried for PDF output, first found wins; ``$DMCT_CHROMIUM`` overrides.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags that keep a headless Chromium from touching the network, the user's profile or a GPU.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--mute-audio",
)


#: Column headers whose cells are timestamps or dates: kept on one line.
TIME_HEADERS = frozenset(
    {"at", "started", "finished", "failed at", "due", "when", "date", "raised", "closed"}
)
_BREAK_AFTER = re.compile(r"([/:_.\-\[\],=])")


#: Words up to this long are never broken (a short test id, a pack id, a timestamp's date stays whole).
WHOLE_WORD = 16


def _soft(value: Any) -> Any:
    """Escape ``value`` and let long words (ids, paths) break after separators (``/ : _ . - [ ] , =``),
    so they wrap at sensible places in a narrow column instead of letter by letter; short words never
    break, so a narrow column cannot squeeze them."""
    from markupsafe import Markup, escape

    words = re.split(r"(\s+)", str(value))
    return Markup(
        "".join(
            _BREAK_AFTER.sub(r"\1<wbr>", str(escape(w)))
            if len(w) > WHOLE_WORD
            else f'<span class="nw">{escape(w)}</span>'
            if "-" in w
            else str(escape(w))
            for w in words
        )
    )


def _css_string(value: Any) -> Any:
    """``value`` as a quoted CSS string, safe inside ``<style>`` (where HTML entities are not decoded)."""
    from markupsafe import Markup

    text = "".join(c if c.isalnum() or c in " -—–·_.,:;()/[]'" else f"\\{ord(c):x} " for c in str(value))
    return Markup(f'"{text}"')


def _href(path: str, base: Path | None) -> str:
    """A link to ``path``: relative to the written report's directory when known, else a file URI."""
    from urllib.parse import quote

    target = Path(path)
    if base is not None and target.is_absolute():
        return quote(os.path.relpath(target, base).replace(os.sep, "/"))
    return target.as_uri() if target.is_absolute() else quote(path)


def _md_cell(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>") or " "


def _md_inline(value: Any) -> str:
    return str(value).replace("\n", " ")


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from markupsafe import Markup

    from harness.reports.heatmap import cell_text, render_grid, render_svg

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["kind"] = lambda block: type(block).__name__
    env.filters["md_cell"] = _md_cell
    env.filters["md_inline"] = _md_inline
    env.filters["md_row"] = lambda cells: "| " + " | ".join(map(_md_cell, cells)) + " |"
    env.filters["heat_cell"] = lambda cell: cell_text(cell if isinstance(cell, HeatmapCell) else None)
    env.filters["heat_svg"] = lambda hm: Markup(render_svg(hm) if isinstance(hm, Heatmap) else "")
    env.filters["heat_grid"] = lambda hm: Markup(render_grid(hm) if isinstance(hm, Heatmap) else "")
    env.filters["soft"] = _soft
    env.filters["zip"] = lambda a, b: list(zip(a, b, strict=False))
    env.filters["css_str"] = _css_string
    env.filters["col_class"] = lambda header: "ts" if str(header).lower() in TIME_HEADERS else ""
    return env


def render_markdown(doc: Document) -> str:
    text: str = _env().get_template("report.md.j2").render(doc=doc)
    # Collapse the blank-line runs the template's block structure leaves behind.
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def render_html(doc: Document, base: Path | None = None) -> str:
    """The document as one self-contained HTML page; links to files (evidence) are relative to ``base``
    (the directory the page is written to) when given, else absolute ``file:`` URIs."""
    text: str = _env().get_template("report.html.j2").render(doc=doc, href=lambda p: _href(p, base))
    return text


def find_chromium() -> str | None:
    override = os.environ.get("DMCT_CHROMIUM", "").strip()
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, timeout: float = 120.0) -> bytes:
    """Print ``html`` to PDF with headless Chromium; a one-line :class:`DmctInputError` when it cannot."""
    browser = find_chromium()
    if browser is None:
        raise DmctInputError(
            "--format",
            "pdf needs Chromium (apt-get install -y chromium); none found on PATH (or set DMCT_CHROMIUM)",
        )
    with tempfile.TemporaryDirectory(prefix="dmct-pdf-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        argv = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DmctInputError("--format", f"pdf: Chromium did not finish within {timeout:.0f} s") from None
        if not out.is_file() or out.stat().st_size == 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise DmctInputError("--format", f"pdf: Chromium failed (exit {proc.returncode}): {tail[0]}")
        return out.read_bytes()


def render(doc: Document, fmt: str, base: Path | None = None) -> bytes:
    """The document in ``fmt`` as bytes (UTF-8 for text formats); ``base``: where it will be written."""
    if fmt == "md":
        return render_markdown(doc).encode("utf-8")
    if fmt == "html":
        return render_html(doc, base).encode("utf-8")
    if fmt == "pdf":
        return html_to_pdf(render_html(doc))
    raise DmctInputError("--format", f"must be one of {'|'.join(FORMATS)}, not {fmt!r}")
