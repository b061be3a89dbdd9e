"""The service route as the packs see it: an interface, the virtual route, and a plug-in point.

Packs talk to "the route" — the path from a DCC User through the DSP/DCO and the S1SP to the devices —
only through :class:`ServiceRoute`. The virtual lab's route (:class:`VirtualServiceRoute`, the framed
protocol of ``docs/protocols/service-route.md``) is one implementation; a lab with its own bridge to a
real or test S1SP registers another under the ``dmct.routes`` entry-point group and names it in its
lab file, without editing the harness::

    [project.entry-points."dmct.routes"]
    acme = "acme_bridge:AcmeRoute"      # a ServiceRoute subclass (or factory) taking **config

``load_route(kind, **config)`` finds it; ``"virtual"`` is built in.

Some facilities exist only on a simulated lab, because only a simulator can offer them: injecting a
badly authenticated Instruction (:meth:`ServiceRoute.tamper_next_instruction`) and reading the route's
own security log (:meth:`ServiceRoute.security_log`). Misuse (:meth:`ServiceRoute.craft`,
:meth:`ServiceRoute.send_crafted`: unsigned, badly signed, unknown-signer and replayed requests, in the
route's own message form) is what any User can send, so every route that builds its own messages may
offer it. Ask :meth:`ServiceRoute.supports` first; a route without the facility raises
:class:`RouteFacilityUnsupported` (a ``NotImplementedError``), and a pack marks such a test *not
applicable* on it.
"""

from __future__ import annotations

import abc
import base64
import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from device_drivers.errors import RouteCannotExpress
from device_drivers.lab_control import LabControlClient, control_address
from device_drivers.links import Link
from device_drivers.protocols.service_route import RouteError, RouteKeys, ServiceRouteClient, check
from device_drivers.transcript import Transcript

ROUTE_ENTRY_POINT_GROUP = "dmct.routes"
#: Facilities a route may offer beyond SRVs, alerts and migration (see :meth:`ServiceRoute.supports`).
TAMPER = "tamper"  # tamper_next_instruction(): spoil the device-level authentication of Instructions
SECURITY_LOG = "security_log"  # security_log(): the route's log of requests refused at the DSP/DCO gate
MISUSE = "misuse"  # craft() / send_crafted(): requests spoiled as a misusing party would send them
#: set_dcc_status(): the DCC's own change of a device's Smart Metering Inventory status, made outside
#: any User's SRV (a device Suspended when its model leaves the CPL, Commissioned again when it returns).
DCC_INVENTORY = "dcc_inventory"
#: The statuses :meth:`ServiceRoute.set_dcc_status` may set: the DCC's, not a User's.
DCC_STATUSES = ("Suspended", "Commissioned")
#: How :meth:`ServiceRoute.tamper_next_instruction` may spoil an Instruction.
TAMPER_KINDS = ("signature", "retired_credential")
#: How :meth:`ServiceRoute.craft` may spoil a request (None: a genuine one, e.g. to send twice, a replay).
#: ``unsigned``: no signature; ``corrupt_signature``: one bit of the signature value flipped;
#: ``tampered``: the signed content changed after signing; ``unknown_signer``: signed by a key and
#: User ID the DSP/DCO does not trust (:data:`UNKNOWN_USER`).
MISUSE_KINDS = ("unsigned", "corrupt_signature", "tampered", "unknown_signer")
#: The User ID an ``unknown_signer`` request claims (no lab trusts it).
UNKNOWN_USER = "90-B3-D5-1F-30-09-09-09"
#: DSP/DCO gate refusals the route logs and alerts (docs/protocols/service-route.md, section 5).
DCO_REFUSAL_CODES = frozenset({"E7", "E8", "E9", "E10"})


class RouteFacilityUnsupported(NotImplementedError):
    """This route does not offer the facility (a real S1SP cannot tamper with its own Instructions):
    the test that needs it is not applicable on this route."""


