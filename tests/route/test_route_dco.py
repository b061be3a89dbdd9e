"""The DSP / DCO gate: every rejection reason, replay, roles, and that a rejected request never acts."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from device_drivers.protocols.service_route import RouteError, UserCredentials, canonical, sign_bytes
from device_drivers.route import VirtualServiceRoute
from labs.virtual.devices import Authorisation, KeyRef, SupplyState
from labs.virtual.s1sp.keys import issue_user, load_ca_key, load_or_create

from .conftest import Rig, RouteLab, disable_msg, send_raw, supply


def test_bad_signature_is_e8_and_nothing_happens(lab: RouteLab, route: VirtualServiceRoute) -> None:
    msg = disable_msg(lab, route)
    msg["role"] = "IS"  # a field added after signing: the signature covers other bytes
    assert send_raw(route, msg)["code"] == "E8"
    assert supply(lab) is SupplyState.ENABLED


def test_unsigned_critical_request_is_e8_but_unsigned_non_critical_is_served(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    assert send_raw(route, disable_msg(lab, route, sign=False))["code"] == "E8"
    assert supply(lab) is SupplyState.ENABLED
    read = route.client.request_message("7.4", lab.inst().esme.device_id, {}, user="supplier", sign=False)
    assert send_raw(route, read)["code"] == "I0"


def test_signature_by_another_key_is_e8(lab: RouteLab, route: VirtualServiceRoute) -> None:
    real = route.client.keys.user("supplier")
    impostor = UserCredentials("x", real.user_id, real.roles, ec.generate_private_key(ec.SECP256R1()))
    msg = impostor.sign({k: v for k, v in disable_msg(lab, route, sign=False).items()})
    assert send_raw(route, msg)["code"] == "E8"
    assert supply(lab) is SupplyState.ENABLED


def test_unknown_signer_is_e9(lab: RouteLab, route: VirtualServiceRoute) -> None:
    """Even a certificate from the lab CA is refused when it is not in the route's trust store."""
    keys = load_or_create(lab.keys_dir)
    key, _cert = issue_user(keys.ca_cert, load_ca_key(lab.keys_dir), "90-B3-D5-1F-30-09-09-09", ("IS",))
    stranger = UserCredentials("stranger", "90-B3-D5-1F-30-09-09-09", ("IS",), key)
    msg = stranger.sign({k: v for k, v in disable_msg(lab, route, sign=False).items() if k != "user"})
    assert send_raw(route, msg)["code"] == "E9"
    assert supply(lab) is SupplyState.ENABLED


def test_replay_is_e10_and_acts_once(lab: RouteLab, route: VirtualServiceRoute) -> None:
    msg = disable_msg(lab, route)
    assert send_raw(route, msg)["code"] == "I0"
    lab.call(lab.inst().esme.arm_supply)
    assert send_raw(route, dict(msg, id="again"))["code"] in ("E8", "E10")  # new id: other bytes → E8
    assert send_raw(route, msg)["code"] == "E10"  # the very same bytes
    assert supply(lab) is SupplyState.ARMED  # not disabled a second time


def test_counter_must_strictly_increase(lab: RouteLab, route: VirtualServiceRoute) -> None:
    creds = route.client.keys.user("supplier")
    first = disable_msg(lab, route)
    body = disable_msg(lab, route, sign=False) | {"counter": first["counter"] - 1}
    stale = body | {"sig": sign_bytes(creds.key, canonical(body))}  # validly signed, older counter
    assert send_raw(route, first)["code"] == "I0"
    lab.call(lab.inst().esme.arm_supply)
    assert send_raw(route, stale)["code"] == "E10"
    assert supply(lab) is SupplyState.ARMED


