"""The virtual DSP: DUIS over HTTP in front of the virtual S1SP.

A request's path (DCC Boxed's endpoints: ``POST /api/v1/serviceS`` send command, ``/serviceD``
non-device, ``/serviceT`` transform; ``Content-Type: application/xml``):

1. parse (no DTD) and validate against the DUIS XSD — not XML or XSD-invalid: HTTP 400 and ``E1``;
2. translate the body to the S1SP's request (:mod:`.translate`);
3. hand it to :meth:`S1spService.handle` with this DSP's own authenticator, so every check of the
   framed route runs in the same order (unknown SRV, not SMETS1, unknown device, then the DSP/DCO
   gate — here: the XML signature against the trust store, the signer being the RequestID's
   originator, the RequestID counter strictly increasing per User — then role, parameters, firmware
   and inventory status), the refusals being logged and alerted (DCC alert) as on the framed route;
4. answer synchronously: the DUIS code of a refusal, else the acknowledgement ``I99``;
5. post each outcome asynchronously to the User's receive endpoint as a DSP-signed DUIS response
   carrying the S1SP-signed SMETS1 response; alerts likewise. Posts are retried with exponential
   backoff (tenacity) while the endpoint is unreachable or answers 5xx; a 4xx is the User refusing
   the message and is not retried (DCC Boxed expects 2xx for a valid message, 4xx otherwise).

DUIS signs every Service Request: unlike the framed route, an unsigned non-critical request is refused.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from lxml import etree
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt, wait_exponential

from labs.virtual.s1sp.keys import TrustedUser
from labs.virtual.s1sp.service import S1spService
from labs.virtual.s1sp.wire import WireError

from . import responses as R
from .codes import duis_code
from .translate import DuisRequest, TranslationError, translate
from .xmlsig import Schema, SignatureError, SigningKey, TrustStore, XmlError, parse, sign, to_bytes, verify

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
#: The DSP's own EUI-64 (DCC Boxed's DSP), originator of DCC alerts.
DSP_ID = "90-B3-D5-1F-30-00-00-02"
ENDPOINTS = ("serviceS", "serviceD", "serviceT")
#: The longest request id the S1SP takes (docs/protocols/service-route.md).
MAX_S1SP_ID = 64


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    initial_s: float = 0.2
    max_s: float = 10.0


@dataclass
class DspConfig:
    schema: Schema
    trust: TrustStore
    #: Signs what the DSP posts (outer signature).
    dsp_signer: SigningKey
    #: Signs the inner SMETS1 responses and S1SP alerts.
    s1sp_signer: SigningKey
    #: The User's receive endpoint (one for every User, as DCC Boxed configures it); None: keep only.
    receive_url: str | None = None
    #: Who gets alerts that no request of a User caused (the first trusted User by default).
    alert_user: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: DCC alert code for S1SP alerts (the XSD names none for them: an assumption, AD1).
    s1sp_alert_code: str = "AD1"
    max_body: int = 1 << 20
    dsp_id: str = DSP_ID


@dataclass
class Delivery:
    """One asynchronous message and what became of it (for logs and tests)."""

    kind: str  # response | device_alert | dcc_alert
    request_id: str | None
    xml: bytes
    status: int | None = None
    attempts: int = 0
    error: str | None = None


class _Retry(Exception):
    """A post to retry (unreachable, timed out or 5xx)."""


class VirtualDsp:
    def __init__(self, service: S1spService, config: DspConfig) -> None:
        self.service = service
        self.config = config
        #: Last RequestID counter seen per originator (DUIS anti-replay; the DSP's own, not the
        #: framed route's, whose counters are small integers).
        self.counters: dict[str, int] = {}
        self.requests: dict[str, DuisRequest] = {}
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(1)
        self._counter = itertools.count(int(time.time() * 1000))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        service.subscribers.add(self._on_alert)

    # -- HTTP ------------------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body)
        for name in ENDPOINTS:
            app.router.add_post(f"/api/v1/{name}", self._http)
        return app

    async def _http(self, request: web.Request) -> web.Response:
        endpoint = request.path.rsplit("/", 1)[-1]
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise
        status, body = await self.submit(data, endpoint)
        return web.Response(status=status, body=body, content_type="application/xml")

    async def submit(self, data: bytes, endpoint: str = "serviceS") -> tuple[int, bytes]:
        """Answer one posted request: (HTTP status, synchronous DUIS response)."""
        now = self.service.clock.now()
        try:
            root = parse(data)
            self.config.schema.check(root)
        except XmlError as exc:
            log.warning("DSP: refused a request: %s", exc)
            return 400, to_bytes(R.synchronous(duis_code("E1"), now, None, None))
        try:
            req = translate(root, self.device_type)
        except TranslationError as exc:
            log.warning("DSP: refused a request: %s", exc)
            rid = root.findtext("{*}Header/{*}RequestID")
            srv = root.findtext("{*}Header/{*}ServiceReferenceVariant")
            return 200, to_bytes(R.synchronous(duis_code(exc.code), now, rid, srv))
        if endpoint == "serviceT":  # no GBCS pre-command to transform for a SMETS1 device
            return 200, to_bytes(R.synchronous(duis_code("E2"), now, req.request_id, req.srv))
        code = await self._execute(root, req)
        return 200, to_bytes(R.synchronous(duis_code(code), now, req.request_id, req.srv))

    def device_type(self, device_id: str) -> str | None:
        """A device's type in the DSP's inventory (``ESME``, ``GSME``, ...), None when unknown."""
        entry = self.service.inventory.entries.get(device_id.upper())
        return entry.device_type if entry is not None else None

    # -- the S1SP --------------------------------------------------------------------------------------------
    def authenticator(self, root: etree._Element, req: DuisRequest) -> Callable[[bool, bool], TrustedUser]:
        def authenticate(required: bool, check: bool) -> TrustedUser:
            users = {t.user_id: t for t in self.config.trust.by_serial.values()}
            if not check:
                known = users.get(req.originator)
                if known is None:
                    raise WireError("E9", f"unknown User {req.originator}")
                return _trusted(known.user_id, known.roles, known.cert)
            try:
                signer = verify(root, self.config.trust)
            except SignatureError as exc:
                raise WireError("E9" if exc.unknown_signer else "E8", str(exc)) from None
            if signer.user_id != req.originator:
                raise WireError("E8", f"signed by {signer.user_id}, but the RequestID names {req.originator}")
            last = self.counters.get(signer.user_id, -1)
            if req.counter <= last:
                raise WireError("E10", f"counter {req.counter} is not greater than {last}")
            self.counters[signer.user_id] = req.counter
            return _trusted(signer.user_id, signer.roles, signer.cert)

        return authenticate

    async def _execute(self, root: etree._Element, req: DuisRequest) -> str:
        """Run the request through the S1SP; the code to answer synchronously (I99 once accepted)."""
        # The S1SP knows the request by its DUIS RequestID (its security log and alerts name what the User
        # sent); one longer than the S1SP's 64 characters gets a DSP-internal id.
        rid = req.request_id
        internal = rid if 1 <= len(rid) <= MAX_S1SP_ID else f"duis-{next(self._ids)}"
        self.requests[internal] = req
        msg: dict[str, Any] = {
            "type": "request",
            "id": internal,
            "srv": req.srv,
            "device": req.device,
            "user": req.originator,
            "params": req.params,
        }
        if req.future_date is not None:
            msg["future_date"] = req.future_date
        early: list[dict[str, Any]] = []
        acked = False

        def reply(message: dict[str, Any]) -> None:
            if not acked:
                early.append(message)
            else:
                self._respond(req, message)

        task = asyncio.get_running_loop().create_task(
            self.service.handle(msg, reply, authenticator=self.authenticator(root, req))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.sleep(0)  # the checks run before the request's first real wait
        acked = True
        if early and str(early[0]["code"]).startswith("E"):
            for later in early[1:]:
                self._respond(req, later)
            return str(early[0]["code"])
        for message in early:
            self._respond(req, message)
        return "I99"

    def _respond(self, req: DuisRequest, message: dict[str, Any]) -> None:
        if not message.get("final", True):  # an interim I99 (GSME queue, DSP-held): nothing to post
            return
        at = self.service.clock.now()
        outcome = {k: v for k, v in message.items() if k != "sig"} | {"request_id": req.request_id}
        schedule = message.get("schedule_id")
        counter = req.counter if schedule is None else next(self._counter)
        inner = R.smets1_inner(
            device=req.device, user=req.originator, counter=counter, srv=req.srv, at=at, outcome=outcome
        )
        outer = R.smets1_response(
            duis_code(str(message["code"])),
            at,
            request_id=req.request_id,
            response_id=f"{req.device}:{req.originator}:{counter}",
            srv=req.srv,
            inner_signed=sign(inner, self.config.s1sp_signer),
            schedule_id=int(str(schedule)[1:])
            if isinstance(schedule, str) and schedule[1:].isdigit()
            else None,
        )
        self._post("response", req.request_id, outer)

    def _on_alert(self, alert: dict[str, Any]) -> None:
        """Every alert the S1SP broadcasts, as a DUIS Device Alert or DCC Alert to the User."""
        try:
            self._alert(alert)
        except Exception:  # an alert that cannot be expressed must not break the S1SP's broadcast
            log.exception("DSP: could not forward alert %s", alert.get("alert_id"))

    def _alert(self, alert: dict[str, Any]) -> None:
        at = self.service.clock.now()
        req = self.requests.get(str(alert.get("request_id")))
        user = req.originator if req else self.config.alert_user or _first_user(self.config.trust)
        device = alert.get("device") if isinstance(alert.get("device"), str) else None
        outcome = {k: v for k, v in alert.items() if k != "sig"}
        if req is not None:
            outcome["request_id"] = req.request_id
        counter = next(self._counter)
        if alert.get("kind") == "device" and device is not None:
            hex_code = str(alert.get("code", "")).removeprefix("0x").upper()
            inner = R.smets1_inner(
                device=device,
                user=user,
                counter=counter,
                srv=None,
                at=at,
                outcome=outcome,
                alert=(hex_code, str(alert.get("name", ""))),
            )
            outer = R.smets1_response(
                "I0",
                at,
                request_id=None,
                response_id=f"{device}:{user}:{counter}",
                srv=None,
                inner_signed=sign(inner, self.config.s1sp_signer),
            )
            self._post("device_alert", req.request_id if req else None, outer)
            return
        code = str(alert.get("code", ""))
        dcc_code = (
            code if alert.get("kind") == "dcc" and code in R.DCC_ALERT_CODES else self.config.s1sp_alert_code
        )
        utrn = alert.get("utrn")
        inner = R.s1sp_alert(
            at,
            request_id=req.request_id if req else None,
            device=device,
            alert_code=code,
            details=outcome,
            utrn=utrn if isinstance(utrn, str) and len(utrn) == 20 and utrn.isdigit() else None,
        )
        outer = R.dcc_alert(
            dcc_code,
            at,
            response_id=f"{self.config.dsp_id}:{user}:{counter}",
            inner_signed=sign(inner, self.config.s1sp_signer),
        )
        self._post("dcc_alert", req.request_id if req else None, outer)

    # -- posting ---------------------------------------------------------------------------------------------
    def _post(self, kind: str, request_id: str | None, root: etree._Element) -> None:
        signed = sign(root, self.config.dsp_signer)
        try:
            self.config.schema.check(signed)
        except XmlError as exc:  # a DSP bug: say so loudly, still send (the User will refuse it)
            log.error("DSP: an outgoing %s is not XSD-valid: %s", kind, exc)
        delivery = Delivery(kind, request_id, to_bytes(signed))
        self.deliveries.append(delivery)
        del self.deliveries[:-1000]
        if self.config.receive_url is None:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, self.config.receive_url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery, url: str) -> None:
        policy = self.config.retry
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        session = self._session
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(policy.attempts),
                wait=wait_exponential(multiplier=policy.initial_s, max=policy.max_s),
                retry=retry_if_exception_type(_Retry),
            ):
                with attempt:
                    delivery.attempts += 1
                    try:
                        async with session.post(
                            url, data=delivery.xml, headers={"Content-Type": "application/xml"}
                        ) as answer:
                            delivery.status = answer.status
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        delivery.error = f"{type(exc).__name__}: {exc}"
                        raise _Retry() from exc
                    if answer.status >= 500:
                        raise _Retry()
        except RetryError:
            log.warning(
                "DSP: gave up posting a %s for %s after %d attempts (%s)",
                delivery.kind,
                delivery.request_id,
                delivery.attempts,
                delivery.error or delivery.status,
            )
            return
        if delivery.status is not None and delivery.status >= 400:
            log.warning(
                "DSP: the User refused a %s for %s (HTTP %d)",
                delivery.kind,
                delivery.request_id,
                delivery.status,
            )

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every request and post in flight has finished (tests, shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(
                set(self._tasks), timeout=max(0.0, deadline - asyncio.get_running_loop().time())
            )

    async def close(self) -> None:
        self.service.subscribers.discard(self._on_alert)
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()


def _trusted(user_id: str, roles: frozenset[str], cert: Any) -> TrustedUser:
    return TrustedUser(user_id, roles, cert.public_key())


def _first_user(trust: TrustStore) -> str:
    return next(iter(trust.by_serial.values())).user_id if trust.by_serial else DSP_ID


async def serve_dsp(dsp: VirtualDsp, host: str = HOST, port: int = 0) -> asyncio.Server:
    """Listen on loopback (an OS-chosen port by default); the S1SP's housekeeping is started too."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the virtual DSP listens on loopback only")
    dsp.service.start()
    runner = web.AppRunner(dsp.app(), access_log=None)
    await runner.setup()
    assert runner.server is not None  # set by setup()
    return await asyncio.get_running_loop().create_server(runner.server, host, port)
