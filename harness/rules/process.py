"""The DMCT process around the tests, as rules: which status changes of a planned entry clause 20 allows,
and what each records. Pure functions from an :class:`~harness.model.entries.EntryRecord` (and a date)
to the next one; a transition the process does not allow, or a date outside its window, is a
:class:`~harness.errors.DmctInputError` naming the entry, so the CLI prints one line and writes nothing.

Statuses (20.8) and the moves between them:

=====================  ==========================================================================
from                   to (clause)
=====================  ==========================================================================
planned                scheduled (20.9), excluded (20.5, 20.7), not_required (20.6 (d)),
                       relies_on_prior (20.9, 20.41 (b)(ii)), no_longer_undertaken
scheduled              testing (20.13), planned (no longer confident of the dates, 20.11), excluded,
                       not_required, relies_on_prior, no_longer_undertaken
testing                paused (20.21), completed (20.32, 20.33), no_longer_undertaken (20.19,
                       20.25 (a)), excluded (20.25 (b), (c))
paused                 testing (recommenced, 20.21), no_longer_undertaken, excluded
completed              testing (20.38 (c), 20.40 (c)(ii): "Clause 20.13 onwards shall apply again")
excluded               planned (evidence of the configuration change, 20.25 (b); a later submission,
                       20.5)
no_longer_undertaken   planned (a later submission, 20.19)
not_required           scheduled (a Supplier Party's disagreement, 20.12 (a)), planned
relies_on_prior        planned
=====================  ==========================================================================

Dates: an event may not be dated before the entry's latest recorded event, nor after ``today`` (the
store's clock); a planned completion may not precede the planned start; a revised completion (20.22)
may not precede the planned start nor the day it is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from harness.errors import DmctInputError
from harness.model.entries import Abandonment, EntryRecord, MtDetermination, Pause, RevisedCompletion
from harness.model.interchange import Plan

#: Allowed status changes made with ``dmct entries status`` (pause/resume/schedule have their own).
TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"excluded", "not_required", "relies_on_prior", "no_longer_undertaken"}),
    "scheduled": frozenset(
        {"testing", "planned", "excluded", "not_required", "relies_on_prior", "no_longer_undertaken"}
    ),
    "testing": frozenset({"completed", "no_longer_undertaken", "excluded"}),
    "paused": frozenset({"no_longer_undertaken", "excluded"}),
    "completed": frozenset({"testing"}),
    "excluded": frozenset({"planned"}),
    "no_longer_undertaken": frozenset({"planned"}),
    "not_required": frozenset({"planned"}),
    "relies_on_prior": frozenset({"planned"}),
}
#: Where ``schedule`` may be used to (re)schedule: the dates and packs of 20.9.
SCHEDULABLE = frozenset({"planned", "scheduled", "not_required"})
#: Where a revised completion date may be recorded (20.22).
REVISABLE = frozenset({"scheduled", "testing", "paused"})
#: Why a status change needs a reason: what the Status List shows (20.8, 20.11).
NEEDS_REASON = frozenset({"excluded", "no_longer_undertaken", "not_required", "relies_on_prior"})


def _check_date(record: EntryRecord, on: date, today: date, what: str) -> None:
    if on > today:
        raise DmctInputError(record.id, f"{what} date {on} is in the future (today is {today})", field="on")
    if record.last_event is not None and on < record.last_event:
        raise DmctInputError(
            record.id,
            f"{what} date {on} is before the entry's latest recorded event ({record.last_event})",
            field="on",
        )


def _move(record: EntryRecord, **changes: Any) -> EntryRecord:
    return record.model_copy(update=changes)


def new_entry(entry_id: str, dmc: str, installation: str, *, mt_under_mtad: bool = False) -> EntryRecord:
    """A planned entry on the DMCT Status List (20.8)."""
    return EntryRecord.model_validate(
        {"id": entry_id, "dmc": dmc, "installation": installation, "mt_under_mtad": mt_under_mtad}
    )


def schedule(
    record: EntryRecord,
    *,
    start: date,
    completion: date,
    packs: tuple[str, ...],
    capability_release: str,
    non_standard_rationale: str | None,
    on: date,
    today: date,
) -> EntryRecord:
    """Put the entry on the DMCT Schedule (20.9): planned dates (a), the packs (b) and, for a DMCT
    Non-Standard Test Pack, the rationale (c)."""
    if record.status not in SCHEDULABLE:
        raise DmctInputError(
            record.id,
            f"cannot schedule an entry that is {record.status} (only planned, scheduled or not_required; "
            "use --revised-completion for 20.22)",
            field="status",
        )
    _check_date(record, on, today, "schedule")
    if completion < start:
        raise DmctInputError(
            record.id, f"planned completion {completion} is before the start {start}", field="completion"
        )
    if not packs:
        raise DmctInputError(record.id, "at least one pack is required (20.9 (b))", field="pack")
    non_standard = [p for p in packs if p not in ("dormant-mt", "srvt")]
    if non_standard and not (non_standard_rationale or "").strip():
        raise DmctInputError(
            record.id,
            f"a DMCT Non-Standard Test Pack ({', '.join(non_standard)}) needs its rationale (20.9 (c))",
            field="rationale",
        )
    return _move(
        record,
        status="scheduled",
        planned_start=start,
        planned_completion=completion,
        packs=packs,
        capability_release=capability_release,
        non_standard_rationale=(non_standard_rationale or None),
        last_event=on,
        status_reason=None,
    )


def revise_completion(
    record: EntryRecord, *, completion: date, reason: str, issue: str | None, on: date, today: date
) -> EntryRecord:
    """20.22: "update the DMCT Schedule with the revised completion dates" after a DCC Internal Systems
    change (route (a))."""
    if record.status not in REVISABLE:
        raise DmctInputError(
            record.id, f"no schedule to revise: the entry is {record.status}", field="status"
        )
    _check_date(record, on, today, "revision")
    if completion < on or (record.planned_start is not None and completion < record.planned_start):
        raise DmctInputError(
            record.id,
            f"revised completion {completion} is before "
            + (
                f"the planned start {record.planned_start}"
                if record.planned_start and completion < record.planned_start
                else f"the day it is made ({on})"
            ),
            field="completion",
        )
    revision = RevisedCompletion(on=on, completion=completion, reason=reason, issue=issue)
    return _move(record, revised_completions=(*record.revised_completions, revision), last_event=on)


def set_status(
    record: EntryRecord, status: str, *, reason: str | None, relies_on: str | None, on: date, today: date
) -> EntryRecord:
    """A status change on the DMCT Status List (20.8) along :data:`TRANSITIONS`."""
    allowed = TRANSITIONS.get(record.status, frozenset())
    if status not in allowed:
        hint = "; use pause/resume" if {record.status, status} & {"paused"} else ""
        if status == "scheduled":
            hint = "; use schedule (20.9)"
        raise DmctInputError(
            record.id,
            f"the DMCT process does not go from {record.status} to {status} "
            f"(from {record.status}: {', '.join(sorted(allowed)) or 'nothing'}){hint}",
            field="status",
        )
    _check_date(record, on, today, "status")
    if status in NEEDS_REASON and not (reason or "").strip():
        raise DmctInputError(record.id, f"a reason is required for {status} (20.8, 20.11)", field="reason")
    if status == "relies_on_prior" and not relies_on:
        raise DmctInputError(
            record.id, "name the entry or report it relies on (20.41 (b)(ii))", field="relies_on"
        )
    if (
        status == "testing"
        and record.status == "scheduled"
        and record.planned_start
        and on < record.planned_start
    ):
        raise DmctInputError(
            record.id,
            f"testing cannot start on {on}, before the scheduled start {record.planned_start}",
            field="on",
        )
    return _move(
        record,
        status=status,
        status_reason=reason or None,
        relies_on=relies_on if status == "relies_on_prior" else record.relies_on,
        last_event=on,
    )


def pause(record: EntryRecord, *, reason: str, issue: str | None, on: date, today: date) -> EntryRecord:
    """20.21: "the DCC may pause (and recommence) the DMCT Process (including testing) for the impacted
    DMC(s)" while progressing a Testing Issue; the reason reaches the weekly report (16.1)."""
    if record.status != "testing":
        raise DmctInputError(
            record.id, f"only testing can be paused; the entry is {record.status}", field="status"
        )
    _check_date(record, on, today, "pause")
    return _move(
        record,
        status="paused",
        pauses=(*record.pauses, Pause(paused=on, reason=reason, issue=issue)),
        last_event=on,
    )


