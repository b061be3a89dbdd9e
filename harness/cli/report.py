"""``dmct report testing|epcl|weekly|junit``: the reports a lab is judged on, from runs and the issue log.

The I/O edge of :mod:`harness.reports`: it finds the run directories (``--run DIR`` …, else every run of
the entry under ``--runs DIR`` / ``$DMCT_RESULTS`` / ``./results``), the Testing Issue log (``--issues``,
a run's own export, else the store, never created), builds the document, optionally redacts it
(``--redact``, 16.1, 20.43), and writes it atomically (``-o``) or to stdout. Bad input is one line on
stderr and exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import DmctInputError
from harness.yamlio import checked_date

if TYPE_CHECKING:
    from harness.reports.data import ReportData
    from harness.reports.model import Document

ORDER = 50


def _common(p: argparse.ArgumentParser, formats: bool = True) -> None:
    p.add_argument(
        "--run",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="run directory (repeat for several); default: the entry's runs under --runs",
    )
    p.add_argument(
        "--runs",
        type=Path,
        metavar="DIR",
        help="directory holding the run directories (default: $DMCT_RESULTS or ./results)",
    )
    p.add_argument(
        "--issues", type=Path, metavar="FILE", help="issues export (default: a run's, else the store)"
    )
    p.add_argument("--store", metavar="URL", help="Testing Issue log (SQLAlchemy URL)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="report date (default: today)")
    if formats:
        p.add_argument(
            "--format",
            choices=("md", "html", "pdf"),
            help="output format (default: from -o's suffix, else md)",
        )
        p.add_argument(
            "-o", "--output", type=Path, metavar="FILE", help="write here (atomically); default stdout"
        )
        p.add_argument("--heatmap", type=Path, metavar="FILE", help="also write the heatmap (.png or .svg)")
        p.add_argument(
            "--redact",
            action="store_true",
            help="replace names, serials, EUI-64s and MPxNs with keyed pseudonyms (16.1, 20.43)",
        )
        p.add_argument(
            "--redact-key",
            type=Path,
            metavar="FILE",
            help="HMAC key for --redact (default: $DMCT_REDACT_KEY)",
        )
        p.add_argument(
            "--redact-config",
            type=Path,
            metavar="FILE",
            help="YAML: extra sensitive 'fields' and literal 'terms'",
        )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="DMCT Testing / EPCL / weekly reports, heatmap and JUnit XML",
        description="Reports from run directories and the Testing Issue log "
        "(SEC Appendix AK 16, 20.34-20.43).",
    )
    sub = parser.add_subparsers(dest="report", metavar="REPORT", required=True)
    t = sub.add_parser(
        "testing", help="draft DMCT Testing Report for one entry (20.34 / 20.35, items (a)-(i))"
    )
    t.add_argument("--entry", required=True, help="the planned entry on the EPCL")
    t.add_argument(
        "--certificate-date",
        metavar="YYYY-MM-DD",
        help="Test Completion Certificate date for Work Off Plans (15.1); default: the report date",
    )
    _common(t)
    t.set_defaults(func=run_testing)
    e = sub.add_parser("epcl", help="DMCT EPCL Report for one or more planned entries (20.41-20.42)")
    e.add_argument("--entry", action="append", required=True, help="a planned entry (repeat)")
    e.add_argument(
        "--relies-on",
        action="append",
        default=[],
        metavar="ENTRY=OTHER",
        help="ENTRY relies on OTHER's testing (20.9, 20.41 (b)(ii))",
    )
    e.add_argument(
        "--final-report",
        action="append",
        default=[],
        metavar="ENTRY=REF",
        help="ENTRY relies on a prior final DMCT Testing Report or Completion Report REF (20.41 (b)(ii))",
    )
    e.add_argument(
        "--testing-report",
        action="append",
        default=[],
        metavar="ENTRY=FILE",
        help="the DMCT Testing Report file of ENTRY (referenced with its SHA-256)",
    )
    _common(e)
    e.set_defaults(func=run_epcl)
    w = sub.add_parser("weekly", help="weekly test execution report (16.1-16.4)")
    w.add_argument("--week", required=True, metavar="YYYY-Www", help="ISO week, e.g. 2026-W48")
    _common(w)
    w.set_defaults(func=run_weekly)
    j = sub.add_parser("junit", help="JUnit XML of one run, with its lab, entry, DMC and versions")
    j.add_argument("--run", type=Path, required=True, metavar="DIR", help="the run directory")
    j.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here (default stdout)")
    j.set_defaults(func=run_junit)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    return checked_date(text, option)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        fmt: str = args.format
    elif args.output is not None and args.output.suffix.lower().lstrip(".") in ("md", "html", "pdf"):
        fmt = args.output.suffix.lower().lstrip(".")
    else:
        fmt = "md"
    if fmt == "pdf" and args.output is None:
        raise DmctInputError("--format", "pdf needs -o FILE")
    if args.heatmap is not None and args.heatmap.suffix.lower() not in (".png", ".svg"):
        raise DmctInputError("--heatmap", "must end in .png or .svg")
    from harness.outputs import check_output_file

    if args.output is not None:
        check_output_file(args.output, "-o")
    if args.heatmap is not None:
        check_output_file(args.heatmap, "--heatmap")
    return fmt


def _results_dir(args: argparse.Namespace) -> Path:
    from harness.paths import results_dir

    return Path(args.runs) if args.runs else results_dir()


def _run_dirs(args: argparse.Namespace, entries: list[str] | None) -> list[Path]:
    from harness.reports.data import find_runs

    if args.run:
        return list(args.run)
    base = _results_dir(args)
    found: list[Path] = []
    for entry in entries or [None]:  # type: ignore[list-item]
        found += [r for r in find_runs(base, entry) if r not in found]
    if not found:
        which = f" of {', '.join(entries)}" if entries else ""
        raise DmctInputError(str(base), f"no runs{which} here (give --run DIR or --runs DIR)")
    return found


def _prepare(args: argparse.Namespace) -> tuple[str, Any]:
    """Check every option before reading anything: format, redaction key and config."""
    fmt = _format(args)
    redactor_args = None
    if args.redact:
        from harness.reports.redact import load_config, load_key

        redactor_args = (load_key(args.redact_key), load_config(args.redact_config))
    elif args.redact_key is not None or args.redact_config is not None:
        raise DmctInputError("--redact-key", "only with --redact")
    return fmt, redactor_args


def emit(doc: Document, data: ReportData, args: argparse.Namespace, fmt: str, redactor_args: Any) -> bytes:
    """Redact (optionally), render and write the document and its heatmap."""
    from harness.outputs import atomic_write
    from harness.reports.model import map_strings
    from harness.reports.render import render

    redact = None
    if redactor_args is not None:
        redact = build_redactor(data, *redactor_args)
        doc = map_strings(doc, redact.redact_text)
    base = args.output.resolve().parent if args.output is not None and fmt == "html" else None
    payload = render(doc, fmt, base)  # a PDF keeps absolute links: it is read wherever it is copied
    if redact is not None and fmt != "pdf":
        payload = redact.redact_text(payload.decode("utf-8")).encode("utf-8")
    if args.heatmap is not None:
        from harness.reports.heatmap import render_png, render_svg

        maps = doc.heatmaps()
        if maps:
            if args.heatmap.suffix.lower() == ".png":
                atomic_write(args.heatmap, render_png(maps[0]))
            else:
                svg = render_svg(maps[0])
                atomic_write(args.heatmap, redact.redact_text(svg) if redact else svg)
    if args.output is None:
        sys.stdout.write(payload.decode("utf-8"))
    else:
        atomic_write(args.output, payload)
    return payload


def build_redactor(data: ReportData, key: bytes, config: Any) -> Any:
    """A redactor knowing every sensitive value of the runs, their lab files and the issue log."""
    from harness.reports.redact import redactor_for

    sources: list[Any] = [r.facts for r in data.runs]
    sources += [i.model_dump(mode="json") for i in data.issues]
    for run in data.runs:
        lab_file = run.facts.get("lab_file")
        if isinstance(lab_file, str):
            for path in (Path(lab_file), run.path / lab_file):
                if path.is_file():
                    import yaml

                    with contextlib.suppress(yaml.YAMLError, UnicodeDecodeError):
                        sources.append(yaml.safe_load(path.read_text(encoding="utf-8")))
                    break
    return redactor_for(key, config, sources)


def run_testing(args: argparse.Namespace) -> int:
    from harness.reports.data import gather
    from harness.reports.testing import build_testing_report

    fmt, red = _prepare(args)
    today = _date(args.date, "--date") or date.today()
    cert = _date(args.certificate_date, "--certificate-date")
    data = gather(
        _run_dirs(args, [args.entry]),
        keep={args.entry},
        issues_file=args.issues,
        store=args.store,
        results_dir=args.runs,
    )
    doc = build_testing_report(data, args.entry, today, cert)
    record = data.entries.get(args.entry)
    draft = record is not None and doc.status in ("successful", "unsuccessful")
    if draft:
        from harness.rules.report_lifecycle import issue_draft

        assert record is not None
        issue_draft(record, issued=today, digest="-", status=doc.status)  # refused before writing anything
    payload = emit(doc, data, args, fmt, red)
    if draft:
        _record_draft(args, data, today, payload, doc.status)
    return 0


def _store_for(args: argparse.Namespace, data: ReportData) -> Any:
    """The store the report's issue log came from, opened for writing."""
    from harness.store.issue_log import open_store

    base = Path(args.runs) if args.runs else (data.runs[-1].path.parent if data.runs else None)
    return open_store(args.store, results_dir=base, create=False)


