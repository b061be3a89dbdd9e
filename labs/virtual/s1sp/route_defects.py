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
    "role_check_skipped_for_prepayment": "the DCO's role table lacks the prepayment SRVs (2.1, 2.3, 2.5): "
    "any role the User holds may send them, to either fuel (no E7)",
    "fuel_unchecked_for_tariffs": "the tariff and price SRVs (1.1.1, 1.2.1) check the role is a supplier's "
    "but not its fuel: a gas supplier may set an electricity meter's tariff and vice versa (no E7)",
    "status_unchecked_for_critical": "critical SRVs (the DCO's signed path) skip the inventory status check: "
    "a Suspended device still takes them (no E14; non-critical requests are refused)",
    "acted_then_role_refused": "the role check runs alongside the dispatch: a request from a role not "
    "allowed is answered E7 (logged, alerted) but its Instructions were already sent and carried out",
    "acted_then_status_refused": "the inventory status is checked once the Instructions were sent: a "
    "request to a device that is not Commissioned is answered E14 but the device has acted on it",
    "status_unchecked_for_hub": "the inventory status check looks at meters only: a comms hub that is not "
    "Commissioned still takes SRVs (no E14)",
}
#: SRVs whose role eligibility and fuel the seeded route defects leave unchecked.
ROLE_UNCHECKED: dict[str, frozenset[str]] = {
    "role_check_skipped_for_prepayment": frozenset({"2.1", "2.3", "2.5"}),
}
FUEL_UNCHECKED: dict[str, frozenset[str]] = {"fuel_unchecked_for_tariffs": frozenset({"1.1.1", "1.2.1"})}


def role_unchecked(defects: frozenset[str], srv: str) -> bool:
    """A seeded defect skips the role check (eligibility and fuel) of ``srv``."""
    return any(srv in ROLE_UNCHECKED.get(d, ()) for d in defects)


def fuel_unchecked(defects: frozenset[str], srv: str) -> bool:
    """A seeded defect skips the check of the role's fuel against the device type for ``srv``."""
    return role_unchecked(defects, srv) or any(srv in FUEL_UNCHECKED.get(d, ()) for d in defects)


def status_unchecked(defects: frozenset[str], *, critical: bool, device_type: str) -> bool:
    """A seeded defect skips the inventory status check (E14) of this request."""
    return ("status_unchecked_for_critical" in defects and critical) or (
        "status_unchecked_for_hub" in defects and device_type == "CHF"
    )


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