def resume(record: EntryRecord, *, reason: str, on: date, today: date) -> EntryRecord:
    """20.21: recommence the DMCT Process for the entry."""
    if record.status != "paused" or not record.pauses:
        raise DmctInputError(
            record.id, f"only a paused entry can be resumed; the entry is {record.status}", field="status"
        )
    _check_date(record, on, today, "resume")
    last = record.pauses[-1].model_copy(update={"resumed": on, "resume_reason": reason})
    return _move(record, status="testing", pauses=(*record.pauses[:-1], last), last_event=on)


def abandon(
    record: EntryRecord, *, reason: str, blocking_defect: bool, sos_agreed: bool, on: date, today: date
) -> EntryRecord:
    """20.33 (b): testing completed unsuccessfully because not all tests can be executed "having been
    through the processes outlined in Clauses 20.20 to 20.27", or MT under the MTAD cannot complete, or
    "a blocking defect has arisen and the Secretary of State agrees that testing should not continue"."""
    if record.status not in ("testing", "paused"):
        raise DmctInputError(
            record.id,
            f"only an entry in testing or paused can be abandoned; it is {record.status}",
            field="status",
        )
    if blocking_defect and not sos_agreed:
        raise DmctInputError(
            record.id,
            "a blocking defect stops testing only where the Secretary of State agrees (20.33 (b)): "
            "give --sos-agreed",
            field="sos_agreed",
        )
    _check_date(record, on, today, "abandonment")
    done = Abandonment(on=on, reason=reason, blocking_defect=blocking_defect, sos_agreed=sos_agreed)
    return _move(record, status="completed", abandoned=done, status_reason=reason, last_event=on)


