"""``dmct issues``: the Testing Issue log (add, list, show, update, close, route, exclude, tag, dispute,
link, export, import) and its store's schema (migrate).

Every change goes through :mod:`harness.store.issue_log`, which records who did it (``--by``,
``$DMCT_USER`` or
the OS user) and when in the issue's history and refuses stale writes (``--expect-version``). Options
are validated here, before the store is opened, and every mistake is one line with exit status 2 and
nothing written — so values are parsed by hand rather than with argparse ``type=``/``choices=``, whose
errors print a usage block.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import DmctInputError

if TYPE_CHECKING:
    from harness.model.interchange import Issue
    from harness.store.issue_log import Store, StoredIssue

ORDER = 40

ROUTES = ("a", "b", "c", "d")
#: Bounds of what the command line accepts (the store's INTEGER and a sane text size).
MAX_VERSION = 2**31 - 1
MAX_TEXT = 10_000
#: An id given with ``--id``: what a Testing Issue id looks like in every report and file name.
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
STATUSES = ("open", "closed")


# -------------------------------------------------------------------------------- option parsing


def parse_severity(text: str | None, option: str) -> int | None:
    """A Testing Issue severity 1-5 (Common Test Scenarios Document clause 12), or None if not given."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise DmctInputError(option, f"severity must be an integer 1-5, got {text!r}") from None
    if not 1 <= value <= 5:
        raise DmctInputError(option, f"severity must be 1-5, got {value}")
    return value


