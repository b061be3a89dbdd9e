"""The route's security log: requests and migrations refused at the DSP/DCO gate (E7-E10).

A refusal is a security event: it is logged here and alerted to the service users (a DCC alert, the
code from the catalogue's ``dco_refusal_alert``), so a User learns that someone tried to act in its
name (docs/protocols/service-route.md, sections 5 and 9). Functions of a :class:`SecurityLogHost`.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime
from typing import Any, Protocol

from labs.virtual.devices.base import Device

from .catalogue import SrvCatalogue
from .installation import Installation
from .wire import WireError

log = logging.getLogger(__name__)
SECURITY_LOG_CAPACITY = 1000


class SecurityLogHost(Protocol):
    """What the security log needs of the route."""

    devices: dict[str, tuple[Installation, Device]]
    catalogue: SrvCatalogue
    security_log: list[dict[str, Any]]
    security_ids: itertools.count[int]

    def now_iso(self) -> str: ...

    def dcc_alert(
        self,
        code: str,
        device: str | None,
        rig: str | None,
        details: dict[str, Any],
        request_id: str | None = None,
    ) -> None: ...

    def response(
        self,
        rid: str | None,
        code: str,
        text: str = "",
        *,
        srv: str | None = None,
        device: str | None = None,
        final: bool = True,
        **extra: Any,
    ) -> dict[str, Any]: ...


def record_refusal(
    route: SecurityLogHost, msg: dict[str, Any], code: str, reason: str, rid: str | None
) -> None:
    """A request or migration refused at the DSP/DCO gate (E7-E10) is a security event: log it in
    the route's security log and alert the service users (a DCC alert, the code from the catalogue's
    ``dco_refusal_alert``), so a User learns that someone tried to act in its name. Never raises."""
    try:
        device_id = msg.get("device") if isinstance(msg.get("device"), str) else None
        hit = route.devices.get(device_id.upper()) if device_id else None
        rig = hit[0].rig_id if hit else msg.get("rig") if isinstance(msg.get("rig"), str) else None
        entry: dict[str, Any] = {
            "entry_id": next(route.security_ids),
            "at": route.now_iso(),
            "event": "dco_refusal",
            "code": code,
            "reason": reason,
            "message_type": msg.get("type") if isinstance(msg.get("type"), str) else None,
            "request_id": rid,
            "user": msg.get("user") if isinstance(msg.get("user"), str) else None,
            "srv": msg.get("srv") if isinstance(msg.get("srv"), str) else None,
            "device": hit[1].device_id if hit else None,
            "rig": rig,
        }
        alert_code = route.catalogue.dco_refusal_alert
        entry["alert_code"] = alert_code
        route.security_log.append(entry)
        del route.security_log[:-SECURITY_LOG_CAPACITY]
        details = {k: entry[k] for k in ("code", "reason", "user", "srv", "entry_id")}
        route.dcc_alert(alert_code, entry["device"], rig, details, rid)
    except Exception:  # logging a refusal must never turn it into a crash
        log.exception("could not log the refusal of %s", rid)


def read(route: SecurityLogHost, msg: dict[str, Any], rid: str | None) -> dict[str, Any]:
    """Answer a ``security_log`` message: entries after ``after`` (an entry id) and at or after
    ``since`` (ISO 8601 with offset, route clock), oldest first."""
    if rid is None or not 1 <= len(rid) <= 64:
        raise WireError("E1", "a security_log message needs an id (string of 1-64 characters)")
    after = msg.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise WireError("E6", "after must be a non-negative integer (an entry_id)", rid)
    raw = msg.get("since")
    since: datetime | None = None
    if raw is not None:
        try:
            since = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise WireError("E6", "since must be an ISO 8601 date-time with a time zone", rid)
    entries = [
        e
        for e in route.security_log
        if e["entry_id"] > after and (since is None or datetime.fromisoformat(e["at"]) >= since)
    ]
    return route.response(rid, "I0", "", result={"entries": entries})
