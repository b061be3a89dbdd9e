"""Post-migration state oracle: what a migrated installation must still show (SMETS1 notes, "Migration":
Commissioning replaces keys and credentials so the old SMSO loses access — and nothing else).

* **Registers continue.** Import registers are cumulative: after migration each is at least what it was
  before, and it cannot have grown faster than the meter's rating allows over the device time between
  the two reads (a reset, a jump or a register running backwards all fall outside the window).
* **Supply is kept.** The consumer stays on supply: the contactor or valve is as it was before.
* **No alert storm.** Each credential update raises one 0x8F70 Update Security Credentials; a SMETS1
  commissioning replaces the credentials of three roles (the SMSO anchor, taken over by the S1SP; the
  supplier; the network operator), so a device sends at most one 0x8F70 per role and at most three.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

CREDENTIALS_UPDATED = "0x8F70"
#: Roles whose credentials a SMETS1 commissioning replaces (one 0x8F70 each).
COMMISSIONED_ROLES = ("smso", "supplier", "network_operator")
#: A domestic meter's rated maximum, in kW: ESME 100 A at 230 V +10 %; GSME a U6 diaphragm meter
#: (6 m³/h) at a calorific value of 42 MJ/m³ with the standard correction factor 1.02264.
RATED_KW = {
    "esme": Decimal("25.3"),
    "gsme": Decimal("6") * Decimal("42") / Decimal("3.6") * Decimal("1.02264"),
}
#: Register resolution on the optical port (Wh, read as kWh) and quantisation of the gas volume register.
READ_TOLERANCE_KWH = Decimal("0.02")


def register_window(role: str, before_kwh: Decimal, elapsed_s: float) -> tuple[Decimal, Decimal]:
    """Where the total import register of ``role`` must lie ``elapsed_s`` device seconds after it read
    ``before_kwh``: never lower, and no higher than the meter's rated power over that time."""
    if elapsed_s < 0:
        raise ValueError(f"elapsed device time {elapsed_s} s is negative")
    grown = RATED_KW[role] * Decimal(str(elapsed_s)) / Decimal(3600)
    return before_kwh - READ_TOLERANCE_KWH, before_kwh + grown + READ_TOLERANCE_KWH


def credential_alert_excess(alerts: Iterable[tuple[str, str | None]]) -> list[str]:
    """What is wrong with one device's ``(code, role)`` alerts around its commissioning: every role
    alerted more than once, and the count of 0x8F70 over :data:`COMMISSIONED_ROLES` (empty: fine)."""
    updates = [role for code, role in alerts if code.upper() == CREDENTIALS_UPDATED.upper()]
    problems = [
        f"0x8F70 for role {role!r} {n} times"
        for role, n in sorted(Counter(r for r in updates if r is not None).items())
        if n > 1
    ]
    if len(updates) > len(COMMISSIONED_ROLES):
        problems.append(f"{len(updates)} x 0x8F70, at most {len(COMMISSIONED_ROLES)} (one per role)")
    return problems
