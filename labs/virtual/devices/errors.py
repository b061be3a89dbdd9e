"""Typed rejections a device model raises, so the protocol layer can map each to its own error answer.

A rejection is a *device* answer (the meter said no), never an infrastructure fault: the DLMS server
turns it into a Data-Access-Result / Action-Result, the service route into a DUIS response code. The
``code`` is a stable string so both mappings can be tables.
"""

from __future__ import annotations

import enum


class RejectCode(enum.StrEnum):
    """Why a device refused a command."""

    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    INVALID_ARGUMENT = "invalid_argument"
    INVALID_STATE = "invalid_state"
    NOT_SUPPORTED = "not_supported"
    UTRN_INVALID = "utrn_invalid"
    UTRN_NOT_AUTHENTIC = "utrn_not_authentic"
    UTRN_NOT_FOR_DEVICE = "utrn_not_for_device"
    UTRN_DUPLICATE = "utrn_duplicate"
    UTRN_EXCEEDS_MAX_CREDIT = "utrn_exceeds_max_credit"
    UTRN_EXCEEDS_MAX_BALANCE = "utrn_exceeds_max_balance"
    UTRN_LOCKED_OUT = "utrn_locked_out"
    FIRMWARE_VERIFICATION_FAILED = "firmware_verification_failed"
    CONTACTOR_FAULT = "contactor_fault"
    CLOCK_OUTSIDE_TOLERANCE = "clock_outside_tolerance"
    UNREACHABLE = "unreachable"
    WAN_UNAVAILABLE = "wan_unavailable"
    NOT_POWERED = "not_powered"


class DeviceCommandError(Exception):
    """A device model rejected a command; ``code`` says why, ``message`` is for humans."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


class UnknownDefectError(ValueError):
    """A defect name no model implements (or not one this role can have); lists the known ones."""

    def __init__(self, name: str, known: list[str], role: str | None = None) -> None:
        where = f" for role {role}" if role else ""
        super().__init__(f"unknown defect {name!r}{where}; known defects: {', '.join(sorted(known))}")
        self.name = name
        self.known = sorted(known)
        self.role = role
