"""Security events on the route: DSP/DCO refusals logged and alerted, the route's security log read through
the protocol, and tampered Instructions (the ``tamper`` route fault) against clean and defective devices.

The DCO gate refuses a badly signed *request* (E8) before any device sees it; only the tamper fault gets a
badly authenticated *Instruction* to a device, which is what ``accepts_bad_signature`` and
``old_credentials_accepted`` need to show themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from device_drivers.protocols.service_route import RouteError, UserCredentials, canonical, sign_bytes
from device_drivers.route import (
    DCO_REFUSAL_CODES,
    SECURITY_LOG,
    TAMPER,
    RouteAlert,
    RouteFacilityUnsupported,
    RouteSecurityEvent,
    ServiceRoute,
    SrvResult,
    VirtualServiceRoute,
)
from labs.virtual.devices import SupplyState
from labs.virtual.devices import alerts as A
from labs.virtual.faults import FaultLog
from labs.virtual.s1sp import load_srv_catalogue
from labs.virtual.s1sp.keys import issue_user, load_ca_key, load_or_create

from .conftest import Rig, RouteLab, disable_msg, send_raw, supply

REFUSAL_ALERT = load_srv_catalogue().dco_refusal_alert


def refusal_alert(route: VirtualServiceRoute, request_id: str) -> RouteAlert:
    (alert,) = route.wait_alerts(lambda a: a.kind == "dcc" and a.request_id == request_id, timeout=5)
    return alert


# -- the DSP/DCO gate's refusals: logged and alerted -----------------------------------------------------


def _bad_signature(lab: RouteLab, route: VirtualServiceRoute) -> dict[str, Any]:
    msg = disable_msg(lab, route)
    msg["role"] = "IS"  # added after signing: the signature covers other bytes
    return msg


def _unknown_signer(lab: RouteLab, route: VirtualServiceRoute) -> dict[str, Any]:
    keys = load_or_create(lab.keys_dir)
    key, _cert = issue_user(keys.ca_cert, load_ca_key(lab.keys_dir), "90-B3-D5-1F-30-09-09-09", ("IS",))
    stranger = UserCredentials("stranger", "90-B3-D5-1F-30-09-09-09", ("IS",), key)
    return stranger.sign({k: v for k, v in disable_msg(lab, route, sign=False).items() if k != "user"})


def _replay(lab: RouteLab, route: VirtualServiceRoute) -> dict[str, Any]:
    creds = route.client.keys.user("supplier")
    first = disable_msg(lab, route)
    assert send_raw(route, first)["code"] == "I0"
    lab.call(lab.inst().esme.arm_supply)
    body = disable_msg(lab, route, sign=False) | {"counter": first["counter"]}
    return body | {"sig": sign_bytes(creds.key, canonical(body))}  # validly signed, counter reused


def _wrong_role(lab: RouteLab, route: VirtualServiceRoute) -> dict[str, Any]:
    return route.client.request_message("7.2", lab.inst().esme.device_id, {}, user="network_operator")


@pytest.mark.parametrize(
    ("code", "make"),
    [("E7", _wrong_role), ("E8", _bad_signature), ("E9", _unknown_signer), ("E10", _replay)],
)
def test_each_refusal_is_logged_and_alerted(
    lab: RouteLab, route: VirtualServiceRoute, code: str, make: Callable[..., dict[str, Any]]
) -> None:
    msg = make(lab, route)
    before = supply(lab)
    answer = send_raw(route, msg)
    assert answer["code"] == code
    assert supply(lab) is before  # refused: nothing happened
    alert = refusal_alert(route, msg["id"])
    assert alert.code == REFUSAL_ALERT == "N42" and alert.rig == "rig-1"
    assert alert.device == lab.inst().esme.device_id
    assert alert.details["code"] == code and alert.details["srv"] == "7.2"
    assert alert.name == load_srv_catalogue().dcc_alerts[REFUSAL_ALERT].name
    (entry,) = route.security_log()
    assert isinstance(entry, RouteSecurityEvent)
    assert (entry.code, entry.event, entry.request_id, entry.srv) == (code, "dco_refusal", msg["id"], "7.2")
    assert entry.user == msg["user"] and entry.reason == answer["text"] and entry.alert_code == "N42"
    assert alert.details["entry_id"] == entry.entry_id
    assert code in DCO_REFUSAL_CODES


def test_a_refused_migration_is_logged_too(make_lab: Callable[..., RouteLab]) -> None:
    lab = make_lab(Rig(commissioned=False))
    route = lab.route()
    msg = route.client.migrate_message("rig-1", user="network_operator")  # only a supplier may
    assert send_raw(route, msg)["code"] == "E7"
    assert refusal_alert(route, msg["id"]).details["code"] == "E7"
    (entry,) = route.security_log()
    assert (entry.message_type, entry.rig, entry.device, entry.srv) == ("migrate", "rig-1", None, None)


def test_other_refusals_are_not_security_events(lab: RouteLab, route: VirtualServiceRoute) -> None:
    esme = lab.inst().esme.device_id
    for srv, device, params in (("9.9", esme, {}), ("7.2", "00-00-00-00-00-00-00-00", {}), ("1.5", esme, {})):
        with pytest.raises(RouteError) as err:
            route.submit(srv, device, params, user="supplier")
        assert err.value.code in ("E4", "E5", "E6")
    assert route.security_log() == []
    route.client.drain(0.1)
    assert not [a for a in route.client.alerts if a.get("kind") == "dcc"]


def test_security_log_filters_and_bad_queries(lab: RouteLab, route: VirtualServiceRoute) -> None:
    ids = []
    for _ in range(3):
        msg = _bad_signature(lab, route)
        assert send_raw(route, msg)["code"] == "E8"
        ids.append(msg["id"])
    entries = route.security_log()
    assert [e.request_id for e in entries] == ids
    assert [e.request_id for e in route.security_log(after=entries[0].entry_id)] == ids[1:]
    assert [e.request_id for e in route.security_log(since=entries[2].at)] == ids[2:]
    assert route.security_log(since=entries[2].at + timedelta(seconds=1)) == []
    with pytest.raises(ValueError, match="aware"):
        route.security_log(since=datetime(2025, 1, 1))
    for bad in ({"after": -1}, {"after": "x"}, {"since": "yesterday"}, {"since": "2025-01-01T00:00:00"}):
        answer = send_raw(route, {"type": "security_log", "id": "q1"} | bad)
        assert answer["code"] == "E6", bad
    route.client.send({"type": "security_log"})  # no id: answered E1 with a null id
    assert route.client.wait_final(None, 5)[-1]["code"] == "E1"  # type: ignore[arg-type]


def test_the_route_survives_a_refusal_it_cannot_log(lab: RouteLab, route: VirtualServiceRoute) -> None:
    """Logging a refusal never turns it into a crash: a refusal of a message with odd fields is still
    answered, logged with what could be read."""
    msg = {"type": "request", "id": "odd", "srv": "7.2", "device": lab.inst().esme.device_id, "user": 42}
    assert send_raw(route, msg)["code"] == "E9"
    (entry,) = route.security_log()
    assert entry.user is None and entry.code == "E9"


# -- tampered Instructions ------------------------------------------------------------------------------


def tampered_disable(lab: RouteLab, route: VirtualServiceRoute, kind: str) -> tuple[SrvResult, list[int]]:
    esme = lab.inst().esme
    lab.call(lambda: esme.drain_alerts())
    pending = lab.call(lambda: lab.service.tamper(esme.device_id, kind))
    assert pending == [kind]
    result = route.submit("7.2", esme.device_id, {}, user="supplier", check=False)
    logged = lab.call(lambda: [e.code for e in esme.security_log()])
    return result, logged


def test_tampered_instruction_is_refused_by_a_clean_meter(lab: RouteLab, route: VirtualServiceRoute) -> None:
    log = FaultLog()
    lab.call(lambda: setattr(lab.service, "fault_log", log))
    result, logged = tampered_disable(lab, route, "signature")
    assert (result.code, result.outcomes()) == ("E11", ["failed"])
    assert result.instructions[0]["reason"] == "bad_signature"
    assert supply(lab) is SupplyState.ENABLED and A.TRUSTED_SOURCE_AUTH_FAILURE in logged
    esme = lab.inst().esme.device_id
    (alert,) = route.wait_alerts(lambda a: a.code == "0x8F3D" and a.device == esme, timeout=5)
    assert alert.details["reason"] == "signature"
    assert [e["kind"] for e in log.entries] == ["tamper", "tamper_applied"]
    applied = json.loads(log.entries[1]["detail"])
    assert applied == {"command": "disable_supply", "kind": "signature", "request_id": result.request_id,
                       "target": "rig-1/esme"}  # fmt: skip
    assert lab.service.tampers == {}
    # one Instruction consumed it: the next one goes through
    assert route.submit("7.2", esme, {}, user="supplier").code == "I0"
    assert route.security_log() == []  # the DCO gate passed it: not a route-side security event


def test_tampered_instruction_is_executed_by_a_meter_accepting_bad_signatures(
    make_lab: Callable[..., RouteLab],
) -> None:
    lab = make_lab(Rig(defects={"esme": ("accepts_bad_signature",)}))
    result, logged = tampered_disable(lab, lab.route(), "signature")
    assert (result.code, result.outcomes()) == ("I0", ["actioned"])
    assert supply(lab) is SupplyState.DISABLED and A.TRUSTED_SOURCE_AUTH_FAILURE not in logged


@pytest.mark.parametrize(("defects", "expected"), [((), "E11"), (("old_credentials_accepted",), "I0")])
def test_retired_credential(
    make_lab: Callable[..., RouteLab], defects: tuple[str, ...], expected: str
) -> None:
    """Signed with the credential the S1SP retired at commissioning (the old SMSO's): a clean meter
    refuses it as retired (0x8F3D); one with old_credentials_accepted executes it."""
    lab = make_lab(Rig(defects={"esme": defects}))
    result, logged = tampered_disable(lab, lab.route(), "retired_credential")
    assert result.code == expected
    if expected == "E11":
        assert result.instructions[0]["reason"] == "unknown_credential"
        assert "retired" in result.instructions[0]["message"]
        assert supply(lab) is SupplyState.ENABLED and A.TRUSTED_SOURCE_AUTH_FAILURE in logged
    else:
        assert supply(lab) is SupplyState.DISABLED


def test_retired_credential_after_a_rotation_uses_the_roles_old_key(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    esme = lab.inst().esme.device_id
    assert route.submit("6.15.1", esme, {}, user="supplier").code == "I0"  # supplier key v1 → v2
    log = FaultLog()
    lab.call(lambda: setattr(lab.service, "fault_log", log))
    result, _ = tampered_disable(lab, route, "retired_credential")
    assert result.code == "E11" and result.instructions[0]["reason"] == "unknown_credential"
    assert json.loads(log.entries[-1]["detail"])["credential"] == "supplier:S1SP-SUPPLIER:v1"


def test_non_critical_instructions_do_not_consume_a_tamper(lab: RouteLab, route: VirtualServiceRoute) -> None:
    esme = lab.inst().esme.device_id
    lab.call(lambda: lab.service.tamper(esme, "signature", 2))
    assert route.submit("4.1.1", esme, {}, user="supplier").code == "I0"  # a read carries no signature
    assert lab.service.tampers == {esme: ["signature", "signature"]}
    assert lab.call(lambda: lab.service.clear_tamper(esme)) == 2
    assert route.submit("7.2", esme, {}, user="supplier").code == "I0"


def test_tamper_rejects_bad_arguments(lab: RouteLab) -> None:
    service = lab.service
    esme = lab.inst().esme.device_id
    with pytest.raises(KeyError):
        service.tamper("00-00-00-00-00-00-00-00")
    with pytest.raises(ValueError, match="unknown tamper kind"):
        service.tamper(esme, "smoke")
    for count in (0, 101, True, 1.5):
        with pytest.raises(ValueError, match="count"):
            service.tamper(esme, "signature", count)  # type: ignore[arg-type]
    assert service.tampers == {}


# -- the facilities as the packs see them -----------------------------------------------------------------


def test_route_without_a_lab_control_api_cannot_tamper(lab: RouteLab, route: VirtualServiceRoute) -> None:
    assert route.supports(SECURITY_LOG) and not route.supports(TAMPER)
    with pytest.raises(RouteFacilityUnsupported):
        route.tamper_next_instruction(lab.inst().esme.device_id)
    with pytest.raises(NotImplementedError):  # what a pack may catch
        route.clear_tamper(lab.inst().esme.device_id)


class BareRoute(ServiceRoute):
    """A route to a real S1SP: SRVs only."""

    def submit(self, srv: str, device: str, params: Any = None, **kw: Any) -> SrvResult:
        raise NotImplementedError

    def wait_result(self, request_id: str, **kw: Any) -> SrvResult:
        raise NotImplementedError

    def wait_alerts(self, predicate: Any, timeout: float, *, count: int = 1) -> list[Any]:
        return []

    def migrate(self, rig: str, **kw: Any) -> Any:
        raise NotImplementedError


def test_a_real_route_reports_the_facilities_unsupported() -> None:
    route = BareRoute()
    assert not route.supports(TAMPER) and not route.supports(SECURITY_LOG)
    with pytest.raises(RouteFacilityUnsupported, match="cannot tamper"):
        route.tamper_next_instruction("00-00-00-00-00-00-00-01")
    with pytest.raises(RouteFacilityUnsupported, match="security log"):
        route.security_log()


def test_security_log_on_a_route_without_one_is_unsupported(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    """A route implementing protocol version 1 without the optional message answers E1 'unknown message
    type': the driver reports that as unsupported, not as a failure."""
    real = lab.service._read_security_log

    def refuse(msg: dict[str, Any], rid: str | None) -> dict[str, Any]:
        from labs.virtual.s1sp.wire import WireError

        raise WireError("E1", "unknown message type 'security_log'", rid)

    lab.service._read_security_log = refuse  # type: ignore[method-assign]
    try:
        with pytest.raises(RouteFacilityUnsupported):
            route.security_log()
    finally:
        lab.service._read_security_log = real  # type: ignore[method-assign]


def test_impostor_signature_is_refused_logged_and_never_reaches_the_meter(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    real = route.client.keys.user("supplier")
    impostor = UserCredentials("x", real.user_id, real.roles, ec.generate_private_key(ec.SECP256R1()))
    msg = impostor.sign(dict(disable_msg(lab, route, sign=False)))
    assert send_raw(route, msg)["code"] == "E8"
    assert refusal_alert(route, msg["id"]).details["code"] == "E8"
    logged = lab.call(lambda: [e.code for e in lab.inst().esme.security_log()])
    assert A.TRUSTED_SOURCE_AUTH_FAILURE not in logged  # the meter never saw it


@pytest.mark.parametrize(
    ("defects", "code"), [(frozenset(), "E7"), (frozenset({"fuel_unchecked_for_tariffs"}), "I0")]
)
@pytest.mark.parametrize("role", [None, "GS"])
def test_fuel_check_whether_or_not_the_role_is_stated(
    lab: RouteLab, route: VirtualServiceRoute, defects: frozenset[str], code: str, role: str | None
) -> None:
    """A gas supplier's User ID (GS only) setting the ESME's tariff (1.1.1) is refused E7 whether the
    request states its role (framed) or not (DUIS names none: the DCO matches the User's roles to the
    device's fuel); with the seeded ``fuel_unchecked_for_tariffs`` it goes through either way. (Over
    DUIS the defect once went unseen: the fuel check without a stated role ignored it.)"""
    lab.call(lambda: setattr(lab.service, "defects", defects))
    esme = lab.inst().esme.device_id
    params = {"rates": 2, "prices": [10.0, 20.0], "standing_charge": 40.0}
    result = route.submit("1.1.1", esme, params, user="supplier_gs", role=role, check=False)
    assert result.code == code, result.responses
