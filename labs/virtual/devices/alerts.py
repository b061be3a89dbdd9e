"""GBCS alert codes the device models raise, the alert record, and the per-device alert/log writer.

Names are copied verbatim from the GBCS alert-code table (``gbcs-alert-codes.csv`` in the project's
shared reference), because packs compare them with what the S1SP forwards; the table lives here as data
so the lab needs nothing outside the project at run time. Each code also says which device log records
it: security-relevant events (tamper, authentication, credentials, firmware, UTRN fraud) go to the
security log, everything else to the event log, as GBCS splits them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

LogName = Literal["event", "security"]
Detail = str | int | float | bool | None

# -- codes (names as in the GBCS table) --------------------------------------------------------------
LOW_CREDIT = 0x810D
CREDIT_ADDED_LOCALLY = 0x810E
EMERGENCY_CREDIT_AVAILABLE = 0x8119
IMMEDIATE_ACTIONED = 0x8154
SUPPLY_ARMED_EMERGENCY_CREDIT = 0x8168
IMMEDIATE_NOT_ACTIONED = 0x8155
DEBT_COMPLETED_TIME_1 = 0x81A7
DEBT_COMPLETED_TIME_2 = 0x81A8
DEBT_COMPLETED_PAYMENT = 0x81A9
EMERGENCY_CREDIT_EXHAUSTED = 0x81AA
EMERGENCY_CREDIT_ACTIVATED = 0x81AB
SUPPLY_CONNECT_FAILURE = 0x81BD
SUPPLY_DISABLED_LOCKED_TAMPER = 0x81BE
SUPPLY_DISCONNECT_FAILURE = 0x81C0
UTRN_MANUAL_ENTRY_SUSPENDED = 0x81C4
UTRN_LOCKED_OUT = 0x81C5
CLOCK_NOT_ADJUSTED_OUTSIDE_TOLERANCE = 0x81C6
LOAD_LIMIT_THRESHOLD_EXCEEDED = 0x8F01
BILLING_DATA_LOG_UPDATED = 0x8F0A
CREDIT_BELOW_DISABLEMENT = 0x8F0F
CH_DEVICE_LOG_CHANGED = 0x8F12
FIRMWARE_VERIFICATION_FAILED = 0x8F1C
GSME_POWER_SUPPLY_LOSS = 0x8F1D
LOW_BATTERY = 0x8F1F
SUPPLY_ARMED = 0x8F32
SUPPLY_ARMED_LOAD_LIMIT = 0x8F33
SUPPLY_ENABLED_AFTER_LOAD_LIMIT = 0x8F34
SUPPLY_RESTORED = 0x8F35
SUPPLY_RESTORED_LONG = 0x8F36
TRUSTED_SOURCE_AUTH_FAILURE = 0x8F3D
TAMPER_DETECT = 0x8F3F
FIRMWARE_CHANGED = 0x8F43
CLOCK_ADJUSTED = 0x8145
CREDIT_EXCEEDS_MAX_BALANCE = 0x8F47
JOIN_FAILED = 0x8F48
JOIN_SUCCEEDED = 0x8F49
UNJOIN_FAILED = 0x8F4A
UNJOIN_SUCCEEDED = 0x8F4B
UTRN_DUPLICATE = 0x8F51
EVENT_LOG_CLEARED = 0x8F52
SUPPLY_INTERRUPTED = 0x8F57
UTRN_EXCEEDS_MAX_CREDIT = 0x8F5B
UTRN_NOT_AUTHENTIC = 0x8F63
UTRN_NOT_FOR_DEVICE = 0x8F64
FUTURE_DATED_ACTIONED = 0x8F66
FUTURE_DATED_NOT_ACTIONED = 0x8F67
CREDENTIALS_UPDATED = 0x8F70
FIRMWARE_VERIFICATION_SUCCEEDED = 0x8F72
TAMPER_BATTERY_COVER = 0x8F73
TAMPER_METER_COVER = 0x8F74
TAMPER_MAGNETIC = 0x8F75
TAMPER_TERMINAL_COVER = 0x8F76
TAMPER_SECOND_TERMINAL_COVER = 0x8F77
TAMPER_OTHER = 0x8F78


@dataclass(frozen=True)
class AlertInfo:
    name: str
    log: LogName


_E: LogName = "event"
_S: LogName = "security"

#: Every code a model may raise: exact GBCS name and the log that records it.
ALERTS: Mapping[int, AlertInfo] = {
    LOW_CREDIT: AlertInfo("Combined Credit Below Low Credit Threshold (prepayment mode)", _E),
    CREDIT_ADDED_LOCALLY: AlertInfo("Credit Added Locally", _E),
    EMERGENCY_CREDIT_AVAILABLE: AlertInfo("Emergency Credit Has Become Available (prepayment mode)", _E),
    IMMEDIATE_ACTIONED: AlertInfo("Immediate HAN Interface Command Received and Successfully Actioned", _E),
    IMMEDIATE_NOT_ACTIONED: AlertInfo(
        "Immediate HAN Interface Command Received but not Successfully Actioned", _E
    ),
    SUPPLY_ARMED_EMERGENCY_CREDIT: AlertInfo(
        "Supply Disabled then Armed - Activate Emergency Credit triggered", _E
    ),
    DEBT_COMPLETED_TIME_1: AlertInfo("Debt Collection Completed - Time Debt 1", _E),
    DEBT_COMPLETED_TIME_2: AlertInfo("Debt Collection Completed - Time Debt 2", _E),
    DEBT_COMPLETED_PAYMENT: AlertInfo("Debt Collection Completed - Payment Debt", _E),
    EMERGENCY_CREDIT_EXHAUSTED: AlertInfo("Emergency Credit Exhausted", _E),
    EMERGENCY_CREDIT_ACTIVATED: AlertInfo("Emergency Credit Activated", _E),
    SUPPLY_CONNECT_FAILURE: AlertInfo("Supply Connect Failure (Valve or Load Switch)", _E),
    SUPPLY_DISABLED_LOCKED_TAMPER: AlertInfo("Supply Disabled Then Locked - Supply Tamper State Cause", _S),
    SUPPLY_DISCONNECT_FAILURE: AlertInfo("Supply Disconnect Failure (Valve or Load Switch)", _E),
    UTRN_MANUAL_ENTRY_SUSPENDED: AlertInfo("UTRN Manual Entry Suspended", _S),
    UTRN_LOCKED_OUT: AlertInfo("UTRN rejected as locked out", _S),
    CLOCK_NOT_ADJUSTED_OUTSIDE_TOLERANCE: AlertInfo("Clock not adjusted (outside tolerance)", _E),
    LOAD_LIMIT_THRESHOLD_EXCEEDED: AlertInfo("Active Power Import above Load Limit Threshold", _E),
    BILLING_DATA_LOG_UPDATED: AlertInfo("Billing Data Log Updated", _E),
    CREDIT_BELOW_DISABLEMENT: AlertInfo("Credit Below Disablement Threshold (prepayment mode)", _E),
    CH_DEVICE_LOG_CHANGED: AlertInfo("CHF Device Log Changed", _S),
    FIRMWARE_VERIFICATION_FAILED: AlertInfo("Firmware Verification Failed", _S),
    GSME_POWER_SUPPLY_LOSS: AlertInfo("GSME Power Supply Loss", _E),
    LOW_BATTERY: AlertInfo("Low Battery Capacity", _E),
    SUPPLY_ARMED: AlertInfo("Supply Armed", _E),
    SUPPLY_ARMED_LOAD_LIMIT: AlertInfo("Supply Disabled then Armed - Load Limit triggered", _E),
    SUPPLY_ENABLED_AFTER_LOAD_LIMIT: AlertInfo(
        "Supply Enabled after Load Limit Restoration Period (Load Limit triggered)", _E
    ),
    SUPPLY_RESTORED: AlertInfo("Supply Outage Restored", _E),
    SUPPLY_RESTORED_LONG: AlertInfo("Supply Outage Restored - Outage >= 3 minutes", _E),
    TRUSTED_SOURCE_AUTH_FAILURE: AlertInfo("Trusted Source Authentication Failure", _S),
    TAMPER_DETECT: AlertInfo("Unauthorised Physical Access - Tamper Detect", _S),
    FIRMWARE_CHANGED: AlertInfo("Change in the executing Firmware version", _S),
    CLOCK_ADJUSTED: AlertInfo("Clock adjusted (within tolerance)", _E),
    CREDIT_EXCEEDS_MAX_BALANCE: AlertInfo(
        "Credit would cause Meter Balance to exceed Maximum Meter Balance Threshold", _E
    ),
    JOIN_FAILED: AlertInfo("Device joining failed", _E),
    JOIN_SUCCEEDED: AlertInfo("Device joining succeeded", _E),
    UNJOIN_FAILED: AlertInfo("Device Unjoining failed", _E),
    UNJOIN_SUCCEEDED: AlertInfo("Device Unjoining succeeded", _E),
    UTRN_DUPLICATE: AlertInfo("Duplicate UTRN entered", _S),
    EVENT_LOG_CLEARED: AlertInfo("Event Log Cleared", _S),
    SUPPLY_INTERRUPTED: AlertInfo("Supply interrupted", _E),
    UTRN_EXCEEDS_MAX_CREDIT: AlertInfo("UTRN exceeds Maximum Credit Threshold", _S),
    UTRN_NOT_AUTHENTIC: AlertInfo("UTRN not Authentic", _S),
    UTRN_NOT_FOR_DEVICE: AlertInfo("UTRN not for this Device", _S),
    FUTURE_DATED_ACTIONED: AlertInfo("Future-date HAN Interface Command Successfully Actioned", _E),
    FUTURE_DATED_NOT_ACTIONED: AlertInfo("Future-date HAN Interface Command not Successfully Actioned", _E),
    CREDENTIALS_UPDATED: AlertInfo("Update Security Credentials", _S),
    FIRMWARE_VERIFICATION_SUCCEEDED: AlertInfo("Firmware Verification Successful", _S),
    TAMPER_BATTERY_COVER: AlertInfo("Unauthorised Physical Access - Battery Cover Removed", _S),
    TAMPER_METER_COVER: AlertInfo("Unauthorised Physical Access - Meter Cover Removed", _S),
    TAMPER_MAGNETIC: AlertInfo("Unauthorised Physical Access - Strong Magnetic field", _S),
    TAMPER_TERMINAL_COVER: AlertInfo("Unauthorised Physical Access - Terminal Cover Removed", _S),
    TAMPER_SECOND_TERMINAL_COVER: AlertInfo(
        "Unauthorised Physical Access - Second Terminal Cover Removed", _S
    ),
    TAMPER_OTHER: AlertInfo("Unauthorised Physical Access - Other", _S),
}

#: Tamper kinds a lab can inject, and the alert each raises.
TAMPER_CODES: Mapping[str, int] = {
    "tamper_detect": TAMPER_DETECT,
    "battery_cover": TAMPER_BATTERY_COVER,
    "meter_cover": TAMPER_METER_COVER,
    "magnetic_field": TAMPER_MAGNETIC,
    "terminal_cover": TAMPER_TERMINAL_COVER,
    "second_terminal_cover": TAMPER_SECOND_TERMINAL_COVER,
    "other": TAMPER_OTHER,
}


@dataclass(frozen=True)
class Alert:
    """One alert as a device sends it. ``at`` is the device's own clock (``None`` only with a defect)."""

    code: int
    name: str
    at: datetime | None
    device: str
    details: Mapping[str, Detail] = field(default_factory=dict)

    @property
    def hex_code(self) -> str:
        return f"0x{self.code:04X}"


