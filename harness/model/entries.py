"""A planned entry on the EPCL as the DMCT process tracks it: the DMCT Status List (20.8) and Schedule
(20.9) row, with its pauses (20.21), revised completion dates (20.22), abandonment (20.33 (b)), the
Panel's determination of the MTAD Migration Test Phase (20.32 (c)) and the Migration Completion Report
reference (20.34 (i)).

One pydantic model, :class:`EntryRecord`, is what the store keeps (as JSON) and what ``dmct entries
export --format json`` writes, so the Status List and Schedule can be published and read back without
the database. The transitions between statuses are rules: :mod:`harness.rules.process`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The DMCT Status List classifications (20.8: "The DCC shall change the classification of the status of
#: the DMC on the DMCT Status List as it progresses through the DMCT Process").
DmctStatus = Literal[
    "planned",  # on the Status List, not (yet) scheduled with confidence (20.9, 20.11)
    "scheduled",  # on the DMCT Schedule with planned dates and packs (20.9)
    "testing",  # testing under the DMCT Process (20.13 onwards)
    "paused",  # the DMCT Process paused for a Testing Issue (20.21)
    "completed",  # testing completed, successfully or not (20.32, 20.33)
    "excluded",  # excluded from the DMCT Process (20.5, 20.7, 20.25 (b), (c))
    "no_longer_undertaken",  # 20.25 (a) firmware upgrade needed; 20.19 no devices left
    "not_required",  # substantively equivalent to another entry or DMC (20.6 (d), 20.11)
    "relies_on_prior",  # relies on a prior final DMCT Testing Report or Completion Report (20.41 (b)(ii))
]
STATUSES: tuple[str, ...] = DmctStatus.__args__  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pause(_Strict):
    """One pause of the DMCT Process for the entry and its recommencement (20.21), with reasons."""

    paused: date
    reason: str = Field(min_length=1)
    issue: str | None = None  # the Testing Issue being progressed (20.20), if any
    resumed: date | None = None
    resume_reason: str | None = None


class RevisedCompletion(_Strict):
    """A revised completion date (20.22: "update the DMCT Schedule with the revised completion dates")."""

    on: date  # when the revision was made
    completion: date
    reason: str = Field(min_length=1)
    issue: str | None = None


class Abandonment(_Strict):
    """20.33 (b): not all tests can be executed after 20.20-20.27, MT under the MTAD cannot complete, or
    a blocking defect arose and the Secretary of State agrees that testing should not continue."""

    on: date
    reason: str = Field(min_length=1)
    blocking_defect: bool = False
    sos_agreed: bool = False


class MtDetermination(_Strict):
    """The Panel's determination of the Migration Test Phase under the MTAD (20.32 (c), 20.33 (a)(iv))."""

    on: date
    completed: bool


class SupplierReceipt(_Strict):
    """A Supplier Party the draft DMCT Testing Report was made available to (20.36), and whether it
    confirmed it will not refer the matter to the Secretary of State (20.39 (a))."""

    supplier: str = Field(min_length=1)
    received: date
    no_referral: date | None = None  # when it confirmed it will not refer


class Referral(_Strict):
    """A referral to the Secretary of State: by a Supplier Party within 10 Working Days (20.37), or by
    the DCC after a TAG disagreement (20.38 (d))."""

    by: str = Field(min_length=1)  # "dcc" or the Supplier Party's name
    on: date
    matter: str = Field(min_length=1)


class TagReview(_Strict):
    """The TAG's review of the draft (20.38): ``no_flip`` -- it agrees, or its disagreement would not
    change successful into unsuccessful (20.39 (b), (c)); ``continue_testing`` -- it would, and the DCC
    continues testing (20.38 (c)); ``referred`` -- it would, and the DCC referred it (20.38 (d))."""

    outcome: Literal["no_flip", "continue_testing", "referred"]
    on: date


class SosDetermination(_Strict):
    """20.40: (a) ``agrees`` with the DCC's treatment; (b) ``successful``; (c)(i) ``unsuccessful``;
    (c)(ii) ``further_tests``."""

    determination: Literal["agrees", "successful", "unsuccessful", "further_tests"]
    on: date


class DraftReport(_Strict):
    """A draft DMCT Testing Report the DCC issued for the entry (20.34 / 20.35) and what followed."""

    issued: date
    digest: str = Field(min_length=1)  # SHA-256 of the file issued
    status: Literal["successful", "unsuccessful"]  # the verdict it states
    receipts: tuple[SupplierReceipt, ...] = ()
    referrals: tuple[Referral, ...] = ()
    tag_review: TagReview | None = None
    sos: SosDetermination | None = None


class EntryRecord(_Strict):
    """One planned entry on the EPCL in the DMCT process (a row of the Status List and the Schedule)."""

    id: str = Field(min_length=1)
    dmc: str = Field(min_length=1)
    installation: Literal["dormant", "active", "mixed"]
    status: DmctStatus = "planned"
    status_reason: str | None = None
    #: 20.9 (a): planned start and completion dates of testing.
    planned_start: date | None = None
    planned_completion: date | None = None
    #: 20.9 (b): the packs planned (``dormant-mt``, ``srvt``, or a Non-Standard Test Pack's id) and the
    #: Capability Release they are for (20.15, 20.16).
    packs: tuple[str, ...] = ()
    capability_release: str | None = None
    #: 20.9 (c): why a DMCT Non-Standard Test Pack is proposed for the DMC (20.17).
    non_standard_rationale: str | None = None
    revised_completions: tuple[RevisedCompletion, ...] = ()
    pauses: tuple[Pause, ...] = ()
    mt_under_mtad: bool = False
    mt_determination: MtDetermination | None = None
    abandoned: Abandonment | None = None
    migration_completion_report: str | None = None
    #: 20.9, 20.41 (b)(ii): the entry (or report) whose testing this one relies on.
    relies_on: str | None = None
    #: Draft DMCT Testing Reports issued for the entry, oldest first (20.34-20.40).
    reports: tuple[DraftReport, ...] = ()
    #: The date of the latest recorded event: later events may not be dated before it.
    last_event: date | None = None

    @property
    def completion(self) -> date | None:
        """The completion date the Schedule shows now: the latest revision, else the planned one."""
        return (
            self.revised_completions[-1].completion if self.revised_completions else self.planned_completion
        )

    @property
    def mt_phase_complete(self) -> bool | None:
        return None if self.mt_determination is None else self.mt_determination.completed