@dataclass(frozen=True)
class SrvResult:
    """The outcome of one SRV: final code, result data and per-Instruction outcomes.

    ``acknowledged`` is True when the route first answered I99 (a queued or DSP-held request).
    """

    request_id: str
    srv: str
    device: str
    code: str
    text: str = ""
    result: Any = None
    instructions: tuple[dict[str, Any], ...] = ()
    warnings: tuple[dict[str, Any], ...] = ()
    acknowledged: bool = False
    final: bool = True
    responses: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.code == "I0"

    def outcomes(self) -> list[str]:
        return [str(i.get("outcome")) for i in self.instructions]

    @classmethod
    def from_responses(cls, srv: str, device: str, responses: list[dict[str, Any]]) -> SrvResult:
        last = responses[-1]
        return cls(
            request_id=str(last.get("id")),
            srv=srv,
            device=device,
            code=str(last.get("code")),
            text=str(last.get("text", "")),
            result=last.get("result"),
            instructions=tuple(last.get("instructions") or ()),
            warnings=tuple(last.get("warnings") or ()),
            acknowledged=any(r.get("code") == "I99" for r in responses),
            final=bool(last.get("final", True)),
            responses=tuple(responses),
        )


@dataclass(frozen=True)
class CraftedRequest:
    """A request made by :meth:`ServiceRoute.craft` and not yet sent: genuine (``misuse`` None) or
    spoiled as ``misuse`` says. :meth:`ServiceRoute.send_crafted` sends it exactly as it is, as often
    as asked: a genuine request sent a second time is a replay. ``wire`` is the route's own message
    (framed: the JSON message; DUIS: the endpoint and the XML bytes), opaque to the packs."""

    request_id: str
    srv: str
    device: str
    misuse: str | None
    wire: Any = field(repr=False)


@dataclass(frozen=True)
class RouteAlert:
    """A device alert (``kind="device"``, code like ``0x8F66``), DCC alert (``N24``) or S1SP alert."""

    alert_id: int
    kind: str
    code: str
    name: str
    device: str | None
    rig: str | None
    at: str | None
    details: dict[str, Any]
    request_id: str | None = None
    instruction: int | None = None
    total_instructions: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> RouteAlert:
        return cls(
            alert_id=int(m.get("alert_id", 0)),
            kind=str(m.get("kind")),
            code=str(m.get("code")),
            name=str(m.get("name", "")),
            device=m.get("device"),
            rig=m.get("rig"),
            at=m.get("at"),
            details=dict(m.get("details") or {}),
            request_id=m.get("request_id"),
            instruction=m.get("instruction"),
            total_instructions=m.get("total_instructions"),
            raw=m,
        )


@dataclass(frozen=True)
class RouteSecurityEvent:
    """One entry of the route's security log: a request or migration refused at the DSP/DCO gate.

    ``code`` is the refusal (E7 role, E8 signature, E9 signer, E10 replay); ``alert_code`` the DCC alert
    the route sent the service users about it.
    """

    entry_id: int
    at: datetime
    event: str
    code: str
    reason: str
    request_id: str | None
    message_type: str | None
    user: str | None
    srv: str | None
    device: str | None
    rig: str | None
    alert_code: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_entry(cls, e: Mapping[str, Any]) -> RouteSecurityEvent:
        return cls(
            entry_id=int(e.get("entry_id", 0)),
            at=datetime.fromisoformat(str(e.get("at"))),
            event=str(e.get("event", "")),
            code=str(e.get("code", "")),
            reason=str(e.get("reason", "")),
            request_id=e.get("request_id"),
            message_type=e.get("message_type"),
            user=e.get("user"),
            srv=e.get("srv"),
            device=e.get("device"),
            rig=e.get("rig"),
            alert_code=e.get("alert_code"),
            raw=dict(e),
        )


@dataclass(frozen=True)
class MigrationResult:
    rig: str
    outcome: str  # migrated | migrated_esme_only | excluded
    category: str | None
    attempts: int
    statuses: dict[str, str]
    notifications: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def migrated(self) -> bool:
        return self.outcome in ("migrated", "migrated_esme_only")


