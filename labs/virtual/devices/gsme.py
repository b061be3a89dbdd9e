"""Behaviour model of a simulated SMETS1 gas meter (GSME).

Everything :class:`~.meter.Meter` models, in gas terms: the valve is the supply state (no remote
enable — SRV 7.1 is electricity only; the customer opens an armed valve), volume in m³ converted to kWh
with the calorific value and volume correction factor (SRV 6.6), prepayment in kWh prices.

The GSME is battery powered and **sleeps**: on the HAN it is reachable only at its wake-ups, every
``wake_interval_s`` simulated seconds. Commands for it wait in :attr:`Gsme.pending` (held at the CH)
and are delivered at the next wake; each wake also tells the CH's listeners so they can refresh their
cache of the GSME's readings. Its optical port is always reachable (the model's methods work whenever
it has power). Wake-ups and valve movements drain the battery; below the low-battery level it raises
0x8F1F once; after its power was lost (battery removed or flat) it raises 0x8F1D when power returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from . import alerts as A
from .errors import DeviceCommandError, RejectCode
from .meter import METER_DEFECTS, Meter, SupplyState
from .tariff import Tariff

GSME_DEFECTS = METER_DEFECTS | {
    "gsme_never_wakes",
    "low_battery_alert_missing",
    # issue 14 (catalogue.yaml names the requirement each breaks)
    "gas_correction_factor_omitted",
    "gas_energy_in_megajoules",
    "gas_volume_register_stuck",
    "gsme_power_loss_alert_missing",
}
MJ_PER_KWH = 3.6
#: At most this many idle wakes go by before an event-driven lab looks at a GSME anyway, so a look
#: catches up a bounded number of wakes (about 0.1 ms each: a look stays well under the loop's 1 ms).
LAZY_WAKES = 4


@dataclass
class PendingCommand:
    """A command waiting at the CH for the GSME's next wake; filled in when delivered."""

    command: str
    action: Callable[[], object] = field(repr=False)
    queued_at: datetime
    delivered_at: datetime | None = None
    result: object = None
    error: DeviceCommandError | None = None

    @property
    def done(self) -> bool:
        return self.delivered_at is not None


@dataclass(frozen=True)
class GasConversion:
    """SRV 6.6: calorific value (MJ/m³) and volume correction factor."""

    calorific_value: float = 39.5
    conversion_factor: float = 1.02264

    def kwh_per_m3(self) -> float:
        return self.calorific_value * self.conversion_factor / MJ_PER_KWH


