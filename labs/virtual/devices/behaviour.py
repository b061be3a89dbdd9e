"""Firmware-dependent behaviour settings of a device model (the catalogue's ``behaviour`` blocks).

Kept apart from seeded defects on purpose: a behaviour difference is legitimate (an older firmware
holds fewer TOU rates, or cannot future-date), a defect is a bug a pack must catch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Behaviour(BaseModel):
    """Every field has the value a fully capable SMETS1 device would have."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tou_rates: int = Field(default=48, ge=1, le=48, description="TOU rates the tariff may use")
    default_tou_rates: int = Field(default=4, ge=1, le=48, description="TOU rates of the factory tariff")
    future_dating: bool = Field(default=True, description="accepts future-dated commands at all")
    load_limiting: bool = Field(default=True, description="ESME: supports SRV 6.4.1 load limiting")
    clock_tolerance_s: float = Field(default=10.0, gt=0, description="SRV 6.11 synchronise tolerance")
    event_log_capacity: int = Field(default=100, ge=1)
    security_log_capacity: int = Field(default=100, ge=1)
    wake_interval_s: float = Field(default=1800.0, gt=0, description="GSME: seconds between HAN wakes")
    awake_window_s: float = Field(default=5.0, gt=0, description="GSME: seconds it listens per wake")
    low_battery_pct: float = Field(default=10.0, ge=0, le=100, description="GSME: 0x8F1F level")
    nominal_voltage_v: int = Field(default=230, ge=100, le=480, description="ESME: SRV 6.2.1 voltage")
    randomised_offset_limit_s: int = Field(
        default=900, ge=0, le=86400, description="ESME: SRV 6.2.2 randomised offset limit (seconds)"
    )
    readout_identification_ms: float = Field(
        default=200.0,
        ge=0,
        le=1500,
        description="ESME: IEC 62056-21 reaction time tr before the identification (standard: 200..1500)",
    )
    readout_data_ms: float = Field(
        default=200.0,
        ge=0,
        le=1500,
        description="ESME: IEC 62056-21 reaction time tr before the data message or P0 (standard: 200..1500)",
    )
    dlms_associations: dict[int, Literal["none", "lls", "hls-gmac"]] | None = Field(
        default=None,
        description="Meters: client SAP -> mechanism of the DLMS port's associations (a lab file's "
        "links.dlms.associations replaces it; unset: public 16 none, management 1 LLS)",
    )
