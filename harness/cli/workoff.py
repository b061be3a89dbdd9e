"""``dmct workoff``: the Work Off Plan due dates (15.1) and the draft report referral window (20.37).

Issues come from ``--issues FILE`` (an interchange export, so a plan can be recomputed offline) or, by
default, the project's Testing Issue log (``--store``/``$DMCT_STORE``/``results/dmct.sqlite``). Every
open issue gets a plan line, excluded ones and severity 1-2 included (15.1, 20.34 (d)). ``--today``
flags overdue lines; without it none is
flagged, so the same inputs always print the same plan. Dates are counted in Working Days with day 0 the
event date (see :mod:`harness.rules.workdays`).
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from harness.errors import DmctInputError
from harness.yamlio import checked_date

ORDER = 45


def parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    return checked_date(text, option)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "workoff",
        help="Work Off Plan due dates for extant issues (15.1) and the 20.37 referral window",
        description=(
            "Due dates for every extant Testing Issue: severity 3/4/5 within 20/40/60 Working Days of the "
            "Test Completion Certificate (15.1); overdue lines need a correction plan (15.2)."
        ),
    )
    p.add_argument(
        "--certificate-date", metavar="YYYY-MM-DD", help="issue date of the Test Completion Certificate"
    )
    p.add_argument("--issues", metavar="FILE", help="issues export (YAML/JSON); default: the project store")
    p.add_argument(
        "--store", metavar="URL", help="SQLAlchemy URL of the log (default: $DMCT_STORE or results/)"
    )
    p.add_argument("--today", metavar="YYYY-MM-DD", help="flag lines overdue on this date")
    p.add_argument(
        "--draft-report-date",
        metavar="YYYY-MM-DD",
        help="date a draft DMCT Testing Report was provided: prints the 20.37 referral deadline",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from harness.rules.workdays import DRAFT_REPORT_REFERRAL_DAYS, draft_report_referral_deadline
    from harness.rules.workoff import work_off_plan

    certificate = parse_date(args.certificate_date, "--certificate-date")
    today = parse_date(args.today, "--today")
    draft = parse_date(args.draft_report_date, "--draft-report-date")
    if certificate is None and draft is None:
        raise DmctInputError("--certificate-date", "required (or give --draft-report-date)")

    out: dict[str, Any] = {}
    rows = []
    if certificate is not None:
        if args.issues:
            from harness.model.interchange import load_issues

            issues = load_issues(Path(args.issues))
        else:
            from harness.store.issue_log import open_store

            # Never create a log just to read it: a wrong directory must not look like "no issues".
            with open_store(args.store, create=False) as store:
                issues = store.export_issues()
        rows = work_off_plan(issues, certificate, today)
        out["certificate_date"] = certificate.isoformat()
        out["today"] = None if today is None else today.isoformat()
        out["issues"] = [r.to_json() for r in rows]
    if draft is not None:
        out["referral"] = {
            "clause": "20.37",
            "draft_report_date": draft.isoformat(),
            "working_days": DRAFT_REPORT_REFERRAL_DAYS,
            "deadline": draft_report_referral_deadline(draft).isoformat(),
        }
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    _print_table(out, rows)
    return 0


def _print_table(out: dict[str, Any], rows: list[Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if "issues" in out:
        table = Table(
            box=box.SIMPLE_HEAD,
            title=f"Work Off Plan (15.1): Test Completion Certificate issued {out['certificate_date']}"
            + (f", as of {out['today']}" if out["today"] else ""),
        )
        for column in ("id", "sev", "WD", "due", "left", "overdue"):
            table.add_column(column, no_wrap=True)
        for column in ("title", "entries"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                Text(r.id),
                str(r.severity),
                "-" if r.working_days is None else str(r.working_days),
                "-" if r.due is None else r.due.isoformat(),
                "-" if r.days_left is None else str(r.days_left),
                "OVERDUE" if r.overdue else "",
                Text(r.title),
                Text(", ".join(r.entries)),
            )
        if rows:
            console.print(table)
            # Notes are sentences: printed under the table, where they can be read whole.
            for r in rows:
                for note in r.notes:
                    console.print(Text(f"{r.id}: {note}"))
        else:
            console.print("no open Testing Issues: no Work Off Plan needed")
    if "referral" in out:
        ref = out["referral"]
        console.print(
            "20.37: a Supplier Party may refer the draft DMCT Testing Report provided "
            f"{ref['draft_report_date']} to the Secretary of State until {ref['deadline']} "
            f"({ref['working_days']} Working Days)."
        )