@pytest.mark.parametrize(
    ("srv", "target", "user", "role"),
    [
        ("1.1.1", "esme", "gas_transporter", None),  # GT may not update a tariff
        ("7.2", "esme", "network_operator", None),  # ED may not disable supply
        ("4.1.1", "gsme", "network_operator", None),  # ED reads electricity only
        ("4.1.1", "esme", "gas_transporter", None),  # GT reads gas only
        ("7.2", "gsme", "supplier", "IS"),  # an import supplier does not act on gas
        ("4.1.1", "esme", "supplier", "ED"),  # a role the User does not hold
    ],
)
def test_wrong_role_is_e7(
    lab: RouteLab, route: VirtualServiceRoute, srv: str, target: str, user: str, role: str | None
) -> None:
    device = getattr(lab.inst(), target)
    with pytest.raises(RouteError) as info:
        route.submit(srv, device.device_id, {}, user=user, role=role)
    assert info.value.code == "E7"
    assert lab.call(lambda: device.supply_state()) is SupplyState.ENABLED


def test_eligible_roles_are_served(lab: RouteLab, route: VirtualServiceRoute) -> None:
    inst = lab.inst()
    assert route.submit("4.1.1", inst.esme.device_id, user="network_operator").code == "I0"
    assert route.submit("11.2", inst.gsme.device_id, user="gas_transporter").code == "I0"  # type: ignore[union-attr]


def test_defective_device_accepting_bad_signatures_is_still_protected(make_lab: Any) -> None:
    lab = make_lab(Rig(defects={"esme": ("accepts_bad_signature",)}))
    route = lab.route()
    esme = lab.inst().esme
    # the defect is real: the meter itself would take a command whose signature does not verify
    lab.call(lambda: esme.check_authorisation(Authorisation("supplier", KeyRef("S1SP-SUPPLIER"), False)))
    msg = disable_msg(lab, route)
    msg["role"] = "IS"  # breaks the User's signature
    assert send_raw(route, msg)["code"] == "E8"
    assert supply(lab) is SupplyState.ENABLED


def test_unsupported_by_firmware_is_e13(make_lab: Any) -> None:
    lab = make_lab(Rig(ch=("VCH-100", "2.0.0"), esme=("VESME-1P", "1.3.0")))
    route = lab.route()
    inst = lab.inst()
    for srv, device, params in (
        ("6.4.1", inst.esme, {"threshold_w": 1000.0, "period_s": 60.0}),
        ("11.3", inst.ch, {}),
    ):
        with pytest.raises(RouteError) as info:
            route.submit(srv, device.device_id, params, user="supplier")
        assert info.value.code == "E13"


def test_devices_not_commissioned_are_e14(make_lab: Any) -> None:
    lab = make_lab(Rig(commissioned=False))
    route = lab.route()
    with pytest.raises(RouteError) as info:
        route.submit("4.1.1", lab.inst().esme.device_id, user="supplier")
    assert info.value.code == "E14"


def test_misuse_api_makes_what_the_gate_refuses(lab: RouteLab, route: VirtualServiceRoute) -> None:
    """``craft``/``send_crafted`` (the route-neutral misuse the SRVT pack uses): each spoiled request
    gets its refusal, a genuine one is served once and its verbatim replay refused; nothing acts."""
    from device_drivers.route import MISUSE, UNKNOWN_USER

    esme = lab.inst().esme.device_id
    assert route.supports(MISUSE)
    want = {"unsigned": "E8", "corrupt_signature": "E8", "tampered": "E8", "unknown_signer": "E9"}
    for how, code in want.items():
        crafted = route.craft("7.2", esme, {}, user="supplier", misuse=how)
        assert crafted.misuse == how and crafted.request_id
        assert route.send_crafted(crafted).code == code, how
    assert route.craft("7.2", esme, user="supplier", misuse="unknown_signer").wire["user"] == UNKNOWN_USER
    assert supply(lab) is SupplyState.ENABLED
    genuine = route.craft("7.2", esme, {}, user="supplier")
    assert route.send_crafted(genuine).ok
    lab.call(lab.inst().esme.arm_supply)
    assert route.send_crafted(genuine).code == "E10"
    assert supply(lab) is SupplyState.ARMED  # not disabled a second time
    with pytest.raises(ValueError, match="unknown misuse"):
        route.craft("7.2", esme, user="supplier", misuse="bogus")
