"""The Smart Metering Inventory as the virtual S1SP keeps it: device types, statuses and links.

Statuses and device types are those of the SMETS1 notes (DCC inventory). SMETS1 devices carry the S1SP
and region "SMETS1". Status changes follow a transition table (a pure rule) so SRV 8.4 and migration
cannot put a device in an impossible state, and every change is recorded for evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal[
    "Pending",
    "Whitelisted",
    "InstalledNotCommissioned",
    "Commissioned",
    "Decommissioned",
    "Withdrawn",
    "Suspended",
    "Recovery",
    "Recovered",
]
STATUSES: tuple[Status, ...] = (
    "Pending",
    "Whitelisted",
    "InstalledNotCommissioned",
    "Commissioned",
    "Decommissioned",
    "Withdrawn",
    "Suspended",
    "Recovery",
    "Recovered",
)
#: Allowed status changes (migration walks Pending → Whitelisted → InstalledNotCommissioned →
#: Commissioned; exclusion withdraws; SRV 8.3 decommissions; 8.4 suspends and recovers).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    "Pending": frozenset({"Whitelisted", "Withdrawn"}),
    "Whitelisted": frozenset({"InstalledNotCommissioned", "Withdrawn", "Pending"}),
    "InstalledNotCommissioned": frozenset({"Commissioned", "Withdrawn", "Pending"}),
    "Commissioned": frozenset({"Decommissioned", "Suspended", "Recovery"}),
    "Suspended": frozenset({"Commissioned", "Decommissioned"}),
    "Recovery": frozenset({"Recovered", "Decommissioned"}),
    "Recovered": frozenset({"Commissioned", "Decommissioned"}),
    "Decommissioned": frozenset(),
    "Withdrawn": frozenset({"Pending"}),
}
#: The statuses the DCC itself sets outside any User's SRV (the lab control's ``inventory_status``).
DCC_STATUSES: tuple[Status, ...] = ("Suspended", "Commissioned")
ROLE_TO_TYPE = {"ch": "CHF", "esme": "ESME", "gsme": "GSME", "ppmid": "PPMID", "ihd": "IHD"}


class InventoryError(Exception):
    """An impossible status change or an unknown device."""


def can_move(old: Status | None, new: Status) -> bool:
    """Whether the inventory allows ``old → new`` (``None``: not yet in the inventory)."""
    if old is None:
        return new == "Pending"
    return new in TRANSITIONS[old]


@dataclass
class InventoryEntry:
    device_id: str
    device_type: str
    manufacturer: str
    model: str
    firmware_version: str
    rig_id: str
    installation: str
    status: Status | None = None
    s1sp: str = ""
    region: str = ""
    supplier: str | None = None
    network_operator: str | None = None
    #: The MPAN or MPRN the SMI holds for a meter (from migration; SRV 8.4 updates it), None for others.
    mpxn: str | None = None
    history: list[tuple[str, str]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "device_type": self.device_type,
            "status": self.status,
            "manufacturer": self.manufacturer[:30],
            "model": self.model[:30],
            "firmware_version": self.firmware_version,
            "s1sp": self.s1sp,
            "region": self.region,
            "supplier": self.supplier,
            "network_operator": self.network_operator,
            "mpxn": self.mpxn,
            "rig_id": self.rig_id,
            "installation": self.installation,
        }


class Inventory:
    def __init__(self) -> None:
        self.entries: dict[str, InventoryEntry] = {}

    def add(self, entry: InventoryEntry) -> None:
        self.entries[entry.device_id] = entry

    def get(self, device_id: str) -> InventoryEntry:
        try:
            return self.entries[device_id]
        except KeyError:
            raise InventoryError(f"{device_id} is not in the inventory") from None

    def move(self, device_id: str, new: Status, at: datetime) -> None:
        entry = self.get(device_id)
        if entry.status == new:
            return
        if not can_move(entry.status, new):
            raise InventoryError(f"{device_id}: {entry.status} → {new} is not allowed")
        entry.status = new
        entry.history.append((at.isoformat(), new))
