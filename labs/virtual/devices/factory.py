"""Build a device model from a catalogue entry, a firmware version, defects, settings and a clock.

The lab process calls :func:`build_device` once per simulated device of a lab file. Settings are the
``VirtualDeviceConfig``-like keywords of :class:`DeviceSettings` (unknown keywords are errors; keywords
that do not apply to the role, such as ``load_w`` for a GSME, are ignored so one lab-file block fits
every role). The clock and the defects are arguments of their own: pass
``**DeviceSettings.pick(config.model_dump())``, ``config.defects`` and a :class:`SimClock` built from
``clock_rate``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field

from labs.virtual.clock import SimClock

from .base import Device, Profile
from .catalogue import Catalogue, CatalogueError, ModelEntry, load_catalogue
from .ch import CommsHub
from .esme import Esme, Variant
from .gsme import Gsme
from .han import Ihd, Ppmid
from .prepay import PaymentMode

_EUI64 = re.compile(r"^[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}$")


class DeviceSettings(BaseModel):
    """Per-device settings of a simulated device (what a lab file's ``virtual:`` block holds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str = "00000000"
    device_id: str | None = Field(default=None, description="EUI-64; derived from the serial if absent")
    manufacturer_flag: str = Field(default="DMC", pattern=r"^[A-Za-z]{3}$")
    load_w: float = Field(default=1000.0, ge=0)
    initial_kwh: list[float] = Field(default_factory=lambda: [1000.0, 200.0, 300.0, 400.0])
    flow_m3h: float = Field(default=0.0, ge=0)
    initial_m3: float = Field(default=0.0, ge=0)
    battery_pct: float = Field(default=100.0, ge=0, le=100)
    payment_mode: PaymentMode = PaymentMode.CREDIT
    balance: float = 0.0
    drift_ppm: float = 0.0
    utrn_secret: str | None = None
    #: Meters: days of daily reads already in the log at start (``Meter.record_history``).
    history_days: int = Field(default=0, ge=0, le=731)

    @classmethod
    def pick(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of a lab file's ``virtual:`` block (``VirtualDeviceConfig.model_dump()``) that
        are device settings; the rest (defects, clock_rate, faults ...) belongs to the lab process."""
        return {k: v for k, v in config.items() if k in cls.model_fields}


def eui64_for(serial: str) -> str:
    """The device's EUI-64: the serial itself when it is one, else a stable hash of it."""
    if _EUI64.match(serial):
        return serial.upper()
    digest = hashlib.sha256(serial.encode()).digest()[:8]
    return "-".join(f"{b:02X}" for b in digest)


def build_device(
    entry: ModelEntry,
    firmware: str,
    defects: Iterable[str],
    clock: SimClock,
    *,
    catalogue: Catalogue | None = None,
    **settings: Any,
) -> Device:
    """A ready device model. ``defects`` are added to the firmware's catalogue defects (passing the
    output of :func:`~.catalogue.resolve_defects` is fine: the union is the same); they stay with the
    device across firmware changes, while the firmware's own defects follow the running version."""
    cat = catalogue or load_catalogue()
    extra = frozenset(defects) - set(entry.firmware_entry(firmware).defects)
    profile = cat.profile(entry, firmware, extra)
    s = DeviceSettings(**settings)

    def profile_for(version: str) -> Profile:
        try:
            return cat.profile(entry, version, extra)
        except CatalogueError:  # a version the catalogue does not list: the model's plain behaviour
            return Profile(
                defects=extra,
                srvs=cat.role_srvs(entry.role),
                behaviour=profile.behaviour.model_validate(entry.behaviour),
            )

    common: dict[str, Any] = {
        "clock": clock,
        "device_id": s.device_id or eui64_for(s.serial),
        "model": entry.model,
        "manufacturer": entry.manufacturer,
        "hardware_version": entry.hardware_versions[0],
        "firmware_version": firmware,
        "profile": profile,
        "profile_for": profile_for,
        "drift_ppm": s.drift_ppm,
    }
    meter: dict[str, Any] = {
        "serial": s.serial,
        "payment_mode": s.payment_mode,
        "balance": s.balance,
        "utrn_secret": s.utrn_secret,
    }
    if entry.role == "esme":
        variant: Variant = "single_element"
        for known in get_args(Variant):
            if entry.variant == known:
                variant = known
        esme = Esme(
            **common,
            **meter,
            initial_kwh=list(s.initial_kwh),
            load_w=s.load_w,
            manufacturer_flag=s.manufacturer_flag,
            variant=variant,
        )
        esme.record_history(s.history_days)
        return esme
    if entry.role == "gsme":
        gsme = Gsme(
            **common, **meter, flow_m3h=s.flow_m3h, initial_m3=s.initial_m3, battery_pct=s.battery_pct
        )
        gsme.tou_kwh[0] += s.initial_m3 * gsme.conversion.kwh_per_m3()
        gsme.record_history(s.history_days)
        return gsme
    if entry.role == "ch":
        return CommsHub(**common)
    if entry.role == "ppmid":
        return Ppmid(**common)
    return Ihd(**common)
