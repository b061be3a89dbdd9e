"""The DMCT EPCL Report: the entries the DCC proposes for the EPCL, and why (SVTAD 20.41-20.43).

20.41: the report shall "(a) specify the proposed entry for the EPCL; and (b) set out why the DCC considers
that the entry should be made including, where applicable: (i) a final DMCT Testing Report which provides
for successful completion for the proposed entry on the EPCL; or (ii) a reference to a prior final DMCT
Testing Report or other Completion Reports that are relevant for the proposed entry". 20.42: "a single
DMCT EPCL Report may cover more than one planned entry on the EPCL" — so this builder takes any number.

An entry is proposed when its own testing completed successfully (20.32), or when it relies on another
entry's report (20.9: testing the dormant-only entry may suffice for the same DMC's active/mixed
entries; ``relies_on`` maps it to that entry) and that entry completed successfully. Entries that cannot be
proposed are listed with the verdict's reasons, never dropped. The harness writes *draft* Testing Reports;
one becomes final under 20.39/20.40, which the report states with the 20.37 referral deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from harness.reports.data import ReportData
from harness.reports.heatmap import build_heatmap
from harness.reports.model import Block, Bullets, Document, Figure, Missing, Para, Section, Table
from harness.reports.testing import report_name
from harness.rules.workdays import draft_report_referral_deadline

if TYPE_CHECKING:
    from harness.rules.report_lifecycle import ReportState


def finality_block(
    basis: str, finality: Mapping[str, ReportState] | None, prior: Mapping[str, str]
) -> str | None:
    """Why ``basis`` cannot support a proposed entry yet, or None. 20.41 (b): "(i) a final DMCT Testing
    Report which provides for successful completion ...; or (ii) a reference to a prior final DMCT
    Testing Report or other Completion Reports". ``finality`` None: not checked (library callers)."""
    if finality is None or basis in prior:
        return None
    state = finality.get(basis)
    if state is None:
        return (
            f"20.41 (b)(i): no final DMCT Testing Report for {basis}: no draft is recorded on the DMCT "
            "Status List (dmct entries add; dmct report testing records it)"
        )
    if state.final and state.status == "successful":
        return None
    if state.final:
        return f"20.41 (b)(i): the final DMCT Testing Report for {basis} states {state.status}"
    return (
        f"20.41 (b)(i): no final DMCT Testing Report for {basis} (its draft is "
        f"{state.state.replace('_', ' ')}: " + "; ".join(state.reasons) + ")"
    )


