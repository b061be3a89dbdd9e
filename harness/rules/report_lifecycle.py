"""When a draft DMCT Testing Report becomes final (20.36-20.40), and the records that get it there.

Pure functions over :class:`~harness.model.entries.DraftReport` and the Working-Day calendar
(:mod:`harness.rules.workdays`). The state of the latest draft of an entry is one of:

* ``final`` -- 20.39: every Supplier Party that received it (20.36) confirmed it will not refer, or its
  10 Working Days (20.37) passed without a referral, and the TAG's review found no disagreement that
  would turn successful into unsuccessful (20.39 (b), (c)); or 20.40 (a), (b), (c)(i): the Secretary of
  State determined it.
* ``awaiting_sos`` -- a referral was made (20.37 by a Supplier Party, 20.38 (d) by the DCC) and the
  determination is not recorded (20.40).
* ``testing_continues`` -- the DCC continues testing (20.38 (c)) or the Secretary of State determined
  that further tests are needed (20.40 (c)(ii)): "Clause 20.13 onwards shall apply again"; this draft
  will never be final, a new one will be issued.
* ``draft`` -- none of the above yet; ``reasons`` say what is missing, each with its clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from harness.errors import DmctInputError
from harness.model.entries import (
    DraftReport,
    EntryRecord,
    Referral,
    SosDetermination,
    SupplierReceipt,
    TagReview,
)
from harness.rules.workdays import DRAFT_REPORT_REFERRAL_DAYS, draft_report_referral_deadline


@dataclass(frozen=True, slots=True)
class ReportState:
    state: str  # final | awaiting_sos | testing_continues | draft | none
    status: str | None  # the testing status the report states once final (20.32 / 20.33)
    reasons: tuple[str, ...]
    issued: date | None = None

    @property
    def final(self) -> bool:
        return self.state == "final"


def report_state(record: EntryRecord, today: date) -> ReportState:
    """The state of the entry's latest draft DMCT Testing Report on ``today``."""
    if not record.reports:
        return ReportState(
            "none", None, ("no draft DMCT Testing Report recorded (dmct report testing, 20.34)",)
        )
    report = record.reports[-1]
    if report.sos is not None:
        d = report.sos.determination
        if d == "further_tests":
            return ReportState(
                "testing_continues",
                None,
                (
                    f"20.40 (c)(ii): the Secretary of State determined on {report.sos.on} that further tests "
                    "need to be run; the DCC continues testing",
                ),
                report.issued,
            )
        status = {"agrees": report.status, "successful": "successful", "unsuccessful": "unsuccessful"}[d]
        clause = {"agrees": "20.40 (a)", "successful": "20.40 (b)", "unsuccessful": "20.40 (c)(i)"}[d]
        return ReportState(
            "final",
            status,
            (
                f"{clause}: the Secretary of State's determination of {report.sos.on} makes the draft final "
                f"({status})",
            ),
            report.issued,
        )
    if report.tag_review is not None and report.tag_review.outcome == "continue_testing":
        return ReportState(
            "testing_continues",
            None,
            (
                "20.38 (c): the TAG's disagreement would make testing unsuccessful; the DCC continues "
                f"testing (decided {report.tag_review.on})",
            ),
            report.issued,
        )
    if report.referrals:
        who = ", ".join(f"{r.by} on {r.on}" for r in report.referrals)
        return ReportState(
            "awaiting_sos",
            None,
            (f"20.40: referred to the Secretary of State ({who}); the determination decides",),
            report.issued,
        )
    missing: list[str] = []
    if not report.receipts:
        missing.append("20.36: no Supplier Party recorded as having received the draft")
    for receipt in report.receipts:
        deadline = draft_report_referral_deadline(receipt.received)
        if receipt.no_referral is None and today <= deadline:
            missing.append(
                f"20.39 (a): {receipt.supplier} may refer until {deadline} ({DRAFT_REPORT_REFERRAL_DAYS} "
                f"Working Days from {receipt.received}, 20.37) and has not confirmed it will not"
            )
    if report.tag_review is None:
        missing.append("20.39 (b), (c): the TAG's review of excluded issues and severities is not recorded")
    if missing:
        return ReportState("draft", None, tuple(missing), report.issued)
    return ReportState(
        "final",
        report.status,
        (
            "20.39: no Supplier Party referral within 10 Working Days (or each confirmed none) and no TAG "
            "disagreement that would change the outcome",
        ),
        report.issued,
    )


# --------------------------------------------------------------------------------------- records


def _latest(record: EntryRecord) -> DraftReport:
    if not record.reports:
        raise DmctInputError(
            record.id, "no draft DMCT Testing Report recorded (dmct report testing)", field="reports"
        )
    return record.reports[-1]


def _replace(record: EntryRecord, report: DraftReport, on: date) -> EntryRecord:
    last = max(record.last_event or on, on)
    return record.model_copy(update={"reports": (*record.reports[:-1], report), "last_event": last})


def _check(record: EntryRecord, report: DraftReport, on: date, today: date) -> None:
    if on > today:
        raise DmctInputError(record.id, f"date {on} is in the future (today is {today})", field="on")
    if on < report.issued:
        raise DmctInputError(
            record.id, f"date {on} is before the draft was issued ({report.issued})", field="on"
        )
    state = report_state(record, on).state  # as it stood on the event's date
    if state in ("final", "testing_continues"):
        raise DmctInputError(
            record.id,
            f"the latest draft (issued {report.issued}) is {state.replace('_', ' ')}"
            "; nothing more can be recorded on it",
            field="reports",
        )


