"""The virtual route's seeded defects: what each loses or falsifies (lab file ``route: {defects: [...]}``).

A pack's negative and misuse tests must be shown able to fail; these are the route-side faults that
show it (docs/virtual-lab.md). Data only, read by the service where each applies.
"""

from __future__ import annotations

#: The rejections each seeded route defect loses (answered I0, nothing done).
LOST_REJECTIONS: dict[str, tuple[str, ...]] = {
    "accepts_invalid_parameters": ("E6",),
    "accepts_unsupported_requests": ("E4", "E13", "E7-device-type"),
}
#: Seeded defects of the virtual route (lab file ``route: {defects: [...]}``; docs/virtual-lab.md).
ROUTE_DEFECTS: dict[str, str] = {
    "accepts_invalid_parameters": "invalid parameters or dates are answered I0 and dropped (no E6)",
    "accepts_unsupported_requests": "an unknown, non-SMETS1 or wrong-device-type SRV is answered I0 and "
    "dropped (no E4, E13 or E7)",
    "migration_prechecks_skipped": "a migration starts without the SMSO's master keys or without the CH's "
    "WAN (no exclusion before the attempt)",
    "schedule_not_notified": "a dormant migration sends no Dormant Meter Migration Schedule Notification",
    "schedules_lost": "SRV 5.1 answers a schedule id but the DSP keeps no schedule",
    "inventory_updates_ignored": "SRV 8.3 and 8.4 answer the new status but the inventory keeps the old one",
    "dco_gate_open": "the DCO gate checks no signature, signer, counter or user role: misuse is executed "
    "(no E7-E10, nothing logged)",
    "tenancy_restriction_ignored": "SRV 3.2 answers the restriction date but reads still return data "
    "from before it",
    "firmware_upgrade_notified_needlessly": "every dormant migration sends a Dormant Meter FW Upgrade "
    "Schedule Notification, even where no device needs an upgrade",
}
#: What a meter with the seeded defect ``configuration_misreported`` answers to configuration reads
#: through the route: the values its firmware was built with, not its own (the optical port is right).
FACTORY_CONFIGURATION: dict[str, dict[str, object]] = {
    "read_voltage_config": {"nominal_voltage_v": 240},
    "read_randomisation": {"randomised_offset_limit_s": 0},
}


#: Instructions that do not change the device (the seeded defect ``acknowledges_without_applying``
#: spares them; firmware transfer and verification have defects of their own).
_UNCHANGING_PREFIXES = ("read_", "start_firmware_transfer", "write_firmware_block", "verify_firmware")


def changes_device(command: str) -> bool:
    return not command.startswith(_UNCHANGING_PREFIXES)