def build_epcl_report(
    data: ReportData,
    entry_ids: Sequence[str],
    report_date: date,
    relies_on: Mapping[str, str] | None = None,
    report_refs: Mapping[str, str] | None = None,
    *,
    finality: Mapping[str, ReportState] | None = None,
    prior: Mapping[str, str] | None = None,
) -> Document:
    """One report for ``entry_ids``; ``report_refs`` maps an entry to its testing report file + digest.

    ``finality``: the state of each entry's latest draft
    (:func:`harness.rules.report_lifecycle.report_state`); an entry is proposed only on a final report
    that provides for successful completion, or on a prior final report named in ``prior`` (20.41 (b)).
    ``dmct report epcl`` always passes it.
    """
    from harness.errors import DmctInputError

    relies = dict(relies_on or {})
    refs = dict(report_refs or {})
    verdicts = data.verdict.entries
    for eid in [*entry_ids, *relies.values()]:
        if eid not in verdicts:
            raise DmctInputError("--entry", f"{eid!r} is not a planned entry of these runs")
    prior = dict(prior or {})
    proposed: list[tuple[str, str]] = []  # (entry, the entry whose report it relies on)
    refused: list[str] = []
    blocked: dict[str, str] = {}
    for eid in entry_ids:
        basis = relies.get(eid, eid)
        block = finality_block(basis, finality, prior)
        if verdicts[basis].status == "successful" and block is None:
            proposed.append((eid, basis))
        else:
            refused.append(eid)
            if block is not None and verdicts[basis].status == "successful":
                blocked[eid] = block

    devices = _devices(data)
    sec_a: list[Block] = []
    if proposed:
        sec_a.append(
            Table(
                (
                    "proposed entry",
                    "DMC",
                    "installation",
                    "devices (manufacturer model hardware/firmware)",
                    "basis",
                ),
                tuple(
                    (
                        eid,
                        verdicts[eid].entry.dmc,
                        verdicts[eid].entry.installation,
                        devices.get(verdicts[eid].entry.dmc, "MISSING"),
                        "own testing (20.41 (b)(i))"
                        if basis == eid
                        else f"relies on {basis} (20.9, 20.41 (b)(ii))",
                    )
                    for eid, basis in proposed
                ),
            )
        )
        if any(devices.get(verdicts[e].entry.dmc) is None for e, _ in proposed):
            sec_a.append(Missing("device versions of some DMCs: no run.json of theirs records the devices"))
    else:
        sec_a.append(
            Para(
                "No entry is proposed for the EPCL: none of the planned entries covered has "
                "completed testing successfully."
            )
        )

    sec_b: list[Block] = []
    for eid, basis in proposed:
        ev = verdicts[basis]
        lead = (
            f"{eid}: testing completed successfully"
            if basis == eid
            else f"{eid}: relies on the testing of {basis} (same DMC, 20.9), which completed successfully"
        )
        sec_b.append(Para(lead + ":"))
        sec_b.append(Bullets(tuple(ev.reasons)))
        if ev.depends_on_tag:
            sec_b.append(
                Para(
                    "Depends on the TAG not disagreeing with excluding "
                    + ", ".join(ev.depends_on_tag)
                    + " (20.38, 20.39 (b))."
                )
            )
    if not sec_b:
        sec_b.append(Para("Nothing to justify: no entry is proposed."))

    rows = []
    missing_refs = []
    for basis in dict.fromkeys(b for _, b in proposed):
        ev = verdicts[basis]
        runs = ", ".join(r.run_id for r in data.runs_for(basis)) or "MISSING"
        ref = refs.get(basis)
        if ref is None:
            missing_refs.append(basis)
        rows.append(
            (
                report_name(basis),
                basis,
                ev.status,
                runs,
                ref or "MISSING (give --testing-report)",
                _final_text(basis, finality, prior, report_date),
            )
        )
    sec_c: list[Block] = []
    if rows:
        sec_c.append(Table(("report", "entry", "status", "runs", "file (SHA-256)", "final?"), tuple(rows)))
    else:
        sec_c.append(Para("No DMCT Testing Report is relied upon."))
    if missing_refs:
        sec_c.append(
            Missing(
                "the file and digest of the DMCT Testing Report(s) of "
                + ", ".join(missing_refs)
                + " (20.41 (b)): pass --testing-report ENTRY=FILE"
            )
        )

    sec_d: list[Block] = []
    for eid in refused:
        basis = relies.get(eid, eid)
        ev = verdicts[basis]
        via = "" if basis == eid else f" (relies on {basis})"
        if eid in blocked:
            sec_d.append(
                Para(f"{eid}{via}: testing completed successfully, but not proposed — {blocked[eid]}.")
            )
            continue
        sec_d.append(
            Para(
                f"{eid}{via}: {ev.status.replace('_', ' ')} — not proposed"
                + (
                    " (20.35: a DMCT Testing Report records why)"
                    if ev.status == "unsuccessful"
                    else " (testing has not completed, 20.31)"
                )
                + ":"
            )
        )
        sec_d.append(Bullets(tuple(ev.reasons)))
    if not sec_d:
        sec_d.append(Para("Every planned entry covered is proposed."))

    heat = build_heatmap(data, [(e, [relies.get(e, e)]) for e in entry_ids], "entries covered")
    return Document(
        kind="epcl",
        title="DMCT EPCL Report",
        subtitle=f"SEC Appendix AK (SMETS1 SVTAD) 20.41-20.42: {len(proposed)} of {len(entry_ids)} planned "
        "entr" + ("y" if len(entry_ids) == 1 else "ies") + " proposed",
        meta=[
            ("Report date", report_date.isoformat()),
            ("Planned entries covered (20.42)", ", ".join(entry_ids)),
            ("Proposed", ", ".join(e for e, _ in proposed) or "none"),
            ("Testing Issue log", data.issues_source or "MISSING: no Testing Issue log found"),
        ],
        sections=[
            Section("proposed", "Proposed entries for the EPCL", "20.41 (a)", sec_a),
            Section("why", "Why the entries should be made", "20.41 (b)", sec_b),
            Section("references", "DMCT Testing Reports relied upon", "20.41 (b)(i)-(ii)", sec_c),
            Section("not-proposed", "Planned entries not proposed", "20.33, 20.35", sec_d),
            Section(
                "heatmap",
                "Heatmap: coverage and success by functional group",
                "Table 13.1 #7",
                [Figure(heat)],
            ),
        ],
        status="proposed" if proposed else "none proposed",
        footer="Published reports are anonymised and redacted where appropriate (20.43).",
    )


def _final_text(
    basis: str, finality: Mapping[str, ReportState] | None, prior: Mapping[str, str], report_date: date
) -> str:
    if basis in prior:
        return f"prior final report {prior[basis]} (20.41 (b)(ii))"
    state = None if finality is None else finality.get(basis)
    if state is not None and state.final:
        return "final: " + "; ".join(state.reasons)
    return (
        f"draft; final under 20.39 once no Supplier referral is made by "
        f"{draft_report_referral_deadline(report_date).isoformat()} "
        f"(if provided {report_date.isoformat()}, 20.37)"
    )


def epcl_refusals(
    data: ReportData,
    entry_ids: Sequence[str],
    relies_on: Mapping[str, str],
    finality: Mapping[str, ReportState],
    prior: Mapping[str, str],
) -> list[str]:
    """One line per successful entry the report does not propose for want of a final report."""
    out = []
    for eid in entry_ids:
        basis = relies_on.get(eid, eid)
        block = finality_block(basis, finality, prior)
        if block is not None and data.verdict.entries[basis].status == "successful":
            out.append(f"{eid}: not proposed: {block}")
    return out


def _devices(data: ReportData) -> dict[str, str]:
    """DMC id → a one-line description of its devices, from the newest run.json naming it."""
    out: dict[str, str] = {}
    for run in data.runs:
        dmc = run.facts.get("dmc")
        if isinstance(dmc, dict) and dmc.get("id"):
            out[str(dmc["id"])] = "; ".join(
                f"{role}: {d.get('manufacturer')} {d.get('model')} {d.get('hardware_version')}/"
                f"{d.get('firmware_version')}"
                for role, d in dmc.items()
                if isinstance(d, dict)
            )
    return out
