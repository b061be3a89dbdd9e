"""The ``duis`` service route: the packs' SRVs as signed DUIS requests to a DSP (DCC Boxed or virtual).

A request is built (:mod:`.requests`), signed with the User's key and certificate from the lab file,
posted to the DSP (``/api/v1/serviceS`` for device commands, ``serviceD`` for DSP-only services; HTTP or
HTTPS with a client certificate), and its synchronous answer read: ``I99`` (the result follows to the
receive endpoint), ``I0`` with a body (non-device) or an E-code. Results and alerts arrive at the
route's own receive endpoint (:mod:`.receiver`), are checked there and correlated here by RequestID.

Lab file (``route: {kind: duis, url: <DSP base URL>, duis: {...}}``, see docs/protocols/duis.md)::

    route:
      kind: duis
      url: "https://dsp.example:8443"
      duis:
        xsd: /opt/dcc/duis/DUIS Schema V5.1.xsd
        receive: "0.0.0.0:8080/duis"
        users:
          - {name: supplier, role: IS, eui: "90-B3-D5-1F-30-01-00-00", key: keys/sup.key, cert: keys/sup.pem}
        dsp_certs: [keys/dsp.pem]
        s1sp_certs: [keys/s1sp.pem]
        tls: {client_cert: keys/tls.pem, client_key: keys/tls.key, ca: keys/dsp-ca.pem}
        migration: {kind: virtual, url: "virtual://lab/route/s1sp"}

Migration is not a DUIS service: :meth:`DuisRoute.migrate` hands it to the migration route named in
``migration`` (any ``dmct.routes`` kind; the virtual lab offers its own).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from lxml import etree

from device_drivers.duis import catalogue, requests, responses, signing, xsd
from device_drivers.duis import misuse as misuse_of
from device_drivers.duis.codes import refusal_of_given, route_code
from device_drivers.duis.counters import CounterStore
from device_drivers.duis.ids import eui
from device_drivers.duis.receiver import Checker, Receiver, Spool, safe_parser
from device_drivers.duis.responses import DuisMessage
from device_drivers.duis.results import pack_result
from device_drivers.errors import InfrastructureFault, LinkDown, LinkTimeout
from device_drivers.links import resolve_url
from device_drivers.protocols.service_route import RouteError, check
from device_drivers.route import (
    DCC_INVENTORY,
    MISUSE,
    MISUSE_KINDS,
    SECURITY_LOG,
    TAMPER,
    UNKNOWN_USER,
    CraftedRequest,
    MigrationResult,
    RouteAlert,
    RouteCannotExpress,
    RouteFacilityUnsupported,
    RouteSecurityEvent,
    ServiceRoute,
    SrvResult,
    load_route,
)

DEVICE = "duis-route"
#: Device types (lab file roles) whose bodies take the gas branch.
GAS_ROLES = frozenset({"gsme", "GSME"})
#: Log reads without a period in the packs read this far back (DUIS needs a period).
WHOLE_LOG = ("2000-01-01T00:00:00+00:00", "2099-12-31T23:59:59+00:00")
RESULT_KINDS = (responses.RESPONSE, responses.SMETS1_RESPONSE)
#: The DUIS code of a request whose RequestID counter is not above the last the DSP saw for the User
#: (two xdist workers signing as one User race between taking a counter and posting): signed anew.
REPLAY = "E19"
#: The supplier role a request to a device of this type is made in (SEC: Import Supplier for
#: electricity, Gas Supplier for gas), for a User ID holding both.
SUPPLIER_ROLE_BY_DEVICE = {"esme": "IS", "gsme": "GS"}
REPLAY_RETRIES = 5


@dataclass(frozen=True)
class User:
    name: str
    role: str  # the User Role of this User ID ("" when the lab lists several in ``roles`` or none)
    eui: str
    key: Any
    cert: Any
    roles: tuple[str, ...] = ()

    def holds(self, role: str | None) -> bool:
        """Whether this User ID may act in ``role``. DUIS requests carry no role: the DSP knows the
        User ID's roles, so a role the User ID does not hold cannot be asked for (no request is sent)."""
        if role is None or self.role == role or role in self.roles:
            return True
        return not self.role and not self.roles

    def held(self) -> tuple[str, ...]:
        """The User Roles of this User ID as the lab file lists them (``roles``, else ``role``)."""
        return self.roles or ((self.role,) if self.role else ())


