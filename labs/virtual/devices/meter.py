"""What ESME and GSME share: registers, tariff, payment, supply state, billing and daily logs, HAN
publishing, tamper. Energy is always accounted in kWh here; the GSME adds volume on top.

Supply state machine (GBCS terms; the GSME's valve uses the same states)::

    ENABLED --disable (7.2) / credit exhausted / load limit / tamper lock--> DISABLED
    DISABLED --arm (7.3) / top-up or EC restoring credit--> ARMED        (0x8F32, 0x8168 for EC)
    ARMED --customer button (credit ok)--> ENABLED
    DISABLED|ARMED --enable (7.1, ESME only, credit ok)--> ENABLED

A jammed contactor/valve (fault injection) makes changes fail with 0x81BD / 0x81C0.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, Literal

from . import alerts as A
from .alerts import TAMPER_CODES, Detail
from .base import COMMON_DEFECTS, CommandResult, Device
from .errors import DeviceCommandError, RejectCode
from .prepay import DebtName, PaymentAccount, PaymentMode, PrepayConfig, PrepayValues, TopUpResult
from .tariff import MAX_BLOCKS, BillingCalendar, Period, Tariff, next_billing_occurrence

#: Defects ESME and GSME both implement.
METER_DEFECTS = COMMON_DEFECTS | {
    "tou_rate_misapplied",
    "tou_rate_5_misapplied",
    "register_runs_backwards",
    "loses_debt_on_top_up",
    "rejects_valid_utrn",
    "accepts_duplicate_utrn",
    "drops_low_credit_alert",
    "supply_state_unchanged_by_disable",
    "arm_enables_immediately",
    "daily_log_missing_day",
    "billing_snapshot_missed",
    "identity_misreported",
    "display_message_dropped",
    # issue 14 (catalogue.yaml names the requirement each breaks)
    "standing_charge_not_taken",
    "price_update_not_charged",
    "tou_switch_one_hour_late",
    "last_tou_rate_wraps_to_first",
    "block_price_one_block_late",
    "tariff_update_resets_registers",
    "registers_reset_by_commissioning",
    "supply_disabled_by_commissioning",
    "tariff_change_not_snapshotted",
    "negative_balance_adjustment_added",
    "top_up_truncated_to_pounds",
    "max_credit_check_skipped",
    "max_balance_check_skipped",
    "utrn_lockout_never_engages",
    "utrn_for_other_device_accepted",
    "low_credit_threshold_not_used",
    "emergency_credit_limit_not_used",
    "ec_available_alert_missing",
    "ec_activated_alert_code_wrong",
    "credit_mode_disables_supply",
    "prepayment_never_disables_supply",
    "time_debt_rate_doubled",
    "payment_debt_rate_as_fraction",
    "debt_amount_update_ignored",
    "arm_alert_missing",
    "clock_sync_ignores_tolerance",
    "clock_sync_half_applied",
    "clock_adjusted_alert_missing",
    "daily_read_at_one_am",
    "alert_disable_ignored",
    "mpxn_leading_zeros_dropped",
    # issue 14, item 2 (found by the SRVT's varied inputs and field bounds)
    "tou_price_clamped_16bit",
    "standing_charge_whole_pence",
    "max_credit_refuses_equal",
    "supplier_name_truncated",
    "alert_config_ignores_high_codes",
}
#: Seeded defect ``tou_price_clamped_16bit``: the largest price a signed 16-bit count of tenths of a
#: penny holds (the DUIS electricity price field carries ten times as much at PriceScale -2).
CLAMPED_PRICE = 3276.7
#: Seeded defect ``supplier_name_truncated``: characters of the supplier name the meter keeps.
SUPPLIER_NAME_KEPT = 12
#: Seeded defect ``tou_switch_one_hour_late`` / ``daily_read_at_one_am``: a local-time offset applied twice.
ONE_HOUR = timedelta(hours=1)


class SupplyState(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    ARMED = "armed"


@dataclass(frozen=True)
class RegisterReading:
    """Import registers as the device reports them (SRV 4.1.1 / 4.1.2)."""

    total_kwh: float
    tou_kwh: tuple[float, ...]
    block_kwh: tuple[float, ...]


@dataclass(frozen=True)
class DailyRead:
    """One midnight snapshot of the daily read log (SRV 4.6.1)."""

    at: datetime
    total_kwh: float
    tou_kwh: tuple[float, ...]
    balance: float
    extra: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BillingRecord:
    """One billing data log entry (SRV 4.4.2/4.4.3), taken on the billing calendar or a mode change."""

    at: datetime
    trigger: Literal["calendar", "payment_mode", "tariff"]
    total_kwh: float
    tou_kwh: tuple[float, ...]
    block_kwh: tuple[float, ...]
    balance: float


@dataclass(frozen=True)
class HanUpdate:
    """What a meter sends to joined HAN displays (PPMID/IHD) through the CH."""

    source: str
    kind: Literal["balance", "message", "reading"]
    payload: Mapping[str, Detail]
    at: datetime


class Meter(Device):
    """Common ESME/GSME behaviour; subclasses provide the consumption rate (``_energy_kw``)."""

    KNOWN_DEFECTS: ClassVar[frozenset[str]] = METER_DEFECTS
    DAILY_LOG_CAPACITY = 731
    BILLING_LOG_CAPACITY = 12

    def __init__(
        self,
        *,
        serial: str,
        tariff: Tariff | None = None,
        initial_kwh: list[float] | None = None,
        payment_mode: PaymentMode = PaymentMode.CREDIT,
        balance: float = 0.0,
        prepay_config: PrepayConfig | None = None,
        utrn_secret: str | None = None,
        billing_calendar: BillingCalendar | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.serial = serial
        self.tariff = tariff or self._factory_tariff(self.behaviour.default_tou_rates)
        self.tariff.validate(self.max_tou_rates)
        initial = list(initial_kwh or [])
        self.tou_kwh: list[float] = initial + [0.0] * max(0, self.tariff.rates - len(initial))
        self.block_kwh: list[float] = [0.0] * MAX_BLOCKS
        self._block_counter = 0.0
        extra: dict[str, Any] = {} if utrn_secret is None else {"utrn_secret": utrn_secret}
        self.account = PaymentAccount(
            self.device_id,
            self.alerter,
            self._device_now,
            self.has_defect,
            mode=payment_mode,
            balance=balance,
            config=prepay_config,
            **extra,
        )
        self._supply = SupplyState.ENABLED
        self.contactor_jammed = False
        self._disabled_for_credit = False
        self.billing_calendar = billing_calendar
        self.daily_log: deque[DailyRead] = deque(maxlen=self.DAILY_LOG_CAPACITY)
        self.billing_log: deque[BillingRecord] = deque(maxlen=self.BILLING_LOG_CAPACITY)
        self.han_sinks: list[Callable[[HanUpdate], None]] = []
        self.supplier_name = ""
        self.mpxn = ""
        self.last_message: str | None = None
        self._charged_prices: tuple[float, ...] | None = None  # defect price_update_not_charged
        self._midnights = 0
        self._billings = 0
        self._calendar_billings = 0
        self._next_midnight = self._midnight_after(self.devclock.now())
        self._next_billing = billing_calendar.next_after(self.devclock.now()) if billing_calendar else None
        if self.account.check_thresholds():
            self._disable_for_credit()

    @property
    def max_tou_rates(self) -> int:
        return self.behaviour.max_tou_rates

    @property
    def supply(self) -> SupplyState:
        """Current supply state (no time stepping; use :meth:`supply_state` to read as SRV 7.4)."""
        return self._supply

    @supply.setter
    def supply(self, new: SupplyState) -> None:
        old, self._supply = self._supply, new
        if old is not new:
            self._supply_moved(old, new)

    def _supply_moved(self, old: SupplyState, new: SupplyState) -> None:
        """Subclass hook: the contactor/valve moved (the GSME pays for it in battery)."""

    def _anchor_replaced(self) -> None:
        # Seeded defects only: a firmware that re-initialises the metrology or the contactor/valve when
        # the SMSO changes. A sound meter keeps its registers and supply state across migration.
        if self.has_defect("registers_reset_by_commissioning"):
            self.tou_kwh = [0.0] * len(self.tou_kwh)
        if self.has_defect("supply_disabled_by_commissioning"):
            self.supply = SupplyState.DISABLED

    # -- subclass hooks --------------------------------------------------------------------------------
    def _energy_kw(self) -> float:
        """Energy flowing now, in kW (0 when supply is off)."""
        raise NotImplementedError

    def _on_consumed(self, kwh: float, seconds: float) -> None:
        """Called for each segment's energy (the GSME adds volume)."""

    @staticmethod
    def _factory_tariff(rates: int) -> Tariff:
        """The tariff the meter holds until SRV 1.1.1 sets one: ``rates`` equal slots over the day."""
        return Tariff.uniform(rates)

    def _daily_extra(self) -> dict[str, float]:
        return {}

    # -- time stepping -----------------------------------------------------------------------------------
    @staticmethod
    def _midnight_after(dnow: datetime) -> datetime:
        return datetime.combine(dnow.date() + timedelta(days=1), time(0), dnow.tzinfo)

    def _device_marks(self, dnow: datetime) -> list[datetime]:
        marks = [*super()._device_marks(dnow), self.tariff.next_switch_after(dnow), self._daily_due()]
        if self.has_defect("tou_switch_one_hour_late"):
            marks.append(self.tariff.next_switch_after(dnow - ONE_HOUR) + ONE_HOUR)
        if self._next_billing is not None:
            marks.append(self._next_billing)
        return marks

    def _step_limit(self, start: datetime) -> datetime | None:
        kw = self._energy_kw()
        if kw <= 0:
            return None
        candidates: list[float] = []
        rate = self._rate_at(self.devclock.device_at(start))
        price = self._price(rate)
        headroom = self.account.headroom()
        if headroom is not None and price > 0:
            candidates.append(headroom / (kw * price / 3600.0))
        for threshold in self.tariff.block_thresholds:
            if threshold > self._block_counter:
                candidates.append((threshold - self._block_counter) / kw * 3600.0)
                break
        if not candidates:
            return None
        return start + timedelta(microseconds=math.ceil(min(candidates) * 1e6))

    def _rate_at(self, dnow: datetime) -> int:
        """The TOU rate the meter applies at device time ``dnow`` (seeded defects included)."""
        if self.has_defect("tou_switch_one_hour_late"):
            dnow -= ONE_HOUR
        return self._effective_rate(self.tariff.rate_at(dnow))

    def _price(self, rate: int) -> float:
        """Pence per kWh the meter charges now for ``rate`` (seeded defects included)."""
        if self.tariff.has_blocks:
            index = self.tariff.block_index(self._block_counter)
            if self.has_defect("block_price_one_block_late"):
                index = max(0, index - 1)
            return self.tariff.block_prices[index]
        prices = self._charged_prices or self.tariff.prices
        return prices[rate - 1] if rate <= len(prices) else self.tariff.prices[rate - 1]

    def _daily_due(self) -> datetime:
        """When the next daily read is taken (device time): midnight, unless a seeded defect."""
        return self._next_midnight + (ONE_HOUR if self.has_defect("daily_read_at_one_am") else timedelta(0))

    def _effective_rate(self, rate: int) -> int:
        if rate == 5 and self.has_defect("tou_rate_5_misapplied"):
            return 4
        return rate

    def _consume(self, start: datetime, end: datetime, dstart: datetime) -> None:
        kw = self._energy_kw()
        if kw <= 0:
            return
        seconds = (end - start).total_seconds()
        kwh = kw * seconds / 3600.0
        rate = self._rate_at(dstart)
        price = self._price(rate)
        register = rate - 1
        if self.has_defect("last_tou_rate_wraps_to_first") and rate == self.tariff.rates > 1:
            register = 0
        self.tou_kwh[register] += kwh
        if self.tariff.has_blocks:
            self.block_kwh[self.tariff.block_index(self._block_counter)] += kwh
            self._block_counter += kwh
        self.account.charge(kwh * price)
        self._on_consumed(kwh, seconds)

    def _fire(self, now: datetime, dnow: datetime) -> None:
        while self._daily_due() <= dnow:
            self._midnight(self._daily_due())
            self._next_midnight += timedelta(days=1)
        while self._next_billing is not None and self._next_billing <= dnow:
            self._billing_snapshot(self._next_billing, "calendar")
            assert self.billing_calendar is not None
            self._next_billing = self.billing_calendar.next_after(self._next_billing)
        super()._fire(now, dnow)
        self._check_credit()

    def _clock_stepped(self) -> None:
        dnow = self._device_now()
        self._next_midnight = self._midnight_after(dnow)
        if self.billing_calendar is not None:
            self._next_billing = self.billing_calendar.next_after(dnow)

    def record_history(self, days: int) -> None:
        """The daily reads of the ``days`` device midnights before now, as a meter that has been in
        service holds them (a dormant meter reaches migration with months of them), so a daily read log
        or profile read right after the lab starts is not empty whatever the time of day. Totals run
        back from today's registers at today's rate of consumption (TOU registers in proportion);
        the seeded defect ``daily_log_missing_day`` drops the same midnights as it does live ones."""
        if days <= 0:
            return
        if days > self.DAILY_LOG_CAPACITY:
            raise ValueError(f"at most {self.DAILY_LOG_CAPACITY} days of history")
        today = self._midnight_after(self._device_now()) - timedelta(days=1)
        total, per_day = self.total_kwh(), self._energy_kw() * 24.0
        for back in range(days - 1, -1, -1):  # oldest first, like live midnights
            then = max(0.0, total - back * per_day)
            share = then / total if total > 0 else 0.0
            self._midnights += 1
            if self.has_defect("daily_log_missing_day") and self._midnights % 2 == 1:
                continue
            extra = {k: v * share for k, v in self._daily_extra().items()}
            tou = tuple(v * share for v in self.tou_kwh)
            self.daily_log.append(
                DailyRead(today - timedelta(days=back), then, tou, self.account.balance, extra)
            )

    def _midnight(self, at: datetime) -> None:
        self._midnights += 1
        # The defect drops the 1st, 3rd, ... midnight: any log that should hold a read shows it.
        if not (self.has_defect("daily_log_missing_day") and self._midnights % 2 == 1):
            self.daily_log.append(
                DailyRead(
                    at, self.total_kwh(), tuple(self.tou_kwh), self.account.balance, self._daily_extra()
                )
            )
        if not self.has_defect("standing_charge_not_taken"):
            self.account.charge(self.tariff.standing_charge)
        self.account.daily()
        self._publish("balance", {"balance": round(self.account.balance, 2)}, at)

    def _billing_snapshot(self, at: datetime, trigger: Literal["calendar", "payment_mode", "tariff"]) -> None:
        self._billings += 1
        if trigger == "calendar":
            self._calendar_billings += 1
            # The defect drops the 1st, 3rd, ... calendar snapshot: the first one is always missing.
            if self.has_defect("billing_snapshot_missed") and self._calendar_billings % 2 == 1:
                return
        self.billing_log.append(
            BillingRecord(
                at,
                trigger,
                self.total_kwh(),
                tuple(self.tou_kwh),
                tuple(self.block_kwh),
                self.account.balance,
            )
        )
        if trigger == "calendar":
            self.block_kwh = [0.0] * MAX_BLOCKS
            self._block_counter = 0.0
        self.alerter.raise_alert(A.BILLING_DATA_LOG_UPDATED, {"trigger": trigger})

    def _check_credit(self) -> None:
        if self.account.check_thresholds() and not self.has_defect("prepayment_never_disables_supply"):
            self._disable_for_credit()

    def _disable_for_credit(self) -> None:
        if self.supply is not SupplyState.DISABLED:
            self.supply = SupplyState.DISABLED
            self._disabled_for_credit = True

    def _credit_restored(self, code: int = A.SUPPLY_ARMED) -> None:
        """After a top-up or EC: a supply disabled for credit becomes armed (customer then presses)."""
        if self._disabled_for_credit and self.account.credit_ok:
            self._disabled_for_credit = False
            self.supply = SupplyState.ARMED
            self.alerter.raise_alert(code)

    def _publish(
        self, kind: Literal["balance", "message", "reading"], payload: Mapping[str, Detail], at: datetime
    ) -> None:
        update = HanUpdate(self.device_id, kind, dict(payload), at)
        for sink in list(self.han_sinks):
            sink(update)

    # -- reads --------------------------------------------------------------------------------------------
    def total_kwh(self) -> float:
        return sum(self.tou_kwh)

    def registers(self) -> RegisterReading:
        """SRV 4.1.1/4.1.2 as the device reports them (reporting defects applied)."""
        self.advance()
        tou = list(self.tou_kwh)
        total = sum(tou)
        if self.has_defect("tou_rate_misapplied") and len(tou) >= 4:
            tou[2] = tou[3]
        if self.has_defect("register_runs_backwards"):
            total = max(0.0, 1_000_000.0 - total)
        return RegisterReading(total, tuple(tou), tuple(self.block_kwh))

    def prepay_values(self) -> PrepayValues:
        """SRV 4.3 / 4.18."""
        self.advance()
        return self.account.values()

    def daily_reads(self) -> list[DailyRead]:
        """SRV 4.6.1."""
        self.advance()
        return list(self.daily_log)

    def billing_records(self) -> list[BillingRecord]:
        """SRV 4.4.x."""
        self.advance()
        return list(self.billing_log)

    def read_tariff(self) -> Tariff:
        """SRV 4.11.1."""
        self.advance()
        return self.tariff

    def read_prepay_config(self) -> PrepayConfig:
        """SRV 4.13."""
        self.advance()
        return self.account.config

    def supply_state(self) -> SupplyState:
        """SRV 7.4."""
        self.advance()
        return self.supply

    @property
    def payment_mode(self) -> PaymentMode:
        return self.account.mode

    # -- tariff and payment commands ----------------------------------------------------------------------
    def _as_held(self, tariff: Tariff) -> Tariff:
        """The tariff as the meter's registers hold it (the seeded defects that lose part of it)."""
        if self.has_defect("tou_price_clamped_16bit"):
            tariff = replace(tariff, prices=tuple(min(p, CLAMPED_PRICE) for p in tariff.prices))
        if self.has_defect("standing_charge_whole_pence"):
            tariff = replace(tariff, standing_charge=float(int(tariff.standing_charge)))
        return tariff

    def update_tariff(self, tariff: Tariff, *, at: datetime | None = None) -> CommandResult:
        """SRV 1.1.1 (future-datable). Validated on receipt; registers grow to the new rate count."""
        self._begin()
        tariff.validate(self.max_tou_rates)
        tariff = self._as_held(tariff)

        def run() -> None:
            self.tariff = tariff
            self._charged_prices = None
            if self.has_defect("tariff_update_resets_registers"):
                self.tou_kwh = [0.0] * len(self.tou_kwh)
            self.tou_kwh += [0.0] * max(0, tariff.rates - len(self.tou_kwh))
            if not self.has_defect("tariff_change_not_snapshotted"):
                self._billing_snapshot(self._device_now(), "tariff")

        return self._maybe_future("update_tariff", at, run)

    def update_prices(
        self,
        prices: tuple[float, ...],
        *,
        standing_charge: float | None = None,
        block_prices: tuple[float, ...] | None = None,
        at: datetime | None = None,
    ) -> CommandResult:
        """SRV 1.2.1 (future-datable): prices only, switch times unchanged."""
        self._begin()
        new = replace(
            self.tariff,
            prices=prices,
            standing_charge=self.tariff.standing_charge if standing_charge is None else standing_charge,
            block_prices=self.tariff.block_prices if block_prices is None else block_prices,
        )
        new.validate(self.max_tou_rates)
        new = self._as_held(new)

        def run() -> None:
            if self.has_defect("price_update_not_charged") and self._charged_prices is None:
                self._charged_prices = self.tariff.prices
            self.tariff = replace(
                self.tariff,
                prices=new.prices,
                standing_charge=new.standing_charge,
                block_prices=new.block_prices,
            )

        return self._maybe_future("update_prices", at, run)

    def set_payment_mode(self, mode: PaymentMode, *, at: datetime | None = None) -> CommandResult:
        """SRV 1.6 (future-datable); a mode change takes a billing snapshot."""

        def run() -> None:
            if mode is not self.account.mode:
                self.account.mode = mode
                self.account.ec_active = False
                self._billing_snapshot(self._device_now(), "payment_mode")
                self._check_credit()

        return self._maybe_future("set_payment_mode", at, run)

    def update_prepay_config(self, config: PrepayConfig, *, at: datetime | None = None) -> CommandResult:
        """SRV 2.1 (future-datable)."""
        self._begin()
        config.validate()

        def run() -> None:
            self.account.config = config
            self._check_credit()

        return self._maybe_future("update_prepay_config", at, run)

    def adjust_balance(self, delta: float) -> float:
        """SRV 1.5: add (or with a negative delta remove) credit; returns the new balance."""
        self._begin()
        if self.has_defect("negative_balance_adjustment_added"):
            delta = abs(delta)
        self.account.balance += delta
        self._check_credit()
        self._credit_restored()
        return self.account.balance

    def set_debt(self, name: DebtName, amount: float, rate: float) -> None:
        """SRV 2.3: set a debt and its recovery rate (pence/day, or percent of each top-up)."""
        self._begin()
        self.account.set_debt(name, amount, rate)

    def top_up(self, utrn: str, *, local: bool = False) -> TopUpResult:
        """SRV 2.2 (``local=False``) or a UTRN typed on the meter/PPMID (``local=True``)."""
        now = self._begin()
        result = self.account.top_up(utrn, local=local)
        self._check_credit()
        self._credit_restored()
        self._publish("balance", {"balance": round(self.account.balance, 2)}, now)
        return result

    def activate_emergency_credit(self) -> None:
        """SRV 2.5 or the customer's button: only when EC is available."""
        now = self._begin()
        self.account.activate_emergency_credit()
        self._check_credit()
        self._credit_restored(A.SUPPLY_ARMED_EMERGENCY_CREDIT)
        self._publish("balance", {"balance": round(self.account.balance, 2), "emergency_credit": True}, now)

    def set_billing_calendar(self, calendar: BillingCalendar) -> None:
        """SRV 6.8."""
        self._hold_calendar(calendar, self._begin())

    def set_billing_time(self, at: time, period: Period, day: int | None = None) -> BillingCalendar:
        """SRV 6.8 to an electricity meter: a billing time and periodicity (DUIS
        ``ElectricityBillingCalendar``), no start date; the first snapshot is the next occurrence by the
        meter's own clock when the command arrives."""
        now = self._begin()
        calendar = BillingCalendar(next_billing_occurrence(now, at, period, day), period)
        self._hold_calendar(calendar, now)
        return calendar

    def _hold_calendar(self, calendar: BillingCalendar, now: datetime) -> None:
        self.billing_calendar = calendar
        self._next_billing = calendar.next_after(now)

    # -- supply ---------------------------------------------------------------------------------------
    def _set_supply(self, new: SupplyState, failure_alert: int) -> None:
        if self.contactor_jammed:
            self.alerter.raise_alert(failure_alert)
            raise DeviceCommandError(RejectCode.CONTACTOR_FAULT, "the load switch did not move")
        self.supply = new

    def disable_supply(self) -> None:
        """SRV 7.2."""
        self._begin()
        if self.has_defect("supply_state_unchanged_by_disable"):
            return
        self._set_supply(SupplyState.DISABLED, A.SUPPLY_DISCONNECT_FAILURE)
        self._disabled_for_credit = False

    def arm_supply(self) -> None:
        """SRV 7.3: from disabled; the customer's button then enables."""
        self._begin()
        if self.supply is SupplyState.ENABLED:
            raise DeviceCommandError(RejectCode.INVALID_STATE, "supply is enabled; nothing to arm")
        if self.has_defect("arm_enables_immediately"):
            self._set_supply(SupplyState.ENABLED, A.SUPPLY_CONNECT_FAILURE)
        else:
            self.supply = SupplyState.ARMED
        self._disabled_for_credit = False
        if not self.has_defect("arm_alert_missing"):
            self.alerter.raise_alert(A.SUPPLY_ARMED)

    def press_button(self) -> None:
        """The customer's button on the meter: armed → enabled when credit allows."""
        self._begin()
        if self.supply is not SupplyState.ARMED:
            raise DeviceCommandError(RejectCode.INVALID_STATE, f"supply is {self.supply.value}, not armed")
        if not self.account.credit_ok:
            raise DeviceCommandError(RejectCode.INVALID_STATE, "not enough credit to enable supply")
        self._set_supply(SupplyState.ENABLED, A.SUPPLY_CONNECT_FAILURE)

    def jam_contactor(self, jammed: bool = True) -> None:
        """Fault injection: the load switch / valve stops moving."""
        self.advance()
        self.contactor_jammed = jammed

    # -- customer display, identity, tamper ----------------------------------------------------------------
    def display_message(self, text: str) -> None:
        """SRV 3.1: the message goes to the meter display and every joined PPMID/IHD."""
        now = self._begin()
        if self.has_defect("display_message_dropped"):
            return
        self.last_message = text
        self._publish("message", {"text": text}, now)

    def update_supplier_name(self, name: str) -> None:
        """SRV 3.4."""
        self._begin()
        self.supplier_name = name[:SUPPLIER_NAME_KEPT] if self.has_defect("supplier_name_truncated") else name

    def set_mpxn(self, mpxn: str) -> None:
        """SRV 6.20.1."""
        self._begin()
        if self.has_defect("mpxn_leading_zeros_dropped") and mpxn.isdigit():
            mpxn = str(int(mpxn))
        self.mpxn = mpxn

    def tamper(self, kind: str = "tamper_detect") -> None:
        """Fault injection: a physical tamper of ``kind`` (see :data:`alerts.TAMPER_CODES`)."""
        self.advance()
        if kind not in TAMPER_CODES:
            raise ValueError(f"unknown tamper kind {kind!r}; known: {', '.join(TAMPER_CODES)}")
        self.alerter.raise_alert(TAMPER_CODES[kind])
        self._after_tamper()

    def _after_tamper(self) -> None:
        """Subclass hook (the ESME's supply tamper state)."""