def parse_version(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise DmctInputError("--expect-version", f"must be a positive integer, got {text!r}") from None
    if not 1 <= value <= MAX_VERSION:
        raise DmctInputError(
            "--expect-version", f"must be a positive integer up to {MAX_VERSION}, got {text}"
        )
    return value


def parse_status(text: str | None, option: str) -> Literal["open", "closed"] | None:
    if text is None:
        return None
    if text == "open":
        return "open"
    if text == "closed":
        return "closed"
    raise DmctInputError(option, f"must be open|closed, got {text!r}")


def _nonempty(text: str | None, option: str) -> str | None:
    """A text option: not blank, no control characters (PostgreSQL refuses NUL in text; a terminal
    escape in a title would reach every report), at most :data:`MAX_TEXT` characters."""
    if text is not None and not text.strip():
        raise DmctInputError(option, "must not be empty")
    if text is not None and re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        raise DmctInputError(option, "must not hold control characters")
    if text is not None and len(text) > MAX_TEXT:
        raise DmctInputError(option, f"at most {MAX_TEXT} characters, got {len(text)}")
    return text


# -------------------------------------------------------------------------------------- register


def _store_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--store",
        metavar="URL",
        default=default,
        help="SQLAlchemy URL of the log (default: $DMCT_STORE, else sqlite:///results/dmct.sqlite)",
    )
    parser.add_argument(
        "--by",
        metavar="NAME",
        default=default,
        help="who is making the change (default: $DMCT_USER, else OS user)",
    )


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "issues",
        help="the Testing Issue log: add, list, show, update, route, exclude, tag, dispute, export, import",
        description="Keep the Testing Issue log, with an audit history of every change (14, 20.20-20.30).",
    )
    _store_options(parser, None)
    parser.set_defaults(func=_run, issues_parser=parser)
    # The same options after the action (``dmct issues add --store URL``); SUPPRESS keeps a value given
    # before the action from being overwritten by the sub-parser's default.
    common = argparse.ArgumentParser(add_help=False)
    _store_options(common, argparse.SUPPRESS)
    versioned = argparse.ArgumentParser(add_help=False, parents=[common])
    versioned.add_argument(
        "--expect-version", metavar="V", help="refuse the change unless the issue is still at version V"
    )
    sub = parser.add_subparsers(dest="issues_command", metavar="ACTION")

    def action(
        name: str, handler: Callable[[argparse.Namespace, Store], int], help: str, *, writes: bool
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[versioned if writes else common], help=help, description=help
        )
        p.set_defaults(handler=handler)
        return p

    p = action("add", _add, "raise a new Testing Issue (prints its id)", writes=False)
    p.add_argument("--title", required=True)
    p.add_argument("--severity", required=True, metavar="N", help="1-5")
    p.add_argument(
        "--entry", action="append", default=[], metavar="E", help="affected EPCL entry (repeatable)"
    )
    p.add_argument("--service-provider", metavar="SP", help="the DCC Service Provider the issue sits with")
    p.add_argument("--id", dest="issue_id", metavar="ID", help="use this id instead of the next TI-nnnn")

    p = action("list", _list, "list issues in a table", writes=False)
    p.add_argument("--status", help="open|closed")
    p.add_argument("--entry", metavar="E")
    p.add_argument("--severity", metavar="N")
    p.add_argument("--json", action="store_true", help="print the interchange JSON instead")

    p = action("show", _show, "show one issue and its history", writes=False)
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="print the interchange JSON instead")

    p = action("update", _update, "change severity, title or status", writes=True)
    p.add_argument("id")
    p.add_argument("--severity", metavar="N")
    p.add_argument("--title")
    p.add_argument("--status", help="open|closed")

    p = action("close", _close, "close an issue", writes=True)
    p.add_argument("id")

    p = action(
        "route",
        _route,
        "the 20.20 route as a process: recommend a|b|c|d, then notify, impact, sos, tag, reconsider "
        "(20.20-20.27)",
        writes=True,
    )
    p.add_argument("id")
    p.add_argument(
        "route",
        metavar="STEP",
        help="a: DCC Internal Systems; b: DCC Systems + Code; c: SMETS1 Device; d: Code; or a step: "
        "notify | impact none|material | sos agrees|disagrees|determined | tag agreed|not-agreed | "
        "reconsider",
    )
    p.add_argument("value", nargs="?", help="the step's answer")
    p.add_argument("--change", help="route c: firmware|configuration|both (20.25)")
    p.add_argument("--on", metavar="YYYY-MM-DD", help="when the step happened (default: today)")
    p.add_argument("--note", help="what was decided, by whom")

    p = action("exclude", _exclude, "propose excluding the issue from the thresholds (20.29)", writes=True)
    p.add_argument("id")
    p.add_argument("--rationale", required=True)
    p.add_argument("--entry", metavar="E", help="in respect of this planned entry only (20.29)")

    p = action(
        "tag", _tag, "record the TAG's decision on a proposed exclusion: agreed|disagreed", writes=True
    )
    p.add_argument("id")
    p.add_argument("decision", help="agreed|disagreed")
    p.add_argument("--entry", metavar="E", help="the exclusion proposed in respect of this entry")

    p = action(
        "dispute",
        _dispute,
        "open (--severity N) or resolve (--resolve) a severity dispute (14.2)",
        writes=True,
    )
    p.add_argument("id")
    p.add_argument("--severity", metavar="N", help="the severity argued for; with --resolve, the TAG's")
    p.add_argument("--resolve", action="store_true", help="the TAG has determined the dispute")
    p.add_argument(
        "--tag-disagrees",
        action="store_true",
        help="DMCT: the TAG considers the severity should be the one under review; the DCC's stays in the "
        "draft (20.38 (a))",
    )

    p = action(
        "rationale", _rationale, "record why the issue has its severity (report item 20.34 (g))", writes=True
    )
    p.add_argument("id")
    p.add_argument("text")

    p = action("link", _link, "link a (failed) test execution to the issue", writes=True)
    p.add_argument("id")
    p.add_argument("--entry", required=True, help="one of the issue's entries (when it names any)")
    p.add_argument("--pack", required=True, help="a pack id (the standard packs, or one under --pack-dir)")
    p.add_argument("--test", required=True, help="a test id the pack's manifest plans")
    p.add_argument(
        "--pack-dir", action="append", default=[], metavar="DIR", help="a non-standard pack's directory"
    )

    p = action("export", _export, "write the log in the interchange format", writes=False)
    p.add_argument("--format", dest="fmt", help="yaml|json (default: from -o's suffix, else json)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    p = action("import", _import, "add the issues of an interchange file (all or nothing)", writes=False)
    p.add_argument("file")

    p = action(
        "migrate",
        _migrate,
        "upgrade the store (issue log and shared results) to this dmct's schema (Alembic)",
        writes=False,
    )
    p.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL creating the schema in an empty database of the store's kind; connect to nothing",
    )


# ------------------------------------------------------------------------------------------- run