def determine_mt(record: EntryRecord, *, completed: bool, on: date, today: date) -> EntryRecord:
    """20.32 (c) / 20.33 (a)(iv): the Panel's determination of the Migration Test Phase under the MTAD."""
    if not record.mt_under_mtad:
        raise DmctInputError(
            record.id, "migration is not tested under the MTAD for this entry (20.14)", field="mt_under_mtad"
        )
    _check_date(record, on, today, "determination")
    return _move(record, mt_determination=MtDetermination(on=on, completed=completed), last_event=on)


def record_mcr(record: EntryRecord, reference: str) -> EntryRecord:
    """20.34 (i) / 20.35 (i): the Migration Completion Report the statement refers to."""
    if not reference.strip():
        raise DmctInputError(record.id, "the reference is empty", field="migration_completion_report")
    return _move(record, migration_completion_report=reference.strip())


def overlay_plan(plan: Plan, records: Iterable[EntryRecord]) -> tuple[Plan, list[str]]:
    """The plan with what the DMCT Status List records for its entries: an abandonment (20.33 (b)) and
    the Panel's determination of the MTAD Migration Test Phase (20.32 (c), 20.33 (a)(iv)). A recorded
    fact wins over the plan file's; the notes say which entries changed."""
    by_id = {r.id: r for r in records}
    entries = []
    notes = []
    for entry in plan.entries:
        record = by_id.get(entry.id)
        if record is None:
            entries.append(entry)
            continue
        changes: dict[str, Any] = {}
        if record.abandoned is not None and not entry.abandoned:
            changes["abandoned"] = True
        if record.mt_under_mtad and not entry.mt_under_mtad:
            changes["mt_under_mtad"] = True
        if record.mt_determination is not None and entry.mt_phase_complete != record.mt_phase_complete:
            changes["mt_phase_complete"] = record.mt_phase_complete
        if changes:
            notes.append(f"{entry.id}: {', '.join(sorted(changes))} from the DMCT Status List (dmct entries)")
            entries.append(entry.model_copy(update=changes))
        else:
            entries.append(entry)
    return plan.model_copy(update={"entries": entries}), notes