class Gsme(Meter):
    role = "gsme"
    KNOWN_DEFECTS: ClassVar[frozenset[str]] = GSME_DEFECTS

    def __init__(
        self,
        *,
        flow_m3h: float = 0.0,
        initial_m3: float = 0.0,
        conversion: GasConversion | None = None,
        wake_interval_s: float | None = None,
        awake_window_s: float | None = None,
        battery_pct: float = 100.0,
        low_battery_pct: float | None = None,
        wake_drain_pct: float = 0.002,
        valve_drain_pct: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        b = self.behaviour
        wake_interval_s = b.wake_interval_s if wake_interval_s is None else wake_interval_s
        awake_window_s = b.awake_window_s if awake_window_s is None else awake_window_s
        if wake_interval_s <= 0 or not 0 < awake_window_s < wake_interval_s:
            raise ValueError("need wake_interval_s > awake_window_s > 0")
        self.flow_m3h = flow_m3h
        self.volume_m3 = initial_m3
        self.conversion = conversion or GasConversion()
        self.wake_interval = timedelta(seconds=wake_interval_s)
        self.awake_window = timedelta(seconds=awake_window_s)
        self.battery_pct = battery_pct
        self.low_battery_pct = b.low_battery_pct if low_battery_pct is None else low_battery_pct
        self.wake_drain_pct = wake_drain_pct
        self.valve_drain_pct = valve_drain_pct
        self.pending: list[PendingCommand] = []
        self.wake_listeners: list[Callable[[Gsme, datetime], None]] = []
        #: For a wake listener whose effect is seen only by whoever next looks (through ``advance``),
        #: a test of whether anyone sees it as it happens (the CH: a display joined to it); listeners
        #: not named here are taken to be watched at every wake.
        self.wake_listener_watched: dict[Callable[[Gsme, datetime], None], Callable[[], bool]] = {}
        self.wakes = 0
        self.last_wake: datetime | None = None
        self._wake_anchor = self._processed
        self._low_battery_alerted = False
        self._power_lost = False

    @staticmethod
    def _factory_tariff(rates: int) -> Tariff:
        """A gas meter switches rate by day (DUIS's ``GasDayProfile`` holds one TOU rate): its factory
        tariff is a week of day rates, so the supplier can send it back over DUIS (SRV 1.1.1)."""
        return Tariff.by_day(rates)

    # -- instruments and reads --------------------------------------------------------------------------
    def apply_flow(self, m3_per_hour: float) -> None:
        """The lab's flow source sets the gas demand behind the meter."""
        if m3_per_hour < 0:
            raise ValueError("flow must be >= 0")
        self.advance()
        self.flow_m3h = m3_per_hour

    def measured_flow(self) -> float:
        """Gas flow in m³/h: 0 unless the valve is open and the meter has power."""
        self.advance()
        return self._flow()

    def _flow(self) -> float:
        return self.flow_m3h if self.powered and self.supply is SupplyState.ENABLED else 0.0

    def _energy_kw(self) -> float:
        return self._flow() * self._kwh_per_m3()

    def _kwh_per_m3(self) -> float:
        """The conversion the meter applies (seeded defects drop the correction factor or the / 3.6)."""
        c = self.conversion
        factor = 1.0 if self.has_defect("gas_correction_factor_omitted") else c.conversion_factor
        per = 1.0 if self.has_defect("gas_energy_in_megajoules") else MJ_PER_KWH
        return c.calorific_value * factor / per

    def _on_consumed(self, kwh: float, seconds: float) -> None:
        if not self.has_defect("gas_volume_register_stuck"):
            self.volume_m3 += self._flow() * seconds / 3600.0

    def _daily_extra(self) -> dict[str, float]:
        return {"volume_m3": self.volume_m3}

    def volume(self) -> float:
        """The volume register in m³ (SRV 4.1.1 for gas)."""
        self.advance()
        return self.volume_m3

    def set_conversion(self, conversion: GasConversion) -> None:
        """SRV 6.6."""
        self._begin()
        if conversion.calorific_value <= 0 or conversion.conversion_factor <= 0:
            raise DeviceCommandError(RejectCode.INVALID_ARGUMENT, "calorific value and factor must be > 0")
        self.conversion = conversion

    # -- valve -----------------------------------------------------------------------------------------
    def enable_supply(self) -> None:
        """SRV 7.1 does not apply to gas: a valve is armed remotely and opened by the customer."""
        self._begin()
        raise DeviceCommandError(RejectCode.NOT_SUPPORTED, "a GSME valve cannot be opened remotely; arm it")

    def _supply_moved(self, old: SupplyState, new: SupplyState) -> None:
        # A valve shut while the meter is still being built (the credit check of Meter.__init__) has
        # no battery model yet to drain.
        if SupplyState.ENABLED in (old, new) and hasattr(self, "valve_drain_pct"):  # the valve moved
            self._drain(self.valve_drain_pct)

    # -- battery and power -------------------------------------------------------------------------------
    def _drain(self, pct: float) -> None:
        self.battery_pct = max(0.0, self.battery_pct - pct)
        self._check_battery()

    def battery_supply(self, pct: float) -> None:
        """The rig's battery eliminator now presents a battery charged to ``pct`` % (lab instrument): the
        meter measures it as its own battery - 0x8F1F once it is at or below the low-battery level (a
        charge back above the level re-arms the alert); at 0 the meter loses power (the rig powers it up
        again, :meth:`power_on`)."""
        if not 0.0 <= pct <= 100.0:
            raise ValueError("battery level must be 0..100 %")
        self.advance()
        self.battery_pct = pct
        if pct > self.low_battery_pct:
            self._low_battery_alerted = False
        self._check_battery()

    def _check_battery(self) -> None:
        if (
            self.battery_pct <= self.low_battery_pct
            and not self._low_battery_alerted
            and not self.has_defect("low_battery_alert_missing")
        ):
            self._low_battery_alerted = True
            self.alerter.raise_alert(A.LOW_BATTERY, {"battery_pct": round(self.battery_pct, 3)})
        if self.battery_pct <= 0.0 and self.powered:
            self.powered = False
            self._power_lost = True

    def replace_battery(self, pct: float = 100.0) -> None:
        """A fresh battery: power returns (0x8F1D if it had been lost)."""
        self.advance()
        self.battery_pct = pct
        self._low_battery_alerted = pct <= self.low_battery_pct
        self.power_on()

    def power_off(self) -> None:
        """The rig's relay removed the GSME's power (a battery pulled)."""
        self.advance()
        if self.powered:
            self.powered = False
            self._power_lost = True

    def power_on(self) -> None:
        self.advance()
        if self.powered or self.battery_pct <= 0.0:
            return
        self.powered = True
        if self._power_lost:
            self._power_lost = False
            if not self.has_defect("gsme_power_loss_alert_missing"):
                self.alerter.raise_alert(A.GSME_POWER_SUPPLY_LOSS)

    # -- sleeping ----------------------------------------------------------------------------------------
    def next_wake(self, after: datetime) -> datetime | None:
        """First wake strictly after reference time ``after``; ``None`` when it will not wake."""
        if self.has_defect("gsme_never_wakes") or not self.powered:
            return None
        if after < self._wake_anchor:
            return self._wake_anchor + self.wake_interval
        n = (after - self._wake_anchor) // self.wake_interval + 1
        return self._wake_anchor + n * self.wake_interval

    def is_awake(self, at: datetime) -> bool:
        """Whether the GSME listens on the HAN at reference time ``at``."""
        if self.has_defect("gsme_never_wakes") or not self.powered or at <= self._wake_anchor:
            return False
        return (at - self._wake_anchor) % self.wake_interval < self.awake_window

    def enqueue(self, command: str, action: Callable[[], object]) -> PendingCommand:
        """Hold a command (at the CH) until the next wake."""
        self.advance()
        item = PendingCommand(command, action, self._processed)
        self.pending.append(item)
        return item

    def deliver_pending(self) -> list[PendingCommand]:
        """Run every waiting command now if the GSME is awake; returns those delivered."""
        self.advance()
        if not self.is_awake(self._processed):
            return []
        return self._deliver()

    def _deliver(self) -> list[PendingCommand]:
        if not self.pending:
            return []  # the held list stays: no new long-lived object at every idle wake
        delivered, self.pending = self.pending, []
        for item in delivered:
            try:
                item.result = item.action()
            except DeviceCommandError as exc:
                item.error = exc
            item.delivered_at = self._processed
        return delivered

    def _reference_marks(self, now: datetime) -> list[datetime]:
        marks = super()._reference_marks(now)
        wake = self.next_wake(now)
        if wake is not None:
            marks.append(wake)
        return marks

    def _due_reference_marks(self, now: datetime) -> list[datetime]:
        """The wakes an event-driven lab must witness: every one while a command waits, an alert or a
        power loss is a wake or two away, or a wake listener is watched (a display the CH forwards the
        readings to); otherwise an idle wake changes nothing anyone sees unasked — its counters,
        battery drain, consumption and the CH's cache are caught up by the next look — so only every
        :data:`LAZY_WAKES`-th is booked."""
        marks = super()._reference_marks(now)
        wake = self.next_wake(now)
        if wake is not None:
            marks.append(wake + (self._idle_wakes_ahead() - 1) * self.wake_interval)
        return marks

    def _idle_wakes_ahead(self) -> int:
        """How many wakes from the next one on may go unwitnessed, that one included (at least 1)."""
        if self.pending or any(
            listener not in self.wake_listener_watched or self.wake_listener_watched[listener]()
            for listener in self.wake_listeners
        ):
            return 1
        ahead = LAZY_WAKES
        if self.wake_drain_pct > 0:
            # Stop short (a wake early, for float rounding) of the wake whose drain raises 0x8F1F or
            # takes the last of the battery: that wake is witnessed.
            floors = [0.0]
            if not self._low_battery_alerted and not self.has_defect("low_battery_alert_missing"):
                floors.append(self.low_battery_pct)
            margin = (self.battery_pct - max(floors)) / self.wake_drain_pct
            ahead = min(ahead, max(1, int(margin) - 1))
        return ahead

    def _fire(self, now: datetime, dnow: datetime) -> None:
        super()._fire(now, dnow)
        if (
            self.powered
            and not self.has_defect("gsme_never_wakes")
            and self.is_awake(now)
            and (self.last_wake is None or now - self.last_wake >= self.wake_interval)
        ):
            self.wakes += 1
            self.last_wake = now
            self._drain(self.wake_drain_pct)
            self._deliver()
            for listener in list(self.wake_listeners):
                listener(self, now)