@dataclass(frozen=True)
class LogEntry:
    """One record of an event or security log."""

    at: datetime
    code: int
    name: str
    details: Mapping[str, Detail] = field(default_factory=dict)


class Alerter:
    """Writes events to the bounded event/security logs and sends alerts to the outbox.

    Every raised code is logged; it is also sent to the outbox unless alert behaviour configuration
    (SRV 6.22) switched that code off — a log entry without an alert is what such a meter really does.
    The outbox is a plain list the protocol layer / service route drains (``drain()``).
    """

    def __init__(
        self,
        device: str,
        now: Callable[[], datetime],
        *,
        event_capacity: int = 100,
        security_capacity: int = 100,
        timestamps: bool = True,
    ) -> None:
        self.device = device
        self._now = now
        self.event_log: deque[LogEntry] = deque(maxlen=event_capacity)
        self.security_log: deque[LogEntry] = deque(maxlen=security_capacity)
        self.outbox: list[Alert] = []
        self.suppressed: set[int] = set()
        self.timestamps = timestamps
        #: Seeded defect ``alert_disable_ignored``: codes switched off are still sent.
        self.send_suppressed = False
        #: Called after an alert reaches the outbox (the device's touch hook: someone must forward it).
        self.on_raise: Callable[[], None] | None = None

    def raise_alert(self, code: int, details: Mapping[str, Detail] | None = None) -> Alert:
        info = ALERTS[code]
        at = self._now()
        entry = LogEntry(at, code, info.name, dict(details or {}))
        (self.security_log if info.log == "security" else self.event_log).append(entry)
        alert = Alert(code, info.name, at if self.timestamps else None, self.device, dict(details or {}))
        if code not in self.suppressed or self.send_suppressed:
            self.outbox.append(alert)
            if self.on_raise is not None:
                self.on_raise()
        return alert

    def configure(self, code: int, *, send: bool) -> None:
        """SRV 6.22: whether ``code`` is sent as an alert (it is logged either way)."""
        if code not in ALERTS:
            raise KeyError(f"unknown alert code 0x{code:04X}")
        (self.suppressed.discard if send else self.suppressed.add)(code)

    def drain(self) -> list[Alert]:
        out, self.outbox = self.outbox, []
        return out

    def codes(self) -> list[int]:
        """Codes in the outbox, oldest first (for assertions)."""
        return [a.code for a in self.outbox]

    def clear_event_log(self) -> None:
        """SRV 3.3: the event log empties; the clearing itself is a security event."""
        self.event_log.clear()
        self.raise_alert(EVENT_LOG_CLEARED)
