"""The DSP checks and the DCO gate: who signed, whether the signature and counter hold, which role acts,
whether a future date is acceptable (docs/protocols/service-route.md, section 5).

Why a module of its own: these are the route's security rules; reading them apart from the execution
code makes it plain that nothing is acted on before they pass. The seeded route defects that open the
gate (``dco_gate_open``) or lose its rejections (:data:`~.route_defects.LOST_REJECTIONS`) apply here.
Functions of a :class:`GateHost` (the service).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from labs.virtual.clock import SimClock

from .catalogue import SrvCatalogue, SrvEntry
from .keys import KeyMaterial, TrustedUser, verify
from .route_defects import LOST_REJECTIONS, fuel_unchecked, role_unchecked
from .wire import WireError, canonical


class GateHost(Protocol):
    """What the gate needs of the route: its trust store, counters, catalogue, clock and defects."""

    keys: KeyMaterial
    counters: dict[str, int]
    catalogue: SrvCatalogue
    clock: SimClock
    defects: frozenset[str]


def silently_accepts(route: GateHost, exc: WireError) -> bool:
    """Seeded defects that lose a rejection: the request is answered I0 and nothing is done."""
    code = "E7-device-type" if exc.code == "E7" and exc.device_type else exc.code
    return any(code in LOST_REJECTIONS.get(d, ()) for d in route.defects)


#: A front end's own DSP authentication (the virtual DSP verifies DUIS XML signatures itself), called
#: where the framed route checks signer, signature and counter: ``(required, check)`` returns the User
#: or raises :class:`WireError` (E8/E9/E10); ``check`` False only names the claimed User (a seeded
#: ``dco_gate_open`` checks nothing).
Authenticator = Callable[[bool, bool], TrustedUser]


def authenticate(
    route: GateHost,
    msg: dict[str, Any],
    rid: str,
    *,
    required: bool,
    authenticator: Authenticator | None = None,
) -> TrustedUser:
    """DSP authentication and, for critical requests, the DCO gate: signer, signature, counter.
    With the seeded defect ``dco_gate_open`` the gate lets everything through (as a known signer).
    A front end that verifies requests its own way (the virtual DSP) passes ``authenticator``."""
    if "dco_gate_open" in route.defects:
        user_id = msg.get("user")
        known = route.keys.trust.get(user_id) if isinstance(user_id, str) else None
        if known is None and authenticator is not None:
            with contextlib.suppress(WireError):
                return authenticator(False, False)
        return known or next(iter(route.keys.trust.users.values()))
    if authenticator is not None:
        return authenticator(required, True)
    user_id = msg.get("user")
    trusted = route.keys.trust.get(user_id) if isinstance(user_id, str) else None
    if trusted is None:
        raise WireError("E9", f"unknown signer {user_id!r}", rid)
    sig = msg.get("sig")
    if sig is None:
        if required:
            raise WireError("E8", "a critical request must be signed", rid)
        return trusted
    counter = msg.get("counter")
    if not isinstance(sig, str) or not isinstance(counter, int) or isinstance(counter, bool) or counter < 0:
        raise WireError("E8", "a signed request needs sig (base64) and a non-negative integer counter", rid)
    body = {k: v for k, v in msg.items() if k != "sig"}
    if not verify(trusted.public_key, canonical(body), sig):
        raise WireError("E8", "signature does not verify against the User's certificate", rid)
    last = route.counters.get(trusted.user_id, -1)
    if counter <= last:
        raise WireError("E10", f"counter {counter} is not greater than {last}", rid)
    route.counters[trusted.user_id] = counter
    return trusted


def pick_role(
    route: GateHost, msg: dict[str, Any], user: TrustedUser, entry: SrvEntry, dtype: str, rid: str
) -> str:
    """The role the request is sent in: as stated, else the User's first role eligible for the SRV
    and the device type (a supplier holding IS and GS acts as IS on an ESME, GS on a GSME)."""
    role = msg.get("role")
    if "dco_gate_open" in route.defects:  # no role check: the first role that may act here
        return next((r for r in entry.roles if route.catalogue.may_act_on(r, dtype)), entry.roles[0])
    srv = msg.get("srv")
    if isinstance(srv, str) and role_unchecked(route.defects, srv):  # seeded: no role table entry
        if isinstance(role, str) and role in user.roles:
            return role
        if role is None and user.roles:
            return sorted(user.roles)[0]
    if role is None:
        # The role named by none: the User's roles are matched to the device's fuel, unless a seeded
        # defect skips that check (the same one that lets a stated role of the other fuel through).
        fuel_free = isinstance(srv, str) and fuel_unchecked(route.defects, srv)
        eligible = sorted(
            r for r in user.roles if r in entry.roles and (fuel_free or route.catalogue.may_act_on(r, dtype))
        )
        if not eligible:
            # Only the device type is wrong when a role of the User is eligible for the SRV itroute.
            raise WireError(
                "E7",
                f"none of the User's roles {sorted(user.roles)} may send this SRV here",
                rid,
                device_type=bool(user.roles & set(entry.roles)),
            )
        return eligible[0]
    if not isinstance(role, str) or role not in user.roles:
        raise WireError("E7", f"the User does not hold role {role!r}", rid)
    if role not in entry.roles:
        raise WireError("E7", f"role {role} may not send this SRV (eligible: {' '.join(entry.roles)})", rid)
    return role


def future_date(route: GateHost, msg: dict[str, Any], entry: SrvEntry, rid: str) -> datetime | None:
    raw = msg.get("future_date")
    if raw is None:
        return None
    if not entry.future_datable:
        raise WireError("E6", "this SRV cannot be future-dated", rid)
    try:
        at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise WireError("E6", "future_date must be an ISO 8601 date-time with a time zone", rid)
    if at <= route.clock.now():
        raise WireError("E6", "future_date is not in the future", rid)
    return at
