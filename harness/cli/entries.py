"""``dmct entries``: the DMCT Status List (20.8) and Schedule (20.9, 20.10) of the planned entries on the
EPCL, kept in the store with an audit history (add, schedule, pause, resume, status, abandon, mt, mcr,
show, list, export).

Options are checked before the store is opened, and the process rules (:mod:`harness.rules.process`)
before anything is written: an unknown entry, a transition the process does not allow, or a date
outside its window is one line on stderr, exit status 2, and nothing written.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import DmctInputError

if TYPE_CHECKING:
    from harness.model.entries import EntryRecord
    from harness.store.entries import EntryLog, StoredEntry

ORDER = 41

INSTALLATIONS = ("dormant", "active", "mixed")
EXPORT_FORMATS = ("csv", "md", "html", "json")


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DmctInputError(option, f"not a date (YYYY-MM-DD): {text!r}") from None


def _text(text: str | None, option: str, *, required: bool = False) -> str | None:
    if text is None:
        if required:
            raise DmctInputError(option, "required")
        return None
    if not text.strip():
        raise DmctInputError(option, "must not be empty")
    return text.strip()


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "entries",
        help="the DMCT Status List and Schedule: add, schedule, pause, resume, status, list, export",
        description="Planned entries on the EPCL through the DMCT process (SEC Appendix AK 20.8-20.41).",
    )
    parser.set_defaults(func=_run, entries_parser=parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="URL", help="SQLAlchemy URL (default: $DMCT_STORE, else results/)")
    common.add_argument(
        "--by", metavar="NAME", help="who makes the change (default: $DMCT_USER, else OS user)"
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    writes = argparse.ArgumentParser(add_help=False, parents=[common])
    writes.add_argument("--expect-version", metavar="V", help="refuse unless the entry is at version V")
    writes.add_argument("--on", metavar="YYYY-MM-DD", help="the date of the event (default: today)")
    sub = parser.add_subparsers(dest="entries_command", metavar="ACTION")

    def action(name: str, handler: Callable[..., int], help: str, parent: argparse.ArgumentParser) -> Any:
        p = sub.add_parser(name, parents=[parent], help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    p = action("add", _add, "put a planned entry on the DMCT Status List (20.8)", common)
    p.add_argument("id")
    p.add_argument("--dmc", required=True)
    p.add_argument("--installation", required=True, help="dormant|active|mixed (20.9)")
    p.add_argument("--mtad", action="store_true", help="migration tested under the MTAD (20.14)")

    p = action(
        "schedule",
        _schedule,
        "put the entry on the DMCT Schedule (20.9) or revise its completion date (20.22)",
        writes,
    )
    p.add_argument("id")
    p.add_argument("--start", metavar="DATE", help="planned start of testing (20.9 (a))")
    p.add_argument("--completion", metavar="DATE", help="planned completion (20.9 (a))")
    p.add_argument("--pack", action="append", default=[], help="pack planned (20.9 (b)); repeat")
    p.add_argument("--capability-release", metavar="CR", help="IOC|MOC|FOC (20.15)")
    p.add_argument("--rationale", help="why a DMCT Non-Standard Test Pack (20.9 (c), 20.17)")
    p.add_argument("--revised-completion", metavar="DATE", help="a revised completion date (20.22)")
    p.add_argument("--reason", help="why the completion date is revised")
    p.add_argument("--issue", metavar="TI", help="the Testing Issue behind the revision")

    p = action("pause", _pause, "pause the DMCT process for the entry (20.21)", writes)
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p.add_argument("--issue", metavar="TI", help="the Testing Issue being progressed (20.20)")

    p = action("resume", _resume, "recommence the DMCT process for the entry (20.21)", writes)
    p.add_argument("id")
    p.add_argument("--reason", required=True)

    p = action("status", _status, "change the entry's status on the DMCT Status List (20.8)", writes)
    p.add_argument("id")
    p.add_argument(
        "status", help="testing|completed|planned|excluded|no_longer_undertaken|not_required|relies_on_prior"
    )
    p.add_argument("--reason")
    p.add_argument(
        "--relies-on", metavar="REF", help="for relies_on_prior: the entry or report (20.41 (b)(ii))"
    )

    p = action("abandon", _abandon, "record that not all tests can be executed (20.33 (b))", writes)
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p.add_argument("--blocking-defect", action="store_true", help="a blocking defect is the reason")
    p.add_argument("--sos-agreed", action="store_true", help="the Secretary of State agreed testing stops")

    p = action("mt", _mt, "the Panel's determination of the MTAD Migration Test Phase (20.32 (c))", writes)
    p.add_argument("id")
    p.add_argument("determination", help="completed|not-completed")

    p = action("mcr", _mcr, "the Migration Completion Report reference (20.34 (i))", writes)
    p.add_argument("id")
    p.add_argument("reference")

    p = action(
        "draft",
        _draft,
        "the latest draft DMCT Testing Report: received, no-referral, refer, "
        "tag-review, sos, state (20.36-20.40)",
        writes,
    )
    p.add_argument("id")
    p.add_argument("what", help="received|no-referral|refer|tag-review|sos|state")
    p.add_argument(
        "value",
        nargs="?",
        help="tag-review: no-flip|continue-testing|referred; "
        "sos: agrees|successful|unsuccessful|further-tests",
    )
    p.add_argument("--supplier", help="the Supplier Party (received, no-referral)")
    p.add_argument("--referrer", metavar="BY", help="refer: dcc or the Supplier Party")
    p.add_argument("--matter", help="refer: what is referred (20.37 (a)-(c), 20.38)")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="state: as of this day (default: today)")

    p = action("show", _show, "one entry and its history", common)
    p.add_argument("id")

    p = action("list", _list, "the DMCT Status List", common)
    p.add_argument("--status", help="only entries with this status")

    p = action("export", _export, "publish the Status List and Schedule (20.10): csv|md|html|json", common)
    p.add_argument("--format", dest="fmt", help="csv|md|html|json (default: from -o's suffix, else md)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here (atomically)")
    p.add_argument(
        "--redact", action="store_true", help="replace DMC names with keyed pseudonyms (16.1, 20.43)"
    )
    p.add_argument("--redact-key", type=Path, metavar="FILE", help="HMAC key (default: $DMCT_REDACT_KEY)")


# ------------------------------------------------------------------------------------------- run


def _run(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is None:
        args.entries_parser.print_help()
        return 2
    from harness.store.entries import EntryLog
    from harness.store.issue_log import open_store, resolve_actor

    args.actor = resolve_actor(args.by)
    version = getattr(args, "expect_version", None)
    if version is not None:
        if not version.isdigit() or int(version) < 1:
            raise DmctInputError("--expect-version", f"must be a positive integer, got {version!r}")
        args.expect_version = int(version)
    if hasattr(args, "on"):
        args.on = _date(args.on, "--on")
    prepare = _PREPARE.get(handler)
    if prepare is not None:
        prepare(args)
    reads = handler in (_show, _list, _export) or (handler is _draft and args.what == "state")
    with open_store(args.store, create=not reads) as store:
        status: int = handler(args, EntryLog(store))
    return status


def _prepare_add(args: argparse.Namespace) -> None:
    _text(args.id, "ID")
    _text(args.dmc, "--dmc")
    if args.installation not in INSTALLATIONS:
        raise DmctInputError("--installation", f"must be dormant|active|mixed, got {args.installation!r}")


def _prepare_schedule(args: argparse.Namespace) -> None:
    args.start = _date(args.start, "--start")
    args.completion = _date(args.completion, "--completion")
    args.revised_completion = _date(args.revised_completion, "--revised-completion")
    if args.revised_completion is not None:
        if args.start or args.completion or args.pack or args.capability_release or args.rationale:
            raise DmctInputError("--revised-completion", "give it alone, with --reason (20.22)")
        args.reason = _text(args.reason, "--reason", required=True)
        return
    for option, value in (
        ("--start", args.start),
        ("--completion", args.completion),
        ("--pack", args.pack),
        ("--capability-release", args.capability_release),
    ):
        if not value:
            raise DmctInputError(option, "required to schedule (20.9), unless --revised-completion")
    args.rationale = _text(args.rationale, "--rationale")


def _prepare_reason(args: argparse.Namespace) -> None:
    args.reason = _text(args.reason, "--reason", required=True)


def _prepare_status(args: argparse.Namespace) -> None:
    from harness.model.entries import STATUSES

    if args.status not in STATUSES:
        raise DmctInputError("STATUS", f"must be one of {'|'.join(STATUSES)}, got {args.status!r}")
    args.reason = _text(args.reason, "--reason")


def _prepare_mt(args: argparse.Namespace) -> None:
    if args.determination not in ("completed", "not-completed"):
        raise DmctInputError("DETERMINATION", f"must be completed|not-completed, got {args.determination!r}")


def _prepare_export(args: argparse.Namespace) -> None:
    fmt = args.fmt
    if fmt is None:
        suffix = args.output.suffix.lower().lstrip(".") if args.output else ""
        fmt = suffix if suffix in EXPORT_FORMATS else "md"
    if fmt not in EXPORT_FORMATS:
        raise DmctInputError("--format", f"must be csv|md|html|json, got {fmt!r}")
    args.fmt = fmt
    args.key = None
    if args.redact:
        from harness.reports.redact import load_key

        args.key = load_key(args.redact_key)
    elif args.redact_key is not None:
        raise DmctInputError("--redact-key", "only with --redact")


# -------------------------------------------------------------------------------------- handlers


def _changed(args: argparse.Namespace, stored: StoredEntry) -> int:
    if args.json:
        print(json.dumps({"version": stored.version, **stored.record.model_dump(mode="json")}))
    else:
        print(f"{stored.record.id} {stored.record.status} version {stored.version}")
    return 0


def _apply(
    args: argparse.Namespace,
    log: EntryLog,
    action: str,
    change: Callable[[EntryRecord, date], EntryRecord],
    note: dict[str, Any],
) -> int:
    """Apply one process rule to the entry under the optimistic version check and print the result: the
    one path every state-changing action takes, so each is audited with its clause the same way."""
    stored = log.change(args.id, args.actor, action, change, expected_version=args.expect_version, note=note)
    return _changed(args, stored)


def _on(args: argparse.Namespace, today: date) -> date:
    on: date | None = args.on
    return on if on is not None else today


def _event_note(args: argparse.Namespace, clause: str) -> dict[str, Any]:
    return {
        "on": None if args.on is None else args.on.isoformat(),
        "reason": getattr(args, "reason", None),
        "issue": getattr(args, "issue", None),
        "clause": clause,
    }


def _add(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules.process import new_entry

    record = new_entry(args.id, args.dmc, args.installation, mt_under_mtad=args.mtad)
    return _changed(args, log.add(record, args.actor))


def _schedule(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    if args.revised_completion is not None:
        return _apply(
            args,
            log,
            "revise",
            lambda r, today: process.revise_completion(
                r,
                completion=args.revised_completion,
                reason=args.reason,
                issue=args.issue,
                on=_on(args, today),
                today=today,
            ),
            _event_note(args, "20.22"),
        )
    return _apply(
        args,
        log,
        "schedule",
        lambda r, today: process.schedule(
            r,
            start=args.start,
            completion=args.completion,
            packs=tuple(dict.fromkeys(args.pack)),
            capability_release=args.capability_release,
            non_standard_rationale=args.rationale,
            on=_on(args, today),
            today=today,
        ),
        {"clause": "20.9"},
    )


def _pause(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    return _apply(
        args,
        log,
        "pause",
        lambda r, today: process.pause(
            r, reason=args.reason, issue=args.issue, on=_on(args, today), today=today
        ),
        _event_note(args, "20.21"),
    )


def _resume(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    return _apply(
        args,
        log,
        "resume",
        lambda r, today: process.resume(r, reason=args.reason, on=_on(args, today), today=today),
        _event_note(args, "20.21"),
    )


def _status(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    return _apply(
        args,
        log,
        "status",
        lambda r, today: process.set_status(
            r, args.status, reason=args.reason, relies_on=args.relies_on, on=_on(args, today), today=today
        ),
        _event_note(args, "20.8"),
    )


def _abandon(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    return _apply(
        args,
        log,
        "abandon",
        lambda r, today: process.abandon(
            r,
            reason=args.reason,
            blocking_defect=args.blocking_defect,
            sos_agreed=args.sos_agreed,
            on=_on(args, today),
            today=today,
        ),
        _event_note(args, "20.33 (b)"),
    )


def _mt(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    done = args.determination == "completed"
    return _apply(
        args,
        log,
        "mt",
        lambda r, today: process.determine_mt(r, completed=done, on=_on(args, today), today=today),
        _event_note(args, "20.32 (c)"),
    )


def _mcr(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import process

    return _apply(
        args, log, "mcr", lambda r, _today: process.record_mcr(r, args.reference), {"clause": "20.34 (i)"}
    )


def _show(args: argparse.Namespace, log: EntryLog) -> int:
    stored = log.get(args.id)
    if args.json:
        print(
            json.dumps(
                {
                    "version": stored.version,
                    **stored.record.model_dump(mode="json"),
                    "history": stored.history,
                }
            )
        )
        return 0
    r = stored.record
    print(f"{r.id}  {r.status}  version {stored.version}  DMC {r.dmc} ({r.installation})")
    for rec in stored.history:
        extra = "; ".join(f"{k} {rec[k]}" for k in ("on", "reason", "issue") if rec.get(k))
        print(
            f"  {rec['at']} {rec['by']} {rec['action']} {rec.get('field') or ''}: {rec.get('old')!r} -> "
            f"{rec.get('new')!r}" + (f" ({extra})" if extra else "")
        )
    return 0


def _list(args: argparse.Namespace, log: EntryLog) -> int:
    entries = log.list(args.status)
    if args.json:
        print(json.dumps([{"version": s.version, **s.record.model_dump(mode="json")} for s in entries]))
        return 0
    for s in entries:
        r = s.record
        print(
            f"{r.id}\t{r.status}\t{r.dmc}\t{r.installation}\t{r.planned_start or '-'}\t{r.completion or '-'}"
        )
    return 0


# ------------------------------------------------------------------------------------------ export

STATUS_COLUMNS = ("entry", "DMC", "installation", "status", "since", "reason")
SCHEDULE_COLUMNS = (
    "entry",
    "planned start",
    "planned completion",
    "current completion",
    "packs",
    "Capability Release",
    "non-standard rationale",
    "pauses",
)


def _pauses(r: EntryRecord) -> str:
    return "; ".join(
        f"paused {p.paused} ({p.reason})"
        + (f", recommenced {p.resumed} ({p.resume_reason})" if p.resumed else "")
        for p in r.pauses
    )


def _rows(entries: list[StoredEntry]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    status: list[tuple[str, ...]] = []
    schedule: list[tuple[str, ...]] = []
    for s in entries:
        r = s.record
        reason = r.status_reason or ""
        if r.abandoned:
            reason = f"abandoned (20.33 (b)): {r.abandoned.reason}"
        if r.status == "relies_on_prior" and r.relies_on:
            reason = f"relies on {r.relies_on}" + (f": {reason}" if reason else "")
        status.append((r.id, r.dmc, r.installation, r.status, str(r.last_event or ""), reason))
        if r.planned_start is not None:
            schedule.append(
                (
                    r.id,
                    str(r.planned_start),
                    str(r.planned_completion),
                    str(r.completion),
                    ", ".join(r.packs),
                    r.capability_release or "",
                    r.non_standard_rationale or "",
                    _pauses(r),
                )
            )
    return status, schedule


def _export(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.outputs import atomic_write

    entries = log.list()
    if args.key is not None:
        entries = _redacted(entries, args.key)
    status, schedule = _rows(entries)
    if args.fmt == "json":
        text = json.dumps([s.record.model_dump(mode="json") for s in entries], indent=2) + "\n"
        payload = text.encode("utf-8")
    elif args.fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["list", *STATUS_COLUMNS[:-1], "reason", *SCHEDULE_COLUMNS[1:]])
        by_id = {row[0]: row for row in schedule}
        for row in status:
            writer.writerow(["status", *row, *by_id.get(row[0], ("",) * len(SCHEDULE_COLUMNS))[1:]])
        payload = out.getvalue().encode("utf-8")
    else:
        from harness.reports.model import Document, Para, Section, Table
        from harness.reports.render import render

        doc = Document(
            kind="entries",
            title="DMCT Status List and DMCT Schedule",
            subtitle="SEC Appendix AK (SMETS1 SVTAD) 20.8, 20.9, 20.10",
            meta=[("As of", log.today().isoformat()), ("Planned entries", str(len(entries)))],
            sections=[
                Section(
                    "status-list",
                    "DMCT Status List",
                    "20.8",
                    [Table(STATUS_COLUMNS, tuple(status))] if status else [Para("No planned entry.")],
                ),
                Section(
                    "schedule",
                    "DMCT Schedule",
                    "20.9",
                    [Table(SCHEDULE_COLUMNS, tuple(schedule))] if schedule else [Para("Nothing scheduled.")],
                ),
            ],
            footer="Published on the DCC Website and provided to SECAS (20.10); anonymised and redacted "
            "where appropriate.",
        )
        payload = render(doc, args.fmt)
    if args.output is None:
        sys.stdout.write(payload.decode("utf-8"))
    else:
        atomic_write(args.output, payload)
    return 0


def _redacted(entries: list[StoredEntry], key: bytes) -> list[StoredEntry]:
    """DMC names replaced by keyed pseudonyms (the same key gives the same pseudonym as the reports)."""
    from dataclasses import replace

    from harness.reports.redact import RedactConfig, redactor_for

    red = redactor_for(key, RedactConfig(fields={"dmc": "DMC"}), [{"dmc": s.record.dmc} for s in entries])
    return [
        replace(s, record=s.record.model_copy(update={"dmc": red.redact_text(s.record.dmc)})) for s in entries
    ]


DRAFT_VALUES = {
    "tag-review": ("no-flip", "continue-testing", "referred"),
    "sos": ("agrees", "successful", "unsuccessful", "further-tests"),
}


def _prepare_draft(args: argparse.Namespace) -> None:
    whats = ("received", "no-referral", "refer", "tag-review", "sos", "state")
    if args.what not in whats:
        raise DmctInputError("WHAT", f"must be one of {'|'.join(whats)}, got {args.what!r}")
    allowed = DRAFT_VALUES.get(args.what)
    if allowed is not None and args.value not in allowed:
        raise DmctInputError("VALUE", f"{args.what} takes {'|'.join(allowed)}, got {args.value!r}")
    if allowed is None and args.value is not None:
        raise DmctInputError("VALUE", f"{args.what} takes no value, got {args.value!r}")
    if args.what in ("received", "no-referral"):
        args.supplier = _text(args.supplier, "--supplier", required=True)
    if args.what == "refer":
        args.referrer = _text(args.referrer, "--referrer", required=True)
        args.matter = _text(args.matter, "--matter", required=True)
    args.today = _date(args.today, "--today")


def _draft(args: argparse.Namespace, log: EntryLog) -> int:
    from harness.rules import report_lifecycle as rl

    if args.what == "state":
        stored = log.get(args.id)
        state = rl.report_state(stored.record, args.today or log.today())
        if args.json:
            print(
                json.dumps(
                    {
                        "entry": args.id,
                        "state": state.state,
                        "status": state.status,
                        "issued": None if state.issued is None else state.issued.isoformat(),
                        "reasons": list(state.reasons),
                    }
                )
            )
        else:
            print(f"{args.id}: {state.state}" + (f" ({state.status})" if state.status else ""))
            for reason in state.reasons:
                print(f"  {reason}")
        return 0
    value = (args.value or "").replace("-", "_")

    def apply(r: EntryRecord, today: date) -> EntryRecord:
        on = _on(args, today)
        if args.what == "received":
            return rl.receive(r, supplier=args.supplier, on=on, today=today)
        if args.what == "no-referral":
            return rl.no_referral(r, supplier=args.supplier, on=on, today=today)
        if args.what == "refer":
            return rl.refer(r, by=args.referrer, matter=args.matter, on=on, today=today)
        if args.what == "tag-review":
            return rl.review(r, outcome=value, on=on, today=today)
        return rl.determine(r, determination=value, on=on, today=today)

    clause = {
        "received": "20.36",
        "no-referral": "20.39 (a)",
        "refer": "20.37, 20.38 (d)",
        "tag-review": "20.38",
        "sos": "20.40",
    }[args.what]
    note = {
        "on": None if args.on is None else args.on.isoformat(),
        "clause": clause,
        "supplier": args.supplier,
        "matter": args.matter,
    }
    return _apply(args, log, args.what, apply, note)


_PREPARE: dict[Callable[..., int], Callable[[argparse.Namespace], None]] = {
    _draft: _prepare_draft,
    _add: _prepare_add,
    _schedule: _prepare_schedule,
    _pause: _prepare_reason,
    _resume: _prepare_reason,
    _abandon: _prepare_reason,
    _status: _prepare_status,
    _mt: _prepare_mt,
    _export: _prepare_export,
}