@dataclass
class DuisSettings:
    """The ``duis:`` section of a lab file's route (validated by harness.lab.inventory)."""

    xsd: str | None = None
    receive: str = "127.0.0.1:0/duis"
    users: list[dict[str, Any]] = field(default_factory=list)
    dsp_certs: list[str] = field(default_factory=list)
    s1sp_certs: list[str] = field(default_factory=list)
    tls: dict[str, str] = field(default_factory=dict)
    migration: dict[str, Any] | None = None
    counter_dir: str | None = None
    spool_dir: str | None = None
    max_body: int = 1 << 20
    read_timeout_s: float = 5.0
    poll_s: float = 0.02
    base_dir: str = "."

    def path(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else Path(self.base_dir) / q


def parse_bind(text: str) -> tuple[str, int, str]:
    """``host:port/path`` -> (host, port, path)."""
    hostport, _, path = text.partition("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"receive must be host:port/path, got {text!r}")
    return host, int(port), "/" + path


class DuisRoute(ServiceRoute):
    def __init__(
        self,
        url: str,
        keys_dir: Path | str | None = None,
        *,
        duis: Mapping[str, Any] | None = None,
        virtual_dsp: Mapping[str, Any] | None = None,
        device_types: Mapping[str, str] | None = None,
        endpoints: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        **_ignored: Any,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.endpoints = dict(endpoints or {})
        self.keys_dir = keys_dir
        config = dict(duis or {})
        if virtual_dsp is not None:  # a virtual lab: what the lab publishes fills what the file leaves out
            config = {**virtual_lab_settings(Path(keys_dir) if keys_dir else None, virtual_dsp), **config}
        self.settings = DuisSettings(**config)
        s = self.settings
        self.device_types = {eui(k): v for k, v in dict(device_types or {}).items()}
        self.users = [self._user(u) for u in s.users]
        if not self.users:
            raise ValueError("duis route: the lab file names no users (route.duis.users)")
        self.dsp_trust = signing.TrustStore(signing.load_certs(s.path(p) for p in s.dsp_certs))
        if not len(self.dsp_trust):
            raise ValueError("duis route: no DSP certificate to verify responses (route.duis.dsp_certs)")
        self.s1sp_trust = (
            signing.TrustStore(signing.load_certs(s.path(p) for p in s.s1sp_certs)) if s.s1sp_certs else None
        )
        self.xsd_path = str(s.path(s.xsd)) if s.xsd else None
        if self.xsd_path:
            xsd.schema(self.xsd_path)  # fail at set-up, naming the path, not at the first request
        self.counters = CounterStore(s.counter_dir)
        host, port, path = parse_bind(s.receive)
        spool_dir = (
            Path(s.spool_dir) if s.spool_dir else self.counters.directory.parent / f"duis-spool-{port}"
        )
        self.spool = Spool(spool_dir)
        self.spool.prune(older_than_s=86400)
        self.receiver = Receiver(
            Checker(self.dsp_trust, self.s1sp_trust, self.xsd_path, self.spool.known),
            self.spool, host=host, port=port, path=path, max_body=s.max_body, read_timeout_s=s.read_timeout_s,
            on_message=lambda _m: self._arrived.set(),
        )  # fmt: skip
        self._t0 = time.time_ns()
        self._arrived = threading.Event()  # set by this process's endpoint; other workers' land in the spool
        self._seen: set[str] = set()
        self._messages: list[DuisMessage] = []
        self._lock = threading.Lock()
        self._taken_alerts: set[int] = set()
        self._requests: dict[str, tuple[str, str]] = {}
        self._sent: set[str] = set()
        self._firmware: dict[str, dict[str, Any]] = {}
        self._migration: ServiceRoute | None = None
        self._ssl = self._ssl_context()

    # -- set-up -----------------------------------------------------------------------------------------
    def _user(self, u: Mapping[str, Any]) -> User:
        try:
            key = signing.load_key(self.settings.path(u["key"]).read_bytes())
            cert = signing.load_cert(self.settings.path(u["cert"]).read_bytes())
            roles = tuple(str(r) for r in (u.get("roles") or ()))
            return User(str(u["name"]), str(u.get("role", "")), eui(str(u["eui"])), key, cert, roles)
        except KeyError as exc:
            raise ValueError(f"duis route: a user lacks {exc.args[0]!r}") from None

    @property
    def base_url(self) -> str:
        """The DSP's URL (a virtual lab's ``virtual://`` resolved through its endpoints file)."""
        return resolve_url(self.url, self.endpoints, DEVICE).rstrip("/")

    def _ssl_context(self) -> ssl.SSLContext | None:
        tls = self.settings.tls
        if not self.url.startswith("https://"):
            return None
        ctx = ssl.create_default_context(cafile=str(self.settings.path(tls["ca"])) if tls.get("ca") else None)
        if tls.get("client_cert"):
            ctx.load_cert_chain(
                str(self.settings.path(tls["client_cert"])),
                str(self.settings.path(tls["client_key"])) if tls.get("client_key") else None,
            )
        return ctx

    def open(self) -> DuisRoute:
        self.receiver.try_bind()
        return self

    def close(self) -> None:
        self.receiver.close()
        if self._migration is not None:
            self._migration.close()

    def user(self, name: str, role: str | None, device: str | None = None) -> User:
        """The User ID that signs. A DUIS request names no role: the DSP acts in the User ID's. The DCC
        issues a User ID per User Role, so the lab file may list several under one ``name`` (each with
        its ``role``): a request made in a stated role goes under the User ID issued for that role; one
        in no stated role under a User ID holding the role its target calls for (a supplier's IS for an
        electricity meter, GS for a gas meter). A User ID holding several roles acts, at the DSP, in the
        one its target calls for, so asking it for another cannot be said (:class:`RouteCannotExpress`)
        unless the lab lists a User ID of that role alone."""
        named = [u for u in self.users if u.name == name or u.eui == _maybe_eui(name)]  # name or User ID
        kind = self.device_types.get(eui(device), "").lower() if device and _maybe_eui(device) else ""
        implied = SUPPLIER_ROLE_BY_DEVICE.get(kind)
        if role is not None:
            own = [u for u in named if u.held() == (role,)]
            if own:
                return own[0]
        multi = [u for u in named if role is not None and role in u.roles and len(u.roles) > 1]
        if multi and implied in multi[0].roles and role != implied:
            raise RouteCannotExpress(
                f"User {name!r} ({multi[0].eui}) holds roles {', '.join(multi[0].roles)} and a DUIS request"
                f" names none: to the {kind} the DSP acts as {implied}, not {role}",
                route="duis",
            )
        holding = [u for u in named if u.holds(role)]
        if role is None and implied is not None:  # stable: a User ID holding the implied role first
            holding.sort(key=lambda u: implied not in u.held())
        if holding:
            return holding[0]
        if named:  # DUIS carries no role: acting in one the User ID does not hold cannot be said
            raise RouteCannotExpress(
                f"User {name!r} ({named[0].eui}) does not hold role {role} and a DUIS request names none",
                route="duis",
            )
        raise ValueError(
            f"duis route: no user {name!r}" + (f" in role {role}" if role else "") + " in the lab file"
        )

    # -- requests ----------------------------------------------------------------------------------------
    def fill(self, srv: str, device: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """What DUIS needs and the packs leave to the route: log periods, the clock, the join partner."""
        p = dict(params)
        now = datetime.now(UTC).replace(microsecond=0)
        if srv in ("4.4.2", "4.6.1", "4.8.1", "6.13"):  # the packs read the whole log
            p.setdefault("from", WHOLE_LOG[0])
            p.setdefault("to", WHOLE_LOG[1])
        if srv == "6.11":
            p.setdefault("now", now.isoformat())
        if srv == "11.1":  # 11.3 activates what 11.1 sent: DUIS names it by the image's hash
            self._firmware[eui(device)] = {k: p[k] for k in ("version", "image_model", "image") if k in p}
        if srv == "11.3" and "firmware_hash" not in p and "version" not in p:
            sent = self._firmware.get(eui(device))
            if sent is not None:
                p.update(sent)
            else:  # no 11.1 from this route: the hash of no image (a DSP that checks it refuses, visibly)
                p["firmware_hash"] = hashlib.sha256(b"").hexdigest()
        if srv == "8.4" and "status" in p and "device_type" not in p and eui(device) in self.device_types:
            p["device_type"] = self.device_types[eui(device)]  # CH or not decides the DUIS element
        if srv in ("8.7.2", "8.8.2") and "other" not in p:
            ch = next((e for e, t in self.device_types.items() if t.lower() in ("ch", "chf")), None)
            if ch is not None:
                p["other"] = ch
        return p

    def complete(
        self, srv: str, device: str, params: dict[str, Any], signer: User, *, user: str, role: str | None
    ) -> dict[str, Any]:
        """Fields DUIS requires that the packs leave out and only the device knows: read them first.

        2.1 carries the whole prepayment configuration (the packs change one threshold): the others
        come from 4.13. 1.2.1 carries a standing charge (the packs may change only the prices): the
        meter's, from 4.11.1. 2.3 sets all three debt registers: those not named, from 4.3. 6.23 names
        the device's MPxN: from 6.2.7. 6.15.1/6.23 carry the replacement
        certificate: the packs name none, so the signing User's own certificate stands in (a lab
        replacing real credentials passes ``certificate`` and ``certification_path``)."""
        if srv == "2.1" and any(params.get(k) is None for k in requests.PREPAY_FIELDS):
            current = self.submit("4.13", device, user=user, role=role).result or {}
            known = {k: current[k] for k in requests.PREPAY_FIELDS if isinstance(current.get(k), int | float)}
            params = {**known, **{k: v for k, v in params.items() if v is not None}}
        if srv == "1.2.1" and params.get("standing_charge") is None:  # DUIS requires one: keep the meter's
            read = self.submit("4.11.1", device, user=user, role=role, check=False)
            current = (read.result or {}).get("standing_charge") if read.ok else None
            if not isinstance(current, int | float):
                raise requests.RequestBuildError(
                    "SRV 1.2.1: DUIS needs the standing charge and the meter's could not be read (4.11.1)"
                )
            params["standing_charge"] = current
        if srv == "2.3":  # DUIS sets all three debt registers: the ones the packs leave out, as they are
            named = {str(d.get("name")) for d in params.get("debts") or () if isinstance(d, Mapping)}
            if set(requests.DEBT_REGISTERS) - named:
                read = self.submit("4.3", device, user=user, role=role, check=False)
                current = (read.result or {}).get("debts") if read.ok else None
                have = current if isinstance(current, dict) else {}
                keep = [(n, v) for n, v in have.items() if n not in named and isinstance(v, list) and v]
                params["debts"] = [
                    *(params.get("debts") or ()),
                    *({"name": n, "amount": v[0], "rate": v[1] if len(v) > 1 else 0}
                      for n, v in keep if n in requests.DEBT_REGISTERS),
                ]  # fmt: skip
        if srv in ("6.15.1", "6.15.2", "6.23") and "certificate" not in params:
            der = base64.b64encode(signer.cert.public_bytes(serialization.Encoding.DER)).decode()
            own: dict[str, Any] = {"certificate": der}
            if srv != "6.15.2":  # 6.15.2 carries the device's certificate alone
                own["certification_path"] = [der]
            params = {**own, **params}
        if srv == "6.23" and params.get("new_supplier") is not None:  # DUIS: the requester is the new one
            new = str(params.pop("new_supplier"))
            if new not in (signer.name, signer.eui) and _maybe_eui(new) != signer.eui:
                raise requests.RequestBuildError(
                    f"SRV 6.23: the new supplier is the User sending the request ({signer.eui}), not {new}"
                )
        if srv == "6.23" and "mpxn" not in params:
            read = self.submit("6.2.7", device, user=user, role=role, check=False)
            mpxn = (read.result or {}).get("mpxn") if read.ok else None
            params["mpxn"] = str(mpxn) if mpxn else "0"
        return params

    def build(
        self, srv: str, device: str, params: Mapping[str, Any], user: User, future_date: datetime | None
    ) -> tuple[str, bytes, str]:
        """(RequestID, signed XML, endpoint) of one request."""
        root, endpoint = self.unsigned(srv, device, params, user.eui, future_date)
        signed = signing.sign(root, user.key, user.cert)
        return _request_id(signed), requests.to_bytes(signed), endpoint

    def unsigned(
        self, srv: str, device: str, params: Mapping[str, Any], originator: str, future_date: datetime | None
    ) -> tuple[etree._Element, str]:
        """The request from ``originator`` with a fresh counter, XSD-checked, not yet signed; its endpoint."""
        root, endpoint, _ = self._unsigned(srv, device, params, originator, future_date, as_given=False)
        return root, endpoint

    def _unsigned(
        self,
        srv: str,
        device: str,
        params: Mapping[str, Any],
        originator: str,
        future_date: datetime | None,
        *,
        as_given: bool,
    ) -> tuple[etree._Element, str, requests.AsGiven | None]:
        """The request, its endpoint and, ``as_given``, what the client-side checks refused in it.

        Checked, a value DUIS does not allow raises :class:`requests.RequestBuildError`. ``as_given``,
        a value the SRV does not allow (a negative test's malformed parameter, an SRV DUIS does not
        define) is written as given and sent: the DSP refuses it (docs/protocols/duis.md, "Requests
        DUIS does not allow"); what DUIS has no form for even though the SRV allows it still raises."""
        target = eui(device)
        fuel = requests.GAS if self.device_types.get(target) in GAS_ROLES else requests.ELECTRICITY
        counter = self.counters.next(originator)
        p = self.fill(srv, device, params)
        given: requests.AsGiven | None = None
        if as_given:
            given = requests.build_as_given(
                srv, originator=originator, target=target, counter=counter, params=p, fuel=fuel,
                future_date=future_date,
            )  # fmt: skip
            root = given.root
        else:
            root = requests.build_request(
                srv, originator=originator, target=target, counter=counter, params=p, fuel=fuel,
                future_date=future_date,
            )  # fmt: skip
        known = catalogue.SRVS.get(srv)
        endpoint = known.endpoint if known is not None else catalogue.SEND_COMMAND
        if self.xsd_path:  # a body the DSP would refuse is the harness's fault: say so here, not as E1
            problems = xsd.errors(xsd.schema(self.xsd_path), root)
            if problems and not (given is not None and given.refused):
                raise requests.RequestBuildError(
                    f"SRV {srv}: request not valid against the DUIS XSD: {problems[0]}"
                )
        return root, endpoint, given

    def post(self, endpoint: str, body: bytes) -> DuisMessage:
        """POST a signed request; the DSP's synchronous answer (verified and parsed)."""
        req = urllib.request.Request(
            self.base_url + endpoint, data=body, method="POST", headers={"Content-Type": "application/xml"}
        )
        if self.transcript is not None:
            self.transcript.record(DEVICE, "tx", body, note=f"POST {self.base_url}{endpoint}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if not raw.lstrip().startswith(b"<"):
                raise RouteError(DEVICE, f"HTTP{exc.code}", raw.decode(errors="replace")[:200]) from None
        except TimeoutError:
            raise LinkTimeout(DEVICE, f"DSP did not answer {endpoint} within {self.timeout} s") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LinkDown(DEVICE, f"cannot reach the DSP at {self.base_url}: {exc}") from None
        if self.transcript is not None:
            self.transcript.record(DEVICE, "rx", raw, note=f"answer to {endpoint}")
        return self.read_signed(raw, f"answer to {endpoint}")

    def read_signed(self, raw: bytes, what: str) -> DuisMessage:
        """The DSP's synchronous answer. DCC Boxed (and the virtual DSP) answer a POST unsigned: the
        channel the User opened vouches for it. A signature, where there is one, must verify."""
        try:
            root = etree.fromstring(raw, safe_parser())
            if root.find(f"{{{signing.DS_NS}}}Signature") is not None:
                signing.verify(root, self.dsp_trust)
            message = responses.parse(root)
        except (etree.XMLSyntaxError, signing.SignatureRefused, responses.NotDuis) as exc:
            raise InfrastructureFault(DEVICE, f"DSP {what} unusable: {exc}") from None
        return message

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
        fd = datetime.fromisoformat(future_date) if isinstance(future_date, str) else future_date
        signer = self.user(user, role, device)
        try:
            params = self.complete(srv, device, dict(params or {}), signer, user=user, role=role)
        except (requests.RequestBuildError, catalogue.UnknownSrv) as exc:  # nothing was sent
            raise RouteCannotExpress(str(exc).strip("'\""), route="duis") from exc
        for _ in range(REPLAY_RETRIES):
            try:
                root, endpoint, given = self._unsigned(srv, device, params, signer.eui, fd, as_given=True)
            except (requests.RequestBuildError, catalogue.UnknownSrv) as exc:  # nothing was sent
                raise RouteCannotExpress(str(exc).strip("'\""), route="duis") from exc
            signed = signing.sign(root, signer.key, signer.cert)
            rid, body = _request_id(signed), requests.to_bytes(signed)
            if given is not None and given.refused and self.transcript is not None:
                note = f"{rid} sent as given, for the DSP to refuse: {given.refused[0]}"
                self.transcript.note(DEVICE, note)
            self.spool.register(rid)
            self._sent.add(rid)
            try:
                first = self.post(endpoint, body)
            except RouteError as exc:  # a DSP that refuses a schema-invalid request with a bare 400
                if given is None or not given.refused or exc.code != "HTTP400":
                    raise
                code = refusal_of_given("E1", unknown_srv=given.unknown_srv)
                text = f"HTTP 400: {given.refused[0]}"
                refusal = {"id": rid, "code": code, "duis_code": exc.code, "text": text}
                return self._result(srv, device, [refusal], check)
            if first.code != REPLAY:
                break
            # Another worker signing as this User took a later counter and posted first: the DSP saw
            # ours as a replay and acted on nothing. Sign again with a fresh counter.
        answers = [_as_response(first, rid)]
        if given is not None and given.refused:  # the DSP's schema refusal is the refusal of that value
            code = refusal_of_given(first.code, unknown_srv=given.unknown_srv)
            answers[0] = {**answers[0], "code": code, "text": f"DUIS {first.code}: {given.refused[0]}"}
        if first.code == responses.ACKNOWLEDGED and wait:
            answers += self._wait_final(rid, self.timeout if timeout is None else timeout)
        elif first.code == responses.ACKNOWLEDGED:
            self._requests[rid] = (srv, device)
        return self._result(srv, device, answers, check)

    def wait_result(self, request_id: str, *, timeout: float | None = None, check: bool = True) -> SrvResult:
        srv, device = self._requests.pop(request_id)
        answers = [{"id": request_id, "code": responses.ACKNOWLEDGED, "final": False}]
        answers += self._wait_final(request_id, self.timeout if timeout is None else timeout)
        return self._result(srv, device, answers, check)

    # -- misuse (docs/protocols/duis.md, "Misuse") -------------------------------------------------------
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
        """A real DUIS request as ``user`` sends it, spoiled as ``misuse`` says (:mod:`.misuse`); the
        DSP refuses it with E2 (route E8), E3 (E9) or, sent twice, E19 (E10)."""
        if misuse not in (None, *MISUSE_KINDS):
            raise ValueError(f"unknown misuse {misuse!r} (known: {', '.join(MISUSE_KINDS)})")
        self.open()
        signer = self.user(user, role, device)
        originator = eui(UNKNOWN_USER) if misuse == "unknown_signer" else signer.eui
        try:
            params = self.complete(srv, device, dict(params or {}), signer, user=user, role=role)
            root, endpoint = self.unsigned(srv, device, params, originator, None)
        except (requests.RequestBuildError, catalogue.UnknownSrv) as exc:  # nothing was sent
            raise RouteCannotExpress(str(exc).strip("'\""), route="duis") from exc
        spoiled = misuse_of.spoil(root, misuse, signer.key, signer.cert)
        rid = _request_id(spoiled)
        self.spool.register(rid)  # whatever the DSP posts about it is ours
        self._sent.add(rid)
        return CraftedRequest(rid, srv, device, misuse, (endpoint, requests.to_bytes(spoiled)))

    def send_crafted(self, request: CraftedRequest, *, timeout: float | None = None) -> SrvResult:
        """POST the crafted XML as it is (no new signature on E19) and wait for its final result."""
        self.open()
        endpoint, body = request.wire
        first = self.post(str(endpoint), bytes(body))
        answers = [_as_response(first, request.request_id)]
        if first.code == responses.ACKNOWLEDGED:
            answers += self._wait_final(request.request_id, self.timeout if timeout is None else timeout)
        return SrvResult.from_responses(request.srv, request.device, answers)

    # -- the simulated lab's facilities, through the migration route -----------------------------------------
    def supports(self, facility: str) -> bool:
        """Misuse is made of DUIS messages: always. Tampering with Instructions and the route's security
        log are the simulated lab's own (a real DSP offers neither): offered when the migration route
        the lab names offers them (the virtual lab's framed route, to the same S1SP)."""
        if facility == MISUSE:
            return True
        side = self._side_route()
        return side is not None and side.supports(facility)

    def tamper_next_instruction(self, device: str, *, kind: str = "signature", count: int = 1) -> None:
        self._facility(TAMPER).tamper_next_instruction(device, kind=kind, count=count)

    def clear_tamper(self, device: str) -> int:
        return self._facility(TAMPER).clear_tamper(device)

    def set_dcc_status(self, device: str, status: str) -> str:
        return self._facility(DCC_INVENTORY).set_dcc_status(device, status)

    def security_log(
        self, *, since: datetime | None = None, after: int = 0, timeout: float | None = None
    ) -> list[RouteSecurityEvent]:
        return self._facility(SECURITY_LOG).security_log(since=since, after=after, timeout=timeout)

    def _facility(self, facility: str) -> ServiceRoute:
        side = self._side_route()
        if side is None or not side.supports(facility):
            raise RouteFacilityUnsupported(f"the duis route to {self.url} offers no {facility}")
        side.transcript = self.transcript
        return side

    def _side_route(self) -> ServiceRoute | None:
        """The route ``route.duis.migration`` names (built once), None when the lab names none."""
        spec = self.settings.migration
        if not spec:
            return None
        if self._migration is None:
            cfg = dict(spec)
            kind = str(cfg.pop("kind", "virtual"))
            cfg.setdefault("keys_dir", self.keys_dir)
            cfg.setdefault("endpoints", self.endpoints)
            cfg.setdefault("timeout", self.timeout)
            self._migration = load_route(kind, **cfg)
        return self._migration

    def _result(self, srv: str, device: str, answers: list[dict[str, Any]], strict: bool) -> SrvResult:
        if strict:
            check(DEVICE, answers)
        return SrvResult.from_responses(srv, device, answers)

    # -- what arrives --------------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Take new messages from the spool (and serve the endpoint if its owner went away)."""
        self.receiver.try_bind()
        for name, raw in self.spool.since(self._t0, self._seen):
            self._seen.add(name)
            try:
                root = etree.fromstring(raw, safe_parser())
                message = responses.parse(root)
            except (etree.XMLSyntaxError, responses.NotDuis):
                continue
            with self._lock:
                self._messages.append(message)
            ours = message.kind not in RESULT_KINDS or message.request_id in self._sent
            if self.transcript is not None and ours:  # not another worker's results
                note = f"received at {self.receiver.path}: {message.kind} {message.code}"
                self.transcript.record(DEVICE, "rx", raw, note=note)

    def _wait_final(self, rid: str, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            self._pump()
            with self._lock:
                mine = [m for m in self._messages if m.request_id == rid and m.kind in RESULT_KINDS]
            if any(m.final for m in mine):
                return [_as_response(m, rid) for m in mine]
            if time.monotonic() >= deadline:
                raise LinkTimeout(DEVICE, f"no response to {rid} at {self.receiver.url} within {timeout} s")
            self._arrived.wait(self.settings.poll_s)
            self._arrived.clear()

    def wait_alerts(
        self, predicate: Callable[[RouteAlert], bool], timeout: float, *, count: int = 1
    ) -> list[RouteAlert]:
        self.open()
        deadline = time.monotonic() + timeout
        out: list[RouteAlert] = []
        while True:
            self._pump()
            with self._lock:
                for i, m in enumerate(self._messages):
                    if i in self._taken_alerts or m.kind not in (
                        responses.DEVICE_ALERT, responses.DCC_ALERT, responses.S1SP_ALERT
                    ):  # fmt: skip
                        continue
                    alert = to_alert(m, i + 1)
                    if predicate(alert):
                        self._taken_alerts.add(i)
                        out.append(alert)
                        if len(out) == count:
                            return out
            if time.monotonic() >= deadline:
                raise LinkTimeout(DEVICE, f"{len(out)} of {count} alert(s) within {timeout} s")
            self._arrived.wait(self.settings.poll_s)
            self._arrived.clear()

    # -- migration -------------------------------------------------------------------------------------------
    def migrate(
        self, rig: str, *, user: str, role: str | None = None, timeout: float | None = None
    ) -> MigrationResult:
        side = self._side_route()
        if side is None:
            raise LinkDown(
                DEVICE, "migration is not a DUIS service and the lab file names no route.duis.migration"
            )
        side.transcript = self.transcript
        return side.migrate(rig, user=user, role=role, timeout=timeout)


def _request_id(root: etree._Element) -> str:
    return root.findtext(f"{{{requests.SR_NS}}}Header/{{{requests.SR_NS}}}RequestID") or ""


def _maybe_eui(text: str) -> str | None:
    try:
        return eui(text)
    except ValueError:
        return None


def _as_response(m: DuisMessage, rid: str) -> dict[str, Any]:
    """A DUIS message as the route-neutral response dict :class:`SrvResult` reads (the packs' names
    added where the payload carries them: :mod:`.results`)."""
    if m.outcome is not None and "code" in m.outcome:  # the S1SP's own message, signed by the S1SP
        return {**m.outcome, "id": m.request_id or rid, "duis_code": m.code, "final": m.final}
    result: Any = m.data
    if m.smets1 is not None:
        result = {"payload": m.smets1.payload, **(m.data if isinstance(m.data, dict) else {"value": m.data})}
    if m.srv:
        result = pack_result(m.srv, result)
    return {
        "id": m.request_id or rid,
        "code": route_code(m.code),
        "duis_code": m.code,
        "text": "" if m.ok or m.code == responses.ACKNOWLEDGED else f"DUIS response code {m.code}",
        "result": result,
        "final": m.final,
        "kind": m.kind,
    }


def to_alert(m: DuisMessage, alert_id: int) -> RouteAlert:
    if m.outcome is not None and "kind" in m.outcome:  # the S1SP's own alert message, signed by the S1SP
        return RouteAlert.from_message({**m.outcome, "alert_id": m.outcome.get("alert_id", alert_id)})
    kinds = {responses.DEVICE_ALERT: "device", responses.DCC_ALERT: "dcc", responses.S1SP_ALERT: "s1sp"}
    kind = kinds[m.kind]
    device = m.response_id.split(":")[0] if m.response_id else None
    if m.smets1 is not None:
        device = m.smets1.originator or device
    return RouteAlert.from_message({
        "alert_id": alert_id, "kind": kind, "code": m.alert_code or m.code, "name": "",
        "device": device, "rig": None, "at": m.at, "details": m.data if isinstance(m.data, dict) else {},
        "request_id": m.request_id,
    })  # fmt: skip


def _path(value: object) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(str(value))))


def virtual_lab_settings(keys_dir: Path | None, dsp: Mapping[str, Any]) -> dict[str, Any]:
    """The duis route's settings for a virtual lab (``route.dsp`` in its lab file; docs/virtual-lab.md):
    the Users, S1SP and DSP certificates the lab publishes in its route keys directory, the XSD and
    receive endpoint the virtual DSP is configured with, migration over the framed route it still serves.
    A User ID the index gives a ``party`` (the supplier's Gas Supplier User ID) is listed under that
    party's name, so a request made as that party in that role goes under it (:meth:`DuisRoute.user`)."""
    out: dict[str, Any] = {}
    if dsp.get("xsd"):
        out["xsd"] = str(_path(dsp["xsd"]))
    receive = dsp.get("receive_url")
    if isinstance(receive, str) and receive.startswith("http://"):
        out["receive"] = receive.removeprefix("http://")
    out["migration"] = {"kind": "virtual", "url": str(dsp.get("s1sp_url") or "virtual://lab/route/s1sp")}
    if keys_dir is None or not (keys_dir / "keys.json").is_file():
        return out
    index = json.loads((keys_dir / "keys.json").read_text(encoding="utf-8"))
    out["users"] = [
        {"name": u.get("party") or name, "role": "", "roles": list(u.get("roles") or ()), "eui": u["user_id"],
         "key": str(keys_dir / u["key"]),
         "cert": str(keys_dir / u["cert"])}
        for name, u in dict(index.get("users") or {}).items()
    ]  # fmt: skip
    out["dsp_certs"] = [str(_path(dsp["sign_cert"]) if dsp.get("sign_cert") else keys_dir / "dsp.cert.pem")]
    out["s1sp_certs"] = [str(keys_dir / str(index.get("s1sp_cert", "s1sp.cert.pem")))]
    return out


def make_route(**config: Any) -> DuisRoute:
    """The ``dmct.routes`` entry point ``duis``."""
    return DuisRoute(**config)
