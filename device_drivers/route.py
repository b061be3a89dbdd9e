"""The service route as the packs see it: an interface, the virtual route, and a plug-in point.

Packs talk to "the route" — the path from a DCC User through the DSP/DCO and the S1SP to the devices —
only through :class:`ServiceRoute`. The virtual lab's route (:class:`VirtualServiceRoute`, the framed
protocol of ``docs/protocols/service-route.md``) is one implementation; a lab with its own bridge to a
real or test S1SP registers another under the ``dmct.routes`` entry-point group and names it in its
lab file, without editing the harness::

    [project.entry-points."dmct.routes"]
    acme = "acme_bridge:AcmeRoute"      # a ServiceRoute subclass (or factory) taking **config

``load_route(kind, **config)`` finds it; ``"virtual"`` is built in.
"""

from __future__ import annotations

import abc
import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from device_drivers.links import Link
from device_drivers.protocols.service_route import RouteError, RouteKeys, ServiceRouteClient, check
from device_drivers.transcript import Transcript

ROUTE_ENTRY_POINT_GROUP = "dmct.routes"


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


#: A freshly signed request refused as a replay (E10) is signed and sent again this many times at most.
COUNTER_RACE_ATTEMPTS = 3


class VirtualServiceRoute(ServiceRoute):
    """The virtual lab's route over any pyserial URL (``virtual://`` resolved through ``endpoints``).

    ``keys_dir`` is where the virtual route wrote the test Users' keys and the S1SP certificate.
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
    ) -> None:
        self.timeout = timeout
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
        for attempt in range(1, COUNTER_RACE_ATTEMPTS + 1):
            msg = self.client.request_message(
                srv, device, dict(params or {}), user=user, role=role, future_date=fd
            )
            self.client.send(msg)
            rid = msg["id"]
            if wait:
                responses = self.client.wait_final(rid, limit)
            else:
                responses = [self.client.wait_response(rid, limit)]
            if responses[0].get("code") != "E10" or attempt == COUNTER_RACE_ATTEMPTS:
                break
            # Another process signing as the same User (an xdist worker, another session) sent a
            # higher counter first: the DCO refused ours as a replay, so nothing happened. Sign anew.
            if self.transcript is not None:
                self.transcript.note(self.link.device, f"retry {attempt}: {rid} lost a counter race (E10)")
        if not wait and not responses[0].get("final", True):
            self._requests[rid] = (srv, device, responses)
        return self._result(srv, device, responses, check)

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

    def migrate(
        self, rig: str, *, user: str, role: str | None = None, timeout: float | None = None
    ) -> MigrationResult:
        self.open()
        msg = self.client.migrate_message(rig, user=user, role=role)
        self.client.send(msg)
        responses = self.client.wait_final(msg["id"], self.timeout if timeout is None else timeout)
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
    "ROUTE_ENTRY_POINT_GROUP",
    "MigrationResult",
    "RouteAlert",
    "RouteError",
    "ServiceRoute",
    "SrvResult",
    "VirtualServiceRoute",
    "load_route",
]
