"""Behaviour models of simulated SMETS1 devices and the catalogue of device models.

What lives here (one concern per module):

* ``esme``, ``gsme``, ``ch``, ``han`` — the device models (ESME; sleeping GSME; communications hub
  with HAN device log, routing and GSME cache; PPMID and IHD). ``meter`` holds what ESME and GSME share,
  ``base`` what every device shares (device clock, logs and alerts, firmware, credentials, future-dated
  commands, the time-stepping loop).
* ``tariff``, ``prepay``, ``utrn``, ``firmware``, ``credentials``, ``devclock``, ``alerts``,
  ``behaviour``, ``errors`` — the parts those models are built from.
* ``catalogue`` + ``catalogue.yaml`` — device models, firmware versions, supported SRVs, behaviour
  differences and seeded defects; ``factory`` builds a model from a catalogue entry.

Models are plain and deterministic: no threads, no I/O, no wall-clock reads — time comes from a
:class:`labs.virtual.clock.SimClock` (the rig's reference time) and only moves when a model is asked
something. Protocol servers (DLMS/COSEM, the service route, Modbus instruments) sit on top and map
their requests onto these models' typed methods; rejections are :class:`DeviceCommandError`.

Imports allowed here: ``labs.virtual.clock``, :mod:`specifications` (shared data) and the standard
library, pydantic and yaml only — never the harness's device drivers (a simulator sharing the driver's
code could not catch the driver's bugs) and never ``harness.plugin``. See ``docs/virtual-devices.md``.
"""

from __future__ import annotations

from .alerts import ALERTS, Alert, LogEntry
from .base import CommandResult, Device, Profile
from .behaviour import Behaviour
from .catalogue import Catalogue, CatalogueError, ModelEntry, load_catalogue, resolve_defects
from .ch import CommsHub, GsmeCache, HanStatus
from .credentials import Authorisation, KeyRef
from .errors import DeviceCommandError, RejectCode, UnknownDefectError
from .esme import Esme, LoadLimit
from .factory import DeviceSettings, build_device, eui64_for
from .firmware import FirmwareImage
from .gsme import GasConversion, Gsme, PendingCommand
from .han import Ihd, Ppmid
from .meter import BillingRecord, DailyRead, HanUpdate, RegisterReading, SupplyState
from .prepay import PaymentMode, PrepayConfig, PrepayValues, TopUpResult
from .tariff import BillingCalendar, Tariff, TouSwitch
from .utrn import make_utrn

__all__ = [
    "ALERTS",
    "Alert",
    "Authorisation",
    "Behaviour",
    "BillingCalendar",
    "BillingRecord",
    "Catalogue",
    "CatalogueError",
    "CommandResult",
    "CommsHub",
    "DailyRead",
    "Device",
    "DeviceCommandError",
    "DeviceSettings",
    "Esme",
    "FirmwareImage",
    "GasConversion",
    "Gsme",
    "GsmeCache",
    "HanStatus",
    "HanUpdate",
    "Ihd",
    "KeyRef",
    "LoadLimit",
    "LogEntry",
    "ModelEntry",
    "PaymentMode",
    "PendingCommand",
    "Ppmid",
    "PrepayConfig",
    "PrepayValues",
    "Profile",
    "RegisterReading",
    "RejectCode",
    "SupplyState",
    "Tariff",
    "TopUpResult",
    "TouSwitch",
    "UnknownDefectError",
    "build_device",
    "eui64_for",
    "load_catalogue",
    "make_utrn",
    "resolve_defects",
]
