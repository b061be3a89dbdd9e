"""The draft DMCT Testing Report for one planned entry on the EPCL (SVTAD 20.34 / 20.35).

20.34 (testing "has completed successfully") and 20.35 ("completed unsuccessfully pursuant to Clause
20.33") list the same nine items; only the final statement differs. Each item is one section, keyed by
its letter, filled from the run data and the Testing Issue log:

(a) "the version of the DCC Systems and environments against which tests were executed" (and, subject to
    20.18, why) — ``run.json`` ``environment`` of every run;
(b) "the tests run as per the relevant test pack" — the plan's packs and their tests, with pack versions;
(c) "the results of the tests run" — counts per pack from the verdict, and each test's latest outcome;
(d) "confirmation that all open Testing Issues have been captured and either closed, or where still
    open, Work Off Plans are in place" — plus the evidence gaps (failed tests with no linked issue);
(e) "the approach to re-running tests following the deployment of any fixes" — the rule (latest counts,
    20.22) and the re-run history from every execution in the journals;
(f) "details for any Testing Issues that were excluded pursuant to Clause 20.29 including the rationale";
(g) "the rationale for the severity assigned to any open Testing Issues and the associated Work Off
    Plans" (excluding those of (f)) — :mod:`harness.rules.workoff`;
(h) "any other information as prescribed in the relevant test pack" — e.g. a minimum pass rate;
(i) "a statement of why the planned entry on the EPCL has successfully [unsuccessfully] completed
    testing (including, where relevant, reference to any Migration Completion Report)" — from the
    verdict's clause-cited reasons.

20.31: "the DCC shall not produce a draft DMCT Testing Report … until testing has completed". A report
for an entry still *in progress* or *awaiting TAG* is therefore produced with a banner saying it is not a
draft DMCT Testing Report, so a lab can review progress in the same shape without mistaking it for one.

Everything here is pure: the report date and certificate date are parameters, never the clock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from harness.model.interchange import Issue
from harness.reports.data import ReportData, RunInfo
from harness.reports.heatmap import build_heatmap
from harness.reports.model import Block, Bullets, Document, Figure, Missing, Para, Section, Table, pct
from harness.rules.verdict import EntryVerdict, planned_tests
from harness.rules.workdays import DRAFT_REPORT_REFERRAL_DAYS, draft_report_referral_deadline
from harness.rules.workoff import work_off_plan

ITEMS: tuple[tuple[str, str], ...] = (
    ("a", "Versions of the DCC Systems and environments tested against"),
    ("b", "Tests run as per the relevant test pack"),
    ("c", "Results of the tests run"),
    ("d", "Confirmation that all open Testing Issues are captured and closed or under a Work Off Plan"),
    ("e", "Approach to re-running tests following the deployment of fixes"),
    ("f", "Testing Issues excluded pursuant to 20.29, with rationale"),
    ("g", "Rationale for the severity of open Testing Issues, and their Work Off Plans"),
    ("h", "Other information prescribed by the test pack"),
    ("i", "Statement of why testing completed"),
)

ROUTES = {
    "a": "(a) DCC Internal Systems, no Code change",
    "b": "(b) DCC Systems and the Code",
    "c": "(c) a SMETS1 Device",
    "d": "(d) the Code only",
}


def clause_for(status: str) -> str:
    """20.34 for a successful completion, 20.35 for an unsuccessful one (and for anything else the
    report is not yet a draft, 20.31, but follows 20.34's shape)."""
    return "20.35" if status == "unsuccessful" else "20.34"


def report_name(entry_id: str) -> str:
    """The reference other reports use for this entry's DMCT Testing Report (20.41 (b))."""
    return f"DMCT Testing Report {entry_id}"


def build_testing_report(
    data: ReportData, entry_id: str, report_date: date, certificate_date: date | None = None
) -> Document:
    """The report for ``entry_id``; ``certificate_date`` (default: ``report_date``) dates Work Off Plans."""
    from harness.errors import DmctInputError

    ev = data.verdict.entries.get(entry_id)
    if ev is None:
        known = ", ".join(sorted(data.verdict.entries)) or "none"
        raise DmctInputError("--entry", f"{entry_id!r} is not a planned entry of these runs (known: {known})")
    cert = certificate_date or report_date
    clause = clause_for(ev.status)
    runs = data.runs_for(entry_id) or data.runs
    mine = [i for i in data.issues if entry_id in i.entries]

    meta = [
        ("Planned entry on the EPCL", entry_id),
        ("DMC", ev.entry.dmc),
        ("Installation type", ev.entry.installation),
        ("Status", ev.status.replace("_", " ")),
        ("Exit profile", f"{data.verdict.profile.title} [{data.verdict.profile.name}]"),
        ("Report date", report_date.isoformat()),
        ("Runs", ", ".join(r.run_id for r in runs) or "none"),
        ("Testing Issue log", data.issues_source or "MISSING: no Testing Issue log found"),
    ]
    meta += _devices_meta(runs)
    if ev.status in ("successful", "unsuccessful"):
        meta.append(
            (
                "Supplier referral window (20.37)",
                f"{DRAFT_REPORT_REFERRAL_DAYS} Working Days from provision; if provided on "
                f"{report_date.isoformat()}: by {draft_report_referral_deadline(report_date).isoformat()}",
            )
        )
    banner = ""
    if ev.status not in ("successful", "unsuccessful"):
        banner = (
            f"Not a draft DMCT Testing Report: testing for {entry_id} has not completed (status "
            f"{ev.status.replace('_', ' ')}); 20.31 forbids a draft report until 20.32 or 20.33 is met."
        )
    outcome = {"successful": "completed successfully", "unsuccessful": "completed unsuccessfully"}.get(
        ev.status, "not completed"
    )
    sections = [
        _item_a(data, runs),
        _item_b(data, ev, runs),
        _item_c(data, ev),
        _item_d(data, ev, mine, cert),
        _item_e(data, ev, runs),
        _item_f(ev, mine),
        _item_g(data, ev, mine, cert),
        _item_h(data, ev),
        _item_i(data, ev, outcome),
    ]
    for section, (key, title) in zip(sections, ITEMS, strict=True):
        section.key, section.title, section.clause = key, title, f"{clause} ({key})"
    sections.append(
        Section(
            "heatmap",
            "Heatmap: coverage and success by functional group",
            "Table 13.1 #7",
            [Figure(build_heatmap(data, [(entry_id, [entry_id])], f"{entry_id}"))],
        )
    )
    return Document(
        kind="testing",
        title=f"Draft DMCT Testing Report — {entry_id}",
        subtitle=f"SEC Appendix AK (SMETS1 SVTAD) {clause}: testing {outcome}",
        meta=meta,
        sections=sections,
        banner=banner,
        status=ev.status,
        header=f"{entry_id} — "
        + (
            "draft DMCT Testing Report"
            if ev.status in ("successful", "unsuccessful")
            else "not a draft report"
        ),
        footer="Generated by dmct from the run journals and the Testing Issue log; every item of "
        f"{clause} (a)-(i) is present, and anything the data could not supply is marked missing.",
    )


def _devices_meta(runs: list[RunInfo]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for run in runs:
        dmc = run.facts.get("dmc")
        if not isinstance(dmc, dict):
            continue
        for role, dev in dmc.items():
            if not isinstance(dev, dict):
                continue
            text = (
                f"{dev.get('manufacturer', '?')} {dev.get('model', '?')}, hardware "
                f"{dev.get('hardware_version', '?')}, firmware {dev.get('firmware_version', '?')}"
            )
            label = f"Device {role.upper()}"
            if (label, text) in seen:
                continue
            seen.add((label, text))
            out.append((label, text + f" (run {run.run_id})" if len(runs) > 1 else text))
    return out or [("Devices", "MISSING: no run.json records the DMC's devices")]


def _item_a(data: ReportData, runs: list[RunInfo]) -> Section:
    blocks: list[Block] = []
    rows = []
    rationale: list[str] = []
    for run in runs:
        env = run.facts.get("environment")
        if not isinstance(env, dict):
            continue
        systems = env.get("dcc_systems") or []
        text = "; ".join(f"{s.get('name')} {s.get('version')}" for s in systems if isinstance(s, dict))
        rows.append(
            (run.run_id, str(env.get("name", "")), text or "none recorded", str(run.facts.get("lab", "")))
        )
        why = env.get("rationale") or env.get("why")
        if why and str(why) not in rationale:
            rationale.append(str(why))
    if rows:
        blocks.append(Table(("run", "environment", "DCC Systems and versions", "lab"), tuple(rows)))
        if any(r[2] == "none recorded" for r in rows):
            blocks.append(Missing("DCC System versions for some runs (run.json environment.dcc_systems)"))
    else:
        blocks.append(Missing("the DCC Systems and environment versions: no run.json records an environment"))
    if rationale:
        blocks.append(Para("Why these versions (20.18): " + " ".join(rationale)))
    else:
        blocks.append(
            Missing(
                "why these versions and environments most closely match production (20.18): "
                "record it as environment.rationale in the lab file"
            )
        )
    return Section("a", "", blocks=blocks)


def _item_b(data: ReportData, ev: EntryVerdict, runs: list[RunInfo]) -> Section:
    blocks: list[Block] = []
    packs_meta: dict[str, dict[str, Any]] = {}
    for run in runs:
        packs = run.facts.get("packs")
        if isinstance(packs, dict):
            for pid, p in packs.items():
                if isinstance(p, dict):
                    packs_meta[pid] = p
    planned = planned_tests(data.plan, ev.entry, data.verdict.profile)
    rows = []
    for pack, tests in planned.items():
        meta = packs_meta.get(pack)
        rows.append(
            (
                pack,
                str(meta.get("name", "")) if meta else "MISSING",
                str(meta.get("version", "")) if meta else "MISSING",
                str(meta.get("capability_release", "")) if meta else "MISSING",
                str(len(tests)) + _list_label(data, ev, pack, meta),
            )
        )
        if meta is None:
            blocks.append(Missing(f"name, version and Capability Release of pack {pack} (run.json packs)"))
    used = [
        f"{pack} {meta.get('version', '?')} ({meta.get('capability_release', '?')}, {_manifest_of(meta)})"
        for pack in planned
        if (meta := packs_meta.get(pack)) and meta.get("manifest")
    ]
    if used:  # runs since manifests per Capability Release record the file they used (20.16)
        blocks.insert(0, Para("Manifests used: " + "; ".join(used) + "."))
    blocks.insert(0, Table(("pack", "name", "version", "Capability Release", "planned tests"), tuple(rows)))
    blocks.extend(_non_standard(data, packs_meta, ev.entry.dmc))
    blocks.insert(
        0,
        Para(
            "Required packs (20.14): "
            + ", ".join(planned)
            + (" (Migration Testing under the MTAD: only SRVT is required)" if ev.entry.mt_under_mtad else "")
        ),
    )
    test_rows = tuple(
        (pack, test, data.group_of(pack, test), ", ".join(data.requirements.get((pack, test), ())) or "—")
        for pack, tests in planned.items()
        for test in tests
    )
    blocks.append(
        Table(("pack", "test", "functional group", "requirements"), test_rows, caption="Planned tests")
    )
    return Section("b", "", blocks=blocks)


def _list_label(data: ReportData, ev: EntryVerdict, pack: str, meta: dict[str, Any] | None) -> str:
    """How the entry's list of a pack came about. A DMCT Non-Standard Test Pack exists only where the
    TAG agreed it (20.17), which its manifest records (``standard: false``); an entry's own list of a
    standard pack only leaves out the tests that do not apply to its DMC."""
    if meta is not None and meta.get("standard") is False:
        return " (DMCT Non-Standard Test Pack agreed with the TAG, 20.17)"
    own = ev.entry.tests.get(pack) if ev.entry.tests else None
    spec = data.plan.packs.get(pack)
    if own is None or spec is None:
        return ""
    left_out = len(set(spec.tests) - set(own))
    if not left_out:
        return ""
    return f" of {len(spec.tests)} (standard pack; {left_out} not applicable to this DMC)"


def _manifest_of(meta: dict[str, Any]) -> str:
    """The manifest file a run used (and what a per-release manifest was derived from, 20.16)."""
    name = str(meta.get("manifest") or "not recorded")
    return f"{name} (from {meta['derives_from']})" if meta.get("derives_from") else name


def _non_standard(data: ReportData, packs_meta: dict[str, dict[str, Any]], dmc: str) -> list[Block]:
    """Each DMCT Non-Standard Test Pack the runs used for this DMC (20.17): why the TAG agreed it, the
    tests it took out of its standard pack with the rationale of each, and its own tests."""
    blocks: list[Block] = []
    for pid, meta in sorted(packs_meta.items()):
        if meta.get("standard") is not False or meta.get("dmc") != dmc:
            continue
        based_on = f", changing {meta['based_on']}" if meta.get("based_on") else ""
        blocks.append(
            Para(
                f"Non-Standard Test Pack (20.17) {pid} {meta.get('version', '?')} "
                f"({meta.get('capability_release', '?')}, {_manifest_of(meta)}) for DMC {dmc}{based_on}: "
                f"{meta.get('rationale') or 'no rationale recorded'}"
            )
        )
        if not meta.get("rationale"):
            blocks.append(Missing(f"why the TAG agreed pack {pid} (its manifest's rationale, 20.9 (c))"))
        changes = [c for c in meta.get("changes") or [] if isinstance(c, dict)]
        if changes:
            rows = tuple(
                (
                    str(c.get("pack", "")),
                    str(c.get("test", "")),
                    str(c.get("change", "")),
                    f"{pid}: {c['by']}" if c.get("by") else "—",
                    str(c.get("rationale") or "MISSING"),
                )
                for c in changes
            )
            blocks.append(
                Table(
                    ("pack", "test", "change", "executed instead", "rationale"),
                    rows,
                    caption=f"Standard tests {pid} takes out for DMC {dmc}",
                )
            )
        spec = data.plan.packs.get(pid)
        if spec is not None:
            blocks.append(
                Bullets(tuple(f"{pid} plans {t}" for t in spec.tests) or (f"{pid} plans no test of its own",))
            )
    return blocks


def _item_c(data: ReportData, ev: EntryVerdict) -> Section:
    counts = [
        (pack, c.planned, c.executed, c.passed, c.failed, c.not_executed, c.pass_rate)
        for pack, c in ev.packs.items()
    ]
    counts.append(("all", ev.planned, ev.executed, ev.passed, ev.failed, ev.not_executed, ev.pass_rate))
    rows = tuple((name, *(str(n) for n in nums), pct(rate)) for name, *nums, rate in counts)
    blocks: list[Block] = [
        Para("The latest execution of each test counts (20.22); executed = passed or failed (20.32 (a))."),
        Table(("pack", "planned", "executed", "passed", "failed", "not executed", "pass rate"), rows),
    ]
    detail, links = [], []
    run_dirs = {r.run_id: r.path for r in data.runs}
    planned = planned_tests(data.plan, ev.entry, data.verdict.profile)
    for pack, tests in planned.items():
        for test in tests:
            head = data.latest.get((ev.id, pack, test))
            history = data.executions.get((ev.id, pack, test), [])
            last = history[-1] if history else None
            detail.append(
                (
                    pack,
                    test,
                    (last.shown if last and last.outcome == head[1] else head[1]) if head else "not run",
                    head[0] if head else "—",
                    last.run if last else "—",
                    last.reason if last else "",
                    "\n".join(last.evidence) if last else "",
                )
            )
            where = run_dirs.get(last.run) if last else None
            files = "\n".join(str((where / e).resolve()) for e in last.evidence) if last and where else ""
            links.append(("",) * 6 + (files,))
    blocks.append(
        Table(
            ("pack", "test", "outcome", "at", "run", "reason", "evidence"),
            tuple(detail),
            caption="Latest execution of every planned test",
            links=tuple(links),
        )
    )
    if ev.unplanned_results:
        blocks.append(
            Bullets(
                tuple(
                    f"unplanned: {u['pack']} {u['test']} {u['outcome']} ({u['at']})"
                    for u in ev.unplanned_results
                )
            )
        )
    return Section("c", "", blocks=blocks)


def _item_d(data: ReportData, ev: EntryVerdict, mine: list[Issue], cert: date) -> Section:
    blocks: list[Block] = []
    if data.issues_source is None:
        blocks.append(
            Missing(
                "the Testing Issue log: no --issues file, run issues export or store was found, "
                "so it cannot be confirmed that every open issue is captured"
            )
        )
    open_issues = [i for i in mine if i.status == "open"]
    closed = [i for i in mine if i.status == "closed"]
    plans = {r.id: r for r in work_off_plan(open_issues, cert)}
    rows = []
    for issue in open_issues:
        row = plans[issue.id]
        due = row.due.isoformat() if row.due else "its own date (15.1 sets none for severity 1-2)"
        how = f"Work Off Plan, due {due}"
        if issue.excluded_for(ev.id):
            excl = issue.exclusion_for(ev.id)
            how = f"excluded (20.29), TAG {excl.tag if excl else ''}: see (f); " + how
        else:
            how += ": see (g)"
        rows.append((issue.id, str(issue.severity), issue.title, ROUTES.get(issue.route or "", "none"), how))
    if rows:
        blocks.append(
            Table(
                ("issue", "severity", "title", "route (20.20)", "treatment"),
                tuple(rows),
                caption="Open Testing Issues affecting this entry",
            )
        )
    gaps = ev.evidence_gaps
    if data.issues_source is not None:
        if not gaps and not ev.unrouted:
            blocks.append(Para(confirmation(ev.id, len(open_issues), len(closed))))
        else:
            problems = []
            if ev.unrouted:
                problems.append("open issues not yet through 20.20-20.27: " + ", ".join(ev.unrouted))
            if gaps:
                problems.append(f"{len(gaps)} failed test(s) with no linked Testing Issue (evidence gaps)")
            blocks.append(Para("Cannot be confirmed: " + "; ".join(problems) + "."))
    if gaps:
        blocks.append(
            Table(
                ("pack", "test", "failed at"),
                tuple((g["pack"], g["test"], g["at"]) for g in gaps),
                caption="Evidence gaps (20.34 (d)): failed tests with no linked Testing Issue",
            )
        )
    else:
        blocks.append(Para("Evidence gaps: none — every failed test is linked to a Testing Issue."))
    return Section("d", "", blocks=blocks)


def _item_e(data: ReportData, ev: EntryVerdict, runs: list[RunInfo]) -> Section:
    blocks: list[Block] = [
        Para(
            "Approach: after a fix is deployed the affected tests are re-run for the entry; every execution "
            "is kept in the results journal and the latest execution of each test is the one that counts "
            "(20.22). The history below lists every test executed more than once, oldest first, and the "
            "device firmware "
            "recorded for each run, so a fix deployed between runs can be seen."
        )
    ]
    fw_rows = []
    for run in runs:
        dmc = run.facts.get("dmc")
        fw = (
            "; ".join(
                f"{role} {dev.get('firmware_version')}" for role, dev in dmc.items() if isinstance(dev, dict)
            )
            if isinstance(dmc, dict)
            else "MISSING"
        )
        counts = run.facts.get("counts")
        counted = ", ".join(f"{k} {v}" for k, v in counts.items()) if isinstance(counts, dict) else ""
        fw_rows.append(
            (run.run_id, run.started or "MISSING", str(run.facts.get("dmct_version", "")), fw, counted)
        )
    if fw_rows:
        blocks.append(
            Table(
                ("run", "started", "dmct", "device firmware", "outcomes"),
                tuple(fw_rows),
                caption="Runs for this entry",
            )
        )
    keys = data.keys_of(ev.id)
    reruns = [(k, data.executions[k]) for k in keys if len(data.executions[k]) > 1]
    if reruns:
        blocks.append(
            Table(
                ("pack", "test", "executions (oldest first)", "counts"),
                tuple(
                    (
                        k[1],
                        k[2],
                        " → ".join(f"{x.outcome} ({x.run or '?'}, {x.at})" for x in v),
                        v[-1].outcome,
                    )
                    for k, v in reruns
                ),
                caption="Re-run history",
            )
        )
    elif keys:
        blocks.append(Para("Re-run history: no test was executed more than once for this entry."))
    else:
        blocks.append(Missing("the re-run history: the journals hold no execution for this entry"))
    return Section("e", "", blocks=blocks)


def _item_f(ev: EntryVerdict, mine: list[Issue]) -> Section:
    titles = {i.id: i.title for i in mine}
    blocks: list[Block] = []
    if ev.excluded:
        blocks.append(
            Table(
                ("issue", "severity", "title", "TAG decision (20.38)", "counted", "rationale for exclusion"),
                tuple(
                    (
                        x["id"],
                        str(x["severity"]),
                        titles.get(x["id"], ""),
                        str(x["tag"]),
                        "yes" if x["counted"] else "no",
                        str(x["rationale"]),
                    )
                    for x in ev.excluded
                ),
            )
        )
        blocks.append(
            Para(
                "A proposal pending TAG review counts as excluded in this draft (20.29 (a)). Where the "
                "TAG disagrees and that would make testing unsuccessful, the DCC continues testing "
                "(20.38 (c)) or refers the matter to the Secretary of State (20.38 (d)), whose "
                "determination decides (20.40); a disagreement that would not is counted in the "
                "updated draft (20.39 (b))."
            )
        )
    else:
        blocks.append(Para("No Testing Issue affecting this entry was proposed for exclusion (20.29)."))
    if ev.depends_on_tag:
        blocks.append(
            Para(
                "20.38: the successful status depends on the TAG not disagreeing with excluding "
                + ", ".join(ev.depends_on_tag)
                + "."
            )
        )
    return Section("f", "", blocks=blocks)


def _item_g(data: ReportData, ev: EntryVerdict, mine: list[Issue], cert: date) -> Section:
    blocks: list[Block] = [
        Para(
            f"Work Off Plans are dated in Working Days from the Test Completion Certificate (15.1); "
            f"certificate date used: {cert.isoformat()}."
        )
    ]
    extant = [i for i in mine if i.extant_for(ev.id)]
    if not extant:
        blocks.append(
            Para("No open, non-excluded Testing Issue affects this entry: no Work Off Plan is needed.")
        )
        return Section("g", "", blocks=blocks)
    rows = []
    missing_rationale = []
    by_id = {i.id: i for i in extant}
    for row in work_off_plan(extant, cert):
        issue = by_id[row.id]
        rationale = _severity_rationale(issue)
        if not rationale:
            missing_rationale.append(row.id)
        rows.append(
            (
                row.id,
                str(row.severity),
                row.title,
                rationale or "MISSING",
                str(row.working_days or "—"),
                row.due.isoformat() if row.due else "—",
                "; ".join(row.notes),
            )
        )
    blocks.append(
        Table(
            ("issue", "severity", "title", "severity rationale", "Working Days", "due", "notes"), tuple(rows)
        )
    )
    if missing_rationale:
        blocks.append(
            Missing(
                "the rationale for the severity of "
                + ", ".join(missing_rationale)
                + ": the log records no rationale (record one with `dmct issues rationale ID TEXT`)"
            )
        )
    return Section("g", "", blocks=blocks)


def _severity_rationale(issue: Issue) -> str:
    """What the log says about the severity: rationale notes in the history, changes, disputes."""
    parts = []
    for rec in issue.history:
        note = rec.get("rationale") or rec.get("note")
        if rec.get("action") == "rationale" and rec.get("new"):
            parts.append(str(rec["new"]))  # recorded with `dmct issues rationale`
        elif note:
            parts.append(str(note))
        elif rec.get("field") == "severity" and rec.get("action") in ("update", "dispute"):
            parts.append(
                f"severity changed {rec.get('old')} → {rec.get('new')} on {rec.get('at')} by {rec.get('by')}"
            )
    if issue.dispute is not None:
        parts.append(
            f"severity {issue.dispute.severity} argued by a Testing Participant (14.2), {issue.dispute.state}"
        )
    return "; ".join(parts)


def _item_h(data: ReportData, ev: EntryVerdict) -> Section:
    rows = []
    for pack, c in ev.packs.items():
        if c.min_pass_rate is None:
            rows.append((pack, "nothing beyond its tests", "—", "—"))
        else:
            met = {True: "met", False: "NOT met", None: "—"}[c.min_pass_rate_met]
            rows.append((pack, f"minimum pass rate {pct(c.min_pass_rate)}", pct(c.pass_rate), met))
    blocks: list[Block] = [Table(("pack", "prescribes", "actual", "result"), tuple(rows))]
    if any(c.min_pass_rate is not None for c in ev.packs.values()):
        blocks.append(
            Para(
                "A minimum pass rate is the pack's own criterion (the pack is agreed with the TAG, 20.16), "
                "carried in this report under 20.34 (h); it is not a Testing Issue Threshold (Table 20.1)."
            )
        )
    missing = [p for p in ev.packs if p not in data.plan.packs]
    if missing:
        blocks.append(Missing("the pack definitions (plan packs) of " + ", ".join(missing)))
    return Section("h", "", blocks=blocks)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def confirmation(entry_id: str, n_open: int, n_closed: int) -> str:
    """20.34 (d)/20.35 (d) confirmed, in words that read right for 0, 1 or many issues."""
    closed = f"{_count(n_closed, 'issue', 'issues')} affecting it {'is' if n_closed == 1 else 'are'} closed"
    if n_open == 0:
        return f"Confirmed: no open Testing Issue affects {entry_id}; {closed}."
    if n_open == 1:
        return (
            f"Confirmed: the one open Testing Issue affecting {entry_id} is captured in the log and is "
            f"either excluded (see (f)) or under a Work Off Plan (see (g)); {closed}."
        )
    return (
        f"Confirmed: all {n_open} open Testing Issues affecting {entry_id} are captured in the log and "
        f"each is either excluded (see (f)) or under a Work Off Plan (see (g)); {closed}."
    )


def _item_i(data: ReportData, ev: EntryVerdict, outcome: str) -> Section:
    # the status only where the outcome does not already say it ("not completed (in progress)")
    status = "" if ev.status in ("successful", "unsuccessful") else f" ({ev.status.replace('_', ' ')})"
    blocks: list[Block] = [Para(f"Testing for {ev.id} has {outcome}{status}, because:")]
    blocks.append(Bullets(tuple(ev.reasons) or ("no reason recorded",)))
    if ev.evidence_gaps:
        blocks.append(
            Para(f"Note (20.34 (d)): {len(ev.evidence_gaps)} failed test(s) have no linked Testing Issue.")
        )
    if ev.entry.mt_under_mtad:
        record = data.entries.get(ev.id)
        mcr = record.migration_completion_report if record else None  # dmct entries mcr (20.34 (i))
        for run in data.runs_for(ev.id):
            mcr = mcr or run.facts.get("migration_completion_report")
        if mcr:
            blocks.append(Para(f"Migration Completion Report: {mcr}."))
        else:
            blocks.append(
                Missing(
                    "the reference to the Migration Completion Report (migration tested under "
                    "the MTAD, 20.14): record it with `dmct entries mcr ENTRY REF`"
                )
            )
    else:
        blocks.append(
            Para(
                "Migration Completion Report: not applicable — migration is not tested under the "
                "MTAD for this entry (20.14)."
            )
        )
    return Section("i", "", blocks=blocks)
