"""A device's own real-time clock, derived from the rig's simulated time (:class:`SimClock`).

The :class:`~labs.virtual.clock.SimClock` is the rig's *reference* time (what the S1SP and the lab
instruments agree on); each device keeps its own clock as an offset from it plus a drift rate, because a
meter's RTC is set, synchronised and drifts independently — and a pack must be able to see a drifting
meter against the reference. The mapping is linear, so device and reference instants convert both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from labs.virtual.clock import SimClock


@dataclass(frozen=True)
class ClockAdjustment:
    """Outcome of a synchronise request: whether the clock moved and by how much (seconds)."""

    adjusted: bool
    delta_s: float


class DeviceClock:
    """``device = anchor_device + (reference - anchor_reference) * (1 + drift_ppm / 1e6)``."""

    def __init__(self, reference: SimClock, *, drift_ppm: float = 0.0) -> None:
        if drift_ppm <= -1e6:
            raise ValueError("drift_ppm must keep the clock running forwards")
        self.reference = reference
        self.drift_ppm = drift_ppm
        now = reference.now()
        self._anchor_ref = now
        self._anchor_dev = now

    @property
    def _factor(self) -> float:
        return 1.0 + self.drift_ppm / 1e6

    def device_at(self, reference: datetime) -> datetime:
        return self._anchor_dev + (reference - self._anchor_ref) * self._factor

    def reference_at(self, device: datetime) -> datetime:
        return self._anchor_ref + (device - self._anchor_dev) / self._factor

    def now(self) -> datetime:
        return self.device_at(self.reference.now())

    def set(self, when: datetime) -> timedelta:
        """Set the device clock to ``when`` (a privileged set); returns the step applied."""
        ref = self.reference.now()
        step = when - self.device_at(ref)
        self._anchor_ref, self._anchor_dev = ref, when
        return step

    def shift(self, step: timedelta) -> None:
        """Move the clock by ``step`` relative to its own reading (DLMS shift_time): exact, whatever
        the reference clock did while the simulator was busy."""
        self._anchor_dev += step

    def set_drift(self, drift_ppm: float) -> None:
        """Change the drift rate from now on (fault injection), keeping the current reading."""
        current = self.now()
        self._anchor_ref, self._anchor_dev = self.reference.now(), current
        self.drift_ppm = drift_ppm

    def synchronise(
        self, reference_time: datetime, tolerance_s: float, *, at: datetime | None = None
    ) -> ClockAdjustment:
        """SRV 6.11 semantics: adjust only when the error is within ``tolerance_s``.

        A large jump on a revenue meter would shift TOU and daily-log boundaries, so real meters refuse
        it and raise an alert instead; the caller raises the alert.

        ``at``: the reference instant the device compares and sets its clock (default: now). The
        virtual route passes the instant it read ``reference_time`` from the reference clock, so the
        simulator's own computing time between the two (milliseconds are seconds of device time on a
        fast lab clock) does not count as clock error.
        """
        at = self.reference.now() if at is None else at
        delta = (reference_time - self.device_at(at)).total_seconds()
        if abs(delta) > tolerance_s:
            return ClockAdjustment(False, delta)
        self._anchor_ref, self._anchor_dev = at, reference_time
        return ClockAdjustment(True, delta)