def _record_draft(
    args: argparse.Namespace, data: ReportData, today: date, payload: bytes, status: str
) -> None:
    """20.34 / 20.35: the draft DMCT Testing Report issued is recorded on the entry (date, SHA-256,
    the status it states), so its way to final (20.36-20.40) can be followed (dmct entries draft)."""
    import hashlib

    from harness.rules.report_lifecycle import issue_draft
    from harness.store.entries import EntryLog
    from harness.store.issue_log import resolve_actor

    digest = hashlib.sha256(payload).hexdigest()
    with _store_for(args, data) as store:
        log = EntryLog(store)
        if (
            log.get(args.entry).record.reports[-1:]
            and log.get(args.entry).record.reports[-1].digest == digest
        ):
            return
        log.change(
            args.entry,
            resolve_actor(None),
            "draft",
            lambda r, _today: issue_draft(r, issued=today, digest=digest, status=status),
            note={"clause": "20.35" if status == "unsuccessful" else "20.34"},
        )
    print(
        f"dmct: recorded the draft DMCT Testing Report of {args.entry} ({today}, SHA-256 {digest[:12]}…)",
        file=sys.stderr,
    )


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        left, sep, right = value.partition("=")
        if not sep or not left or not right:
            raise DmctInputError(option, f"expected ENTRY=VALUE, got {value!r}")
        out[left] = right
    return out


