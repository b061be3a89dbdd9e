"""COSEM service results: the Data-Access-Result and Action-Result codes, and the typed errors that carry
them.

A device simulator raises :class:`CosemError` subclasses (``raise ReadWriteDenied("supply is armed")``)
and the DLMS server puts the code on the wire, so a simulator never has to know about APDU encoding.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class DataAccessResult(enum.IntEnum):
    """Data-Access-Result (IEC 62056-5-3), returned by GET and SET."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(enum.IntEnum):
    """Action-Result (IEC 62056-5-3); the codes shared with Data-Access-Result have the same numbers."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class CosemError(Exception):
    """A COSEM service failed; ``code`` is the Data-Access-Result (GET/SET) or Action-Result (ACTION).

    Subclasses fix the code so simulators can ``raise ReadWriteDenied("supply is armed")`` without
    caring which service is running; the codes used here are identical in both enumerations.
    """

    code: ClassVar[int] = DataAccessResult.OTHER_REASON

    def __init__(self, message: str = "", *, code: int | None = None) -> None:
        super().__init__(message or type(self).__name__)
        if code is not None:
            self.code = code  # type: ignore[misc]  # per-instance override of the class default


class HardwareFault(CosemError):
    code = DataAccessResult.HARDWARE_FAULT


class TemporaryFailure(CosemError):
    code = DataAccessResult.TEMPORARY_FAILURE


class ReadWriteDenied(CosemError):
    code = DataAccessResult.READ_WRITE_DENIED


class ObjectUndefined(CosemError):
    code = DataAccessResult.OBJECT_UNDEFINED


class ObjectClassInconsistent(CosemError):
    code = DataAccessResult.OBJECT_CLASS_INCONSISTENT


class ObjectUnavailable(CosemError):
    code = DataAccessResult.OBJECT_UNAVAILABLE


class TypeUnmatched(CosemError):
    code = DataAccessResult.TYPE_UNMATCHED


class ScopeOfAccessViolated(CosemError):
    code = DataAccessResult.SCOPE_OF_ACCESS_VIOLATED


class OtherReason(CosemError):
    code = DataAccessResult.OTHER_REASON
