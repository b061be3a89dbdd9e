"""Gas oracle: volume from the flow rig, energy from volume (GSME conversion, SRV 4.1.1 / 6.2.8).

Energy (kWh) = volume (m3) x calorific value (MJ/m3) x volume correction factor / 3.6 (MJ per kWh).
The flow rig sets litres per hour; the volume register counts m3 of gas that flowed while the valve
was open.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

MJ_PER_KWH = Decimal("3.6")


def kwh(volume_m3: Decimal, calorific_value: Decimal, correction_factor: Decimal) -> Decimal:
    return volume_m3 * calorific_value * correction_factor / MJ_PER_KWH


def volume_m3(flow_lph: float | Decimal, duration: timedelta) -> Decimal:
    """m3 that a constant flow of ``flow_lph`` litres per hour passes in ``duration`` (device time)."""
    hours = Decimal(str(duration.total_seconds())) / Decimal(3600)
    return Decimal(str(flow_lph)) / Decimal(1000) * hours
