"""Behaviour model of a simulated SMETS1 electricity meter (ESME).

Keeps the defect names of the project's first ESME model (``tou_rate_misapplied``,
``wrong_firmware_reported``, ``register_runs_backwards``) and its IEC 62056-21 readout data sets, plus
everything :class:`~.meter.Meter` models. ESME-only parts:

* active power from the load a lab instrument applies (``apply_load``); the meter measures it only
  while mains power is on and the contactor is closed (supply enabled);
* mains power (the rig's relay): losing it raises 0x8F57, getting it back 0x8F35, or 0x8F36 after an
  outage of 3 minutes or more;
* load limiting (SRV 6.4.1): power above the threshold for the whole period raises 0x8F01 and disables
  then arms supply (0x8F33); with a restoration period it re-enables by itself (0x8F34);
* supply tamper state (SRV 6.25): when "locked", a tamper disables supply (0x81BE).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from . import alerts as A
from .base import CommandResult
from .errors import DeviceCommandError, RejectCode
from .meter import METER_DEFECTS, Meter, SupplyState
from .prepay import PaymentMode

ESME_DEFECTS = METER_DEFECTS | {
    "drops_supply_restored_alert",
    "load_limit_ignored",
    "configuration_misreported",
    "supply_commands_accept_retired_keys",
    # issue 14 (catalogue.yaml names the requirement each breaks)
    "payment_mode_lost_on_power_cycle",
    "supply_state_lost_on_power_cycle",
    "supply_interrupted_alert_missing",
    "long_outage_threshold_in_seconds",
    "enable_ignores_credit",
    "load_limit_period_in_minutes",
    "load_limit_at_threshold_triggers",
    "load_limit_counter_not_incremented",
    "load_limit_restoration_ignored",
    "tamper_lock_ignored",
    # issue 14, item 2 (found by the SRVT's varied inputs)
    "load_limit_threshold_whole_kw",
    "load_limit_threshold_16bit",
}
#: Seeded defect ``load_limit_threshold_16bit``: the largest threshold an unsigned 16-bit count of W holds.
THRESHOLD_16BIT_W = 65535.0
#: Commands the seeded defect ``supply_commands_accept_retired_keys`` lets a retired key sign.
SUPPLY_COMMANDS = frozenset({"enable_supply", "disable_supply", "arm_supply"})
LONG_OUTAGE = timedelta(minutes=3)
Variant = Literal["single_element", "polyphase", "twin_element"]


@dataclass(frozen=True)
class LoadLimit:
    """SRV 6.4.1 load limiting general settings."""

    threshold_w: float
    period_s: float
    restoration_s: float | None = None

    def validate(self) -> None:
        if (
            self.threshold_w <= 0
            or self.period_s <= 0
            or (self.restoration_s is not None and self.restoration_s <= 0)
        ):
            raise DeviceCommandError(
                RejectCode.INVALID_ARGUMENT, "load limit threshold and periods must be > 0"
            )


class Esme(Meter):
    role = "esme"
    KNOWN_DEFECTS: ClassVar[frozenset[str]] = ESME_DEFECTS

    def __init__(
        self,
        *,
        load_w: float = 0.0,
        manufacturer_flag: str = "DMC",
        variant: Variant = "single_element",
        load_limit: LoadLimit | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.load_w = load_w
        self.manufacturer_flag = manufacturer_flag
        self.variant = variant
        self.load_limit = load_limit
        self.load_limit_counter = 0
        self.supply_tamper_state: Literal["unchanged", "locked"] = "unchanged"
        self._outage_start: datetime | None = None
        self._over_since: datetime | None = None
        self._ll_armed_at: datetime | None = None

    # -- instruments ------------------------------------------------------------------------------------
    def apply_load(self, watts: float) -> None:
        """The lab's load source sets the demand behind the meter."""
        if watts < 0:
            raise ValueError("load must be >= 0 W")
        self.advance()
        self.load_w = watts
        self._check_load_limit(self._processed)

    def measured_power(self) -> float:
        """Active import power in W (SRV 4.16): 0 unless powered and supply enabled."""
        self.advance()
        return self._power_w()

    def _power_w(self) -> float:
        return self.load_w if self.powered and self.supply is SupplyState.ENABLED else 0.0

    def _energy_kw(self) -> float:
        return self._power_w() / 1000.0

    # -- mains power ---------------------------------------------------------------------------------
    def power_off(self) -> None:
        self.advance()
        if self.powered:
            self.powered = False
            self._outage_start = self._processed
            self._over_since = None
            if not self.has_defect("supply_interrupted_alert_missing"):
                self.alerter.raise_alert(A.SUPPLY_INTERRUPTED)

    def power_on(self) -> None:
        self.advance()
        if self.powered:
            return
        self.powered = True
        outage = self._processed - (self._outage_start or self._processed)
        self._outage_start = None
        if self.has_defect("payment_mode_lost_on_power_cycle"):
            self.account.mode = PaymentMode.CREDIT
        if self.has_defect("supply_state_lost_on_power_cycle") and self.supply is SupplyState.DISABLED:
            self.supply = SupplyState.ENABLED
        seconds = self.has_defect("long_outage_threshold_in_seconds")
        long = timedelta(seconds=LONG_OUTAGE.total_seconds() / 60) if seconds else LONG_OUTAGE
        if not self.has_defect("drops_supply_restored_alert"):
            code = A.SUPPLY_RESTORED_LONG if outage >= long else A.SUPPLY_RESTORED
            self.alerter.raise_alert(code, {"outage_s": round(outage.total_seconds(), 3)})
        self._check_load_limit(self._processed)

    # -- load limiting ---------------------------------------------------------------------------------
    def set_load_limit(self, limit: LoadLimit | None, *, at: datetime | None = None) -> CommandResult:
        """SRV 6.4.1 (future-datable); ``None`` switches load limiting off."""
        self._begin()
        if not self.behaviour.load_limiting:
            raise DeviceCommandError(RejectCode.NOT_SUPPORTED, "this firmware has no load limiting")
        if limit is not None:
            limit.validate()
            if self.has_defect("load_limit_threshold_16bit"):
                limit = replace(limit, threshold_w=min(limit.threshold_w, THRESHOLD_16BIT_W))

        def run() -> None:
            self.load_limit = limit
            self._over_since = None
            self._check_load_limit(self._processed)

        return self._maybe_future("set_load_limit", at, run)

    def reset_load_limit_counter(self) -> None:
        """SRV 6.4.2."""
        self._begin()
        self.load_limit_counter = 0

    # -- configuration reads -------------------------------------------------------------------------
    def voltage_config(self) -> dict[str, object]:
        """SRV 6.2.1: the meter variant and its nominal voltage (also on the optical port, 1.0.0.6.0)."""
        self._begin()
        return {"variant": self.variant, "nominal_voltage_v": self.behaviour.nominal_voltage_v}

    def randomisation_config(self) -> dict[str, object]:
        """SRV 6.2.2: the randomised offset limit (seconds; also on the optical port)."""
        self._begin()
        return {"randomised_offset_limit_s": self.behaviour.randomised_offset_limit_s}

    def _reference_marks(self, now: datetime) -> list[datetime]:
        marks = super()._reference_marks(now)
        if self.load_limit is not None:
            if self._over_since is not None:
                marks.append(self._over_since + timedelta(seconds=self._ll_period_s()))
            if self._ll_armed_at is not None and self.load_limit.restoration_s is not None:
                marks.append(self._ll_armed_at + timedelta(seconds=self.load_limit.restoration_s))
        return [m for m in marks if m > now]

    def _fire(self, now: datetime, dnow: datetime) -> None:
        super()._fire(now, dnow)
        self._check_load_limit(now)

    def _ll_period_s(self) -> float:
        assert self.load_limit is not None
        minutes = self.has_defect("load_limit_period_in_minutes")
        return self.load_limit.period_s * (60.0 if minutes else 1.0)

    def _above_limit(self, threshold_w: float) -> bool:
        if self.has_defect("load_limit_threshold_whole_kw"):
            threshold_w = float(int(threshold_w // 1000) * 1000)
        if self.has_defect("load_limit_at_threshold_triggers"):
            return self._power_w() >= threshold_w
        return self._power_w() > threshold_w

    def _check_load_limit(self, now: datetime) -> None:
        limit = self.load_limit
        if self._ll_armed_at is not None and self.supply is not SupplyState.ARMED:
            self._ll_armed_at = None
        if limit is None or self.has_defect("load_limit_ignored"):
            self._over_since = None
            return
        if self._above_limit(limit.threshold_w):
            if self._over_since is None:
                self._over_since = now
            if now - self._over_since >= timedelta(seconds=self._ll_period_s()):
                self._over_since = None
                if not self.has_defect("load_limit_counter_not_incremented"):
                    self.load_limit_counter += 1
                self.alerter.raise_alert(A.LOAD_LIMIT_THRESHOLD_EXCEEDED, {"power_w": self._power_w()})
                self.supply = SupplyState.ARMED
                self._ll_armed_at = now
                self.alerter.raise_alert(A.SUPPLY_ARMED_LOAD_LIMIT)
        else:
            self._over_since = None
        if (
            self._ll_armed_at is not None
            and limit.restoration_s is not None
            and now - self._ll_armed_at >= timedelta(seconds=limit.restoration_s)
            and not self.has_defect("load_limit_restoration_ignored")
        ):
            self._ll_armed_at = None
            self.supply = SupplyState.ENABLED
            self.alerter.raise_alert(A.SUPPLY_ENABLED_AFTER_LOAD_LIMIT)
            self._check_load_limit(now)

    # -- supply (ESME can enable remotely) ---------------------------------------------------------------
    def enable_supply(self) -> None:
        """SRV 7.1: refused in prepayment without credit."""
        self._begin()
        if not self.account.credit_ok and not self.has_defect("enable_ignores_credit"):
            raise DeviceCommandError(RejectCode.INVALID_STATE, "not enough credit to enable supply")
        self._set_supply(SupplyState.ENABLED, A.SUPPLY_CONNECT_FAILURE)
        self._disabled_for_credit = False
        self._check_load_limit(self._processed)

    def press_button(self) -> None:
        super().press_button()
        self._check_load_limit(self._processed)

    def accepts_retired_key(self, command: str | None) -> bool:
        """The supply-control handler checks the signature but not whether its key was retired (seeded
        defect ``supply_commands_accept_retired_keys``; the generic check, e.g. migration's, is sound)."""
        return super().accepts_retired_key(command) or (
            command in SUPPLY_COMMANDS and self.has_defect("supply_commands_accept_retired_keys")
        )

    def set_supply_tamper_state(self, state: Literal["unchanged", "locked"]) -> None:
        """SRV 6.25."""
        self._begin()
        self.supply_tamper_state = state

    def _after_tamper(self) -> None:
        if self.has_defect("tamper_lock_ignored"):
            return
        if self.supply_tamper_state == "locked" and self.supply is not SupplyState.DISABLED:
            self.supply = SupplyState.DISABLED
            self.alerter.raise_alert(A.SUPPLY_DISABLED_LOCKED_TAMPER)

    # -- optical port ----------------------------------------------------------------------------------
    def readout(self) -> list[tuple[str, str, str | None]]:
        """Data sets ``(address, value, unit)`` for an IEC 62056-21 readout (as the foundation's)."""
        regs = self.registers()
        out: list[tuple[str, str, str | None]] = [
            ("C.1.0", self.serial, None),
            ("0.2.0", self.firmware_version, None),
            ("1.8.0", f"{regs.total_kwh:010.3f}", "kWh"),
        ]
        out += [(f"1.8.{i + 1}", f"{kwh:010.3f}", "kWh") for i, kwh in enumerate(regs.tou_kwh)]
        return out