class ServiceRoute(abc.ABC):
    """What packs may ask of a service route. Errors: transport trouble → ``InfrastructureFault``
    subclasses (test blocked); an E-code answer → :class:`RouteError` (``check=True``) ."""

    #: Where exchanges are recorded; the harness sets a fresh one for every test.
    transcript: Transcript | None = None

    def open(self) -> ServiceRoute:
        return self

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection (no-op by default)."""

    def __enter__(self) -> ServiceRoute:
        return self.open()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abc.abstractmethod
    def submit(
        self,
        srv: str,
        device: str,
        params: Mapping[str, Any] | None = None,
        *,
        user: str,
        role: str | None = None,
        future_date: datetime | str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        check: bool = True,
    ) -> SrvResult:
        """Send an SRV as ``user``; with ``wait`` return the final result (after any I99), else the
        first answer. ``check`` raises :class:`RouteError` on an E-code."""

    @abc.abstractmethod
    def wait_result(self, request_id: str, *, timeout: float | None = None, check: bool = True) -> SrvResult:
        """The final result of a request submitted with ``wait=False``."""

    @abc.abstractmethod
    def wait_alerts(
        self, predicate: Callable[[RouteAlert], bool], timeout: float, *, count: int = 1
    ) -> list[RouteAlert]:
        """The first ``count`` alerts matching ``predicate`` (received earlier or within ``timeout``)."""

    @abc.abstractmethod
    def migrate(
        self, rig: str, *, user: str, role: str | None = None, timeout: float | None = None
    ) -> MigrationResult:
        """Authorise (active) or schedule (dormant) the migration of a rig's installation; wait for it."""

    def inventory(self, device: str, *, user: str) -> dict[str, Any]:
        """The Smart Metering Inventory entry of ``device`` (SRV 8.2)."""
        result = self.submit("8.2", device, {}, user=user)
        return dict(result.result or {})

    # -- optional facilities -------------------------------------------------------------------------------
    def supports(self, facility: str) -> bool:
        """Whether this route offers ``facility`` (:data:`MISUSE`, :data:`TAMPER`, :data:`SECURITY_LOG`).
        None by default: a bridge that only forwards SRVs offers none."""
        return False

    def craft(
        self,
        srv: str,
        device: str,
        params: Mapping[str, Any] | None = None,
        *,
        user: str,
        role: str | None = None,
        misuse: str | None = None,
    ) -> CraftedRequest:
        """A request as ``user`` would send it (with a fresh counter), spoiled as ``misuse`` says (one of
        :data:`MISUSE_KINDS`, or None for a genuine one), not sent. The refusals to expect, in the
        route's codes (the route maps its protocol's own, e.g. DUIS E2/E3/E19, and keeps those beside):
        ``unsigned``, ``corrupt_signature`` and ``tampered`` E8, ``unknown_signer`` E9, a genuine request
        sent again E10.

        Raises :class:`RouteFacilityUnsupported` where :meth:`supports` (:data:`MISUSE`) is False."""
        raise RouteFacilityUnsupported(f"{type(self).__name__} cannot craft misuse")

    def send_crafted(self, request: CraftedRequest, *, timeout: float | None = None) -> SrvResult:
        """Send a :meth:`craft`-ed request exactly as it is (no re-signing on a counter race) and return
        its final result, never raising on an E-code (the caller checks the refusal)."""
        raise RouteFacilityUnsupported(f"{type(self).__name__} cannot craft misuse")

    def tamper_next_instruction(self, device: str, *, kind: str = "signature", count: int = 1) -> None:
        """Spoil the device-level authentication of the next ``count`` Instructions the S1SP sends to
        ``device`` (its EUI-64, or the lab file's ``rig/role``) after the DSP/DCO checks passed, as
        tampering in transit would: ``kind`` ``signature`` (the signature no longer verifies) or
        ``retired_credential`` (signed with a credential the S1SP retired, e.g. the old SMSO's). A
        device must reject such an Instruction (0x8F3D, the route answers E11); one that executes it
        accepts bad signatures. Only Instructions that carry device-level authentication (critical
        commands, migration's commands) consume it.

        Raises :class:`RouteFacilityUnsupported` where :meth:`supports` (:data:`TAMPER`) is False."""
        raise RouteFacilityUnsupported(f"{type(self).__name__} cannot tamper with Instructions")

    def clear_tamper(self, device: str) -> int:
        """Drop the tamper faults still pending for ``device``; returns how many there were."""
        raise RouteFacilityUnsupported(f"{type(self).__name__} cannot tamper with Instructions")

    def set_dcc_status(self, device: str, status: str) -> str:
        """Have the DCC set ``device``'s (EUI-64, or the lab file's ``rig/role``) inventory status to
        ``status`` (one of :data:`DCC_STATUSES`) as the DCC does outside any User's SRV: Suspended when
        the device's model leaves the CPL, Commissioned again when it returns. It lets a pack put a
        device in a status that takes no SRVs where the User interface cannot (DUIS 8.4 sets no
        Suspended) and undo it. Returns the status the inventory now holds.

        Raises :class:`RouteFacilityUnsupported` where :meth:`supports` (:data:`DCC_INVENTORY`) is
        False (a real DSP offers a lab no such call: a DCC operator does it)."""
        raise RouteFacilityUnsupported(f"{type(self).__name__} cannot change the DCC's inventory")

    def security_log(
        self, *, since: datetime | None = None, after: int = 0, timeout: float | None = None
    ) -> list[RouteSecurityEvent]:
        """The route's security log (requests refused at the DSP/DCO gate), oldest first: entries with
        an ``entry_id`` above ``after`` and at or after ``since`` (route clock).

        Raises :class:`RouteFacilityUnsupported` where :meth:`supports` (:data:`SECURITY_LOG`) is False."""
        raise RouteFacilityUnsupported(f"{type(self).__name__} has no readable security log")


