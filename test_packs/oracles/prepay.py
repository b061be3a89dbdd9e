"""Prepayment oracle (SRV 1.5, 1.6, 2.1, 2.2, 2.3, 2.5; alert codes from GBCS).

Amounts in pence. What the requirement says a meter does with its payment settings:

* SRV 1.5 adds the (signed) adjustment to the meter balance;
* SRV 2.2 credits the UTRN's value less the payment-based debt recovered from it (the debt's rate is a
  *percentage* of each top-up), unless the value exceeds the maximum credit threshold (0x8F5B) or
  the balance would exceed the maximum meter balance (0x8F47) — then nothing is credited;
* at each device midnight in prepayment mode each time-based debt is recovered at its daily rate;
* emergency credit (SRV 2.5) adds the *configured* emergency credit limit to the combined credit;
* in prepayment mode combined credit at or below the low credit threshold raises 0x810D, at or below
  the emergency credit threshold (EC not active) 0x8119, at or below the disablement threshold 0x8F0F
  and the supply is disabled; in credit mode the supply is never disabled for credit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

LOW_CREDIT = 0x810D
EC_AVAILABLE = 0x8119
EC_ACTIVATED = 0x81AB
CREDIT_BELOW_DISABLEMENT = 0x8F0F
UTRN_EXCEEDS_MAX_CREDIT = 0x8F5B
CREDIT_EXCEEDS_MAX_BALANCE = 0x8F47
UTRN_NOT_FOR_DEVICE = 0x8F64
UTRN_MANUAL_ENTRY_SUSPENDED = 0x81C4


def D(value: float | int | str | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class TopUp:
    """What SRV 2.2 must do: credit ``credited`` and recover ``recovered`` of the payment debt, or be
    refused with ``refusal`` (an alert code; nothing credited)."""

    credited: Decimal
    recovered: Decimal
    refusal: int | None = None


def top_up(
    value: int | Decimal,
    *,
    balance: Decimal,
    payment_debt: Decimal = Decimal(0),
    payment_debt_rate_pct: Decimal = Decimal(0),
    max_credit: Decimal,
    max_balance: Decimal,
) -> TopUp:
    amount = D(value)
    if amount > max_credit:
        return TopUp(Decimal(0), Decimal(0), UTRN_EXCEEDS_MAX_CREDIT)
    if balance + amount > max_balance:
        return TopUp(Decimal(0), Decimal(0), CREDIT_EXCEEDS_MAX_BALANCE)
    recovered = min(payment_debt, amount * payment_debt_rate_pct / 100)
    return TopUp(amount - recovered, recovered)


def midnight_recovery(prepayment: bool, time_debts: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Pence the time-based debts ``(amount, rate per day)`` take at one device midnight."""
    if not prepayment:
        return Decimal(0)
    return sum((min(D(a), D(r)) for a, r in time_debts), Decimal(0))


def emergency_credit_remaining(balance: Decimal, limit: Decimal) -> Decimal:
    """Emergency credit left right after activation: the configured limit, less any negative balance."""
    return max(Decimal(0), min(limit, balance + limit))


def credit_alerts(combined: Decimal, *, low: Decimal, ec_threshold: Decimal, disablement: Decimal,
                  ec_active: bool) -> set[int]:  # fmt: skip
    """Alerts combined credit at this level must have raised in prepayment mode (falling from above
    every threshold)."""
    out = set()
    if combined <= low:
        out.add(LOW_CREDIT)
    if not ec_active and combined <= ec_threshold:
        out.add(EC_AVAILABLE)
    if combined <= disablement:
        out.add(CREDIT_BELOW_DISABLEMENT)
    return out


def supply_disabled_for_credit(prepayment: bool, combined: Decimal, disablement: Decimal) -> bool:
    return prepayment and combined <= disablement