def _run(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is None:
        args.issues_parser.print_help()
        return 2
    from harness.store.issue_log import open_store, resolve_actor

    # Check every option before touching the store: a bad value must leave nothing behind.
    args.actor = resolve_actor(args.by)
    args.expected_version = parse_version(getattr(args, "expect_version", None))
    prepare = _PREPARE.get(handler)
    if prepare is not None:
        prepare(args)
    if handler is _migrate and args.sql:
        return _migrate_sql(args.store)
    store = open_store(args.store)
    try:
        status: int = handler(args, store)
    finally:
        store.close()
    return status


def _prepare_add(args: argparse.Namespace) -> None:
    args.severity = parse_severity(args.severity, "--severity")
    _nonempty(args.title, "--title")
    _nonempty(args.service_provider, "--service-provider")
    if args.issue_id is not None and not ID_RE.fullmatch(args.issue_id):
        raise DmctInputError("--id", "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    for entry in args.entry:
        _nonempty(entry, "--entry")


def _prepare_list(args: argparse.Namespace) -> None:
    args.severity = parse_severity(args.severity, "--severity")
    args.status = parse_status(args.status, "--status")


def _prepare_update(args: argparse.Namespace) -> None:
    args.severity = parse_severity(args.severity, "--severity")
    args.status = parse_status(args.status, "--status")
    _nonempty(args.title, "--title")
    if args.severity is None and args.title is None and args.status is None:
        raise DmctInputError("update", "give at least one of --severity, --title, --status")


def _prepare_route(args: argparse.Namespace) -> None:
    from datetime import date

    from harness.rules.routes import CHANGES, STEPS

    if args.route not in STEPS:
        raise DmctInputError(
            "ROUTE",
            f"must be one of a|b|c|d (20.20) or a step (notify|impact|sos|tag|reconsider), "
            f"got {args.route!r}",
        )
    if args.route in ROUTES and args.value is not None:
        raise DmctInputError("VALUE", f"route {args.route} takes no value (route c: --change)")
    if args.change is not None and (args.route != "c" or args.change not in CHANGES):
        raise DmctInputError("--change", "only with route c: firmware|configuration|both (20.25)")
    if args.on is not None:
        try:
            date.fromisoformat(args.on)
        except ValueError:
            raise DmctInputError("--on", f"not a date (YYYY-MM-DD): {args.on!r}") from None


def _prepare_exclude(args: argparse.Namespace) -> None:
    _nonempty(args.rationale, "--rationale")
    _nonempty(args.entry, "--entry")


def _prepare_rationale(args: argparse.Namespace) -> None:
    _nonempty(args.text, "rationale")


def _prepare_tag(args: argparse.Namespace) -> None:
    if args.decision not in ("agreed", "disagreed"):
        raise DmctInputError("DECISION", f"must be agreed|disagreed, got {args.decision!r}")
    _nonempty(args.entry, "--entry")


def _prepare_dispute(args: argparse.Namespace) -> None:
    args.severity = parse_severity(args.severity, "--severity")
    if args.tag_disagrees and (args.resolve or args.severity is not None):
        raise DmctInputError("--tag-disagrees", "takes neither --resolve nor --severity")
    if not args.resolve and not args.tag_disagrees and args.severity is None:
        raise DmctInputError(
            "--severity", "required to open a dispute (or give --resolve or --tag-disagrees)"
        )


def _prepare_link(args: argparse.Namespace) -> None:
    """The pack and test must be ones a pack manifest plans (any Capability Release): a typo would
    otherwise link the issue to an execution that can never appear in a journal (20.34 (d))."""
    from harness.model.packs import MANIFESTS, find_pack_root, read_manifest, standard_pack_roots

    for option in ("entry", "pack", "test"):
        _nonempty(getattr(args, option), f"--{option}")
    roots = list(standard_pack_roots())
    for directory in args.pack_dir:
        root = find_pack_root(Path(directory).resolve())
        if root is None:
            raise DmctInputError("--pack-dir", f"{directory}: no pack manifest (pack.yaml) here")
        roots.append(root)
    known: dict[str, set[str]] = {}
    for root in roots:
        for name in MANIFESTS.values():
            if (root / name).is_file():
                manifest = read_manifest(root / name)
                known.setdefault(manifest.id, set()).update(manifest.test_ids)
    if args.pack not in known:
        raise DmctInputError(
            "--pack",
            f"unknown pack {args.pack!r} (known: {', '.join(sorted(known))}; another: --pack-dir DIR)",
        )
    if args.test not in known[args.pack]:
        raise DmctInputError("--test", f"{args.test!r} is not a test of pack {args.pack}")


def _prepare_export(args: argparse.Namespace) -> None:
    fmt = args.fmt
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output else ""
        fmt = "yaml" if suffix in (".yaml", ".yml") else "json"
    if fmt not in ("yaml", "json"):
        raise DmctInputError("--format", f"must be yaml|json, got {fmt!r}")
    args.fmt = fmt
    if args.output:
        from harness.outputs import check_output_file

        check_output_file(Path(args.output), "-o")


def _prepare_import(args: argparse.Namespace) -> None:
    from harness.model.interchange import load_issues

    args.issues = load_issues(Path(args.file))


# ---------------------------------------------------------------------------------------- output


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _changed(stored: StoredIssue) -> int:
    print(f"{stored.issue.id} version {stored.version}")
    return 0


def _dispute_text(issue: Issue) -> str:
    return "" if issue.dispute is None else f"{issue.dispute.severity} {issue.dispute.state}"


# -------------------------------------------------------------------------------------- handlers


def _add(args: argparse.Namespace, store: Store) -> int:
    stored = store.add_issue(
        title=args.title,
        severity=args.severity,
        actor=args.actor,
        entries=args.entry,
        service_provider=args.service_provider,
        issue_id=args.issue_id,
    )
    print(stored.issue.id)
    return 0


def _list(args: argparse.Namespace, store: Store) -> int:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from harness.store.issue_log import dump_issues

    found = store.list_stored(status=args.status, severity=args.severity, entry=args.entry)
    if args.json:
        print(dump_issues([s.issue for s in found], "json"), end="")
        return 0
    table = Table(title=f"Testing Issues ({len(found)})", box=box.SIMPLE_HEAD)
    # Exclusion and dispute columns only when some issue has one: an 80-column terminal stays readable.
    optional = {
        "excl": any(s.issue.exclusion for s in found),
        "disp": any(s.issue.dispute for s in found),
    }
    columns = [
        c
        for c in ("id", "sev", "status", "route", "ver", "title", "entries", "excl", "disp")
        if optional.get(c, True)
    ]
    for column in columns:
        if column in ("title", "entries"):
            table.add_column(column, overflow="fold", min_width=10 if column == "title" else None)
        else:
            table.add_column(column, no_wrap=column not in ("excl", "disp"))
    for s in found:
        i = s.issue
        cells = {
            "id": Text(i.id),
            "sev": Text(str(i.severity)),
            "status": Text(i.status),
            "route": Text(i.route or "-"),
            "ver": Text(str(s.version)),
            "title": Text(i.title),
            "entries": Text(", ".join(i.entries)),
            "excl": Text("" if i.exclusion is None else i.exclusion.tag),
            "disp": Text(_dispute_text(i)),
        }
        table.add_row(*(cells[c] for c in columns))
    _console().print(table)
    return 0


def _show(args: argparse.Namespace, store: Store) -> int:
    from rich.table import Table
    from rich.text import Text

    from harness.store.issue_log import dump_issues

    stored = store.get_stored(args.id)
    issue = stored.issue
    if args.json:
        print(dump_issues([issue], "json"), end="")
        return 0
    console = _console()
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows: list[tuple[str, str]] = [
        ("id", issue.id),
        ("title", issue.title),
        ("severity", str(issue.severity)),
        ("status", issue.status),
        ("entries", ", ".join(issue.entries) or "-"),
        ("route (20.20)", issue.route or "not yet processed"),
        (
            "exclusion (20.29)",
            "-" if issue.exclusion is None else f"{issue.exclusion.rationale} (TAG {issue.exclusion.tag})",
        ),
        ("dispute (14.2)", _dispute_text(issue) or "-"),
        ("service provider", issue.service_provider or "-"),
        ("raised", issue.raised or "-"),
        ("tests", ", ".join(f"{t.entry}/{t.pack}/{t.test}" for t in issue.tests) or "-"),
        ("version", str(stored.version)),
    ]
    for name, value in rows:
        fields.add_row(name, Text(value))
    console.print(fields)
    console.print(Text("history", style="bold"))
    for record in issue.history:
        console.print(Text(history_line(record)))
    return 0


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def history_line(record: dict[str, Any]) -> str:
    """One history record as ``at  by  action  field: old -> new`` (the add record lists the values)."""
    head = "  ".join(str(record.get(k, "-")) for k in ("at", "by", "action"))
    if record.get("action") == "add" and isinstance(record.get("new"), dict):
        initial = {k: v for k, v in record["new"].items() if v not in (None, [], "")}
        return f"{head}  {_compact(initial)}"
    extra = {k: v for k, v in record.items() if k not in ("at", "by", "action", "field", "old", "new")}
    line = f"{head}  {record.get('field')}: {_compact(record.get('old'))} -> {_compact(record.get('new'))}"
    return f"{line}  {_compact(extra)}" if extra else line


def _update(args: argparse.Namespace, store: Store) -> int:
    changes: dict[str, Any] = {}
    if args.severity is not None:
        changes["severity"] = args.severity
    if args.title is not None:
        changes["title"] = args.title
    if args.status is not None:
        changes["status"] = args.status
    return _changed(store.update(args.id, changes, args.actor, args.expected_version))


def _close(args: argparse.Namespace, store: Store) -> int:
    return _changed(store.close_issue(args.id, args.actor, args.expected_version))


def _route(args: argparse.Namespace, store: Store) -> int:
    value = args.change if args.route == "c" else args.value
    return _changed(
        store.route_step(
            args.id, args.route, value, args.actor, args.expected_version, on=args.on, note=args.note
        )
    )


def _exclude(args: argparse.Namespace, store: Store) -> int:
    return _changed(
        store.exclude(args.id, args.rationale, args.actor, args.expected_version, entry=args.entry)
    )


def _tag(args: argparse.Namespace, store: Store) -> int:
    return _changed(store.tag(args.id, args.decision, args.actor, args.expected_version, entry=args.entry))


def _dispute(args: argparse.Namespace, store: Store) -> int:
    if args.tag_disagrees:
        return _changed(store.disagree_severity(args.id, args.actor, args.expected_version))
    if args.resolve:
        return _changed(store.resolve_dispute(args.id, args.actor, args.severity, args.expected_version))
    return _changed(store.dispute(args.id, args.severity, args.actor, args.expected_version))


def _rationale(args: argparse.Namespace, store: Store) -> int:
    return _changed(store.record_rationale(args.id, args.text, args.actor, args.expected_version))


def _link(args: argparse.Namespace, store: Store) -> int:
    return _changed(
        store.link_test(args.id, args.entry, args.pack, args.test, args.actor, args.expected_version)
    )


def _export(args: argparse.Namespace, store: Store) -> int:
    from harness.outputs import atomic_write
    from harness.store.issue_log import dump_issues

    text = dump_issues(store.export_issues(), args.fmt)
    if not args.output:
        print(text, end="")
        return 0
    # Atomic: a reader never sees half an export, and a failed write leaves the old file in place.
    atomic_write(Path(args.output), text)
    return 0


def _import(args: argparse.Namespace, store: Store) -> int:
    count = store.import_issues(args.issues, args.actor, source=Path(args.file))
    print(f"imported {count} issue{'s' if count != 1 else ''} into {store.url}")
    return 0


def _migrate(args: argparse.Namespace, store: Store) -> int:
    """Opening the store has already migrated it (every command does); say what that did."""
    from harness.store.schema import SCHEMA_VERSION

    done = store.migration
    if done is None or not done.changed:
        print(
            f"{store.url}: up to date (revision {done.now if done else '?'}, schema version {SCHEMA_VERSION})"
        )
    elif done.adopted:
        print(f"{store.url}: adopted a store from before Alembic and upgraded it to revision {done.now}")
    elif done.found is None:
        print(f"{store.url}: created the schema at revision {done.now}")
    else:
        print(f"{store.url}: upgraded from revision {done.found} to {done.now}")
    return 0


def _migrate_sql(url: str | None) -> int:
    import sys

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from harness.store.issue_log import store_url
    from harness.store.migrations import upgrade_sql

    text = store_url(url)
    try:
        make_url(text)
    except ArgumentError:
        raise DmctInputError("--store", f"not a database URL: {text!r}") from None
    upgrade_sql(text, sys.stdout)
    return 0


_PREPARE: dict[Callable[..., int], Callable[[argparse.Namespace], None]] = {
    _add: _prepare_add,
    _list: _prepare_list,
    _update: _prepare_update,
    _route: _prepare_route,
    _exclude: _prepare_exclude,
    _rationale: _prepare_rationale,
    _tag: _prepare_tag,
    _dispute: _prepare_dispute,
    _link: _prepare_link,
    _export: _prepare_export,
    _import: _prepare_import,
}