def issue_draft(record: EntryRecord, *, issued: date, digest: str, status: str) -> EntryRecord:
    """Record a draft DMCT Testing Report issued (20.34 successful / 20.35 unsuccessful). 20.31: only
    once testing has completed; the entry must be completed on the Status List."""
    if status not in ("successful", "unsuccessful"):
        raise DmctInputError(
            record.id,
            f"testing has not completed ({status}): no draft DMCT Testing Report may be produced (20.31)",
            field="status",
        )
    if record.status != "completed":
        raise DmctInputError(
            record.id,
            f"the entry is {record.status} on the DMCT Status List, not completed (20.31)",
            field="status",
        )
    if record.reports and record.reports[-1].digest == digest:
        return record  # the same draft issued again: nothing new to record
    draft = DraftReport(issued=issued, digest=digest, status=status)  # type: ignore[arg-type]
    return record.model_copy(
        update={"reports": (*record.reports, draft), "last_event": max(record.last_event or issued, issued)}
    )


def receive(record: EntryRecord, *, supplier: str, on: date, today: date) -> EntryRecord:
    """20.36: the draft was made available to ``supplier``."""
    report = _latest(record)
    _check(record, report, on, today)
    if any(r.supplier == supplier for r in report.receipts):
        raise DmctInputError(
            record.id, f"{supplier} is already recorded as having received it", field="supplier"
        )
    receipt = SupplierReceipt(supplier=supplier, received=on)
    return _replace(record, report.model_copy(update={"receipts": (*report.receipts, receipt)}), on)


def no_referral(record: EntryRecord, *, supplier: str, on: date, today: date) -> EntryRecord:
    """20.39 (a): ``supplier`` confirmed it will not refer the matter to the Secretary of State."""
    report = _latest(record)
    _check(record, report, on, today)
    found = [r for r in report.receipts if r.supplier == supplier]
    if not found:
        raise DmctInputError(
            record.id, f"{supplier} did not receive the draft (record it first, 20.36)", field="supplier"
        )
    receipts = tuple(
        r.model_copy(update={"no_referral": on}) if r.supplier == supplier else r for r in report.receipts
    )
    return _replace(record, report.model_copy(update={"receipts": receipts}), on)


def refer(record: EntryRecord, *, by: str, matter: str, on: date, today: date) -> EntryRecord:
    """A referral to the Secretary of State: a Supplier Party's within 10 Working Days of receiving the
    draft (20.37), or the DCC's after a TAG disagreement (20.38 (d))."""
    report = _latest(record)
    _check(record, report, on, today)
    if by == "dcc":
        if report.tag_review is None or report.tag_review.outcome == "no_flip":
            raise DmctInputError(
                record.id,
                "the DCC refers under 20.38 (d) only after a TAG disagreement that "
                "would make testing unsuccessful (record the TAG review first)",
                field="by",
            )
    else:
        found = [r for r in report.receipts if r.supplier == by]
        if not found:
            raise DmctInputError(record.id, f"{by} did not receive the draft (20.36, 20.37)", field="by")
        deadline = draft_report_referral_deadline(found[0].received)
        if on > deadline:
            raise DmctInputError(
                record.id,
                f"{by}'s referral on {on} is outside the 10 Working Days from {found[0].received} "
                f"(last day {deadline}, 20.37)",
                field="on",
            )
    referral = Referral(by=by, on=on, matter=matter)
    return _replace(record, report.model_copy(update={"referrals": (*report.referrals, referral)}), on)


def review(record: EntryRecord, *, outcome: str, on: date, today: date) -> EntryRecord:
    """20.38: the TAG's review of the draft's severities and exclusions."""
    report = _latest(record)
    _check(record, report, on, today)
    if report.tag_review is not None:
        raise DmctInputError(
            record.id,
            f"the TAG's review is already recorded ({report.tag_review.outcome})",
            field="tag_review",
        )
    if outcome != "no_flip" and report.status != "successful":
        raise DmctInputError(
            record.id,
            "20.38 concerns a change from successful to unsuccessful; this draft states unsuccessful",
            field="outcome",
        )
    tag = TagReview(outcome=outcome, on=on)  # type: ignore[arg-type]
    updated = report.model_copy(update={"tag_review": tag})
    if outcome == "referred":
        referral = Referral(by="dcc", on=on, matter="TAG disagreement (20.38 (d))")
        updated = updated.model_copy(update={"referrals": (*report.referrals, referral)})
    out = _replace(record, updated, on)
    if outcome == "continue_testing":  # 20.38 (c): 20.13 onwards apply again
        out = out.model_copy(update={"status": "testing", "status_reason": "20.38 (c): continue testing"})
    return out


def determine(record: EntryRecord, *, determination: str, on: date, today: date) -> EntryRecord:
    """20.40: the Secretary of State's determination on the referred matters."""
    report = _latest(record)
    _check(record, report, on, today)
    if not report.referrals:
        raise DmctInputError(
            record.id, "no referral to the Secretary of State is recorded (20.37, 20.38 (d))", field="sos"
        )
    sos = SosDetermination(determination=determination, on=on)  # type: ignore[arg-type]
    out = _replace(record, report.model_copy(update={"sos": sos}), on)
    if determination == "further_tests":  # 20.40 (c)(ii)
        out = out.model_copy(update={"status": "testing", "status_reason": "20.40 (c)(ii): further tests"})
    return out
