"""The ``tamper`` route fault: Instructions whose device-level authentication the S1SP spoils on purpose.

The DCO gate refuses every badly signed *request* (E8) before a device sees it, so without this fault
no protocol could show whether a device checks an Instruction's signature itself. Pending faults are
per device (EUI-64), one kind per Instruction; each applied one is logged in the lab's fault log.
Functions of a :class:`TamperHost` (the service), so the fault's rules read in one place.
"""

from __future__ import annotations

from typing import Any, Protocol

from labs.virtual.devices import Authorisation, KeyRef
from labs.virtual.devices.base import Device

from .installation import Installation

#: Ways the ``tamper`` route fault spoils the device-level authentication of an Instruction.
TAMPER_KINDS = ("signature", "retired_credential")


class TamperHost(Protocol):
    """What the tamper fault needs of the route."""

    devices: dict[str, tuple[Installation, Device]]
    tampers: dict[str, list[str]]
    retired_keys: dict[str, dict[str, KeyRef]]

    def device_name(self, device_id: str) -> str: ...

    def log_fault(self, kind: str, detail: dict[str, Any]) -> None: ...


def tamper(route: TamperHost, device_id: str, kind: str = "signature", count: int = 1) -> list[str]:
    """Fault injection: spoil the device-level authentication of the next ``count`` Instructions the
    S1SP sends to ``device_id`` (after the DSP/DCO checks passed), as tampering in transit would:
    ``signature`` — the command's signature no longer verifies; ``retired_credential`` — it is
    signed with a credential the S1SP has retired for that device. Returns what is pending.

    It exists because the DCO gate refuses every badly signed *request* (E8) before a device sees
    it, so without it no protocol could show whether a device checks the signature itroute."""
    if device_id not in route.devices:
        raise KeyError(f"the route serves no device {device_id!r}")
    if kind not in TAMPER_KINDS:
        raise ValueError(f"unknown tamper kind {kind!r} (known: {', '.join(TAMPER_KINDS)})")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise ValueError("count must be an integer from 1 to 100")
    pending = route.tampers.setdefault(device_id, [])
    pending.extend([kind] * count)
    route.log_fault(
        "tamper",
        {"target": route.device_name(device_id), "eui64": device_id, "kind": kind, "count": count},
    )
    return list(pending)


def clear(route: TamperHost, device_id: str) -> int:
    """Drop the pending tamper faults of ``device_id``; returns how many there were."""
    if device_id not in route.devices:
        raise KeyError(f"the route serves no device {device_id!r}")
    dropped = len(route.tampers.pop(device_id, []))
    route.log_fault("tamper_cleared", {"target": route.device_name(device_id), "dropped": dropped})
    return dropped


def authorisation(
    route: TamperHost, device: Device, role: str, key: KeyRef, *, command: str, request_id: str | None
) -> Authorisation:
    """How the S1SP authenticates one Instruction to ``device``: with ``key`` for ``role``, unless a
    ``tamper`` fault is pending for the device, which this Instruction then consumes (logged)."""
    pending = route.tampers.get(device.device_id)
    if not pending:
        return Authorisation(role, key, command=command)
    kind = pending.pop(0)
    if not pending:
        del route.tampers[device.device_id]
    auth = Authorisation(role, key, signature_valid=False, command=command)
    detail: dict[str, Any] = {
        "target": route.device_name(device.device_id),
        "kind": kind,
        "command": command,
        "request_id": request_id,
    }
    if kind == "retired_credential":
        retired = route.retired_keys.get(device.device_id, {})
        used = (role, retired[role]) if role in retired else ("smso", retired.get("smso"))
        if used[1] is None:  # nothing retired yet: the Instruction goes out as it was
            auth = Authorisation(role, key, command=command)
            detail["note"] = "no retired credential known; sent unmodified"
        else:
            auth = Authorisation(used[0], used[1], command=command)
            detail["credential"] = f"{used[0]}:{used[1].key_id}:v{used[1].version}"
    route.log_fault("tamper_applied", detail)
    return auth
