"""Payment side of a meter: payment mode, meter balance, emergency credit, debts and UTRN top-ups.

Amounts are pence (floats, so consumption can be charged continuously). The model:

* *combined credit* = balance + emergency credit limit while emergency credit (EC) is active; the
  balance may go negative down to ``-ec_limit`` while EC is active, and EC ends once a top-up brings
  the balance back to zero or above (EC used is repaid implicitly).
* In prepayment mode, crossing a threshold downwards raises its alert once (re-armed when credit rises
  above it again): low credit 0x810D; EC available 0x8119 (balance below the EC threshold, EC not
  active); at the disablement threshold 0x81AA if EC was active, then 0x8F0F, and the owner disables
  supply. Credit mode never disables for credit.
* Debts: two time-based debts recovered at a daily rate (at device midnight) and one payment-based debt
  recovered as a percentage of each top-up; each raises its "Debt Collection Completed" alert at zero.
* Top-up: UTRN checked by :mod:`.utrn`, then replay, then credit limits; five consecutive rejections
  suspend manual entry for an hour (0x81C4, then 0x81C5 for attempts while suspended).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NoReturn

from . import alerts as A
from .alerts import Alerter
from .errors import DeviceCommandError, RejectCode
from .utrn import DEFAULT_SECRET, Utrn, UtrnProblem, check_utrn, parse_utrn

DebtName = Literal["time_debt_1", "time_debt_2", "payment_debt"]


class PaymentMode(enum.StrEnum):
    CREDIT = "credit"
    PREPAYMENT = "prepayment"


@dataclass(frozen=True)
class PrepayConfig:
    """SRV 2.1 prepayment configuration (pence)."""

    low_credit_threshold: float = 200.0
    emergency_credit_limit: float = 500.0
    emergency_credit_threshold: float = 100.0
    disablement_threshold: float = 0.0
    max_credit: float = 10_000.0
    max_balance: float = 50_000.0
    utrn_lockout_attempts: int = 5
    utrn_lockout_s: float = 3600.0

    def validate(self) -> None:
        if min(self.low_credit_threshold, self.emergency_credit_limit, self.emergency_credit_threshold) < 0:
            raise DeviceCommandError(RejectCode.INVALID_ARGUMENT, "thresholds must not be negative")
        if self.max_credit <= 0 or self.max_balance <= 0 or self.utrn_lockout_attempts < 1:
            raise DeviceCommandError(RejectCode.INVALID_ARGUMENT, "limits must be positive")


@dataclass
class Debt:
    amount: float = 0.0
    rate: float = 0.0  # pence/day for time debts, percent of each top-up for the payment debt


@dataclass(frozen=True)
class TopUpResult:
    utrn: str
    amount: float
    debt_recovered: float
    balance: float


@dataclass(frozen=True)
class PrepayValues:
    """What SRV 4.3 / 4.18 read back."""

    mode: PaymentMode
    balance: float
    emergency_credit_active: bool
    emergency_credit_available: bool
    emergency_credit_remaining: float
    combined_credit: float
    debts: dict[str, tuple[float, float]]


_COMPLETED = {
    "time_debt_1": A.DEBT_COMPLETED_TIME_1,
    "time_debt_2": A.DEBT_COMPLETED_TIME_2,
    "payment_debt": A.DEBT_COMPLETED_PAYMENT,
}
_UTRN_ALERT = {
    UtrnProblem.FORMAT: (A.UTRN_NOT_AUTHENTIC, RejectCode.UTRN_INVALID),
    UtrnProblem.NOT_AUTHENTIC: (A.UTRN_NOT_AUTHENTIC, RejectCode.UTRN_NOT_AUTHENTIC),
    UtrnProblem.NOT_FOR_DEVICE: (A.UTRN_NOT_FOR_DEVICE, RejectCode.UTRN_NOT_FOR_DEVICE),
}


class PaymentAccount:
    """Balance, EC, debts and the UTRN ledger of one meter."""

    UTRN_MEMORY = 100  # accepted UTRNs remembered for replay rejection

    def __init__(
        self,
        device_id: str,
        alerter: Alerter,
        now: Callable[[], datetime],
        has_defect: Callable[[str], bool],
        *,
        mode: PaymentMode = PaymentMode.CREDIT,
        balance: float = 0.0,
        config: PrepayConfig | None = None,
        utrn_secret: str = DEFAULT_SECRET,
    ) -> None:
        self.device_id = device_id
        self.mode = mode
        self.balance = balance
        self.config = config or PrepayConfig()
        self.ec_active = False
        self.debts: dict[str, Debt] = {name: Debt() for name in _COMPLETED}
        self.utrn_secret = utrn_secret
        self._alerter = alerter
        self._now = now
        self._has_defect = has_defect
        self._accepted: deque[str] = deque(maxlen=self.UTRN_MEMORY)
        self._failures = 0
        self._suspended_until: datetime | None = None
        self._low_alerted = False
        self._ec_alerted = False
        self._exhausted = False

    # -- reading ---------------------------------------------------------------------------------------
    @property
    def prepayment(self) -> bool:
        return self.mode is PaymentMode.PREPAYMENT

    @property
    def ec_limit(self) -> float:
        """The emergency credit limit the meter grants (seeded defect: the factory one)."""
        if self._has_defect("emergency_credit_limit_not_used"):
            return PrepayConfig().emergency_credit_limit
        return self.config.emergency_credit_limit

    @property
    def low_credit_threshold(self) -> float:
        """The low credit threshold the meter alerts at (seeded defect: the factory one)."""
        if self._has_defect("low_credit_threshold_not_used"):
            return PrepayConfig().low_credit_threshold
        return self.config.low_credit_threshold

    @property
    def combined_credit(self) -> float:
        return self.balance + (self.ec_limit if self.ec_active else 0.0)

    @property
    def ec_available(self) -> bool:
        return (
            self.prepayment and not self.ec_active and self.balance <= self.config.emergency_credit_threshold
        )

    @property
    def credit_ok(self) -> bool:
        """Whether supply may be on as far as credit is concerned."""
        return not self.prepayment or self.combined_credit > self.config.disablement_threshold

    def values(self) -> PrepayValues:
        remaining = 0.0
        if self.ec_active:
            remaining = min(self.ec_limit, self.combined_credit)
        return PrepayValues(
            self.mode,
            self.balance,
            self.ec_active,
            self.ec_available,
            max(0.0, remaining),
            self.combined_credit,
            {name: (d.amount, d.rate) for name, d in self.debts.items()},
        )

    def headroom(self) -> float | None:
        """Pence of charges until the next threshold crossing (for the owner's time stepping)."""
        cfg, combined = self.config, self.combined_credit
        if not self.prepayment:
            if self._has_defect("credit_mode_disables_supply") and not self._exhausted:
                return max(0.0, combined - cfg.disablement_threshold) or None
            return None
        out = []
        if not self._low_alerted and combined > self.low_credit_threshold:
            out.append(combined - self.low_credit_threshold)
        if not self.ec_active and not self._ec_alerted and self.balance > cfg.emergency_credit_threshold:
            out.append(self.balance - cfg.emergency_credit_threshold)
        if not self._exhausted and combined > cfg.disablement_threshold:
            out.append(combined - cfg.disablement_threshold)
        return min(out) if out else None

    # -- charging --------------------------------------------------------------------------------------
    def charge(self, pence: float) -> None:
        self.balance -= pence

    def check_thresholds(self) -> bool:
        """Raise threshold alerts for crossings; True when supply must now be disabled for credit."""
        cfg, combined = self.config, self.combined_credit
        if not self.prepayment:
            if self._has_defect("credit_mode_disables_supply") and combined <= cfg.disablement_threshold:
                if not self._exhausted:
                    self._exhausted = True
                    return True
            elif combined > cfg.disablement_threshold:
                self._exhausted = False
            return False
        if combined <= self.low_credit_threshold:
            if not self._low_alerted:
                self._low_alerted = True
                if not self._has_defect("drops_low_credit_alert"):
                    self._alerter.raise_alert(A.LOW_CREDIT, {"combined_credit": round(combined, 2)})
        else:
            self._low_alerted = False
        if not self.ec_active and self.balance <= cfg.emergency_credit_threshold:
            if not self._ec_alerted:
                self._ec_alerted = True
                if not self._has_defect("ec_available_alert_missing"):
                    self._alerter.raise_alert(A.EMERGENCY_CREDIT_AVAILABLE)
        elif self.balance > cfg.emergency_credit_threshold:
            self._ec_alerted = False
        if combined <= cfg.disablement_threshold:
            if not self._exhausted:
                self._exhausted = True
                if self.ec_active:
                    self._alerter.raise_alert(A.EMERGENCY_CREDIT_EXHAUSTED)
                self._alerter.raise_alert(A.CREDIT_BELOW_DISABLEMENT, {"combined_credit": round(combined, 2)})
                return True
        else:
            self._exhausted = False
        return False

    def daily(self) -> None:
        """Midnight: recover time-based debts (prepayment only)."""
        if not self.prepayment:
            return
        for name in ("time_debt_1", "time_debt_2"):
            debt = self.debts[name]
            rate = debt.rate * (2 if self._has_defect("time_debt_rate_doubled") else 1)
            take = min(debt.amount, rate)
            if take > 0:
                debt.amount -= take
                self.balance -= take
                if debt.amount <= 1e-9:
                    debt.amount = 0.0
                    self._alerter.raise_alert(_COMPLETED[name])

    # -- commands ---------------------------------------------------------------------------------------
    def activate_emergency_credit(self) -> None:
        if not self.ec_available:
            raise DeviceCommandError(RejectCode.INVALID_STATE, "emergency credit is not available")
        self.ec_active = True
        wrong = self._has_defect("ec_activated_alert_code_wrong")
        self._alerter.raise_alert(A.EMERGENCY_CREDIT_AVAILABLE if wrong else A.EMERGENCY_CREDIT_ACTIVATED)

    def set_debt(self, name: DebtName, amount: float, rate: float) -> None:
        if amount < 0 or rate < 0 or (name == "payment_debt" and rate > 100):
            raise DeviceCommandError(RejectCode.INVALID_ARGUMENT, f"bad {name}: amount {amount}, rate {rate}")
        if self._has_defect("debt_amount_update_ignored"):
            amount = self.debts[name].amount
        self.debts[name] = Debt(amount, rate)

    def top_up(self, utrn: str, *, local: bool) -> TopUpResult:
        now = self._now()
        if self._suspended_until is not None and now < self._suspended_until:
            self._alerter.raise_alert(A.UTRN_LOCKED_OUT)
            raise DeviceCommandError(
                RejectCode.UTRN_LOCKED_OUT, f"UTRN entry suspended until {self._suspended_until}"
            )
        checked = check_utrn(utrn, self.device_id, self.utrn_secret)
        if checked is UtrnProblem.NOT_FOR_DEVICE and self._has_defect("utrn_for_other_device_accepted"):
            checked = _parse_any_device(utrn, self.utrn_secret)
        if self._has_defect("rejects_valid_utrn") and not isinstance(checked, UtrnProblem):
            checked = UtrnProblem.NOT_AUTHENTIC
        if isinstance(checked, UtrnProblem):
            code, reason = _UTRN_ALERT[checked]
            self._reject(code, reason, f"UTRN rejected: {checked.value}")
        if utrn in self._accepted and not self._has_defect("accepts_duplicate_utrn"):
            self._reject(A.UTRN_DUPLICATE, RejectCode.UTRN_DUPLICATE, "UTRN already used")
        amount = float(checked.amount_pence)
        if self._has_defect("top_up_truncated_to_pounds"):
            amount = float(int(amount // 100) * 100)
        over_max = amount > self.config.max_credit or (
            amount == self.config.max_credit and self._has_defect("max_credit_refuses_equal")
        )
        if over_max and not self._has_defect("max_credit_check_skipped"):
            self._reject(
                A.UTRN_EXCEEDS_MAX_CREDIT, RejectCode.UTRN_EXCEEDS_MAX_CREDIT, f"{amount} > max credit"
            )
        over = self.balance + amount > self.config.max_balance
        if over and not self._has_defect("max_balance_check_skipped"):
            self._reject(
                A.CREDIT_EXCEEDS_MAX_BALANCE, RejectCode.UTRN_EXCEEDS_MAX_BALANCE, "would exceed max balance"
            )
        self._failures = 0
        self._accepted.append(utrn)
        debt = self.debts["payment_debt"]
        share = debt.rate if self._has_defect("payment_debt_rate_as_fraction") else debt.rate / 100.0
        recovered = min(debt.amount, amount * share)
        if recovered > 0:
            debt.amount -= recovered
            if debt.amount <= 1e-9:
                debt.amount = 0.0
                self._alerter.raise_alert(A.DEBT_COMPLETED_PAYMENT)
        self.balance += amount - recovered
        if self._has_defect("loses_debt_on_top_up"):
            for d in self.debts.values():
                d.amount = 0.0
        if self.ec_active and self.balance >= 0:
            self.ec_active = False
        if local:
            self._alerter.raise_alert(A.CREDIT_ADDED_LOCALLY, {"amount": amount})
        return TopUpResult(utrn, amount, recovered, self.balance)

    def _reject(self, alert: int, code: RejectCode, message: str) -> NoReturn:
        self._alerter.raise_alert(alert)
        self._failures += 1
        lockout = not self._has_defect("utrn_lockout_never_engages")
        if lockout and self._failures >= self.config.utrn_lockout_attempts:
            self._failures = 0
            self._suspended_until = self._now() + timedelta(seconds=self.config.utrn_lockout_s)
            self._alerter.raise_alert(A.UTRN_MANUAL_ENTRY_SUSPENDED)
        raise DeviceCommandError(code, message)


def _parse_any_device(utrn: str, secret: str) -> Utrn | UtrnProblem:
    """Seeded defect ``utrn_for_other_device_accepted``: the check a meter makes when it forgets the
    device tag — authentic for *some* device of the UTRN's tag is enough. Without the other device's id
    the authenticator cannot be recomputed, so such a meter trusts the format alone."""
    fields = parse_utrn(utrn)
    return UtrnProblem.FORMAT if fields is None else fields