def run_epcl(args: argparse.Namespace) -> int:
    import hashlib

    from harness.reports.data import gather
    from harness.reports.epcl import build_epcl_report, epcl_refusals

    fmt, red = _prepare(args)
    today = _date(args.date, "--date") or date.today()
    relies = _pairs(args.relies_on, "--relies-on")
    prior = _pairs(args.final_report, "--final-report")
    refs = {}
    for entry, file in _pairs(args.testing_report, "--testing-report").items():
        path = Path(file)
        if not path.is_file():
            raise DmctInputError(file, "no such testing report", field="--testing-report")
        refs[entry] = f"{path.name} (SHA-256 {hashlib.sha256(path.read_bytes()).hexdigest()})"
    entries = list(dict.fromkeys(args.entry))
    wanted = list(dict.fromkeys([*entries, *relies.values()]))
    data = gather(
        _run_dirs(args, wanted),
        keep=set(wanted),
        issues_file=args.issues,
        store=args.store,
        results_dir=args.runs,
    )
    from harness.rules.report_lifecycle import ReportState, report_state

    finality: dict[str, ReportState] = {
        eid: report_state(record, today) for eid, record in data.entries.items()
    }
    doc = build_epcl_report(data, entries, today, relies, refs, finality=finality, prior=prior)
    emit(doc, data, args, fmt, red)
    for line in epcl_refusals(data, entries, relies, finality, prior):
        print(f"dmct: {line}", file=sys.stderr)
    return 0


def run_weekly(args: argparse.Namespace) -> int:
    from harness.reports.data import gather
    from harness.reports.weekly import build_weekly_report, parse_week, week_bounds

    fmt, red = _prepare(args)
    monday = parse_week(args.week)
    today = _date(args.date, "--date") or date.today()
    _start, end = week_bounds(monday)
    data = gather(
        _run_dirs(args, None),
        keep=None,
        issues_file=args.issues,
        store=args.store,
        results_dir=args.runs,
        until=end,
    )
    emit(build_weekly_report(data, monday, today, _entries(args.store)), data, args, fmt, red)
    return 0


def _entries(store_url: str | None) -> list[Any] | None:
    """The DMCT Status List from the store (20.21 pauses for the weekly report), None without a store."""
    from harness.store.entries import EntryLog
    from harness.store.issue_log import open_store

    try:
        store = open_store(store_url, create=False)
    except DmctInputError:
        return None
    with store:
        return [s.record for s in EntryLog(store).list()]


def run_junit(args: argparse.Namespace) -> int:
    from harness.outputs import atomic_write, check_output_file
    from harness.reports.junit import junit_xml

    if args.output is not None:
        check_output_file(args.output, "-o")
    xml = junit_xml(args.run)
    if args.output is None:
        sys.stdout.write(xml.decode("utf-8"))
    else:
        atomic_write(args.output, xml)
    return 0