#: A freshly signed request refused as a replay (E10) is signed and sent again this many times at most.
COUNTER_RACE_ATTEMPTS = 3


class VirtualServiceRoute(ServiceRoute):
    """The virtual lab's route over any pyserial URL (``virtual://`` resolved through ``endpoints``).

    ``keys_dir`` is where the virtual route wrote the test Users' keys and the S1SP certificate.
    ``control`` is the lab control API's ``host:port`` (default: the one the lab publishes in
    ``endpoints``); without one :meth:`tamper_next_instruction` is unsupported.
    """

    def __init__(
        self,
        url: str,
        keys_dir: Path | str,
        *,
        endpoints: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        poll_s: float = 0.05,
        transcript: Transcript | None = None,
        device: str = "service-route",
        max_payload: int = 1 << 20,
        control: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.control_address = control or control_address(endpoints)
        self.link = Link(url, device=device, timeout=poll_s, transcript=transcript, endpoints=endpoints)
        self.client = ServiceRouteClient(self.link, RouteKeys.load(Path(keys_dir)), max_payload=max_payload)
        self._requests: dict[str, tuple[str, str, list[dict[str, Any]]]] = {}

    @property
    def transcript(self) -> Transcript | None:
        return self.link.transcript

    @transcript.setter
    def transcript(self, value: Transcript | None) -> None:
        self.link.transcript = value

    def open(self) -> VirtualServiceRoute:
        if self.client.welcome is None or not self.link.is_open:
            self.client.connect(self.timeout)
        return self

    def close(self) -> None:
        self.link.close()
        self.client.welcome = None

    def submit(
        self,
        srv: str,
        device: str,
        params: Mapping[str, Any] | None = None,
        *,
        user: str,
        role: str | None = None,
        future_date: datetime | str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        check: bool = True,
    ) -> SrvResult:
        self.open()
        fd = future_date.isoformat() if isinstance(future_date, datetime) else future_date
        limit = self.timeout if timeout is None else timeout
        rid, responses = self._send_signed(
            lambda: self.client.request_message(
                srv, device, dict(params or {}), user=user, role=role, future_date=fd
            ),
            lambda rid: (
                self.client.wait_final(rid, limit) if wait else [self.client.wait_response(rid, limit)]
            ),
        )
        if not wait and not responses[0].get("final", True):
            self._requests[rid] = (srv, device, responses)
        return self._result(srv, device, responses, check)

    def _send_signed(
        self,
        make: Callable[[], dict[str, Any]],
        answers: Callable[[str], list[dict[str, Any]]],
    ) -> tuple[str, list[dict[str, Any]]]:
        """Send a freshly signed message (``make``) and collect its answers; sign anew when it lost a
        counter race. Another process signing as the same User (an xdist worker, another session) sent
        a higher counter first: the DCO refused ours as a replay (E10), so nothing happened."""
        attempt = 1
        while True:
            msg = make()
            self.client.send(msg)
            rid = str(msg["id"])
            responses = answers(rid)
            if responses[0].get("code") != "E10" or attempt == COUNTER_RACE_ATTEMPTS:
                return rid, responses
            if self.transcript is not None:
                self.transcript.note(self.link.device, f"retry {attempt}: {rid} lost a counter race (E10)")
            attempt += 1

    def wait_result(self, request_id: str, *, timeout: float | None = None, check: bool = True) -> SrvResult:
        srv, device, earlier = self._requests.pop(request_id)
        later = self.client.wait_final(request_id, self.timeout if timeout is None else timeout)
        return self._result(srv, device, earlier + later, check)

    def _result(self, srv: str, device: str, responses: list[dict[str, Any]], strict: bool) -> SrvResult:
        if strict:
            check(self.link.device, responses)
        return SrvResult.from_responses(srv, device, responses)

    def wait_alerts(
        self, predicate: Callable[[RouteAlert], bool], timeout: float, *, count: int = 1
    ) -> list[RouteAlert]:
        self.open()
        import time

        deadline = time.monotonic() + timeout
        out: list[RouteAlert] = []
        while len(out) < count:
            message = self.client.wait_alert(
                lambda m: predicate(RouteAlert.from_message(m)), max(0.0, deadline - time.monotonic())
            )
            out.append(RouteAlert.from_message(message))
        return out

    def supports(self, facility: str) -> bool:
        if facility in (TAMPER, DCC_INVENTORY):
            return self.control_address is not None
        return facility in (SECURITY_LOG, MISUSE)

    def craft(
        self,
        srv: str,
        device: str,
        params: Mapping[str, Any] | None = None,
        *,
        user: str,
        role: str | None = None,
        misuse: str | None = None,
    ) -> CraftedRequest:
        """The framed request message (docs/protocols/service-route.md, section 5), spoiled: unsigned
        (no ``sig``), ``corrupt_signature`` (the last byte of ``sig`` flipped), ``tampered`` (``params``
        changed after signing), ``unknown_signer`` (``user`` claims :data:`UNKNOWN_USER`)."""
        if misuse is not None and misuse not in MISUSE_KINDS:
            raise ValueError(f"unknown misuse {misuse!r} (known: {', '.join(MISUSE_KINDS)})")
        msg = self.client.request_message(
            srv, device, dict(params or {}), user=user, role=role, sign=misuse != "unsigned"
        )
        if misuse == "corrupt_signature":
            raw = bytearray(base64.b64decode(msg["sig"]))
            raw[-1] ^= 0x01
            msg = msg | {"sig": base64.b64encode(bytes(raw)).decode()}
        elif misuse == "tampered":
            msg = msg | {"params": {**dict(msg.get("params") or {}), "force": True}}
        elif misuse == "unknown_signer":
            msg = msg | {"user": UNKNOWN_USER}
        return CraftedRequest(str(msg["id"]), srv, device, misuse, msg)

    def send_crafted(self, request: CraftedRequest, *, timeout: float | None = None) -> SrvResult:
        self.open()
        self.client.send(dict(request.wire))
        responses = self.client.wait_final(request.request_id, self.timeout if timeout is None else timeout)
        return SrvResult.from_responses(request.srv, request.device, responses)

    def _control(self) -> LabControlClient:
        """The lab control API's client, for the facilities only a simulated lab offers."""
        if self.control_address is None:
            raise RouteFacilityUnsupported(
                "no lab control API is known to this route (the lab publishes none in its endpoints)"
            )
        return LabControlClient(self.control_address, timeout=self.timeout, device=self.link.device)

    def tamper_next_instruction(self, device: str, *, kind: str = "signature", count: int = 1) -> None:
        control = self._control()
        if kind not in TAMPER_KINDS:
            raise ValueError(f"unknown tamper kind {kind!r} (known: {', '.join(TAMPER_KINDS)})")
        answer = control.call({"op": "tamper", "device": device, "kind": kind, "count": count})
        if self.transcript is not None:
            self.transcript.note(
                self.link.device,
                f"lab fault: the next {count} Instruction(s) to {answer.get('device', device)} tampered "
                f"({kind}); pending {answer.get('pending')}",
            )

    def clear_tamper(self, device: str) -> int:
        answer = self._control().call({"op": "tamper", "device": device, "clear": True})
        return int(answer.get("dropped", 0))

    def set_dcc_status(self, device: str, status: str) -> str:
        """Through the lab control API (``inventory_status``): the virtual lab's S1SP inventory plays the
        DCC's, so the change follows its transition table."""
        control = self._control()
        if status not in DCC_STATUSES:
            raise ValueError(f"the DCC sets no status {status!r} (it sets {', '.join(DCC_STATUSES)})")
        answer = control.call({"op": "inventory_status", "device": device, "status": status})
        if self.transcript is not None:
            self.transcript.note(
                self.link.device,
                f"DCC inventory: {answer.get('device', device)} "
                f"{answer.get('was')} -> {answer.get('status')}",
            )
        return str(answer.get("status"))

    def security_log(
        self, *, since: datetime | None = None, after: int = 0, timeout: float | None = None
    ) -> list[RouteSecurityEvent]:
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        self.open()
        msg: dict[str, Any] = {"type": "security_log", "id": self.client.new_id(), "after": after}
        if since is not None:
            msg["since"] = since.isoformat()
        self.client.send(msg)
        final = self.client.wait_final(msg["id"], self.timeout if timeout is None else timeout)[-1]
        if final.get("code") == "E1" and "unknown message type" in str(final.get("text", "")):
            raise RouteFacilityUnsupported(f"the route has no security log: {final.get('text')}")
        check(self.link.device, [final])
        entries = (final.get("result") or {}).get("entries") or []
        return [RouteSecurityEvent.from_entry(e) for e in entries]

    def migrate(
        self, rig: str, *, user: str, role: str | None = None, timeout: float | None = None
    ) -> MigrationResult:
        self.open()
        limit = self.timeout if timeout is None else timeout
        _, responses = self._send_signed(
            lambda: self.client.migrate_message(rig, user=user, role=role),
            lambda rid: self.client.wait_final(rid, limit),
        )
        final = check(self.link.device, responses)
        r = dict(final.get("result") or {})
        return MigrationResult(
            rig=str(r.get("rig", rig)),
            outcome=str(r.get("outcome")),
            category=r.get("category"),
            attempts=int(r.get("attempts", 0)),
            statuses={str(k): str(v) for k, v in dict(r.get("statuses") or {}).items()},
            notifications=tuple(r.get("notifications") or ()),
            raw=final,
        )


RouteFactory = Callable[..., ServiceRoute]


def load_route(kind: str, **config: Any) -> ServiceRoute:
    """A route of ``kind``: an entry point of group ``dmct.routes`` with that name, else the built-in
    ``"virtual"`` (:class:`VirtualServiceRoute`, config ``url``, ``keys_dir``, ``endpoints`` ...)."""
    for ep in importlib.metadata.entry_points(group=ROUTE_ENTRY_POINT_GROUP):
        if ep.name == kind:
            factory: RouteFactory = ep.load()
            route = factory(**config)
            if not isinstance(route, ServiceRoute):
                raise TypeError(f"entry point {ep.value} did not build a ServiceRoute")
            return route
    if kind == "virtual":
        return VirtualServiceRoute(**config)
    known = sorted(
        {"virtual", *(ep.name for ep in importlib.metadata.entry_points(group=ROUTE_ENTRY_POINT_GROUP))}
    )
    raise LookupError(f"no service route kind {kind!r} (known: {', '.join(known)})")


__all__ = [
    "DCC_INVENTORY",
    "DCC_STATUSES",
    "DCO_REFUSAL_CODES",
    "MISUSE",
    "MISUSE_KINDS",
    "ROUTE_ENTRY_POINT_GROUP",
    "SECURITY_LOG",
    "TAMPER",
    "TAMPER_KINDS",
    "UNKNOWN_USER",
    "CraftedRequest",
    "MigrationResult",
    "RouteAlert",
    "RouteCannotExpress",
    "RouteError",
    "RouteFacilityUnsupported",
    "RouteSecurityEvent",
    "ServiceRoute",
    "SrvResult",
    "VirtualServiceRoute",
    "load_route",
]
